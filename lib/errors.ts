/**
 * The one catalogue of cosell errors (fastify-style): every error the product raises on purpose has a
 * stable code here, so logs, CLI exit codes and tests can rely on it. `toCosellError` is the single
 * place where any thrown value is normalised (tRPC-style).
 */
export const ErrorCodes = {
  // Foundation
  COSELL_TEMPORAL_CLI_NOT_FOUND: 'The temporal CLI binary could not be found or installed',
  COSELL_TEMPORAL_SERVER_START: 'The local Temporal dev server did not start',
  COSELL_DEMO_RUNNING: 'A demo (npm start / cosell up) is already running from this checkout',
  COSELL_TEMPORAL_UNREACHABLE: 'The Temporal server cannot be reached (address, namespace, credentials or TLS)',
  COSELL_CONFIG_INVALID: 'A configuration file is invalid',
  COSELL_SECRET_MISSING: 'A referenced secret (environment variable or file) is missing',
  COSELL_PAYLOAD_KEY: 'The Temporal payload encryption key (COSELL_PAYLOAD_KEY, COSELL_PAYLOAD_KEYS, COSELL_PAYLOAD_KEY_FILE) is missing, unreadable or malformed',
  COSELL_PAYLOAD_DECRYPT: 'An encrypted Temporal payload failed to decrypt (altered, or sealed with another key)',
  COSELL_UNKNOWN: 'Unexpected error',
  COSELL_INPUT_INVALID: 'A command argument or request is invalid',
  COSELL_PORT_IN_USE: 'A port cosell was told to listen on (e.g. --metrics-port) is taken by another process',
  // Connectors (the one taxonomy every CRM error is mapped onto; see connectors/errors.ts)
  COSELL_CRM_RATE_LIMITED: 'The CRM rate limit was hit; retry after the given delay',
  COSELL_CRM_QUOTA_EXHAUSTED: 'The CRM daily API quota is exhausted until it resets',
  COSELL_CRM_AUTH: 'CRM authentication failed or expired',
  COSELL_CRM_VALIDATION: 'The CRM rejected a record as invalid',
  COSELL_CRM_NOT_FOUND: 'The CRM record or object does not exist',
  COSELL_CRM_CONFLICT: 'The CRM reported a conflict or duplicate',
  COSELL_CRM_TRANSIENT: 'A transient CRM failure (retryable)',
  COSELL_CRM_PROTOCOL: 'The CRM answered in a way the connector cannot trust',
  // Mappings and rules
  COSELL_MAPPING_INVALID: 'A mapping file has errors',
  COSELL_MAPPING_EVAL: 'A mapping expression failed on a record',
  COSELL_RULES_INVALID: 'A Rules-of-Engagement policy file has errors',
  // Sync / ledger / registrations
  COSELL_LINK_UNKNOWN: 'No such link in the network configuration',
  COSELL_LEDGER: 'The ledger failed',
  COSELL_LEDGER_UNREACHABLE: 'The ledger database cannot be reached or opened (PostgreSQL down, wrong host or credentials, SQLite directory missing)',
  COSELL_FEED_STALLED: 'A change feed cannot advance: its next cursor is behind the one its page was read from, or it made no progress',
  COSELL_REGISTRATION_UNKNOWN: 'No such registration',
  COSELL_REGISTRATION_STATE: 'The registration cannot take that decision in its current state',
  COSELL_REGISTRATION_BUSY: 'A registration\'s workflow did not take an update in time (still applying an earlier change, or its worker is gone); nothing was written, the page is retried',
  COSELL_REGISTRATION_CLAIMED: 'The customer already has an active registration (one active registration per customer)',
  COSELL_ANALYTICS_CURRENCY: 'An opportunity amount is in a currency the policy has no exchange rate for',
  COSELL_NOTIFY_FAILED: 'A notification could not be delivered (webhook or SMTP server unreachable or failing); it is retried with backoff',
  COSELL_NOTIFY_REJECTED: 'A notification channel refused the message (bad webhook URL, unknown recipient); retrying cannot help',
  COSELL_RULES_DATA_UNAVAILABLE: 'What a Rules-of-Engagement decision needs (vendor account index, the deal\'s customer) could not be read; nothing was decided, the page is retried',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * What retrying does for a code — decided here, once, for every caller (connector retries, Temporal
 * activity retries via lib/failures.ts, a link's `error` state):
 *  - `retry`: transient; try again with back-off.
 *  - `wait`: nothing to do until a known time (a daily quota resets); the link sleeps until then.
 *  - `fix`: trying again cannot help until someone fixes credentials, configuration, data or input;
 *    the activity fails at once and the link shows state `error` with the reason until it is fixed.
 * A code not listed (e.g. one just added) is `retry`: activities retry it a bounded number of times,
 * then it surfaces as `error` like the rest — a new failure never spins silently, nor stops a link
 * that would have recovered on its own.
 */
export type Retry = 'retry' | 'wait' | 'fix';

const RETRY: Partial<Record<ErrorCode, Retry>> = {
  COSELL_TEMPORAL_CLI_NOT_FOUND: 'fix',
  COSELL_CONFIG_INVALID: 'fix',
  COSELL_SECRET_MISSING: 'fix',
  COSELL_INPUT_INVALID: 'fix',
  COSELL_PORT_IN_USE: 'fix',
  COSELL_CRM_RATE_LIMITED: 'retry',
  COSELL_CRM_QUOTA_EXHAUSTED: 'wait',
  COSELL_CRM_AUTH: 'fix',
  COSELL_CRM_VALIDATION: 'fix',
  COSELL_CRM_NOT_FOUND: 'fix',
  COSELL_CRM_CONFLICT: 'fix',
  COSELL_CRM_TRANSIENT: 'retry',
  COSELL_CRM_PROTOCOL: 'fix',
  COSELL_MAPPING_INVALID: 'fix',
  COSELL_RULES_INVALID: 'fix',
  COSELL_LINK_UNKNOWN: 'fix',
  // the feed would re-read the same page for ever: retrying cannot help, the link shows `error`
  COSELL_FEED_STALLED: 'fix',
  COSELL_REGISTRATION_UNKNOWN: 'fix',
  COSELL_REGISTRATION_STATE: 'fix',
  COSELL_ANALYTICS_CURRENCY: 'fix',
  COSELL_NOTIFY_FAILED: 'retry',
  COSELL_NOTIFY_REJECTED: 'fix',
};

/** How to treat a failure with this code (any string: codes from other versions or components are `retry`). */
export function retryOf(code: string): Retry {
  return Object.hasOwn(RETRY, code) ? RETRY[code as ErrorCode]! : 'retry';
}

/**
 * The CLI's exit code for a code: 2 when the user can fix the command line or the configuration (a bad
 * argument, an unknown link / partner / registration, an invalid file, a missing secret), 1 otherwise.
 */
const USAGE_CODES: ReadonlySet<string> = new Set<ErrorCode>(['COSELL_PORT_IN_USE', 'COSELL_LINK_UNKNOWN', 'COSELL_REGISTRATION_UNKNOWN', 'COSELL_SECRET_MISSING', 'COSELL_PAYLOAD_KEY']);
export function exitCodeOf(code: string): 1 | 2 {
  return code.endsWith('_INVALID') || USAGE_CODES.has(code) ? 2 : 1;
}

export class CosellError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly hint?: string;

  constructor(code: ErrorCode, message?: string, opts: { details?: Record<string, unknown>; hint?: string; cause?: unknown } = {}) {
    super(message ?? ErrorCodes[code], opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CosellError';
    this.code = code;
    this.details = opts.details ?? {};
    this.hint = opts.hint;
  }

  /** One line for humans: what, and how to fix it when we know. */
  describe(): string {
    return this.hint ? `${this.code}: ${this.message}\n  hint: ${this.hint}` : `${this.code}: ${this.message}`;
  }
}

export function isCosellError(e: unknown, code?: ErrorCode): e is CosellError {
  return e instanceof CosellError && (code === undefined || e.code === code);
}

/** Normalise anything thrown into a CosellError, keeping the original as `cause`. */
export function toCosellError(e: unknown): CosellError {
  if (e instanceof CosellError) return e;
  if (e instanceof Error) return new CosellError('COSELL_UNKNOWN', e.message, { cause: e });
  return new CosellError('COSELL_UNKNOWN', typeof e === 'string' ? e : JSON.stringify(e));
}
