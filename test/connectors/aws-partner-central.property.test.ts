import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapAceError } from '../../connectors/aws-partner-central/errors.js';
import { changesPage } from '../../connectors/aws-partner-central/feed.js';
import { KeyIndex } from '../../connectors/aws-partner-central/keyIndex.js';
import type { AceTransport } from '../../connectors/aws-partner-central/transport.js';
import { updateAll, type WriteContext } from '../../connectors/aws-partner-central/writes.js';
import { comparePositions } from '../../connectors/cursorOrder.js';
import { START_CURSOR, type FeedCursor } from '../../connectors/types.js';
import { feedStallReason } from '../../ledger/cursors.js';
import { AceError } from '../../sandbox/aws-partner-central/errors.js';
import { PartnerCentral } from '../../sandbox/aws-partner-central/service.js';

/**
 * Randomized, against the emulated service in-process (its semantics: LastModifiedDate concurrency,
 * ties in hash order, exclusive AfterLastModifiedDate), the connector's algorithms with their SDK
 * calls answered by the service (dates and errors as the SDK hands them over):
 *
 * 1. The change feed: creates and updates under a clock that freezes (ties), runs and jumps; polls with
 *    random page sizes; crashes (resume from any cursor stored). Claims: the latest version of every
 *    opportunity is delivered, pages never stall or go backwards, records come in (time, id) order.
 * 2. Concurrent edits: while the connector updates some fields, another writer (an AWS seller) changes
 *    others between the connector's read and its write, a random number of times. Claims: with no more
 *    interleaved edits than re-reads, both changes are in the final record; with more, the write fails
 *    as `conflict` and the other writer's change stands — never a lost update.
 *
 * The seed is printed; replay with COSELL_PROP_SEED=<seed>.
 */
const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.COSELL_PROPERTY_RUNS ?? 150);

function stubTransport(service: PartnerCentral, beforeSend?: (op: string, input: Record<string, unknown>) => void): AceTransport {
  const dates = new Set(['LastModifiedDate', 'CreatedDate', 'StartTime', 'InvitationDate', 'ExpirationDate']);
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dates.has(k) && typeof x === 'string' ? new Date(x) : revive(x)]));
    return v;
  };
  return {
    client: { config: { serviceId: 'stub' } },
    async send(_kind: string, what: string, command: { input: Record<string, unknown>; constructor: { name: string } }) {
      const op = command.constructor.name.replace(/Command$/, '');
      beforeSend?.(op, command.input);
      service.tick();
      try {
        const body = JSON.parse(JSON.stringify(command.input)) as Record<string, unknown>;
        return revive((service as unknown as Record<string, (b: unknown) => unknown>)[op]!.call(service, body));
      } catch (e) {
        if (!(e instanceof AceError)) throw e;
        throw mapAceError(Object.assign(new Error(e.message), { name: e.errorName, $metadata: { httpStatusCode: e.status }, ...e.members }), what);
      }
    },
  } as unknown as AceTransport;
}

const create = (service: PartnerCentral, n: number) =>
  service.CreateOpportunity({
    Catalog: 'Sandbox',
    PartnerOpportunityIdentifier: `p-${n}`,
    OpportunityType: 'Net New Business',
    Customer: { Account: { CompanyName: `Customer ${n}`, Industry: 'Retail', WebsiteUrl: `https://c${n}.example.com`, Address: { CountryCode: 'US' } } },
    Project: { Title: `Deal ${n}`, CustomerBusinessProblem: 'A problem long enough for the review.', DeliveryModels: ['SaaS or PaaS'] },
    LifeCycle: { TargetCloseDate: '2027-06-30' },
  }).Id as string;

type Op =
  | { k: 'create' }
  | { k: 'touch'; which: number }
  | { k: 'freeze'; on: boolean }
  | { k: 'tick'; ms: number }
  | { k: 'poll'; pageSize: number }
  | { k: 'crash'; back: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ k: 'create' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('touch' as const), which: fc.nat(50) }) },
  fc.record({ k: fc.constant('freeze' as const), on: fc.boolean() }),
  fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3 }) }),
  { weight: 2, arbitrary: fc.record({ k: fc.constant('poll' as const), pageSize: fc.integer({ min: 1, max: 4 }) }) },
  fc.record({ k: fc.constant('crash' as const), back: fc.integer({ min: 1, max: 5 }) }),
);

