/**
 * The ledger: the sync's own durable state (cursors, record pairs, content hashes, dead letters,
 * audit events, registrations, the vendor-account index, overlaps) on SQLite or PostgreSQL.
 * See ledger/README.md.
 */
export { openLedger, Ledger, type OpenLedgerOptions } from './ledger.js';
export { connectLedger, DEFAULT_LEDGER_FILE, type LedgerConnection, type LedgerConnectionOptions } from './connect.js';
export { CLAIMING_STATUSES, PENDING_CLAIM_STATUSES, customerKey, registrationId } from './registrations.js';
export { canonicalValue, contentHash } from './contentHash.js';
export type { DeadLetterQuery } from './deadLetters.js';
export type { LinkMappingState } from './linkMappings.js';
export type { PushEventInput, PushTarget, ClaimedPushEvent, PushEventCounts } from './pushEvents.js';
export type * from './types.js';
export { streamCursorId, streamIdOf, type AppendResult, type ConsumerFloor, type ConsumerPosition, type Reconciled, type StreamAppend, type StreamEntry, type StreamInfo } from './streams.js';
export { CdcLeases, type FencedWrite, type LeaseGrant, type StoredLease } from './leases.js';
export type { FactApplyResult, FactChange } from './facts.js';
