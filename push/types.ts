/**
 * The seam between push sources (HubSpot webhooks today; Salesforce CDC later) and whatever reads the
 * changed records. A push source only says "these record ids of (org, object) changed"; the reader —
 * the change stream of that org object (issue #13), or for now the links reading it (syncNow) — reads
 * them by id. Push events are hints, never data: the records are always re-read from the CRM.
 */
export interface ChangeNotifier {
  /**
   * Records `ids` of `object` (the network's object name, e.g. `deals`) in org `org` changed. Called at
   * least once per acknowledged event (possibly more: a crash between notifying and recording it
   * repeats the call), so it must be idempotent. Resolve once the change is safely handed on (durable
   * or in a workflow); throw to have it retried with back-off — the events stay in the ledger meanwhile.
   */
  notify(org: string, object: string, ids: string[], info: ChangeInfo): Promise<void>;
  /**
   * Push cannot say which records of (org, object) changed — a Salesforce overflow event (no ids), an
   * event that cannot be parsed, a replay id past retention, a stream lost before any position was
   * known: read the object from its stored feed cursor (poll) instead. Idempotent like `notify`.
   * Salesforce CDC needs it (connectors/salesforce/cdc/); webhook sources may leave it out.
   */
  reconcile?(org: string, object: string, reason: ReconcileReason): Promise<void>;
}

export type ReconcileReason = 'replay-id-expired' | 'overflow' | 'gap-without-ids' | 'unparseable-event' | 'resubscribed-without-position';

export interface ChangeInfo {
  /** Where the hint came from, e.g. `hubspot-webhook`. */
  source: string;
  /** When the newest of the changes happened in the CRM (ISO). */
  occurredAt: string;
  /** When the oldest of them was received (ISO): delivery → notify latency starts here. */
  receivedAt: string;
  /** How many stored events this call covers. */
  events: number;
}
