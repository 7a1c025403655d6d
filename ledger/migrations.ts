import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/**
 * Migrations live in code (no files to ship or find at run time). Each key sorts after the previous
 * one; never edit a released migration, add a new one. The few dialect differences (auto-increment
 * ids, byte-order collation for the cursor tie-break id) are decided here and nowhere else.
 */
export function ledgerMigrations(dialect: DialectName): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001_initial': { up: (db) => initial(db, dialect) },
    '0002_record_snapshots': { up: (db) => recordSnapshots(db) },
    '0003_registration_claims': { up: (db) => registrationClaims(db) },
    '0004_pair_base_link_mappings': { up: (db) => pairBaseAndLinkMappings(db) },
    '0005_change_streams': { up: (db) => changeStreams(db, dialect) },
    '0006_push_events': { up: (db) => pushEvents(db, dialect) },
    '0007_cdc_replay_ids': { up: (db) => cdcReplayIds(db) },
    '0008_analytics_facts': { up: (db) => analyticsFacts(db, dialect) },
    '0009_registration_review_due': { up: (db) => registrationReviewDue(db) },
    '0010_registration_queue_indexes': { up: (db) => registrationQueueIndexes(db) },
    '0011_cdc_leases': { up: (db) => cdcLeases(db) },
  };
  return { getMigrations: async () => migrations };
}

