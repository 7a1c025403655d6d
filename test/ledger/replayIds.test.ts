import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Ledger } from '../../ledger/index.js';
import { backends, useLedgerStore, uniqueLink, type LedgerStore } from './backends.js';

/** Change Data Capture positions (ledger/replayIds.ts): durable, forward-only, numeric order on 64-bit ids. */
for (const backend of backends) {
  describe(`replay ids on ${backend.name}`, () => {
    let ledger: Ledger;
    let store: LedgerStore;
    useLedgerStore(backend, (s, l) => ((store = s), (ledger = l)));

    it('stores, reads back and survives a reopen', async () => {
      const org = uniqueLink('org');
      expect(await ledger.replayIds.get(org, '/data/OpportunityChangeEvent')).toBeUndefined();
      expect(await ledger.replayIds.advance(org, '/data/OpportunityChangeEvent', '1796244539133001')).toBe(true);
      const other = await store.open();
      try {
        expect((await other.replayIds.get(org, '/data/OpportunityChangeEvent'))?.replayId).toBe('1796244539133001');
        expect((await other.replayIds.list(org)).map((r) => r.topic)).toEqual(['/data/OpportunityChangeEvent']);
      } finally {
        await other.close();
      }
    });

    it('never moves back, compares as numbers (9 < 10, 2^63-1 fits), refuses non-decimal ids', async () => {
      const org = uniqueLink('org');
      const t = '/data/AccountChangeEvent';
      expect(await ledger.replayIds.advance(org, t, '10')).toBe(true);
      expect(await ledger.replayIds.advance(org, t, '9')).toBe(false);
      expect(await ledger.replayIds.advance(org, t, '10')).toBe(false);
      expect(await ledger.replayIds.advance(org, t, '9223372036854775807')).toBe(true);
      expect((await ledger.replayIds.get(org, t))?.replayId).toBe('9223372036854775807');
      await expect(ledger.replayIds.advance(org, t, '-1')).rejects.toThrow(/decimal/);
      await expect(ledger.replayIds.advance(org, t, '01')).rejects.toThrow(/decimal/);
    });

    it('concurrent advances from several workers in any order end at the largest', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), { minLength: 1, maxLength: 12 }), async (ids) => {
          const org = uniqueLink('org');
          const results = await Promise.all(ids.map((id) => ledger.replayIds.advance(org, '/data/OpportunityChangeEvent', id.toString())));
          const max = ids.reduce((a, b) => (b > a ? b : a));
          expect((await ledger.replayIds.get(org, '/data/OpportunityChangeEvent'))?.replayId).toBe(max.toString());
          expect(results.some(Boolean)).toBe(true);
        }),
        { numRuns: 25 },
      );
    });
  });
}
