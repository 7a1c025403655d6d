import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../../connectors/errors.js';
import { changesPage, compareIds, type FeedOptions, type SearchRequest, type SearchResult } from '../../connectors/hubspot/feed.js';
import { SeenSet } from '../../connectors/seen.js';
import { nextMidnight } from '../../connectors/hubspot/time.js';
import { readThroughOf, START_CURSOR, type FeedCursor } from '../../connectors/types.js';

/**
 * The change-feed algorithm on its own, against a tiny in-memory "search" that behaves like HubSpot's
 * (filters on modified date and hs_object_id, one sort, a result cap, late indexing) — for the edge
 * cases the sandbox tests do not reach cheaply.
 */
interface Doc {
  id: number;
  modified: number;
  visibleAt: number;
}

/** One sort only; ties come back in REVERSE id order, so the feed cannot lean on the server's tie order. */
function fakeSearch(docs: Doc[], clock: { t: number }, log: SearchRequest[] = []) {
  return async (req: SearchRequest): Promise<SearchResult> => {
    log.push(req);
    if (req.sorts.length !== 1) throw new Error('HubSpot search takes one sort');
    const matches = (d: Doc, f: SearchRequest['filterGroups'][number]['filters'][number]) => {
      const v = Number(f.value);
      const x = f.propertyName === 'hs_object_id' ? d.id : d.modified;
      switch (f.operator) {
        case 'GTE': return x >= v;
        case 'LT': return x < v;
        case 'GT': return x > v;
        case 'EQ': return x === v;
        default: throw new Error(`operator ${f.operator}`);
      }
    };
    const byId = req.sorts[0].propertyName === 'hs_object_id';
    const all = docs
      .filter((d) => d.visibleAt <= clock.t && req.filterGroups.some((g) => g.filters.every((f) => matches(d, f))))
      .sort((a, b) => (byId ? a.id - b.id : a.modified - b.modified || b.id - a.id));
    const page = all.slice(0, req.limit);
    return {
      total: all.length,
      results: page.map((d) => ({ id: String(d.id), properties: { hs_object_id: String(d.id), hs_lastmodifieddate: new Date(d.modified).toISOString() } })),
      ...(all.length > req.limit ? { paging: { next: { after: String(req.limit) } } } : {}),
    };
  };
}

function options(docs: Doc[], clock: { t: number }, over: Partial<FeedOptions> = {}, log?: SearchRequest[]): FeedOptions {
  return {
    object: 'deals', modifiedProperty: 'hs_lastmodifieddate', properties: ['hs_object_id'], pageSize: 2, lookBackMs: 10_000, settleMs: 0,
    maxQueriesPerPage: 5, maxSeenChars: 10_000, now: () => clock.t, search: fakeSearch(docs, clock, log),
    toRecord: (raw, modifiedAt) => ({ id: raw.id, modifiedAt, fields: {} }), ...over,
  };
}

async function drain(cursor: FeedCursor, o: FeedOptions): Promise<{ ids: string[]; cursor: FeedCursor }> {
  const ids: string[] = [];
  for (;;) {
    const page = await changesPage(cursor, o);
    ids.push(...page.records.map((r) => r.id));
    cursor = JSON.parse(JSON.stringify(page.next)) as FeedCursor;
    if (page.caughtUp) return { ids, cursor };
  }
}

