import { comparePositions } from '../cursorOrder.js';
import { SeenSet } from '../seen.js';
import type { ChangePage, CrmRecord, FeedCursor } from '../types.js';
import { keysetQuery } from './soql.js';

/**
 * The Salesforce change feed: a keyset on (SystemModstamp, Id) — `(TS > t OR (TS = t AND Id > id))
 * ORDER BY TS, Id LIMIT n` — so any number of records on one timestamp are delivered exactly once.
 *
 * SystemModstamp is taken when a transaction *starts*; its records become visible when it commits.
 * A long transaction (a big Apex trigger, a bulk job) can therefore commit records stamped before
 * records a poll already read, and a feed that only ever reads forward from its newest position
 * loses them (what Salesforce's getUpdated guards against with `latestDateCovered`). So every scan,
 * once it reaches the present, is followed by one that starts `lookBackMs` before the time it ended
 * (`state.rescanFrom`) and re-reads that stretch; records it already delivered there are remembered
 * in `state.seen` (id + SystemModstamp) and skipped, so only late commits and new changes come out —
 * delivered once, not needlessly again. As in the HubSpot feed, the look-back lives only in `state`:
 * the cursor's (modifiedAt, id) is the high-water mark, the newest position ever delivered, and never
 * moves backwards (the ledger would refuse it). The look-back is measured on the worker's clock: it
 * must cover the longest transaction plus any clock skew between the worker and Salesforce.
 */
export interface SalesforceFeedOptions {
  object: string;
  fields: string[];
  limit: number;
  until?: string;
  lookBackMs: number;
  /** Extra equality filters (the deletion feed reads `IsDeleted = true` rows with the same keyset). */
  where?: Array<{ field: string; value: string | boolean }>;
  /** Cap on the serialised `seen` memory in the cursor (it lives in the ledger, not in workflow history). */
  maxSeenChars: number;
  now: () => number;
  /** Run one SOQL query to the end and map its rows to records. */
  query: (soql: string) => Promise<CrmRecord[]>;
}

/** Queries one page may spend re-reading already-delivered records of the look-back. */
const MAX_QUERIES_PER_PAGE = 10;

interface FeedState {
  v: 1;
  /** Where the scan in progress resumes, when not at the high-water mark. */
  at?: [string, string];
  /** Start (ms) of the look-back the next scan re-reads. */
  rescanFrom?: number;
  /** When (ms, worker clock) the scan in progress began: its look-back is measured from there. */
  startedAt?: number;
  seen?: Record<string, string>;
  /** When (ms) the last finished scan began: every change committed before it was delivered (`readThroughOf`). */
  through?: number;
}

export async function salesforceChangesPage(cursor: FeedCursor, o: SalesforceFeedOptions): Promise<ChangePage> {
  const st = readState(cursor);
  let hwm = { modifiedAt: new Date(Date.parse(cursor.modifiedAt)).toISOString(), id: cursor.id };
  const scan = st.at
    ? { modifiedAt: st.at[0], id: st.at[1] }
    : st.rescanFrom !== undefined && comparePositions({ modifiedAt: new Date(st.rescanFrom).toISOString(), id: '' }, hwm) < 0
      ? // '' sorts before every id: a rescan from the high-water mark's own millisecond still re-reads
        // the records on it with a smaller id (a late commit tied with the newest record).
        { modifiedAt: new Date(st.rescanFrom).toISOString(), id: '' }
      : hwm;
  const seen = SeenSet.decode(st.seen);
  // A scan can span many pages (and a crash: a resumed cursor may be hours old). A record committed
  // while it ran is stamped at least lookBackMs before its commit, so at least lookBackMs before the
  // scan *began* — measuring the next look-back from the scan's end would miss it.
  // Only an unfinished scan's cursor carries `startedAt`.
  const startedAt = st.startedAt ?? o.now();
  const keepFrom = startedAt - o.lookBackMs;
  const records: CrmRecord[] = [];
  // Fill the page: a re-read of the look-back skips what it delivered before, so keep reading from
  // the last row seen (delivered or skipped) — bounded, the rest goes on in the next page.
  let pos: { modifiedAt: string; id: string } = scan;
  let complete = false;
  for (let q = 0; q < MAX_QUERIES_PER_PAGE && records.length < o.limit; q++) {
    const want = o.limit - records.length;
    const rows = await o.query(keysetQuery({ object: o.object, fields: o.fields, after: pos, until: o.until, limit: want, where: o.where }));
    for (const r of rows) {
      pos = { modifiedAt: r.modifiedAt, id: r.id };
      const ms = Date.parse(r.modifiedAt);
      if (seen.has(r.id, ms)) continue; // delivered by an earlier scan of the look-back
      records.push(r);
      if (ms >= keepFrom) seen.add(r.id, ms);
      if (comparePositions(r, hwm) > 0) hwm = { modifiedAt: r.modifiedAt, id: r.id };
    }
    if (rows.length < want) {
      complete = true;
      break;
    }
  }
  const cursorWith = (state: Omit<FeedState, 'v'>): FeedCursor => ({ modifiedAt: hwm.modifiedAt, id: hwm.id, state: { v: 1, ...state } });

  if (!complete) {
    // This scan goes on from its last row — `at`, or the high-water mark itself; `rescanFrom`
    // only ever starts a new scan.
    const at: FeedState['at'] = comparePositions(pos, hwm) === 0 ? undefined : [pos.modifiedAt, pos.id];
    return { records, next: cursorWith({ ...(at ? { at } : {}), startedAt, seen: seen.encode(o.maxSeenChars), ...(st.through !== undefined ? { through: st.through } : {}) }), caughtUp: false };
  }
  // The scan reached the present: the next one re-reads the look-back before this one began.
  const end = o.until ? Math.min(startedAt, Date.parse(o.until)) : startedAt;
  const rescanFrom = end - o.lookBackMs;
  seen.prune(Math.min(rescanFrom, Date.parse(hwm.modifiedAt)));
  return { records, next: cursorWith({ rescanFrom, seen: seen.encode(o.maxSeenChars), through: end }), caughtUp: true };
}

function readState(cursor: FeedCursor): FeedState {
  const s = cursor.state as Partial<FeedState> | undefined;
  if (!s || s.v !== 1) return { v: 1 };
  const at = Array.isArray(s.at) && s.at.length === 2 && typeof s.at[0] === 'string' && typeof s.at[1] === 'string' ? ([s.at[0], s.at[1]] as [string, string]) : undefined;
  return {
    v: 1,
    ...(at ? { at } : {}),
    ...(typeof s.rescanFrom === 'number' && Number.isFinite(s.rescanFrom) ? { rescanFrom: s.rescanFrom } : {}),
    ...(typeof s.startedAt === 'number' && Number.isFinite(s.startedAt) ? { startedAt: s.startedAt } : {}),
    ...(s.seen && typeof s.seen === 'object' ? { seen: s.seen } : {}),
    ...(typeof s.through === 'number' && Number.isFinite(s.through) ? { through: s.through } : {}),
  };
}
