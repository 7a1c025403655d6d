import { compareIds, comparePositions } from '../cursorOrder.js';
import { ConnectorError } from '../errors.js';
import { SeenSet } from '../seen.js';
import type { ChangePage, CrmRecord, FeedCursor } from '../types.js';
import { toIso, toMs } from './time.js';

/**
 * The HubSpot change feed, built on search. Four HubSpot facts shape it:
 *
 * 1. Search sorts by ONE property and pages past 10,000 results answer 400. So the feed never pages
 *    with `after`: every page is a fresh keyset query from the cursor (modifiedAt T, id) —
 *    `(modified = T AND id > lastId) OR (modified > T)`, sorted by modified — whose result set starts
 *    at 0, so any number of changed records (30,000 deals in one window) is delivered.
 * 2. One sort means records sharing a timestamp come back in no particular order. The feed therefore
 *    delivers only timestamp groups it has seen completely (every group before the page's last
 *    timestamp), sorted by (modifiedAt, id); when a whole page shares one timestamp, it enumerates that
 *    group by `hs_object_id` (`modified = T AND id > lastId`, sorted by id). Any number of records on
 *    one timestamp are each delivered exactly once, oldest first, ties by id.
 * 3. Writes reach search "after a few moments". A scan window ends at "now" (`state.to`, minus an
 *    optional settle delay); when it is done, the next one starts `lookBackMs` before its end, so a
 *    record that became searchable late is still found. What earlier scans delivered inside the
 *    look-back is remembered (`state.seen`: id + modifiedAt, compact) and skipped, so a re-scan
 *    delivers only late arrivals and new modifications, not needless duplicates.
 *    The look-back lives in `state` only: the scan's own position is `state.at`, while the cursor's
 *    (modifiedAt, id) is the high-water mark — the newest position ever delivered, in the ledger's
 *    order (connectors/cursorOrder.ts) — so it never moves backwards and the ledger's compare-and-set
 *    never refuses a page's own step. (It once was the scan position: a window of several pages whose
 *    newest record sat inside the look-back then ended on a cursor *behind* the stored one, the ledger
 *    refused it, and the feed re-read its last page forever.)
 * 4. Search is limited to ~5 requests/s per portal: every query goes through the `search` window of
 *    the org's rate budget (the caller's `search` function does that).
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
  v: 3;
  /** Where the scan resumes (modifiedAt, id), when not at the high-water mark (the cursor itself). */
  at?: [string, string];
  /** End (exclusive) of the open scan window; absent between windows. */
  to?: string;
  /** Start of the open window (ms), so the next one never starts earlier. */
  from?: number;
  /** The group at the cursor's timestamp is being enumerated by id. */
  ties?: boolean;
  seen?: Record<string, string>;
  /** End (ms) of the last finished window: everything searchable before it was delivered (`readThroughOf`). */
  through?: number;
}

export const SEARCH_MAX_LIMIT = 200;

interface Row {
  raw: SearchResult['results'][number];
  mod: number;
  modifiedAt: string;
}

