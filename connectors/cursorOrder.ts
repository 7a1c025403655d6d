import type { FeedCursor } from './types.js';

/**
 * The one order of change-feed positions (modifiedAt, id), shared by every feed and by the ledger's
 * compare-and-set (ledger/cursors.ts mirrors it in SQL): time first, then the id — shorter ids first,
 * equal lengths bytewise. For numeric ids (HubSpot) that is numeric order, so "9" < "10" as HubSpot's
 * own id tie-break has it; for fixed-length ids (Salesforce's 18 characters) it is plain bytewise
 * order, as SOQL's `ORDER BY Id`. A feed whose cursor disagreed with the ledger on this order would
 * see its own forward step refused as "backwards".
 */
export function comparePositions(a: Pick<FeedCursor, 'modifiedAt' | 'id'>, b: Pick<FeedCursor, 'modifiedAt' | 'id'>): number {
  const ta = Date.parse(a.modifiedAt);
  const tb = Date.parse(b.modifiedAt);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return compareIds(a.id, b.id);
}

/** Ids in feed order: shorter first, then bytewise ('' before any id). */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The later of two positions (by `comparePositions`). */
export function laterPosition<T extends Pick<FeedCursor, 'modifiedAt' | 'id'>>(a: T, b: T): T {
  return comparePositions(a, b) >= 0 ? a : b;
}
