import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../ledger/index.js';
import { Engine } from '../../sync/build.js';
import { PARKED_PARENT, replayDeadLetters } from '../../sync/page.js';
import { backends, uniqueLink, useLedgerStore } from '../ledger/backends.js';
import { sandboxEnv, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { drain } from '../helpers/drain.js';

/**
 * Parked children (dead letters PARENT_NOT_SYNCED) are replayed however many other dead letters the
 * link holds, and a replay that fails half-way leaves them pending (the "replayed" mark commits with
 * the page's outcome, not before it). On both ledger backends, through the sandbox CRMs.
 */
const OTHERS = 1_200;

for (const backend of backends) {
  describe(`replaying parked records (${backend.name})`, () => {
    let ledger: Ledger;
    let sb: TestSandbox;
    let engine: Engine;
    const companies = uniqueLink('companies');
    const deals = uniqueLink('deals');
    const companiesAgain = uniqueLink('companies');
    const parkedAgain = uniqueLink('deals');
    useLedgerStore(backend, (_s, l) => (ledger = l));

    beforeAll(async () => {
      sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'acme', kind: 'hubspot', role: 'partner' }] });
      const conn = sandboxEnv(sb, `REPLAY_${backend.name.toUpperCase()}`);
      const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${companies}, from: acme.companies, to: vendor.Account, mapping: $STOCK/hubspot-company-to-salesforce-account.yaml }
  - id: ${deals}
    from: acme.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
    parent: { link: ${companies}, sourceField: associations.companies, targetField: AccountId }
  - { id: ${companiesAgain}, from: acme.companies, to: vendor.Account, mapping: $STOCK/hubspot-company-to-salesforce-account.yaml }
  - id: ${parkedAgain}
    from: acme.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
    parent: { link: ${companiesAgain}, sourceField: associations.companies, targetField: AccountId }
`);
      engine = new Engine({ network, ledger });
    }, 60_000);
    afterAll(async () => {
      await engine?.close();
      await sb?.stop();
    });

    it(`every parked record lands behind ${OTHERS} other dead letters, a page at a time`, async () => {
      // Older dead letters with other codes first, so the parked ones have the highest ids.
      await ledger.deadLetters.add(
        deals,
        Array.from({ length: OTHERS }, (_, i) => ({ sourceId: `other-${i}`, payload: {}, reason: 'rejected by a validation rule', code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', kind: 'validation' as const })),
      );
      await drain(engine, deals); // no company has synced: every deal with one waits
      const parked = await ledger.deadLetters.list({ linkId: deals, status: 'pending', codes: [PARKED_PARENT], limit: 10_000 });
      expect(parked.length).toBeGreaterThan(0);
      await drain(engine, companies);

      const replay = await replayDeadLetters(await engine.link(deals), { codes: [PARKED_PARENT], pageSize: 7 });
      expect(replay.counts.created).toBe(parked.length);
      expect(await ledger.deadLetters.list({ linkId: deals, status: 'pending', codes: [PARKED_PARENT] })).toEqual([]);
      expect((await ledger.pairs.bySource(deals, parked.map((d) => d.sourceId))).size).toBe(parked.length);
      expect((await ledger.deadLetters.counts(deals)).pending).toBe(OTHERS); // the others are untouched
    }, 120_000);

    it('a replay whose commit fails leaves its dead letters pending (the mark commits with the outcome)', async () => {
      // A second link over the same deals whose parent link has not synced in its own ledger rows yet.
      await drain(engine, parkedAgain);
      const parked = await ledger.deadLetters.list({ linkId: parkedAgain, status: 'pending', codes: [PARKED_PARENT], limit: 10_000 });
      expect(parked.length).toBeGreaterThan(0);
      await drain(engine, companiesAgain);
      const rt = await engine.link(parkedAgain);
      // The ledger connection drops as the replayed page commits (the worker could as well be killed there).
      const failing = { ...rt, ledger: Object.assign(Object.create(rt.ledger) as Ledger, { commitPage: () => Promise.reject(new Error('connection terminated during commit')) }) };
      await expect(replayDeadLetters(failing, { codes: [PARKED_PARENT] })).rejects.toThrow(/connection terminated/);
      expect((await ledger.deadLetters.list({ linkId: parkedAgain, status: 'pending', codes: [PARKED_PARENT], limit: 10_000 })).map((d) => d.id)).toEqual(parked.map((d) => d.id));
      // And the next replay lands them.
      const replay = await replayDeadLetters(rt, { codes: [PARKED_PARENT] });
      expect((replay.counts.created ?? 0) + (replay.counts.updated ?? 0) + (replay.counts.unchanged ?? 0)).toBe(parked.length);
      expect((await ledger.deadLetters.counts(parkedAgain)).pending).toBe(0);
    }, 120_000);

    it('listing by code pages through exactly the matching rows, whatever else the link holds (randomized)', async () => {
      const codes = ['A', 'B', 'C', PARKED_PARENT];
      await fc.assert(
        fc.asyncProperty(fc.array(fc.record({ code: fc.constantFrom(...codes, null), replayed: fc.boolean() }), { maxLength: 60 }), fc.subarray(codes), fc.integer({ min: 1, max: 9 }), async (rows, want, pageSize) => {
          const link = uniqueLink('prop');
          await ledger.deadLetters.add(link, rows.map((r, i) => ({ sourceId: `s${String(i).padStart(3, '0')}`, payload: null, reason: 'x', code: r.code })));
          const all = await ledger.deadLetters.list({ linkId: link, limit: 10_000 });
          await ledger.deadLetters.markReplayed(all.filter((_, i) => rows[i].replayed).map((d) => d.id));
          const expected = all.filter((d, i) => !rows[i].replayed && d.code !== null && want.includes(d.code)).map((d) => d.id);
          const got: number[] = [];
          let afterId: number | undefined;
          for (;;) {
            const page = await ledger.deadLetters.list({ linkId: link, status: 'pending', codes: want, afterId, limit: pageSize });
            if (!page.length) break;
            got.push(...page.map((d) => d.id));
            afterId = page[page.length - 1].id;
          }
          expect(got).toEqual(expected);
        }),
        { numRuns: 25 },
      );
    }, 120_000);
  });
}
