import type { ReconcileReason } from '../../../push/types.js';

/**
 * What one change event means for cosell, from its ChangeEventHeader alone (pure; the subscriber
 * acts on it). Field values are never used: the notified records are read again by id, so a GAP
 * event (ids without data) is as good as a full one, and an event can be handled more than once.
 */
export interface ChangeEventHeader {
  entityName: string;
  recordIds: string[];
  changeType: string;
  changeOrigin?: string;
  transactionKey?: string;
  sequenceNumber?: number;
  commitTimestamp?: number | bigint;
  commitUser?: string;
}

export type CdcAction =
  | { kind: 'changed'; ids: string[]; gap: boolean }
  | { kind: 'reconcile'; reason: ReconcileReason }
  /** cosell's own write coming back: nothing to read, the position still advances. */
  | { kind: 'echo' };

export interface Self {
  /** The integration user cosell writes as (commitUser of its own writes). */
  userId?: string;
  /** The `client=` name cosell sends in Sforce-Call-Options (changeOrigin of its own writes). */
  client?: string;
}

/** Salesforce user ids compare on their first 15 characters (15- and 18-character forms are the same user). */
const sameUser = (a: string, b: string) => a.slice(0, 15) === b.slice(0, 15);

export function isEcho(h: ChangeEventHeader, self: Self): boolean {
  if (self.userId && h.commitUser && sameUser(h.commitUser, self.userId)) return true;
  return !!self.client && new RegExp(`[;,]client=${self.client.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:$|[;,])`).test(h.changeOrigin ?? '');
}

export function classify(h: ChangeEventHeader, self: Self): CdcAction {
  if (isEcho(h, self)) return { kind: 'echo' };
  const ids = (h.recordIds ?? []).filter((id) => typeof id === 'string' && id.length > 0);
  const gap = h.changeType.startsWith('GAP_');
  if (ids.length === 0) return { kind: 'reconcile', reason: h.changeType === 'GAP_OVERFLOW' ? 'overflow' : 'gap-without-ids' };
  return { kind: 'changed', ids, gap };
}
