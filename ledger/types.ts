import type { FeedCursor, NormalisedError } from '../connectors/types.js';

/** The two change feeds a link follows, each with its own cursor. */
export type Feed = 'changes' | 'deletions';

/** A cursor as stored: the connector's FeedCursor plus the generation it belongs to. */
export interface StoredCursor extends FeedCursor {
  /** Bumped by `cursors.reset` (resync). Pass it back to `commitPage` so a page read before the reset cannot move the cursor. */
  generation: number;
  updatedAt: string;
}

export interface RecordPair {
  linkId: string;
  sourceId: string;
  targetId: string;
  matchKey: string | null;
  /** Hash of the source content we last read and synced (source → target direction). */
  sourceHash: string | null;
  /** Hash of what we last wrote to the target (echo check for the paired reverse link). */
  targetHash: string | null;
  /** The mapped (target) field values this link last synced for the pair: the base of the three-way plan. */
  base: Record<string, string | number | boolean | null> | null;
  /** When the target record was found deleted in the target CRM (someone else deleted it); null otherwise. */
  targetDeletedAt: string | null;
  deletedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Upsert of one pair; omitted hashes keep their stored value. */
export interface PairWrite {
  sourceId: string;
  targetId: string;
  matchKey?: string | null;
  sourceHash?: string | null;
  targetHash?: string | null;
  /** The mapped values just synced (replaces the stored base; omitted/null keeps it). */
  base?: Record<string, string | number | boolean | null> | null;
  /** The target record was found deleted in the target CRM and the link leaves it so (`targetDeletes: leave`). */
  targetDeleted?: boolean;
  /** The target record deleted earlier is there again (restored in its CRM): clears the target-deleted mark. */
  relinked?: boolean;
}

/** Hash-only update of an existing pair (e.g. an echo that was skipped); no-op when the pair is unknown. */
export interface HashWrite {
  sourceId: string;
  sourceHash?: string | null;
  targetHash?: string | null;
}

export type DeadLetterStatus = 'pending' | 'replayed' | 'resolved';

export interface DeadLetterInput {
  sourceId: string;
  /** The source record as read (JSON-serialisable), so a replay can show and re-map it. */
  payload: unknown;
  reason: string;
  /** The CRM's own error code (REQUIRED_FIELD_MISSING, VALIDATION_ERROR…). */
  code?: string | null;
  kind?: NormalisedError['kind'] | null;
  fields?: string[] | null;
}

export interface DeadLetter {
  id: number;
  linkId: string;
  sourceId: string;
  payload: unknown;
  reason: string;
  code: string | null;
  kind: string | null;
  fields: string[];
  attempts: number;
  status: DeadLetterStatus;
  createdAt: string;
  updatedAt: string;
  replayedAt: string | null;
  resolvedAt: string | null;
}

export interface AuditInput {
  linkId: string;
  sourceId?: string | null;
  targetId?: string | null;
  /** What happened: created, updated, deleted, archived, skipped-echo, conflict, held, rejected, decided… */
  action: string;
  /** Mapped fields before → after the write. */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  /** Rule / conflict-policy decisions that shaped the write (rule id, reason, matched records…). */
  decisions?: unknown[] | null;
  details?: Record<string, unknown> | null;
  actor?: string | null;
  at?: string;
  /** Idempotency key: a second event with the same key is ignored (duplicated activities audit once). */
  eventKey?: string | null;
}

export interface AuditEvent {
  id: number;
  eventKey: string | null;
  linkId: string;
  sourceId: string | null;
  targetId: string | null;
  action: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  decisions: unknown[] | null;
  details: Record<string, unknown> | null;
  actor: string | null;
  at: string;
}

export interface AuditQuery {
  linkId?: string;
  /** Any of these links (an empty list matches nothing); combines with `linkId`. */
  linkIds?: readonly string[];
  /** Matches either side: the source or the target record id. */
  recordId?: string;
  action?: string;
  since?: string; // ISO, inclusive
  until?: string; // ISO, exclusive
  afterId?: number; // paging: events with a larger id
  limit?: number; // default 1000
  order?: 'asc' | 'desc'; // by id; default asc
}

/** A record's last known field values in one org (merged into what is stored). */
export interface SnapshotWrite {
  orgId: string;
  object: string;
  recordId: string;
  fields: Record<string, string | number | boolean | null>;
  /** The CRM's modification time when read; omitted for our own writes (then: now). */
  modifiedAt?: string;
  /** Kept for readability at call sites: snapshots always merge field by field. */
  merge?: boolean;
}

export interface RecordSnapshot {
  fields: Record<string, string | number | boolean | null>;
  modifiedAt?: string;
}

export interface PageCommit {
  linkId: string;
  feed: Feed;
  /** Where the next page starts. Omit to write without moving the cursor (e.g. a dead-letter replay). */
  cursor?: FeedCursor;
  /** The cursor generation the page was read under (from `cursors.get`); a mismatch leaves the cursor alone. */
  generation?: number;
  /**
   * The cursor the page was read from. With it, a `cursor` behind `from` (or equal to it on a page
   * that is not `caughtUp`) fails the commit with COSELL_FEED_STALLED — a feed bug that would
   * otherwise re-read one page for ever — and a refusal is told apart as `resync` or `overtaken`.
   */
  from?: FeedCursor;
  /** The page's own `caughtUp` (see `from`). */
  caughtUp?: boolean;
  pairs?: PairWrite[];
  hashes?: HashWrite[];
  /** Source ids whose target was deleted/archived: the pair stays (for idempotency) with deletedAt set. */
  deletedPairs?: string[];
  deadLetters?: DeadLetterInput[];
  /** Source ids that have now landed: their dead letters become resolved. */
  resolvedDeadLetters?: string[];
  /** Dead-letter ids this page replayed (pending → replayed, before `deadLetters` and `resolvedDeadLetters` apply). */
  replayedDeadLetters?: number[];
  /** Audit events of this page; `linkId` defaults to the page's link. */
  audits?: Array<Omit<AuditInput, 'linkId'> & { linkId?: string }>;
  /** Last known field values of the records read and written (see ledger/snapshots.ts). */
  snapshots?: SnapshotWrite[];
  /**
   * A stream consumer's page (sync/streamConsumer.ts): its position in the stream's log moves to `seq`
   * in this transaction — compare-and-set, forward only, within `generation` (ledger/streams.ts).
   */
  stream?: { streamId: string; consumer: string; seq: number; generation: number };
}

export interface CommitResult {
  /** False when the stored cursor was already at or past `cursor`, or its generation changed. */
  cursorAdvanced: boolean;
  /** For a stream consumer's page: whether its position moved (false: a duplicate, or a reset since it read). */
  positionAdvanced?: boolean;
  /**
   * Why a cursor was not stored — both harmless: `resync` (the generation was bumped since the page
   * was read) or `overtaken` (another activity, e.g. a duplicate of this one, already moved it on).
   */
  refused?: 'resync' | 'overtaken';
  cursor: StoredCursor | undefined;
}

/** Well-known registration statuses; the column accepts any string the lifecycle defines. */
export type RegistrationStatus = 'submitted' | 'pending' | 'approved' | 'rejected' | 'won' | 'lost' | 'expired' | (string & {});

export interface Registration {
  id: string; // partner:sourceId
  partner: string;
  sourceId: string;
  customerName: string | null;
  /** Normalised company name (by the rules' normaliser). */
  customerNameNorm: string | null;
  /** Normalised domain (tldts). */
  customerDomain: string | null;
  /** The customer this registration claims (`customerKey()`); unique among active registrations. */
  customerKey: string | null;
  country: string | null;
  amount: number | null;
  currency: string | null;
  status: RegistrationStatus;
  reason: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  submittedAt: string;
  expiresAt: string | null;
  /** While pending review: when the review SLA runs out (the workflow's `reviewDueAt`); null otherwise. */
  reviewDueAt: string | null;
  extensions: number;
  vendorOpportunityId: string | null;
  details: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
}

/** Upsert input: `partner` and `sourceId` identify it; any other field left undefined keeps its stored value. */
export type RegistrationInput = Pick<Registration, 'partner' | 'sourceId'> &
  Partial<Omit<Registration, 'id' | 'partner' | 'sourceId' | 'createdAt' | 'updatedAt'>>;

/** The fields a registration patch may change (everything but identity and bookkeeping). */
export type RegistrationPatch = Partial<Omit<Registration, 'id' | 'partner' | 'sourceId' | 'createdAt' | 'updatedAt'>>;

/** `registrations.claim()`: store a new registration that claims its customer (see there). */
export interface ClaimRequest {
  /** The new registration with the status it wants (a claiming one), its partner-side create time and its customer key. */
  registration: RegistrationInput & { status: RegistrationStatus; submittedAt: string; customerKey: string | null };
  /** How to store it when another registration keeps the customer (a non-claiming status, e.g. rejected). */
  lost: (holder: Registration) => RegistrationPatch;
  /** How to demote a pending holder that this earlier-created registration takes over from (a non-claiming status). */
  superseded: (holder: Registration, winner: RegistrationInput & { id: string }) => RegistrationPatch;
}

export interface ClaimResult {
  outcome: 'claimed' | 'took-over' | 'lost' | 'exists' | 'unkeyed';
  /** The stored registration (for `exists`: as it already was). */
  registration: Registration;
  /** `lost`: who keeps the customer. */
  holder?: Registration;
  /** `took-over`: the demoted former holder. */
  superseded?: Registration;
}

/** A registration's customer changed (re-decision): what it claims now. */
export interface ReclaimRequest {
  customerKey: string | null;
  customerName: string | null;
  customerNameNorm: string | null;
  customerDomain: string | null;
  country?: string | null;
}

export interface ReclaimResult {
  /** `claimed`: the row now holds the new customer (or the key was unchanged); `held`: another active registration holds it, nothing changed. */
  outcome: 'claimed' | 'held';
  registration: Registration;
  holder?: Registration;
}

export interface RegistrationFilter {
  partner?: string;
  status?: RegistrationStatus | RegistrationStatus[];
  customerDomain?: string;
  customerNameNorm?: string;
  customerKey?: string;
  /** Registrations whose expiry is before this time (ISO). */
  expiresBefore?: string;
  limit?: number;
  offset?: number;
}

/** The review queue's query (`registrations.page`): filtered, sorted and paged in SQL. */
export interface RegistrationPageQuery {
  status?: RegistrationStatus[];
  partner?: string;
  /** Part of the customer's name or domain, any case. */
  search?: string;
  sort?: RegistrationSort;
  dir?: 'asc' | 'desc';
  limit: number;
  offset?: number;
}
export type RegistrationSort = 'submitted' | 'due' | 'amount' | 'customer' | 'partner' | 'status';

export interface VendorAccount {
  orgId: string;
  accountId: string;
  name: string | null;
  nameNorm: string | null;
  domainNorm: string | null;
  owner: string | null;
  /** Named / strategic account reserved for the direct team. */
  named: boolean;
  country: string | null;
  hasOpenOpportunity: boolean;
  details: Record<string, unknown> | null;
  updatedAt: string;
}

export type VendorAccountInput = Pick<VendorAccount, 'orgId' | 'accountId'> &
  Partial<Omit<VendorAccount, 'orgId' | 'accountId' | 'updatedAt'>>;

export interface Overlap {
  partner: string;
  vendorAccountId: string;
  partnerRecordId: string;
  /** The keyed hash (HMAC) the two sides matched on; never the raw domain or name. */
  hashedKey: string;
  /** e.g. customer/customer, customer/prospect, opportunity/customer. */
  classification: string;
  score: number;
  details: Record<string, unknown> | null;
  updatedAt: string;
}

export type OverlapInput = Omit<Overlap, 'partner' | 'updatedAt' | 'details'> & { details?: Record<string, unknown> | null };

/** What `overlaps.replace` changed, so the caller can write back only the differences. */
export interface OverlapDiff {
  added: Overlap[];
  removed: Overlap[];
  /** Same pair, different classification / score / key. */
  changed: Overlap[];
  unchanged: number;
}
