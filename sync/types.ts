import type { FeedCursor } from '../connectors/types.js';

/** Counts moved through workflow history (records never are). */
export interface SyncCounts {
  read: number;
  created: number;
  updated: number;
  unchanged: number; // mapped to exactly what the target has (incl. echoes of our own writes)
  skipped: number; // filtered out, or held by the rules
  failed: number; // dead-lettered
  deleted: number;
  pages: number;
}

export interface PageReport {
  counts: Partial<SyncCounts>;
  caughtUp: boolean;
  /** Records parked because their registration's auto-approval waits for the other partners' links (registrations/firstToRegister.ts): the link re-checks soon. */
  awaiting?: number;
  cursor?: FeedCursor;
  /** Now minus the newest source modification seen (how far behind the link is). */
  lagMs?: number;
  quotaResetsAt?: string;
  /** The sync-now asks the cycle this page opened serves (the request's count, echoed: workflows/sync.ts). */
  serves?: number;
}

export interface LinkStatus {
  linkId: string;
  /** `error`: the last cycle failed with something retrying cannot fix (or retries ran out); see lastError. */
  state: 'running' | 'idle' | 'paused' | 'waiting-quota' | 'error';
  cursor?: FeedCursor;
  lagMs?: number;
  counts: SyncCounts;
  /** `CODE: message (hint: …)` of the last failed cycle, cleared by the next good one. */
  lastError?: string;
  /** The error catalogue code of lastError (lib/errors.ts). */
  errorCode?: string;
  lastCaughtUpAt?: string;
  quotaResetsAt?: string;
}

/** What the workflow needs to know about its link (from the network file, via an activity). */
export interface LinkInfo {
  linkId: string;
  /** The sync-now asks a failed cycle's back-off starts from (the request's count, echoed: workflows/sync.ts). */
  serves?: number;
  from: string;
  to: string;
  mapping: string;
  schedule: string;
  scheduleMs: number;
  partner: string;
  object: string;
  /**
   * How often the association reconciler runs (sync/associationDrift.ts): set when the link's parent
   * lives in an association its change feed cannot see change and the link follows its own feed.
   */
  associationsMs?: number;
}
