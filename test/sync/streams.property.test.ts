import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../connectors/index.js';
import { START_CURSOR, type Connector, type Fields } from '../../connectors/types.js';
import { openLedger, type Ledger, type StreamInfo } from '../../ledger/index.js';
import { pumpFeeds } from '../../sync/stream.js';
import { pick } from '../../sync/values.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * Randomized (fast-check): random writes (create / update / delete) in the sandbox CRMs through the
 * real clients, interleaved with partial polls of the stream (random page sizes, one page at a time —
 * a producer interrupted anywhere) and with several consumers reading the log at their own pace: slow
 * ones (one entry a page), ones that crash after reading a page and before committing it, and a
 * consumer run twice at once (a duplicated activity: both commit the same page, only one may count).
 * Claim: after the last write, once the stream has polled to the present and each consumer has read
 * to the end, every consumer's view is exactly what the CRM's own change and deletion feeds, read
 * directly from the beginning, say — the latest version of every live record, nothing deleted, each
 * page applied once.
 */

let sb: TestSandbox;
let ledger: Ledger;
const conns: Record<string, Connector> = {};
const OBJECT = { vendor: 'Opportunity', acme: 'deals' } as const;
const FIELDS = { vendor: ['Name', 'Amount', 'StageName'], acme: ['dealname', 'amount'] } as const;
type Org = keyof typeof OBJECT;

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 3, opportunities: 4, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 3, opportunities: 4, owners: 1 } },
    ],
  });
  const conn = sandboxEnv(sb, 'STRP');
  const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme, kind: hubspot, tier: gold, connection: ${conn.acme} }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  for (const org of ['vendor', 'acme'] as const) conns[org] = await createConnector(network.org(org));
});

afterAll(async () => {
  for (const c of Object.values(conns)) await c.close();
  await ledger?.close();
  await sb?.stop();
});

/** The org's current records by the connector's own feeds, read directly from the beginning. */
async function directView(org: Org): Promise<Map<string, Fields>> {
  const c = conns[org];
  const view = new Map<string, { at: string; fields: Fields }>();
  for (let cur = START_CURSOR; ; ) {
    const page = await c.changes(OBJECT[org], cur, { fields: [...FIELDS[org]], pageSize: 50 });
    for (const r of page.records) if (!view.has(r.id) || view.get(r.id)!.at <= r.modifiedAt) view.set(r.id, { at: r.modifiedAt, fields: pick(r.fields, [...FIELDS[org]]) });
    if (page.caughtUp) break;
    cur = page.next;
  }
  for (let cur = START_CURSOR; ; ) {
    const page = await c.deletions(OBJECT[org], cur, { pageSize: 50 });
    for (const d of page.records) if (view.has(d.id) && view.get(d.id)!.at <= d.deletedAt) view.delete(d.id);
    if (page.caughtUp) break;
    cur = page.next;
  }
  return new Map([...view].map(([id, v]) => [id, v.fields]));
}

type Op =
  | { kind: 'create'; org: Org; amount: number }
  | { kind: 'update'; org: Org; pick: number; amount: number }
  | { kind: 'delete'; org: Org; pick: number }
  | { kind: 'poll'; org: Org; pageSize: number }
  | { kind: 'consume'; org: Org; consumer: number; pageSize: number; crash: boolean }
  | { kind: 'duplicate'; org: Org; consumer: number; pageSize: number };

const org = fc.constantFrom<Org>('vendor', 'acme');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), org, amount: fc.integer({ min: 1, max: 9999 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), org, pick: fc.nat(), amount: fc.integer({ min: 1, max: 9999 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), org, pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('poll' as const), org, pageSize: fc.integer({ min: 1, max: 7 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('consume' as const), org, consumer: fc.integer({ min: 0, max: 2 }), pageSize: fc.integer({ min: 1, max: 4 }), crash: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), org, consumer: fc.integer({ min: 0, max: 2 }), pageSize: fc.integer({ min: 1, max: 4 }) }) },
);

let run = 0;