async function feedRun(ops: Op[]): Promise<void> {
  const service = new PartnerCentral({ reviewDelayMs: 1_000_000 });
  service.clock.apply({ at: '2026-11-01T10:00:00.000Z', freeze: true });
  const t = stubTransport(service);
  const ids: string[] = [];
  let n = 0;
  let stored: FeedCursor = START_CURSOR;
  const history: FeedCursor[] = [stored];
  const delivered = new Set<string>();
  const poll = async (pageSize: number) => {
    for (let pages = 0; ; pages++) {
      expect(pages, 'a poll must catch up').toBeLessThan(500);
      const page = await changesPage(t, 'Sandbox', stored, { pageSize, fields: ['PartnerOpportunityIdentifier'] });
      expect(feedStallReason(stored, page.next, page.caughtUp)).toBeUndefined();
      expect(comparePositions(page.next, stored)).toBeGreaterThanOrEqual(0);
      for (let i = 1; i < page.records.length; i++) expect(comparePositions(page.records[i - 1]!, page.records[i]!)).toBeLessThan(0);
      for (const r of page.records) delivered.add(`${r.id}@${r.modifiedAt}`);
      stored = page.next;
      history.push(stored);
      if (page.caughtUp) return;
    }
  };
  for (const o of ops) {
    if (o.k === 'create') ids.push(create(service, n++));
    else if (o.k === 'touch' && ids.length) service.awsEdit('Sandbox', ids[o.which % ids.length]!, { NextSteps: `touched ${n++}` });
    else if (o.k === 'freeze') service.clock.apply({ freeze: o.on });
    else if (o.k === 'tick') service.clock.apply({ advanceMs: o.ms });
    else if (o.k === 'poll') await poll(o.pageSize);
    else if (o.k === 'crash') stored = history[Math.max(0, history.length - o.back)]!;
  }
  service.clock.apply({ advanceMs: 1 });
  await poll(3);
  for (const o of service.all().opportunities) expect(delivered, o.Id).toContain(`${o.Id}@${new Date(o.LastModifiedDate).toISOString()}`);
}

async function conflictRun(interleaved: number, retries: number, ours: string, theirs: string): Promise<void> {
  const service = new PartnerCentral();
  service.clock.apply({ at: '2026-11-01T10:00:00.000Z' });
  const id = create(service, 1);
  let left = interleaved;
  const t = stubTransport(service, (opName) => {
    // The other writer gets in between the connector's read and its write.
    if (opName === 'UpdateOpportunity' && left > 0) {
      left--;
      service.clock.apply({ advanceMs: 1 });
      service.awsEdit('Sandbox', id, { NextSteps: `${theirs} ${left}` });
      service.clock.apply({ advanceMs: 1 });
    }
  });
  const ctx: WriteContext = { t, catalog: 'Sandbox', index: new KeyIndex(t, 'Sandbox'), conflictRetries: retries };
  const [r] = await updateAll(ctx, [{ id, fields: { 'Project.Title': ours } }]);
  const final = service.GetOpportunity({ Catalog: 'Sandbox', Identifier: id }) as { Project: { Title: string }; LifeCycle: { NextSteps?: string } };
  // Their last change always stands (they get in before each of our attempts: at most retries + 1).
  const theirEdits = Math.min(interleaved, retries + 1);
  if (theirEdits > 0) expect(final.LifeCycle.NextSteps).toBe(`${theirs} ${interleaved - theirEdits}`);
  if (interleaved <= retries) {
    expect(r).toMatchObject({ status: 'updated', id });
    expect(final.Project.Title).toBe(ours);
  } else {
    expect(r).toMatchObject({ status: 'failed', error: { kind: 'conflict' } });
    expect(final.Project.Title).toBe('Deal 1');
  }
}

describe('aws-partner-central connector, randomized against the emulated service', () => {
  it('change feed: ties, page sizes, crashes, re-touched records — every latest version arrives, in order, no stall', async () => {
    console.log(`aws-partner-central property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/connectors/aws-partner-central.property.test.ts)`);
    // Kept counterexample shape: many ties at one frozen instant cut by a page of 1, then a crash.
    const tiesThenCrash: Op[] = [{ k: 'create' }, { k: 'create' }, { k: 'create' }, { k: 'poll', pageSize: 1 }, { k: 'crash', back: 2 }, { k: 'touch', which: 0 }, { k: 'create' }];
    // Found by this test: a record re-written in the cursor's own millisecond with a smaller id than the
    // cursor's was skipped (the feed compared ids at the high-water timestamp; it now keeps `seen`).
    const lateTieSmallerId: Op[] = [{ k: 'create' }, { k: 'tick', ms: 1 }, { k: 'create' }, { k: 'poll', pageSize: 1 }, { k: 'touch', which: 0 }, { k: 'create' }];
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), feedRun), { numRuns: RUNS, seed, examples: [[tiesThenCrash], [lateTieSmallerId]] });
  }, 120_000);

  it('concurrent edits: re-read and re-apply keeps both writers’ changes, or fails as conflict — never a lost update', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 4 }), fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '' && s !== 'Deal 1'), fc.constantFrom('Call the CTO', 'Send the quote'), conflictRun),
      { numRuns: RUNS, seed },
    );
  }, 60_000);
});