describe('HubSpot change feed algorithm', () => {
  it('says how far it has read: the end of its last finished window, kept through the pages of the next (first to register waits on it)', async () => {
    const clock = { t: 1_000_000 };
    const docs: Doc[] = Array.from({ length: 9 }, (_, i) => ({ id: 100 + i, modified: 900_000 + i, visibleAt: 0 }));
    const o = options(docs, clock, { pageSize: 4 });
    let page = await changesPage(START_CURSOR, o);
    expect(page.caughtUp).toBe(false);
    expect(readThroughOf(page.next)).toBeUndefined(); // no scan finished yet: nobody can say
    const first = await drain(page.next, o);
    expect(readThroughOf(first.cursor)).toBe(1_000_000);
    // New records and a later window: its pages still say the old window's end until it finishes.
    docs.push(...Array.from({ length: 9 }, (_, i) => ({ id: 200 + i, modified: 1_100_000 + i, visibleAt: 0 })));
    clock.t = 1_200_000;
    page = await changesPage(first.cursor, o);
    expect(page.caughtUp).toBe(false);
    expect(readThroughOf(page.next)).toBe(1_000_000);
    expect(readThroughOf((await drain(page.next, o)).cursor)).toBe(1_200_000);
  });

  it('oldest first, ties by id, each once — never paging with `after` (no 10,000 cap), one sort per query', async () => {
    const clock = { t: 1_000_000 };
    // 450 records on one timestamp (more than a 200-result search page), plus others around them.
    const docs: Doc[] = [
      ...Array.from({ length: 450 }, (_, i) => ({ id: 1000 + i, modified: 500_000, visibleAt: 0 })),
      ...Array.from({ length: 30 }, (_, i) => ({ id: 5000 - i, modified: 400_000 + i * 7_000, visibleAt: 0 })),
    ];
    const log: SearchRequest[] = [];
    const o = options(docs, clock, { pageSize: 7 }, log);
    const pages: string[][] = [];
    let cursor = START_CURSOR;
    const order: Array<[number, number]> = [];
    for (;;) {
      const page = await changesPage(cursor, o);
      pages.push(page.records.map((r) => r.id));
      for (const r of page.records) order.push([Date.parse(r.modifiedAt), Number(r.id)]);
      cursor = JSON.parse(JSON.stringify(page.next)) as FeedCursor;
      if (page.caughtUp) break;
    }
    expect(order).toHaveLength(480);
    expect(new Set(order.map(([, id]) => id)).size).toBe(480);
    for (let i = 1; i < order.length; i++) {
      const [ta, ia] = order[i - 1];
      const [tb, ib] = order[i];
      expect(ta < tb || (ta === tb && ia < ib)).toBe(true);
    }
    expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    expect(log.every((r) => r.after === undefined && r.sorts.length === 1)).toBe(true);
  });

  it('look-back: a late-indexed record is delivered by the next poll; already-delivered ones are not repeated', async () => {
    const clock = { t: 1_000_000 };
    const docs: Doc[] = [{ id: 1, modified: 990_000, visibleAt: 0 }, { id: 2, modified: 995_000, visibleAt: 0 }, { id: 3, modified: 998_000, visibleAt: 1_003_000 }];
    const o = options(docs, clock);
    const first = await drain(START_CURSOR, o);
    expect(first.ids).toEqual(['1', '2']);
    clock.t = 1_004_000;
    const second = await drain(first.cursor, o);
    expect(second.ids).toEqual(['3']);
    // A record modified again (new timestamp) is delivered again; an unchanged one is not.
    docs[0] = { id: 1, modified: 1_004_500, visibleAt: 0 };
    clock.t = 1_005_000;
    expect((await drain(second.cursor, o)).ids).toEqual(['1']);
  });

  it('a late record older than the look-back is lost — the look-back must exceed the indexing lag', async () => {
    const clock = { t: 1_000_000 };
    const docs: Doc[] = [{ id: 7, modified: 999_000, visibleAt: 1_030_000 }];
    const o = options(docs, clock, { lookBackMs: 10_000 });
    const a = await drain(START_CURSOR, o);
    clock.t = 1_031_000;
    // The window moved on to [990 000, 1 031 000)... the record at 999 000 is inside: still delivered.
    expect((await drain(a.cursor, o)).ids).toEqual(['7']);
    const docs2: Doc[] = [{ id: 8, modified: 999_000, visibleAt: 1_030_000 }];
    const o2 = options(docs2, clock, { lookBackMs: 10_000 });
    clock.t = 1_000_000;
    let cur = (await drain(START_CURSOR, o2)).cursor;
    clock.t = 1_020_000;
    cur = (await drain(cur, o2)).cursor; // window start now 1 010 000 > 999 000
    clock.t = 1_031_000;
    expect((await drain(cur, o2)).ids).toEqual([]);
  });

  it('honours a plain (time, id) cursor from elsewhere: skips ids at that exact time up to the id', async () => {
    const clock = { t: 1_000_000 };
    const docs: Doc[] = [5, 6, 7].map((id) => ({ id, modified: 900_000, visibleAt: 0 }));
    const { ids } = await drain({ modifiedAt: new Date(900_000).toISOString(), id: '6' }, options(docs, clock));
    expect(ids).toEqual(['7']);
  });

  it('stops at `until` and reports caught up', async () => {
    const clock = { t: 1_000_000 };
    const docs: Doc[] = [{ id: 1, modified: 100, visibleAt: 0 }, { id: 2, modified: 200, visibleAt: 0 }];
    const { ids } = await drain(START_CURSOR, options(docs, clock, { until: new Date(150).toISOString() }));
    expect(ids).toEqual(['1']);
  });

  it('refuses to continue when search answers a tie enumeration out of id order (protocol error, not silent loss)', async () => {
    const clock = { t: 1_000_000 };
    const at = '1970-01-01T00:00:00.100Z';
    const o = options([], clock, {
      search: async (req) =>
        req.sorts[0].propertyName === 'hs_object_id'
          ? { total: 2, results: [{ id: '5', properties: { hs_lastmodifieddate: at } }, { id: '3', properties: { hs_lastmodifieddate: at } }] }
          : { total: 999, results: Array.from({ length: 200 }, (_, i) => ({ id: String(i + 1), properties: { hs_lastmodifieddate: at } })), paging: { next: { after: '200' } } },
    });
    const e = await changesPage(START_CURSOR, o).catch((x: unknown) => x);
    expect(isConnectorError(e, 'protocol')).toBe(true);
  });
});

