import type { DeletedRecord, DeletionPage, FeedCursor } from '../types.js';
import { chunk, type HubspotContext, type RawObject } from './context.js';
import type { SearchRequest } from './feed.js';
import { SeenSet } from '../seen.js';
import { toIso, toMs } from './time.js';

/**
 * The deletions feed from the archived listing (`GET /crm/v3/objects/{type}?archived=true`, 100 a
 * page). Search never returns archived records and archiving does not bump hs_lastmodifieddate, so
 * the listing is the only source. It is not ordered by archive time, so each pass ("sweep") walks the
 * whole listing with its `after` token (kept in the cursor: resumable at any page) and delivers the
 * records archived at or after the watermark. The next sweep's watermark is this sweep's start minus
 * the look-back (clock skew); records already delivered inside it are remembered and not repeated.
 *
 * Merges: the surviving record lists the merged-away ids in `hs_merged_object_ids`. For each
 * delivered id we look for such a survivor (search, CONTAINS_TOKEN, up to 5 ids a query) and report
 * `mergedInto` — so the engine can re-point pairs instead of deleting the partner's record.
 */
export interface DeletionOptions {
  pageSize: number;
  until?: string;
  lookBackMs: number;
  detectMerges: boolean;
  maxSeenChars: number;
  now: () => number;
}

interface DeletionState {
  v: 1;
  sweepStart?: number;
  after?: string;
  seen?: Record<string, string>;
}

export async function deletionsPage(ctx: HubspotContext, object: string, cursor: FeedCursor, o: DeletionOptions): Promise<DeletionPage> {
  const st = readState(cursor);
  const watermark = toMs(cursor.modifiedAt);
  const sweepStart = st.sweepStart ?? o.now();
  const until = o.until ? toMs(o.until) : Number.POSITIVE_INFINITY;
  const seen = SeenSet.decode(st.seen);
  const limit = Math.max(1, Math.min(o.pageSize, 100));

  const res = await ctx.t.call('api', `list archived ${object}`, (c, o) =>
    c.crm.objects.basicApi.getPage(object, limit, st.after, ['hs_object_id'], undefined, undefined, true, o),
  );
  const records: DeletedRecord[] = [];
  const keepFrom = sweepStart - o.lookBackMs;
  for (const raw of res.results as RawObject[]) {
    const deletedAt = toIso(raw.archivedAt) ?? toIso(raw.updatedAt);
    if (!deletedAt) continue;
    const at = toMs(deletedAt);
    if (at < watermark || at >= until || seen.has(raw.id, at)) continue;
    records.push({ id: String(raw.id), deletedAt });
    if (at >= keepFrom) seen.add(String(raw.id), at);
  }
  if (o.detectMerges && records.length) await addMergeTargets(ctx, object, records);

  const nextAfter = res.paging?.next?.after;
  if (nextAfter) {
    const state: DeletionState = { v: 1, sweepStart, after: nextAfter, seen: seen.encode(o.maxSeenChars) };
    return { records, next: { modifiedAt: cursor.modifiedAt, id: '', state: { ...state } }, caughtUp: false };
  }
  const nextWatermark = Math.max(watermark, Math.min(until, keepFrom));
  seen.prune(nextWatermark);
  const state: DeletionState = { v: 1, seen: seen.encode(o.maxSeenChars) };
  return { records, next: { modifiedAt: new Date(nextWatermark).toISOString(), id: '', state: { ...state } }, caughtUp: true };
}

async function addMergeTargets(ctx: HubspotContext, object: string, records: DeletedRecord[]): Promise<void> {
  const byId = new Map(records.map((r) => [r.id, r]));
  for (const ids of chunk([...byId.keys()], 5)) {
    const req: SearchRequest = {
      filterGroups: ids.map((id) => ({ filters: [{ propertyName: 'hs_merged_object_ids', operator: 'CONTAINS_TOKEN', value: id }] })),
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      properties: ['hs_object_id', 'hs_merged_object_ids'],
      limit: 100,
    };
    const res = await ctx.t.call('search', `find merge survivors in ${object}`, (c, o) => c.crm.objects.searchApi.doSearch(object, req as never, o));
    for (const survivor of res.results as RawObject[]) {
      for (const merged of String(survivor.properties.hs_merged_object_ids ?? '').split(/[;,\s]+/)) {
        const rec = byId.get(merged);
        if (rec && merged !== String(survivor.id)) rec.mergedInto = String(survivor.id);
      }
    }
  }
}

function readState(cursor: FeedCursor): DeletionState {
  const s = cursor.state as Partial<DeletionState> | undefined;
  if (!s || s.v !== 1) return { v: 1 };
  return {
    v: 1,
    sweepStart: typeof s.sweepStart === 'number' ? s.sweepStart : undefined,
    after: typeof s.after === 'string' ? s.after : undefined,
    seen: s.seen && typeof s.seen === 'object' ? s.seen : undefined,
  };
}
