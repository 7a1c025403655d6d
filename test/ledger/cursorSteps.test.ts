import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparePositions } from '../../connectors/cursorOrder.js';
import type { FeedCursor } from '../../connectors/types.js';
import type { Ledger } from '../../ledger/index.js';
import { isCosellError } from '../../lib/errors.js';
import { backends, uniqueLink, useLedgerStore } from './backends.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/**
 * What a refused cursor means (issue #12, "no silent stalls"): a resync or an overtaken duplicate is
 * harmless and says so; a page whose own step goes backwards — the HubSpot look-back once did that —
 * or nowhere while not caught up fails with COSELL_FEED_STALLED and writes nothing.
 */
describe.each(backends)('cursor steps on $name', (backend) => {
  let ledger: Ledger;
  useLedgerStore(backend, (_s, l) => (ledger = l));

  it("a page's own step backwards fails loudly (COSELL_FEED_STALLED) and records nothing of the page", async () => {
    const link = uniqueLink();
    await ledger.commitPage({ linkId: link, feed: 'changes', cursor: { modifiedAt: at(10), id: '5', state: { scan: 1 } } });
    const from = await ledger.cursors.getOrStart(link, 'changes');
    const e = await ledger
      .commitPage({ linkId: link, feed: 'changes', from, generation: from.generation, caughtUp: true, cursor: { modifiedAt: at(8), id: '' }, pairs: [{ sourceId: 'x', targetId: 'y' }] })
      .catch((x: unknown) => x);
    expect(isCosellError(e, 'COSELL_FEED_STALLED')).toBe(true);
    expect((e as Error).message).toMatch(/behind the one the page was read from/);
    expect(await ledger.pairs.count(link)).toBe(0);
    expect(await ledger.cursors.get(link, 'changes')).toMatchObject({ modifiedAt: at(10), id: '5', state: { scan: 1 } });
  });

  it('a page that is not caught up yet returns its own start cursor fails loudly too; caught up, it is fine', async () => {
    const link = uniqueLink();
    const from = await ledger.cursors.getOrStart(link, 'changes');
    const same: FeedCursor = { modifiedAt: from.modifiedAt, id: from.id };
    const e = await ledger.commitPage({ linkId: link, feed: 'changes', from, caughtUp: false, cursor: same }).catch((x: unknown) => x);
    expect(isCosellError(e, 'COSELL_FEED_STALLED')).toBe(true);
    expect((await ledger.commitPage({ linkId: link, feed: 'changes', from, caughtUp: true, cursor: same })).cursorAdvanced).toBe(true);
    // Same position, state moved on (a look-back re-scan): progress, accepted.
    const now = await ledger.cursors.getOrStart(link, 'changes');
    expect((await ledger.commitPage({ linkId: link, feed: 'changes', from: now, caughtUp: false, cursor: { ...same, state: { at: 1 } } })).cursorAdvanced).toBe(true);
  });

  it('harmless refusals say why: a resync bumped the generation, or another activity got there first', async () => {
    const link = uniqueLink();
    const from = await ledger.cursors.getOrStart(link, 'changes');
    const page = { linkId: link, feed: 'changes' as const, from, generation: from.generation, caughtUp: false };
    // Two copies of one activity (a retried page whose first attempt was not dead after all).
    expect(await ledger.commitPage({ ...page, cursor: { modifiedAt: at(5), id: 'b', state: { s: 'first' } } })).toMatchObject({ cursorAdvanced: true });
    const late = await ledger.commitPage({ ...page, cursor: { modifiedAt: at(4), id: 'z' } });
    expect(late).toMatchObject({ cursorAdvanced: false, refused: 'overtaken', cursor: { modifiedAt: at(5), id: 'b' } });
    // Same position, older state: refused too — a loser cannot roll the feed's state back.
    const next = await ledger.cursors.getOrStart(link, 'changes');
    expect(await ledger.commitPage({ ...page, from: next, cursor: { modifiedAt: at(5), id: 'b', state: { s: 'second' } } })).toMatchObject({ cursorAdvanced: true });
    expect(await ledger.commitPage({ ...page, from: next, cursor: { modifiedAt: at(5), id: 'b', state: { s: 'second' } } })).toMatchObject({ cursorAdvanced: true }); // its own duplicate: same result
    expect(await ledger.commitPage({ ...page, cursor: { modifiedAt: at(5), id: 'b', state: { s: 'first' } } })).toMatchObject({ cursorAdvanced: false, refused: 'overtaken' });
    expect((await ledger.cursors.get(link, 'changes'))?.state).toEqual({ s: 'second' });
    // A resync since the page was read.
    await ledger.cursors.reset(link, 'changes');
    expect(await ledger.commitPage({ ...page, from: next, cursor: { modifiedAt: at(9), id: 'c' } })).toMatchObject({ cursorAdvanced: false, refused: 'resync' });
  });

  it('ids order as the feeds do: shorter first, so numeric ids are in numeric order ("9" < "10")', async () => {
    const link = uniqueLink();
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(1), id: '9' })).toBe(true);
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(1), id: '10' })).toBe(true);
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(1), id: '9' })).toBe(false);
    expect(await ledger.cursors.get(link, 'changes')).toMatchObject({ id: '10' });
  });

  it('random steps, duplicates and resyncs: the stored position never goes back within a generation, and only own regressions are errors', async () => {
    const ids = fc.constantFrom('', '7', '9', '10', '11', '123', 'a0', 'b0');
    const pos = fc.record({ modifiedAt: fc.integer({ min: 0, max: 6 }).map(at), id: ids });
    const op = fc.oneof(
      fc.record({ kind: fc.constant('step' as const), to: pos, caughtUp: fc.boolean(), state: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('stale' as const), to: pos, back: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('resync' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const link = uniqueLink();
        const history: Array<Awaited<ReturnType<Ledger['cursors']['getOrStart']>>> = [await ledger.cursors.getOrStart(link, 'changes')];
        for (const o of ops) {
          const before = await ledger.cursors.getOrStart(link, 'changes');
          if (o.kind === 'resync') {
            await ledger.cursors.reset(link, 'changes');
          } else if (o.kind === 'step') {
            const cursor: FeedCursor = { ...o.to, state: { n: o.state } };
            const r = await ledger
              .commitPage({ linkId: link, feed: 'changes', from: before, generation: before.generation, caughtUp: o.caughtUp, cursor })
              .catch((e: unknown) => e);
            const order = comparePositions(cursor, before);
            const same = order === 0 && JSON.stringify(cursor.state) === JSON.stringify(before.state ?? null);
            if (order < 0 || (same && !o.caughtUp)) {
              expect(isCosellError(r, 'COSELL_FEED_STALLED')).toBe(true);
            } else {
              // Our own step from the current cursor is always stored.
              expect(r).toMatchObject({ cursorAdvanced: true });
            }
          } else {
            // A late duplicate read from an older cursor: stored or refused, never an error, never a step back.
            const old = history[Math.max(0, history.length - o.back)];
            const cursor: FeedCursor = comparePositions(o.to, old) < 0 ? { modifiedAt: old.modifiedAt, id: old.id } : o.to;
            const r = await ledger.commitPage({ linkId: link, feed: 'changes', from: old, generation: old.generation, caughtUp: true, cursor });
            if (!r.cursorAdvanced) expect(r.refused).toBe(old.generation !== before.generation ? 'resync' : 'overtaken');
          }
          const after = await ledger.cursors.getOrStart(link, 'changes');
          if (after.generation === before.generation) expect(comparePositions(after, before)).toBeGreaterThanOrEqual(0);
          history.push(after);
        }
      }),
      { numRuns: backend.name === 'postgres' ? 25 : 50 },
    );
  }, 60_000);
});