describe('HubSpot feed helpers', () => {
  it('SeenSet round-trips compactly: 30,000 consecutive ids on one timestamp are one range', () => {
    const s = new SeenSet();
    for (let i = 1; i <= 30_000; i++) s.add(String(300_000_000 + i), 1_000);
    s.add('odd-id,1', 2_000);
    s.add('007', 2_000);
    const enc = s.encode();
    expect(enc['1000']).toBe('300000001-300030000');
    const back = SeenSet.decode(JSON.parse(JSON.stringify(enc)));
    expect(back.size).toBe(30_002);
    expect(back.has('300012345', 1_000)).toBe(true);
    expect(back.has('300012345', 2_000)).toBe(false);
    expect(back.has('odd-id,1', 2_000)).toBe(true);
    expect(back.has('007', 2_000)).toBe(true);
    back.prune(1_500);
    expect(back.size).toBe(2);
  });

  it('SeenSet keeps the newest timestamps when over its size cap', () => {
    const s = new SeenSet();
    for (let t = 0; t < 100; t++) s.add(String(t * 2), t);
    const enc = s.encode(60);
    const kept = Object.keys(enc).map(Number);
    expect(Math.min(...kept)).toBeGreaterThan(50);
    expect(kept).toContain(99);
  });

  it('compareIds orders numeric ids numerically', () => {
    expect(compareIds('9', '10')).toBeLessThan(0);
    expect(compareIds('300000010', '300000009')).toBeGreaterThan(0);
    expect(compareIds('abc', 'abd')).toBeLessThan(0);
  });

  it('nextMidnight: UTC and a portal time zone across a DST change', () => {
    expect(nextMidnight(new Date('2026-11-22T23:59:59Z')).toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(nextMidnight(new Date('2026-11-22T00:00:00Z')).toISOString()).toBe('2026-11-23T00:00:00.000Z');
    // Berlin on the night summer time ends (25 Oct 2026): midnight of the 26th is 23:00Z on the 25th.
    expect(nextMidnight(new Date('2026-10-25T12:00:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-10-25T23:00:00.000Z');
    expect(nextMidnight(new Date('2026-07-01T21:30:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-07-01T22:00:00.000Z');
  });
});
