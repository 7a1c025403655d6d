import { GetOpportunityCommand, ListOpportunitiesCommand, type GetOpportunityCommandOutput, type ListOpportunitiesCommandOutput, type OpportunitySummary } from '@aws-sdk/client-partnercentral-selling';
import { compareIds, comparePositions } from '../cursorOrder.js';
import { ConnectorError } from '../errors.js';
import type { ChangeOptions, ChangePage, CrmRecord, FeedCursor } from '../types.js';
import { SUMMARY_FIELDS, toFlat } from './schema.js';
import type { AceTransport } from './transport.js';

/**
 * The opportunity change feed on ListOpportunities, sorted by LastModifiedDate ascending, filtered
 * `AfterLastModifiedDate` one millisecond before the cursor (AWS does not say whether "after" is
 * inclusive, so the connector never depends on it). AWS documents no order among opportunities sharing
 * one LastModifiedDate, so the connector reads every summary of the page's last timestamp before it
 * cuts the page and orders ties itself by id (connectors/cursorOrder.ts): any number of records sharing
 * one timestamp are delivered exactly once, resumable from any page's cursor.
 *
 * Summaries carry the lifecycle, customer and spend; a feed that asks for any other field reads each
 * changed opportunity with GetOpportunity (10/s: the read quota bounds such a feed at ~10 records/s).
 * The cursor's state keeps the ids delivered at its timestamp (`seen`), so a record written later in
 * that same millisecond is not lost behind a larger id.
 */
export const LIST_PAGE = 100; // MaxResults' maximum

const iso = (d: Date | string | undefined): string => (d instanceof Date ? d.toISOString() : new Date(d ?? 0).toISOString());

export async function listSummaries(t: AceTransport, catalog: string, afterMs: number | undefined, each: (s: OpportunitySummary) => boolean): Promise<void> {
  let token: string | undefined;
  for (;;) {
    const page = await t.send<ListOpportunitiesCommandOutput>('read', 'ListOpportunities', new ListOpportunitiesCommand({
      Catalog: catalog,
      MaxResults: LIST_PAGE,
      Sort: { SortBy: 'LastModifiedDate', SortOrder: 'ASCENDING' },
      ...(afterMs !== undefined ? { LastModifiedDate: { AfterLastModifiedDate: new Date(afterMs) } } : {}),
      ...(token ? { NextToken: token } : {}),
    }));
    for (const s of page.OpportunitySummaries ?? []) if (!each(s)) return;
    if (!page.NextToken) return;
    if (page.NextToken === token) throw new ConnectorError('protocol', `${t.client.config.serviceId}: ListOpportunities returned the same NextToken twice`);
    token = page.NextToken;
  }
}

export async function getOpportunity(t: AceTransport, catalog: string, id: string): Promise<GetOpportunityCommandOutput | undefined> {
  try {
    return await t.send<GetOpportunityCommandOutput>('read', `GetOpportunity ${id}`, new GetOpportunityCommand({ Catalog: catalog, Identifier: id }));
  } catch (e) {
    if (e instanceof ConnectorError && e.kind === 'not_found') return undefined;
    throw e;
  }
}

export function recordOf(doc: Record<string, unknown>, fields?: string[]): CrmRecord {
  const flat = toFlat(doc, fields ? new Set([...fields, 'Id', 'LastModifiedDate']) : undefined);
  return { id: String(doc.Id), modifiedAt: iso(doc.LastModifiedDate as Date), fields: flat };
}

export async function changesPage(t: AceTransport, catalog: string, cursor: FeedCursor, opts: ChangeOptions = {}): Promise<ChangePage> {
  const pageSize = Math.max(1, Math.min(opts.pageSize ?? LIST_PAGE, 1000));
  const untilMs = opts.until ? Date.parse(opts.until) : Number.POSITIVE_INFINITY;
  const fromMs = Date.parse(cursor.modifiedAt);
  // Ids delivered at the high-water timestamp: a record written later in that same millisecond with a
  // smaller id is still new (found by the property test). Cursors without it (the start) go by id.
  const state = cursor.state as { seen?: string[] } | undefined;
  const seen = state?.seen ? new Set(state.seen) : undefined;
  const isNew = (at: number, id: string) => (at > fromMs ? true : at < fromMs ? false : seen ? !seen.has(id) : compareIds(id, cursor.id) > 0);
  const candidates: OpportunitySummary[] = [];
  const deliveredAtHighWater: string[] = [];
  let exhausted = true;
  let lastAt = Number.NEGATIVE_INFINITY;
  await listSummaries(t, catalog, fromMs > 0 ? fromMs - 1 : undefined, (s) => {
    const at = Date.parse(iso(s.LastModifiedDate));
    if (at >= untilMs) return false; // sorted ascending: nothing later is wanted
    if (!isNew(at, s.Id ?? '')) {
      if (at === fromMs) deliveredAtHighWater.push(s.Id ?? '');
      return true;
    }
    if (candidates.length >= pageSize && at > lastAt) {
      // Cut only once a later timestamp shows that every tie of the boundary timestamp was seen.
      const boundary = Date.parse(iso([...candidates].sort(byPosition)[pageSize - 1]!.LastModifiedDate));
      if (at > boundary) {
        exhausted = false;
        return false;
      }
    }
    lastAt = at;
    candidates.push(s);
    return true;
  });
  candidates.sort(byPosition);
  const taken = candidates.slice(0, pageSize);
  const caughtUp = exhausted && taken.length === candidates.length;
  const summaryOnly = !!opts.fields && opts.fields.every((f) => SUMMARY_FIELDS.has(f));
  const records: CrmRecord[] = [];
  for (const s of taken) {
    if (summaryOnly) {
      records.push(recordOf(s as unknown as Record<string, unknown>, opts.fields));
      continue;
    }
    const full = await getOpportunity(t, catalog, s.Id!);
    // Changed again since the summary: deliver this version now; its later stamp comes round again.
    if (full) records.push({ ...recordOf(full as unknown as Record<string, unknown>, opts.fields), modifiedAt: iso(s.LastModifiedDate) });
  }
  const last = taken[taken.length - 1];
  const lastPos = last ? { modifiedAt: iso(last.LastModifiedDate), id: last.Id! } : undefined;
  // The high-water mark never moves back (a late tie sorts before it); `seen` covers its timestamp.
  const hwm = lastPos && comparePositions(lastPos, cursor) > 0 ? lastPos : { modifiedAt: cursor.modifiedAt, id: cursor.id };
  const hwmAt = Date.parse(hwm.modifiedAt);
  const nextSeen = new Set(hwmAt === fromMs ? [...(seen ?? []), ...deliveredAtHighWater] : []);
  for (const s of taken) if (Date.parse(iso(s.LastModifiedDate)) === hwmAt) nextSeen.add(s.Id!);
  const next: FeedCursor = hwmAt > 0 ? { ...hwm, state: { seen: [...nextSeen].sort(compareIds) } } : { ...hwm };
  return { records, next, caughtUp };
}

function byPosition(a: OpportunitySummary, b: OpportunitySummary): number {
  return comparePositions({ modifiedAt: iso(a.LastModifiedDate), id: a.Id ?? '' }, { modifiedAt: iso(b.LastModifiedDate), id: b.Id ?? '' });
}
