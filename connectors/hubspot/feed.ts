import { ConnectorError } from '../errors.js';
import type { ChangePage, CrmRecord, FeedCursor } from '../types.js';
import { SeenSet } from './seen.js';
import { toIso, toMs } from './time.js';

/**
 * The HubSpot change feed, built on search. Three HubSpot facts shape it:
 *
 * 1. Search pages past 10,000 results answer 400, and search sorts by ONE property. So the feed never
 *    pages with `after`: it scans a time window [from, to) of `hs_lastmodifieddate` by keyset on
 *    `hs_object_id` (filter `hs_object_id > lastId`, sort by it ascending). Every page is a fresh
 *    query whose result set starts at 0, so a window may hold any number of records (30,000 deals
 *    changed in one window are all delivered) and any number of records sharing one timestamp are
 *    each delivered exactly once: the tie-break IS the scan order. The cursor is (window start, last
 *    id) with `>=` on the start; `state.to` holds the window end while a window is open.
 * 2. Writes reach search "after a few moments". A window therefore ends at "now" (minus an optional
 *    settle delay) and the next one starts `lookBackMs` before that end, so a record that became
 *    searchable late is still found by the next scan. What the previous scans already delivered inside
 *    the look-back is remembered in the cursor (`state.seen`: id + modifiedAt) and skipped, so a
 *    re-scan delivers only late arrivals and new modifications — not needless duplicates.
 * 3. Search is limited to ~5 requests/s per portal: every query goes through the `search` window of
 *    the org's rate budget (the caller's `search` function does that).
 *
 * Within a window records come in id order, not time order; across windows time order holds.
 */

export interface SearchFilter {
  propertyName: string;
  operator: 'GTE' | 'LT' | 'GT' | 'EQ' | 'IN' | 'CONTAINS_TOKEN' | 'HAS_PROPERTY';
  value?: string;
  values?: string[];
}

export interface SearchRequest {
  filterGroups: Array<{ filters: SearchFilter[] }>;
  sorts: Array<{ propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }>;
  properties: string[];
  limit: number;
  after?: string;
}

export interface SearchResult {
  total: number;
  results: Array<{ id: string; properties: Record<string, string | null>; updatedAt?: Date | string }>;
  paging?: { next?: { after?: string } };
}

export interface FeedOptions {
  object: string;
  /** `hs_lastmodifieddate`, or `lastmodifieddate` for contacts. */
  modifiedProperty: string;
  properties: string[];
  pageSize: number;
  until?: string;
  lookBackMs: number;
  settleMs: number;
  /** Bound on queries per call when re-scans find only already-delivered records. */
  maxQueriesPerPage: number;
  /** Cap on the serialised `seen` memory in the cursor. */
  maxSeenChars: number;
  now: () => number;
  search: (req: SearchRequest) => Promise<SearchResult>;
  toRecord: (raw: SearchResult['results'][number], modifiedAt: string) => CrmRecord;
}

interface FeedState {
  v: 1;
  /** End (exclusive) of the open window; absent between windows. */
  to?: string;
  /** Skip records at exactly `modifiedAt` with id <= this (a plain (time, id) cursor from elsewhere). */
  skipUpTo?: string;
  seen?: Record<string, string>;
}

export const SEARCH_MAX_LIMIT = 200;

export async function changesPage(cursor: FeedCursor, o: FeedOptions): Promise<ChangePage> {
  const st = readState(cursor);
  const from = toMs(cursor.modifiedAt);
  const seen = SeenSet.decode(st.seen);
  let to: number;
  let lastId: string;
  let skipUpTo = st.skipUpTo;
  if (st.to) {
    to = toMs(st.to);
    lastId = cursor.id;
  } else {
    // Open a new window up to the present (or `until`).
    to = o.now() - o.settleMs;
    if (o.until) to = Math.min(to, toMs(o.until));
    lastId = '';
    if (cursor.id && !st.seen && !skipUpTo) skipUpTo = cursor.id;
    if (to <= from) return { records: [], next: cursor, caughtUp: true };
  }

  const limit = Math.max(1, Math.min(o.pageSize, SEARCH_MAX_LIMIT));
  const records: CrmRecord[] = [];
  const delivered = new SeenSet();
  const keepFrom = to - o.lookBackMs;
  let done = false;
  for (let q = 0; q < o.maxQueriesPerPage && !done && records.length === 0; q++) {
    const filters: SearchFilter[] = [
      { propertyName: o.modifiedProperty, operator: 'GTE', value: String(from) },
      { propertyName: o.modifiedProperty, operator: 'LT', value: String(to) },
    ];
    if (lastId) filters.push({ propertyName: 'hs_object_id', operator: 'GT', value: lastId });
    const res = await o.search({
      filterGroups: [{ filters }],
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      properties: o.properties,
      limit,
    });
    for (const raw of res.results) {
      if (lastId && compareIds(raw.id, lastId) <= 0) {
        throw new ConnectorError('protocol', `HubSpot search on ${o.object} returned id ${raw.id} not after ${lastId}: the keyset scan cannot continue safely`);
      }
      lastId = raw.id;
      const modifiedAt = toIso(raw.properties[o.modifiedProperty]) ?? toIso(raw.updatedAt);
      if (!modifiedAt) throw new ConnectorError('protocol', `HubSpot ${o.object} ${raw.id} has no ${o.modifiedProperty}`);
      const mod = toMs(modifiedAt);
      if (mod < from || mod >= to) continue; // defensive: outside the window asked for
      if (skipUpTo && mod === from && compareIds(raw.id, skipUpTo) <= 0) continue;
      if (seen.has(raw.id, mod)) continue; // delivered by an earlier scan of the look-back
      records.push(o.toRecord(raw, modifiedAt));
      if (mod >= keepFrom) delivered.add(raw.id, mod);
    }
    done = res.results.length === 0 || !res.paging?.next;
  }

  seen.merge(delivered);
  if (!done) {
    const state: FeedState = { v: 1, to: new Date(to).toISOString(), ...(skipUpTo ? { skipUpTo } : {}), seen: seen.encode(o.maxSeenChars) };
    return { records, next: { modifiedAt: cursor.modifiedAt, id: lastId, state: { ...state } }, caughtUp: false };
  }
  // Window finished: the next one re-scans the look-back before this window's end.
  const nextFrom = Math.max(from, to - o.lookBackMs);
  seen.prune(nextFrom);
  const state: FeedState = { v: 1, seen: seen.encode(o.maxSeenChars) };
  return { records, next: { modifiedAt: new Date(nextFrom).toISOString(), id: '', state: { ...state } }, caughtUp: true };
}

function readState(cursor: FeedCursor): FeedState {
  const s = cursor.state as Partial<FeedState> | undefined;
  if (!s || s.v !== 1) return { v: 1 };
  return {
    v: 1,
    to: typeof s.to === 'string' ? s.to : undefined,
    skipUpTo: typeof s.skipUpTo === 'string' ? s.skipUpTo : undefined,
    seen: s.seen && typeof s.seen === 'object' ? s.seen : undefined,
  };
}

/** HubSpot ids are numeric strings: compare as numbers, fall back to strings. */
export function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    if (a.length !== b.length) return a.length - b.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
