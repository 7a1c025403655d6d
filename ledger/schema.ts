import type { Generated } from 'kysely';

/**
 * The ledger's tables as Kysely sees them. Portable column types only, so one set of queries runs on
 * SQLite and PostgreSQL alike: times are ISO-8601 UTC text (ms precision, sorts lexically), JSON is
 * text, booleans are integers 0/1. See ledger/README.md for what each table is for.
 */
export interface LedgerTables {
  link_cursors: LinkCursorRow;
  record_pairs: RecordPairRow;
  dead_letters: DeadLetterRow;
  audit_events: AuditEventRow;
  registrations: RegistrationRow;
  vendor_accounts: VendorAccountRow;
  account_overlaps: OverlapRow;
  record_snapshots: RecordSnapshotRow;
  link_mappings: LinkMappingRow;
  streams: StreamRow;
  stream_records: StreamRecordRow;
  stream_consumers: StreamConsumerRow;
  push_events: PushEventRow;
  cdc_replay_ids: CdcReplayIdRow;
  cdc_leases: CdcLeaseRow;
  opportunity_facts: OpportunityFactRow;
  analytics_cells: AnalyticsCellRow;
}

/** One vendor opportunity as the analytics see it (analytics/facts.ts). */
export interface OpportunityFactRow {
  org_id: string;
  opportunity_id: string;
  status: string; // 'open' | 'won' | 'lost'
  created_on: string | null; // YYYY-MM-DD
  closed_on: string | null;
  fact: string; // JSON of OpportunityFact
  modified_at: string; // the CRM's modification time of the version the fact is from
  updated_at: string;
}

/** The sum of the cells of every current fact, per key (analytics/facts.ts factCells). */
export interface AnalyticsCellRow {
  org_id: string;
  kind: string; // 'created' | 'closed' | 'cycle'
  month: string; // YYYY-MM or '' (no date)
  partner: string; // '' = deal level
  role: string;
  status: string;
  bucket: number; // partners on the deal: 0, 1, 2, 3 (3+)
  currency: string;
  cycle_days: number; // -1 unless kind = 'cycle'
  deals: number;
  partner_deals: number;
  cents: number;
  deal_cents: number;
  cycle_n: number;
  cycle_sum: number;
  cycle_sumsq: number;
}

export interface StreamRow {
  id: string; // '<org>:<object>'
  org_id: string;
  object: string;
  head: number; // the last sequence number handed out
  fields: string; // JSON array: the union of the fields every consumer reads (only grows)
  mode: string; // 'poll' | 'push'
  last_event_at: string | null; // last push notification
  last_poll_at: string | null; // last time the feed was read to the present
  reconciled: string | null; // JSON: what the last poll found that push had not said
  updated_at: string;
}

export interface StreamRecordRow {
  stream_id: string;
  record_id: string;
  seq: number; // position in the log: re-numbered to the head each time the record changes
  modified_at: string;
  fields: string | null; // JSON of Fields (null for a tombstone)
  deleted_at: string | null; // a tombstone: deleted / archived / merged away
  merged_into: string | null;
  appended_at: string;
}

export interface StreamConsumerRow {
  stream_id: string;
  consumer: string; // 'link:<id>', 'rules-index:<org>', 'overlap:<partner>'
  seq: number; // the last entry this consumer committed
  generation: number; // bumped by a reset (resync)
  floor_kind: string | null; // 'handoff' (came from its own feed) | 'since' (resync from a time)
  floor_modified_at: string | null;
  floor_id: string | null;
  updated_at: string;
}

export interface PushEventRow {
  id: Generated<number>;
  org_id: string;
  source: string; // 'hubspot-webhook'
  dedupe_key: string; // unique per org: a redelivered or duplicated event is stored once
  event_id: string;
  event_type: string; // e.g. deal.propertyChange
  occurred_at: string;
  received_at: string;
  targets: string; // JSON [{object, ids}]: the records this event says changed
  payload: string; // the event as received (JSON)
  status: string; // 'pending' | 'notified' | 'rejected'
  reason: string | null; // why rejected
  attempts: number; // notify attempts that failed
  next_attempt_at: string;
  lease_until: string | null; // a forwarder is notifying it until then
  last_error: string | null;
  notified_at: string | null;
}

