import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedIndex } from '../../sandbox/hubspot/sortedIndex.js';

interface Item {
  key: number;
  id: number;
  alive: boolean;
}

/** The HubSpot emulator's search index against the obvious reference: a sorted copy searched linearly. */
describe('SortedIndex (property)', () => {
  it('bounds, pages and live items agree with a sorted array, through inserts out of order and removals', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), key: fc.integer({ min: 0, max: 20 }), id: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
    );
    const query = fc.record({ key: fc.integer({ min: -1, max: 21 }), id: fc.integer({ min: -1, max: 51 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.array(query, { minLength: 1, maxLength: 10 }), (ops, queries) => {
        const index = new SortedIndex<Item>((i) => i.key, (i) => i.id, (i) => i.alive);
        const all: Item[] = [];
        for (const o of ops) {
          if (o.kind === 'insert') {
            const item = { key: o.key, id: o.id, alive: true };
            all.push(item);
            index.insert(item);
          } else {
            const live = all.filter((i) => i.alive);
            if (!live.length) continue;
            live[o.at % live.length]!.alive = false;
            index.noteRemoved();
          }
        }
        const before = (a: Item, key: number, id: number) => a.key < key || (a.key === key && a.id < id);
        const notAfter = (a: Item, key: number, id: number) => a.key < key || (a.key === key && a.id <= id);
        const live = all.filter((i) => i.alive).sort((a, b) => a.key - b.key || a.id - b.id);
        expect(index.alive().map((i) => [i.key, i.id])).toEqual(live.map((i) => [i.key, i.id]));
        expect(index.size).toBe(live.length);
        for (const q of queries) {
          // Positions count dead items too, so compare what lies before each bound.
          const lower = index.lowerBound(q.key, q.id);
          const upper = index.upperBound(q.key, q.id);
          expect(index.liveSlice(0, lower).length).toBe(live.filter((i) => before(i, q.key, q.id)).length);
          expect(index.liveSlice(0, upper).length).toBe(live.filter((i) => notAfter(i, q.key, q.id)).length);
          expect(index.liveSlice(lower, upper).map((i) => [i.key, i.id])).toEqual(live.filter((i) => i.key === q.key && i.id === q.id).map((i) => [i.key, i.id]));
          expect(index.lowerBound(q.key)).toBeLessThanOrEqual(lower);
          expect(index.upperBound(q.key)).toBeGreaterThanOrEqual(upper);
          const { items, next } = index.page(lower, 3);
          const expected = live.filter((i) => !before(i, q.key, q.id));
          expect(items.map((i) => [i.key, i.id])).toEqual(expected.slice(0, 3).map((i) => [i.key, i.id]));
          expect(next && [next.key, next.id]).toEqual(expected[3] && [expected[3].key, expected[3].id]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