async function initial(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const pg = dialect === 'postgres';
  // Cursor ids compare byte-wise (as the connectors order them), whatever the database's locale.
  const idText = pg ? sql`text collate "C"` : sql`text`;
  const serialId = (t: any) =>
    pg ? t.addColumn('id', 'serial', (c: any) => c.primaryKey()) : t.addColumn('id', 'integer', (c: any) => c.primaryKey().autoIncrement());

  await db.schema
    .createTable('link_cursors')
    .addColumn('link_id', 'text', (c) => c.notNull())
    .addColumn('feed', 'text', (c) => c.notNull())
    .addColumn('modified_at', 'text', (c) => c.notNull())
    .addColumn('record_id', idText, (c) => c.notNull())
    .addColumn('state', 'text')
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('link_cursors_pk', ['link_id', 'feed'])
    .execute();

  await db.schema
    .createTable('record_pairs')
    .addColumn('link_id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('match_key', 'text')
    .addColumn('source_hash', 'text')
    .addColumn('target_hash', 'text')
    .addColumn('deleted_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('record_pairs_pk', ['link_id', 'source_id'])
    .execute();
  await db.schema.createIndex('record_pairs_target').on('record_pairs').columns(['link_id', 'target_id']).execute();
  await db.schema.createIndex('record_pairs_match_key').on('record_pairs').columns(['link_id', 'match_key']).execute();

  await serialId(db.schema.createTable('dead_letters'))
    .addColumn('link_id', 'text', (c: any) => c.notNull())
    .addColumn('source_id', 'text', (c: any) => c.notNull())
    .addColumn('payload', 'text', (c: any) => c.notNull())
    .addColumn('reason', 'text', (c: any) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('kind', 'text')
    .addColumn('fields', 'text')
    .addColumn('attempts', 'integer', (c: any) => c.notNull().defaultTo(1))
    .addColumn('status', 'text', (c: any) => c.notNull())
    .addColumn('created_at', 'text', (c: any) => c.notNull())
    .addColumn('updated_at', 'text', (c: any) => c.notNull())
    .addColumn('replayed_at', 'text')
    .addColumn('resolved_at', 'text')
    .addUniqueConstraint('dead_letters_record', ['link_id', 'source_id'])
    .execute();
  await db.schema.createIndex('dead_letters_status').on('dead_letters').columns(['link_id', 'status']).execute();

  await serialId(db.schema.createTable('audit_events'))
    .addColumn('event_key', 'text', (c: any) => c.unique())
    .addColumn('link_id', 'text', (c: any) => c.notNull())
    .addColumn('source_id', 'text')
    .addColumn('target_id', 'text')
    .addColumn('action', 'text', (c: any) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('decisions', 'text')
    .addColumn('details', 'text')
    .addColumn('actor', 'text')
    .addColumn('at', 'text', (c: any) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_events_link').on('audit_events').columns(['link_id', 'id']).execute();
  await db.schema.createIndex('audit_events_source').on('audit_events').columns(['source_id']).execute();
  await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target_id']).execute();

  await db.schema
    .createTable('registrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('customer_name', 'text')
    .addColumn('customer_name_norm', 'text')
    .addColumn('customer_domain', 'text')
    .addColumn('country', 'text')
    .addColumn('amount', 'double precision')
    .addColumn('currency', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('submitted_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('extensions', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('vendor_opportunity_id', 'text')
    .addColumn('details', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('registrations_partner').on('registrations').columns(['partner', 'status']).execute();
  await db.schema.createIndex('registrations_status').on('registrations').columns(['status', 'submitted_at']).execute();
  await db.schema.createIndex('registrations_domain').on('registrations').columns(['customer_domain']).execute();
  await db.schema.createIndex('registrations_name').on('registrations').columns(['customer_name_norm']).execute();

  await db.schema
    .createTable('vendor_accounts')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('name_norm', 'text')
    .addColumn('domain_norm', 'text')
    .addColumn('owner', 'text')
    .addColumn('named', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('country', 'text')
    .addColumn('has_open_opportunity', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('details', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('vendor_accounts_pk', ['org_id', 'account_id'])
    .execute();
  await db.schema.createIndex('vendor_accounts_domain').on('vendor_accounts').columns(['org_id', 'domain_norm']).execute();
  await db.schema.createIndex('vendor_accounts_name').on('vendor_accounts').columns(['org_id', 'name_norm']).execute();

  await db.schema
    .createTable('account_overlaps')
    .addColumn('partner', 'text', (c) => c.notNull())
    .addColumn('vendor_account_id', 'text', (c) => c.notNull())
    .addColumn('partner_record_id', 'text', (c) => c.notNull())
    .addColumn('hashed_key', 'text', (c) => c.notNull())
    .addColumn('classification', 'text', (c) => c.notNull())
    .addColumn('score', 'double precision', (c) => c.notNull())
    .addColumn('details', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_overlaps_pk', ['partner', 'vendor_account_id', 'partner_record_id'])
    .execute();
  await db.schema.createIndex('account_overlaps_classification').on('account_overlaps').columns(['partner', 'classification']).execute();
}

/** What the sync last knew of each record's mapped fields (echo suppression and conflict policies). */
async function recordSnapshots(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('record_snapshots')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('object', 'text', (c) => c.notNull())
    .addColumn('record_id', 'text', (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    .addColumn('modified_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('record_snapshots_pk', ['org_id', 'object', 'record_id'])
    .execute();
}

/**
 * Statuses in which a registration claims its customer. Baked into the partial unique index below:
 * a new claiming status needs a new migration that recreates the index.
 */
export const CLAIMING_STATUSES = ['submitted', 'checked', 'pending-review', 'auto-approved', 'approved'] as const;

/**
 * One active registration per customer, enforced by the database: `customer_key` (see
 * `customerKey()` in registrations.ts) is unique among rows in a claiming status — a partial unique
 * index, which SQLite (≥ 3.8) and PostgreSQL both have. Whatever code path writes a registration, a
 * second active row for the same customer is refused. `vendor_accounts(org_id, updated_at)` lets
 * every worker catch its in-memory account index up with rows other workers wrote.
 *
 * Existing rows get their key from the stored normalised domain / name. Where a customer already has
 * several active registrations (the race this migration closes), only one keeps the key — an
 * exclusive one first, then the earliest submitted — so the index can be built; the others keep
 * their status without a key (find them with `cosell registrations list`) and never block a claim.
 */
async function registrationClaims(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('registrations').addColumn('customer_key', 'text').execute();
  const active = sql.join(CLAIMING_STATUSES.map((s) => sql.lit(s)));
  const keyOf = (t: string) => {
    const c = (col: string) => sql.ref(`${t}.${col}`);
    return sql`case when ${c('customer_domain')} is not null and ${c('customer_domain')} <> '' then 'domain:' || ${c('customer_domain')} when ${c('customer_name_norm')} is not null and ${c('customer_name_norm')} <> '' then 'name:' || ${c('customer_name_norm')} end`;
  };
  await sql`update registrations set customer_key = ${keyOf('registrations')} where status not in (${active})`.execute(db);
  await sql`update registrations set customer_key = ${keyOf('registrations')} where status in (${active}) and id = (
      select r2.id from registrations r2
      where r2.status in (${active}) and ${keyOf('r2')} = ${keyOf('registrations')}
      order by case when r2.status in ('auto-approved', 'approved') then 0 else 1 end, r2.submitted_at, r2.id
      limit 1)`.execute(db);
  await sql`create unique index registrations_active_customer on registrations (customer_key) where status in (${active})`.execute(db);
  await db.schema.createIndex('registrations_customer_key').on('registrations').columns(['customer_key', 'status']).execute();
  await db.schema.createIndex('vendor_accounts_updated').on('vendor_accounts').columns(['org_id', 'updated_at', 'account_id']).execute();
}

/**
 * Three-way sync and mapping back-fills: each pair's base (the mapped values last synced, so a plan can
 * tell who changed a field since), when its target was deleted under it (the link's `targetDeletes`
 * policy), and the fingerprint of the mapping each link last applied (with a back-fill's progress).
 */
async function pairBaseAndLinkMappings(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('record_pairs').addColumn('base', 'text').execute();
  await db.schema.alterTable('record_pairs').addColumn('target_deleted_at', 'text').execute();
  await db.schema
    .createTable('link_mappings')
    .addColumn('link_id', 'text', (c) => c.primaryKey())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('pending_fingerprint', 'text')
    .addColumn('after_source_id', 'text')
    .addColumn('progress', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

/**
 * Change streams (sync/stream.ts): one per (org, object). `streams` holds each stream's head (the last
 * sequence number handed out) and the fields it reads; `stream_records` is its log, compacted on write
 * — one row per record, its latest version (or tombstone), re-numbered to the head each time it
 * changes; `stream_consumers` is each consumer's own position in it. New tables only: existing ledgers
 * upgrade in place and every link keeps its own cursor until it switches to a stream.
 */
async function changeStreams(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const pg = dialect === 'postgres';
  const idText = pg ? sql`text collate "C"` : sql`text`;
  const seq = pg ? 'bigint' : 'integer';
  await db.schema
    .createTable('streams')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('object', 'text', (c) => c.notNull())
    .addColumn('head', seq, (c) => c.notNull().defaultTo(0))
    .addColumn('fields', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull().defaultTo('poll'))
    .addColumn('last_event_at', 'text')
    .addColumn('last_poll_at', 'text')
    .addColumn('reconciled', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('stream_records')
    .addColumn('stream_id', 'text', (c) => c.notNull())
    .addColumn('record_id', idText, (c) => c.notNull())
    .addColumn('seq', seq, (c) => c.notNull())
    .addColumn('modified_at', 'text', (c) => c.notNull())
    .addColumn('fields', 'text')
    .addColumn('deleted_at', 'text')
    .addColumn('merged_into', 'text')
    .addColumn('appended_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_records_pk', ['stream_id', 'record_id'])
    .execute();
  await db.schema.createIndex('stream_records_seq').on('stream_records').columns(['stream_id', 'seq']).unique().execute();
  await db.schema
    .createTable('stream_consumers')
    .addColumn('stream_id', 'text', (c) => c.notNull())
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('seq', seq, (c) => c.notNull().defaultTo(0))
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('floor_kind', 'text')
    .addColumn('floor_modified_at', 'text')
    .addColumn('floor_id', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_consumers_pk', ['stream_id', 'consumer'])
    .execute();
}

/**
 * Push sources (push/): every change event a CRM pushed to us (HubSpot webhooks) is written here before
 * it is acknowledged, deduplicated by (org, dedupe key), and stays `pending` until the change notifier
 * took it (`notified`); events we could not use are kept as `rejected` with the reason. New table only.
 */
async function pushEvents(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const serialId = (t: any) =>
    dialect === 'postgres' ? t.addColumn('id', 'serial', (c: any) => c.primaryKey()) : t.addColumn('id', 'integer', (c: any) => c.primaryKey().autoIncrement());
  await serialId(db.schema.createTable('push_events'))
    .addColumn('org_id', 'text', (c: any) => c.notNull())
    .addColumn('source', 'text', (c: any) => c.notNull())
    .addColumn('dedupe_key', 'text', (c: any) => c.notNull())
    .addColumn('event_id', 'text', (c: any) => c.notNull())
    .addColumn('event_type', 'text', (c: any) => c.notNull())
    .addColumn('occurred_at', 'text', (c: any) => c.notNull())
    .addColumn('received_at', 'text', (c: any) => c.notNull())
    .addColumn('targets', 'text', (c: any) => c.notNull())
    .addColumn('payload', 'text', (c: any) => c.notNull())
    .addColumn('status', 'text', (c: any) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('attempts', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c: any) => c.notNull())
    .addColumn('lease_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('notified_at', 'text')
    .addUniqueConstraint('push_events_dedupe', ['org_id', 'dedupe_key'])
    .execute();
  await db.schema.createIndex('push_events_due').on('push_events').columns(['status', 'next_attempt_at']).execute();
}

/**
 * Salesforce Change Data Capture: where each (org, topic) subscription resumes after a restart — the
 * replay id of the last event whose changes were handed on. A new table only (additive).
 */
async function cdcReplayIds(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('cdc_replay_ids')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('replay_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('cdc_replay_ids_pk', ['org_id', 'topic'])
    .execute();
}

/**
 * Salesforce Change Data Capture across several workers: who subscribes each (org, topic) — one holder
 * at a time, until `expires_at` unless renewed; `epoch` counts the holders, so a holder's writes are
 * fenced by (holder, epoch) (ledger/leases.ts). A new table only (additive).
 */
async function cdcLeases(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('cdc_leases')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('epoch', 'integer', (c) => c.notNull())
    .addColumn('acquired_at', 'text', (c) => c.notNull())
    .addColumn('renewed_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('cdc_leases_pk', ['org_id', 'topic'])
    .execute();
}

/**
 * Joint-selling analytics (analytics/): one fact per vendor opportunity (`opportunity_facts`, the fact
 * as JSON plus the columns reports filter on) and the aggregate cells every fact contributes to
 * (`analytics_cells`, integer cents per currency), kept equal to the sum over the facts by adding each
 * new version's cells and subtracting the old one's in the same transaction. Reports read the cells
 * only. New tables only (additive).
 */
async function analyticsFacts(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('opportunity_facts')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('opportunity_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_on', 'text')
    .addColumn('closed_on', 'text')
    .addColumn('fact', 'text', (c) => c.notNull())
    .addColumn('modified_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('opportunity_facts_pk', ['org_id', 'opportunity_id'])
    .execute();
  await db.schema
    .createTable('analytics_cells')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('month', 'text', (c) => c.notNull())
    .addColumn('partner', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('bucket', 'integer', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('cycle_days', 'integer', (c) => c.notNull())
    .addColumn('deals', big, (c) => c.notNull())
    .addColumn('partner_deals', big, (c) => c.notNull())
    .addColumn('cents', big, (c) => c.notNull())
    .addColumn('deal_cents', big, (c) => c.notNull())
    .addColumn('cycle_n', big, (c) => c.notNull())
    .addColumn('cycle_sum', big, (c) => c.notNull())
    .addColumn('cycle_sumsq', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('analytics_cells_pk', ['org_id', 'kind', 'month', 'partner', 'role', 'status', 'bucket', 'currency', 'cycle_days'])
    .execute();
}

/**
 * The console's review queue sorts and filters pending registrations by when their review SLA runs out
 * (the workflow's `reviewDueAt`, written with each status change). Additive: a column and two indexes
 * for the queue's sorts within a status; rows written before it show no due time until they change.
 */
async function registrationReviewDue(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('registrations').addColumn('review_due_at', 'text').execute();
  await db.schema.createIndex('registrations_status_due').on('registrations').columns(['status', 'review_due_at']).execute();
  await db.schema.createIndex('registrations_status_amount').on('registrations').columns(['status', 'amount']).execute();
}

/**
 * The review queue at 100,000s of registrations (`npm run bench:console`): each sort the queue offers
 * within a status as a covering index ending in the id tie-break, so a page — even page 500 — is an
 * index range walk, never a sort; the unfiltered list by registration time likewise; a partner's queue by
 * due time, amount or customer. Replaces 0009's (status, due) and (status, amount), which lacked the id.
 */
async function registrationQueueIndexes(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('registrations_status_due').execute();
  await db.schema.dropIndex('registrations_status_amount').execute();
  await db.schema.createIndex('registrations_queue_due').on('registrations').columns(['status', 'review_due_at', 'id']).execute();
  await db.schema.createIndex('registrations_queue_amount').on('registrations').columns(['status', 'amount', 'id']).execute();
  // Also what a customer search scans (name and domain in the index: no table reads for non-matches).
  await db.schema.createIndex('registrations_queue_customer').on('registrations').columns(['status', 'customer_name', 'customer_domain', 'id']).execute();
  await db.schema.createIndex('registrations_queue_submitted').on('registrations').columns(['status', 'submitted_at', 'id']).execute();
  await db.schema.createIndex('registrations_submitted').on('registrations').columns(['submitted_at', 'id']).execute();
  await db.schema.createIndex('registrations_partner_due').on('registrations').columns(['partner', 'status', 'review_due_at', 'id']).execute();
  await db.schema.createIndex('registrations_partner_amount').on('registrations').columns(['partner', 'status', 'amount', 'id']).execute();
  await db.schema.createIndex('registrations_partner_customer').on('registrations').columns(['partner', 'status', 'customer_name', 'id']).execute();
}