describe('change streams against the sandbox CRMs (randomized)', () => {
  it('every consumer ends with exactly the direct feed’s latest version of every record, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 30 }), async (ops) => {
        run++;
        const streams = {} as Record<Org, StreamInfo>;
        for (const o of ['vendor', 'acme'] as const) streams[o] = (await ledger.streams.ensure(`run${run}-${o}:${OBJECT[o]}`, o, OBJECT[o], [...FIELDS[o]])).info;
        // Consumer 0 reads fast, 1 slowly (one entry a page), 2 crashes often.
        const views = { vendor: [new Map(), new Map(), new Map()], acme: [new Map(), new Map(), new Map()] } as Record<Org, Array<Map<string, Fields>>>;
        for (const o of ['vendor', 'acme'] as const) for (let c = 0; c < 3; c++) await ledger.streams.attach(streams[o].id, `c${c}`);
        const ids: Record<Org, string[]> = { vendor: [], acme: [] };

        /** One page for a consumer, applied only if its commit moved the position (as a page's writes commit with it). */
        const readPage = async (o: Org, c: number, pageSize: number) => {
          const pos = (await ledger.streams.position(streams[o].id, `c${c}`))!;
          const entries = await ledger.streams.read(streams[o].id, pos.seq, pageSize);
          return { pos, entries };
        };
        const commit = async (o: Org, c: number, page: Awaited<ReturnType<typeof readPage>>) => {
          if (!page.entries.length) return false;
          const res = await ledger.commitPage({ linkId: `consumer-${c}`, feed: 'changes', stream: { streamId: streams[o].id, consumer: `c${c}`, seq: page.entries[page.entries.length - 1].seq, generation: page.pos.generation } });
          if (!res.positionAdvanced) return false;
          for (const e of page.entries) {
            if (e.deletedAt) views[o][c].delete(e.id);
            else views[o][c].set(e.id, pick(e.fields!, [...FIELDS[o]]));
          }
          return true;
        };

        for (const x of ops) {
          const o = x.org;
          if (x.kind === 'create') {
            if (o === 'vendor') {
              const r = (await sb.jsforce('vendor').sobject('Opportunity').create({ Name: `P${run}-${x.amount}`, StageName: 'Prospecting', CloseDate: '2026-12-31', Amount: x.amount })) as { id: string };
              ids.vendor.push(r.id);
            } else {
              const r = await sb.hubspot('acme').crm.deals.basicApi.create({ properties: { dealname: `P${run}-${x.amount}`, amount: String(x.amount) }, associations: [] });
              ids.acme.push(r.id);
            }
          } else if (x.kind === 'update' || x.kind === 'delete') {
            if (!ids[o].length) continue;
            const id = ids[o][x.pick % ids[o].length];
            if (x.kind === 'update') {
              if (o === 'vendor') await sb.jsforce('vendor').sobject('Opportunity').update({ Id: id, Amount: x.amount, Name: `U${run}-${x.amount}` });
              else await sb.hubspot('acme').crm.deals.basicApi.update(id, { properties: { amount: String(x.amount), dealname: `U${run}-${x.amount}` } });
            } else {
              if (o === 'vendor') await sb.jsforce('vendor').sobject('Opportunity').destroy(id);
              else await sb.hubspot('acme').crm.deals.basicApi.archive(id);
              ids[o] = ids[o].filter((i) => i !== id);
            }
          } else if (x.kind === 'poll') {
            await pumpFeeds(ledger, conns[o], (await ledger.streams.get(streams[o].id))!, { maxPages: 1, pageSize: x.pageSize });
          } else if (x.kind === 'consume') {
            const page = await readPage(o, x.consumer, x.consumer === 1 ? 1 : x.pageSize);
            if (x.crash && x.consumer === 2) continue; // read, then died before its commit
            await commit(o, x.consumer, page);
          } else {
            // The same page processed twice at once: only one commit may count.
            const [a, b] = await Promise.all([readPage(o, x.consumer, x.pageSize), readPage(o, x.consumer, x.pageSize)]);
            const counted = [await commit(o, x.consumer, a), await commit(o, x.consumer, b)].filter(Boolean).length;
            expect(counted).toBe(a.entries.length ? 1 : 0);
          }
        }

        // Quiesce: poll to the present — a caught-up page ends the feed's current window (HubSpot fixes a
        // window's end when it starts it), so until a whole window that began after the last write is
        // read — then every consumer reads to the end.
        for (const o of ['vendor', 'acme'] as const) {
          for (let i = 0, windows = 0; windows < 2; i++) {
            expect(i).toBeLessThan(500);
            if ((await pumpFeeds(ledger, conns[o], (await ledger.streams.get(streams[o].id))!, { maxPages: 1, pageSize: 5 })).caughtUp) windows++;
          }
          const direct = await directView(o);
          for (let c = 0; c < 3; c++) {
            for (let i = 0; ; i++) {
              expect(i).toBeLessThan(5000);
              const page = await readPage(o, c, c === 1 ? 1 : 10);
              if (!page.entries.length) break;
              await commit(o, c, page);
            }
            expect(Object.fromEntries(views[o][c])).toEqual(Object.fromEntries(direct));
          }
        }
      }),
      { numRuns: 12 },
    );
  });
});