/** Salesforce Change Data Capture: the last replay id handed on, per (org, topic) (connectors/salesforce/cdc/). */
export interface CdcReplayIdRow {
  org_id: string;
  topic: string;
  /** Decimal text: replay ids are unsigned 64-bit; compared by (length, text). */
  replay_id: string;
  updated_at: string;
}

/** Who subscribes one CDC topic of an org (ledger/leases.ts); times ISO-8601 UTC. */
export interface CdcLeaseRow {
  org_id: string;
  topic: string;
  holder: string;
  /** 1 for the first holder, +1 at every change of holder (the fencing token). */
  epoch: number;
  acquired_at: string;
  renewed_at: string;
  expires_at: string;
}

export interface LinkMappingRow {
  link_id: string;
  fingerprint: string; // of the mapping the link last applied to all its pairs (sync/mappingChange.ts)
  pending_fingerprint: string | null; // a changed mapping being back-filled onto the existing pairs
  after_source_id: string | null; // the back-fill's position (pairs in source id order)
  progress: string | null; // JSON counts of the back-fill so far
  updated_at: string;
}

export interface RecordSnapshotRow {
  org_id: string;
  object: string;
  record_id: string;
  fields: string; // JSON of Fields
  modified_at: string | null;
  updated_at: string;
}

export interface LinkCursorRow {
  link_id: string;
  feed: string; // 'changes' | 'deletions'
  modified_at: string;
  record_id: string;
  state: string | null; // JSON of FeedCursor.state
  generation: number; // bumped by reset (resync) so stale in-flight pages cannot move it
  updated_at: string;
}

export interface RecordPairRow {
  link_id: string;
  source_id: string;
  target_id: string;
  match_key: string | null;
  source_hash: string | null; // hash of the source content we last read and synced
  target_hash: string | null; // hash of what we last wrote to the target
  base: string | null; // JSON of the mapped fields last synced (the three-way plan's base)
  target_deleted_at: string | null; // the target record was found deleted in the target CRM (not by us)
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeadLetterRow {
  id: Generated<number>;
  link_id: string;
  source_id: string;
  payload: string; // JSON
  reason: string;
  code: string | null;
  kind: string | null;
  fields: string | null; // JSON array of field names
  attempts: number;
  status: string; // 'pending' | 'replayed' | 'resolved'
  created_at: string;
  updated_at: string;
  replayed_at: string | null;
  resolved_at: string | null;
}

export interface AuditEventRow {
  id: Generated<number>;
  event_key: string | null; // optional idempotency key: a duplicated activity records one event
  link_id: string;
  source_id: string | null;
  target_id: string | null;
  action: string;
  before: string | null; // JSON
  after: string | null; // JSON
  decisions: string | null; // JSON
  details: string | null; // JSON
  actor: string | null;
  at: string;
}

export interface RegistrationRow {
  id: string; // partner:sourceId
  partner: string;
  source_id: string;
  customer_name: string | null;
  customer_name_norm: string | null;
  customer_domain: string | null; // normalised
  customer_key: string | null; // 'domain:<d>' | 'name:<n>': unique among active rows (see migrations.ts 0003)
  country: string | null;
  amount: number | null;
  currency: string | null;
  status: string;
  reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  submitted_at: string;
  expires_at: string | null;
  review_due_at: string | null; // while pending-review: when the review SLA runs out (migration 0009)
  extensions: number;
  vendor_opportunity_id: string | null;
  details: string | null; // JSON
  created_at: string;
  updated_at: string;
}

export interface VendorAccountRow {
  org_id: string;
  account_id: string;
  name: string | null;
  name_norm: string | null;
  domain_norm: string | null;
  owner: string | null;
  named: number; // 0/1: named / strategic, reserved for the direct team
  country: string | null;
  has_open_opportunity: number; // 0/1
  details: string | null; // JSON
  updated_at: string;
}

export interface OverlapRow {
  partner: string;
  vendor_account_id: string;
  partner_record_id: string;
  hashed_key: string;
  classification: string;
  score: number;
  details: string | null; // JSON
  updated_at: string;
}
