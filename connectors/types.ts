/**
 * The one interface the sync engine uses to talk to any CRM. Each CRM is one folder under connectors/
 * implementing `Connector`, registered in connectors/index.ts, and passing the shared contract suite
 * (the contract suite: connector-contract/). Everything here is JSON-serialisable so cursors can live in workflow
 * state and the ledger.
 */
export type CrmKind = 'salesforce' | 'hubspot' | 'aws-partner-central';

/** Normalised field types across CRMs. */
export type FieldType =
  | 'id'
  | 'string'
  | 'text'
  | 'number'
  | 'currency'
  | 'percent'
  | 'date' // YYYY-MM-DD
  | 'datetime' // ISO-8601 with ms, UTC
  | 'boolean'
  | 'picklist' // enum with allowed values
  | 'multipicklist'
  | 'reference';

export interface FieldSchema {
  name: string;
  label: string;
  type: FieldType;
  /** The CRM's own type name (e.g. Salesforce `textarea`, HubSpot `enumeration`), for messages. */
  nativeType: string;
  required: boolean; // must be supplied on create
  unique: boolean;
  externalId: boolean; // usable as an upsert match key
  createable: boolean;
  updateable: boolean;
  length?: number;
  picklistValues?: string[]; // allowed values for picklist/multipicklist
  restrictedPicklist?: boolean; // values outside the list are rejected by the CRM
  referenceTo?: string[];
}

export interface ObjectSchema {
  name: string; // the CRM's object name: Opportunity, Account, deals, companies...
  label: string;
  fields: Record<string, FieldSchema>;
}

export type FieldValue = string | number | boolean | null;
export type Fields = Record<string, FieldValue>;

export interface CrmRecord {
  id: string;
  /** Modification timestamp the change feed orders by (SystemModstamp / hs_lastmodifieddate), ISO ms UTC. */
  modifiedAt: string;
  fields: Fields;
}

/**
 * Change-feed position: (modification timestamp, id). Queried with `>=` and an id tie-break so that
 * any number of records sharing one timestamp are each delivered exactly once. `state` holds
 * connector-specific resume data (e.g. HubSpot window bounds); treat it as opaque.
 */
export interface FeedCursor {
  modifiedAt: string; // ISO; '1970-01-01T00:00:00.000Z' for "from the beginning"
  id: string; // last delivered id at that timestamp; '' for none
  state?: Record<string, unknown>;
}

export const START_CURSOR: FeedCursor = { modifiedAt: '1970-01-01T00:00:00.000Z', id: '' };

/**
 * How far a change feed has read, in the source CRM's time: every change committed before this instant
 * (ms) has been delivered. A feed keeps it in its cursor's `state.through`, set when a scan reaches the
 * present and carried through the pages of the next scan; the high-water mark cannot tell it (nothing may
 * have changed for hours). Undefined: the feed does not say (or has not finished a scan yet).
 */
export function readThroughOf(cursor: Pick<FeedCursor, 'state'> | undefined): number | undefined {
  const t = cursor?.state?.through;
  return typeof t === 'number' && Number.isFinite(t) ? t : undefined;
}

export interface ChangePage {
  records: CrmRecord[];
  /** Where to resume after this page (persist it only once the page's writes are durable). */
  next: FeedCursor;
  /** True when this page reached the present: wait for the schedule before asking again. */
  caughtUp: boolean;
}

export interface DeletedRecord {
  id: string;
  deletedAt: string; // ISO
  /** Set when the record disappeared because it was merged into another (Salesforce MasterRecordId, HubSpot merge). */
  mergedInto?: string;
}

export interface DeletionPage {
  records: DeletedRecord[];
  next: FeedCursor;
  caughtUp: boolean;
}

export interface ChangeOptions {
  fields?: string[]; // fields to fetch (default: all the connector knows)
  pageSize?: number; // upper bound; the connector may use less
  /** Only changes up to this time (exclusive); lets callers stop at "now" for a bounded run. */
  until?: string;
}

export interface UpsertInput {
  /** The match key value (external id / unique property). */
  key: string;
  fields: Fields;
}

export interface UpdateInput {
  id: string;
  fields: Fields;
}

export type WriteStatus = 'created' | 'updated' | 'deleted' | 'failed';

export interface WriteResult {
  status: WriteStatus;
  id?: string; // the CRM id of the record written
  key?: string; // echo of the upsert key
  error?: NormalisedError;
}

/** The per-record form of the error taxonomy in connectors/errors.ts. */
export interface NormalisedError {
  kind: ErrorKind;
  message: string;
  crmCode?: string; // e.g. REQUIRED_FIELD_MISSING, VALIDATION_ERROR
  fields?: string[];
}

export type ErrorKind = 'rate_limited' | 'quota_exhausted' | 'auth' | 'validation' | 'not_found' | 'conflict' | 'transient' | 'protocol';

export interface Association {
  fromObject: string; // e.g. Opportunity | deals
  fromId: string;
  toObject: string; // e.g. Account | companies
  toId: string;
}

export interface FieldSpec {
  name: string;
  label: string;
  type: Exclude<FieldType, 'id' | 'reference'>;
  unique?: boolean;
  externalId?: boolean;
  length?: number;
  picklistValues?: string[];
  description?: string;
}

export interface RateState {
  /** Calls left in the current short window (HubSpot 10 s), if the CRM has one. */
  windowRemaining?: number;
  windowLimit?: number;
  /** Daily allocation. */
  dailyUsed?: number;
  dailyLimit?: number;
  /** When paused for quota: when it frees up (ISO). */
  pausedUntil?: string;
}

export interface Connector {
  readonly kind: CrmKind;
  readonly orgId: string;
  /** Largest write batch the CRM accepts (Salesforce collections 200, HubSpot batch 100). */
  readonly batchSize: number;

  listObjects(): Promise<string[]>;
  describe(object: string): Promise<ObjectSchema>;

  /** Records changed at or after the cursor, oldest first, ties broken by id. Resumable from any page's `next`. */
  changes(object: string, cursor: FeedCursor, opts?: ChangeOptions): Promise<ChangePage>;
  /** Deleted / archived / merged-away records since the cursor. */
  deletions(object: string, cursor: FeedCursor, opts?: ChangeOptions): Promise<DeletionPage>;

  readByIds(object: string, ids: string[], fields?: string[]): Promise<CrmRecord[]>;
  /**
   * The current value of a field the change feed does not see change, without reading the records:
   * HubSpot's association pseudo-fields (`associations.companies`) — moving a deal to another company
   * does not bump its hs_lastmodifieddate. Only connectors that have such fields implement it.
   */
  associationsOf?(object: string, ids: string[], field: string): Promise<Map<string, string | null>>;
  /** Records whose `field` equals one of `values` (external id / unique property lookups). */
  readByField(object: string, field: string, values: string[], fields?: string[]): Promise<CrmRecord[]>;

  /** Upsert by a unique / external-id field, chunked to `batchSize`; results in input order. */
  upsert(object: string, matchField: string, inputs: UpsertInput[]): Promise<WriteResult[]>;
  /** Update by CRM id (write-back onto records we did not create); results in input order. */
  update(object: string, inputs: UpdateInput[]): Promise<WriteResult[]>;
  /** Delete / archive by CRM id; results in input order. */
  remove(object: string, ids: string[]): Promise<WriteResult[]>;

  associate(associations: Association[]): Promise<WriteResult[]>;

  /** Create missing custom fields / properties; returns the names it created. Idempotent. */
  ensureFields(object: string, specs: FieldSpec[]): Promise<string[]>;

  rateState(): RateState;
  close(): Promise<void>;
}