export async function changesPage(cursor: FeedCursor, o: FeedOptions): Promise<ChangePage> {
  const st = readState(cursor);
  // The high-water mark (what the cursor says) and the scan position (where this page reads from).
  let hwm = { modifiedAt: new Date(toMs(cursor.modifiedAt)).toISOString(), id: cursor.id };
  let T = st.at ? toMs(st.at[0]) : toMs(cursor.modifiedAt);
  let lastId = st.at ? st.at[1] : cursor.id;
  let ties = st.ties ?? false;
  let to: number;
  let windowStart: number;
  if (st.to) {
    to = toMs(st.to);
    windowStart = st.from ?? T;
  } else {
    // Open a new window up to the present (or `until`). A plain (time, id) cursor from elsewhere
    // means the same thing here: everything before T, and the records at T up to that id, are done.
    to = o.now() - o.settleMs;
    if (o.until) to = Math.min(to, toMs(o.until));
    windowStart = T;
    if (to <= T) return { records: [], next: cursor, caughtUp: true };
  }

  const need = Math.max(1, Math.min(o.pageSize, SEARCH_MAX_LIMIT));
  const seen = SeenSet.decode(st.seen);
  const delivered = new SeenSet();
  const keepFrom = to - o.lookBackMs;
  const records: CrmRecord[] = [];
  const mod = o.modifiedProperty;
  const rowOf = (raw: Row['raw']): Row => {
    const modifiedAt = toIso(raw.properties[mod]) ?? toIso(raw.updatedAt);
    if (!modifiedAt) throw new ConnectorError('protocol', `HubSpot ${o.object} ${raw.id} has no ${mod}`);
    return { raw, mod: toMs(modifiedAt), modifiedAt };
  };
  const consume = (r: Row) => {
    T = r.mod;
    lastId = r.raw.id;
    if (seen.has(r.raw.id, r.mod)) return; // delivered by an earlier scan of the look-back
    records.push(o.toRecord(r.raw, r.modifiedAt));
    if (r.mod >= keepFrom) delivered.add(r.raw.id, r.mod);
    const pos = { modifiedAt: new Date(r.mod).toISOString(), id: r.raw.id };
    if (comparePositions(pos, hwm) > 0) hwm = pos;
  };

  let done = false;
  for (let q = 0; q < o.maxQueriesPerPage && records.length < need && !done; q++) {
    if (ties) {
      // Enumerate the records sharing timestamp T by id.
      const filters: SearchFilter[] = [{ propertyName: mod, operator: 'EQ', value: String(T) }];
      if (lastId) filters.push({ propertyName: 'hs_object_id', operator: 'GT', value: lastId });
      const res = await o.search({ filterGroups: [{ filters }], sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }], properties: o.properties, limit: SEARCH_MAX_LIMIT });
      let stopped = false;
      for (const raw of res.results) {
        if (records.length >= need) {
          stopped = true;
          break;
        }
        if (lastId && compareIds(raw.id, lastId) <= 0) {
          throw new ConnectorError('protocol', `HubSpot search on ${o.object} returned id ${raw.id} not after ${lastId}: the keyset scan cannot continue safely`);
        }
        const row = rowOf(raw);
        if (row.mod !== T) throw new ConnectorError('protocol', `HubSpot search on ${o.object} returned ${raw.id} modified at ${row.modifiedAt} for ${mod} = ${new Date(T).toISOString()}`);
        consume(row);
      }
      if (!stopped && (res.results.length < SEARCH_MAX_LIMIT || !res.paging?.next)) ties = false; // group done
      continue;
    }
    const window: SearchFilter = { propertyName: mod, operator: 'LT', value: String(to) };
    const filterGroups: SearchRequest['filterGroups'] = lastId
      ? [
          { filters: [{ propertyName: mod, operator: 'EQ', value: String(T) }, { propertyName: 'hs_object_id', operator: 'GT', value: lastId }, window] },
          { filters: [{ propertyName: mod, operator: 'GT', value: String(T) }, window] },
        ]
      : [{ filters: [{ propertyName: mod, operator: 'GTE', value: String(T) }, window] }];
    const res = await o.search({ filterGroups, sorts: [{ propertyName: mod, direction: 'ASCENDING' }], properties: o.properties, limit: SEARCH_MAX_LIMIT });
    const rows = res.results
      .map(rowOf)
      // Defensive: anything at or before the cursor, or outside the window, is not ours to deliver.
      .filter((r) => r.mod < to && (r.mod > T || (r.mod === T && (!lastId || compareIds(r.raw.id, lastId) > 0))))
      .sort((a, b) => a.mod - b.mod || compareIds(a.raw.id, b.raw.id));
    const complete = res.results.length < SEARCH_MAX_LIMIT || !res.paging?.next;
    let usable = rows;
    if (!complete) {
      // The last timestamp of a full page may continue on the next: deliver only complete groups.
      const last = rows.length ? rows[rows.length - 1].mod : T;
      usable = rows.filter((r) => r.mod < last);
      if (usable.length === 0) {
        if (last !== T) {
          T = last;
          lastId = '';
        }
        ties = true;
        continue;
      }
    }
    let stopped = false;
    for (const r of usable) {
      if (records.length >= need) {
        stopped = true;
        break;
      }
      consume(r);
    }
    if (complete && !stopped) done = true;
  }

  seen.merge(delivered);
  const cursorAt = (scanMs: number, scanId: string, state: Omit<FeedState, 'v' | 'at'>): FeedCursor => {
    const scan = { modifiedAt: new Date(scanMs).toISOString(), id: scanId };
    const at: FeedState['at'] = comparePositions(scan, hwm) === 0 ? undefined : [scan.modifiedAt, scan.id];
    const full: FeedState = { v: 3, ...(at ? { at } : {}), ...state };
    return { modifiedAt: hwm.modifiedAt, id: hwm.id, state: { ...full } };
  };
  if (!done) {
    return { records, next: cursorAt(T, lastId, { to: new Date(to).toISOString(), from: windowStart, ...(ties ? { ties } : {}), seen: seen.encode(o.maxSeenChars), ...(st.through !== undefined ? { through: st.through } : {}) }), caughtUp: false };
  }
  // Window finished: the next one re-scans the look-back before this window's end — a position in
  // the feed's state, never in the high-water mark.
  const nextFrom = Math.max(windowStart, to - o.lookBackMs);
  seen.prune(nextFrom);
  return { records, next: cursorAt(nextFrom, '', { seen: seen.encode(o.maxSeenChars), through: to }), caughtUp: true };
}

function readState(cursor: FeedCursor): FeedState {
  const s = cursor.state as (Partial<Omit<FeedState, 'v'>> & { v?: number }) | undefined;
  // v2 cursors (before the high-water mark) kept the scan position in (modifiedAt, id): same reading.
  if (!s || (s.v !== 2 && s.v !== 3)) return { v: 3 };
  const at = s.v === 3 && Array.isArray(s.at) && s.at.length === 2 && typeof s.at[0] === 'string' && typeof s.at[1] === 'string' ? ([s.at[0], s.at[1]] as [string, string]) : undefined;
  return {
    v: 3,
    ...(at ? { at } : {}),
    to: typeof s.to === 'string' ? s.to : undefined,
    from: typeof s.from === 'number' ? s.from : undefined,
    ties: s.ties === true,
    seen: s.seen && typeof s.seen === 'object' ? s.seen : undefined,
    through: typeof s.through === 'number' && Number.isFinite(s.through) ? s.through : undefined,
  };
}

/** HubSpot ids are numeric strings: shorter first, then bytewise — numeric order (the feed's one id order). */
export { compareIds };
