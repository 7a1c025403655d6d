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
  COSELL_ATTRIBUTION_INVALID: 'An attribution (partner roles and splits) is invalid: unknown partner, splits not adding up to 100, or a role the partner does not hold',
  // Console (HTTP answers of `cosell console`)
  COSELL_CONSOLE_LOGIN: 'The console request needs a signed-in user',
  COSELL_CONSOLE_FORBIDDEN: 'The signed-in user\'s role may not do that',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * Codes of positioned problems in the files an admin writes (lib/problems.ts: `file:line:col: CODE:
 * message`). They are never thrown on their own: a file with errors raises COSELL_CONFIG_INVALID,
 * COSELL_MAPPING_INVALID or COSELL_RULES_INVALID listing them. Mapping codes are documented in
 * mappings/README.md; never rename one (editors and tests rely on them).
 */
export const ProblemCodes = {
  YAML_SYNTAX: 'the file is not valid YAML (syntax, duplicate key, alias without its anchor)',
  // network file (lib/config.ts, lib/configCheck.ts)
  CONFIG_FILE: 'the network file cannot be read',
  CONFIG_INVALID: 'a value or key of the network file does not fit its schema',
  CONFIG_ENV_MISSING: 'a ${VAR} the network file uses is not set in the environment',
  CONFIG_DUPLICATE: 'an org or link id, or a webhook address, is used twice',
  CONFIG_UNKNOWN_ORG: 'a link names an org the file does not declare',
  CONFIG_UNKNOWN_LINK: 'a link refers (pairedWith, parent) to a link the file does not declare',
  CONFIG_PARTNER_TO_PARTNER: 'a link connects two partners (the vendor must be on one side)',
  CONFIG_MAPPING_MISSING: 'a link\'s mapping file does not exist',
  CONFIG_MAPPING_OBJECT: 'a link reads or writes another object than its mapping does',
  CONFIG_RULES_MISSING: 'registration links need a rules policy, or the policy file cannot be read',
  CONFIG_SECRET_MISSING: 'a credential the file references (env: or file:) is missing',
  CONFIG_TIER_UNKNOWN: 'a partner\'s tier is not defined in the rules policy',
  CONFIG_REGION_UNKNOWN: 'a partner\'s territory region is not defined in the rules policy',
  // Rules-of-Engagement policy (rules/policy.ts)
  RULES_VERSION: 'the policy version is not one this cosell reads',
  RULES_TYPE: 'a policy value has the wrong type',
  RULES_MISSING: 'a required policy key is missing or empty',
  RULES_BAD_VALUE: 'a policy value is not allowed (duration, currency, choice)',
  RULES_BAD_KEY: 'a key is not allowed at that place in the policy',
  RULES_UNKNOWN_KEY: 'a policy key that does not exist',
  RULES_UNKNOWN_TIER: 'a tier the policy\'s tiers do not define',
  RULES_UNKNOWN_GROUP: 'an approval level names a group approval.groups does not define',
  RULES_UNKNOWN_FIELD: 'a field that is not a registration field',
  RULES_UNKNOWN_STAGE: 'a stage that is not one of stageGuard.vendorStages',
  RULES_BAD_DOMAIN: 'a named-account domain that is not a registrable company domain',
  RULES_PARTNER_MOVED: 'a partner\'s tier, territories, roles or CRM written in the policy (they belong in the network file)',
  // console users file (console/users.ts) and sandbox file (app/sandboxConfig.ts)
  CONSOLE_USERS_INVALID: 'the console users file does not fit its schema, or lists a user twice',
  SANDBOX_CONFIG_INVALID: 'the sandbox network file does not fit its schema',
  // mapping files (mappings/)
  MAP_FILE: 'the mapping file cannot be read',
  MAP_YAML: 'YAML syntax error',
  MAP_SHAPE: 'the file does not have the shape of a mapping (key missing, wrong type, unknown key)',
  MAP_SCHEMA: 'a schema snapshot is missing, unreadable or for another object',
  MAP_SYNTAX: 'an expression does not parse',
  MAP_UNKNOWN_FIELD: 'an expression reads a field the source object does not have',
  MAP_UNKNOWN_TARGET: 'a mapped target field does not exist on the target object',
  MAP_UNKNOWN_FUNCTION: 'a function that is not in the standard library',
  MAP_UNKNOWN_VALUE_MAP: 'a value map that is not declared under values:',
  MAP_ARGS: 'a function called with the wrong number of arguments',
  MAP_TYPE: 'a value of the wrong type',
  MAP_PICKLIST: 'a value the picklist/enumeration target does not allow',
  MAP_REQUIRED: 'a required target field is not mapped',
  MAP_READONLY: 'a target field that cannot be written',
  MAP_MATCH: 'the match key is not usable',
  MAP_VALUE_MAP: 'a value map entry that can never be used, or a source value it does not cover',
} as const;

export type ProblemCode = keyof typeof ProblemCodes;

/**
 * Codes a dead letter carries when cosell set it aside itself (`cosell deadletters`). A record the CRM
 * rejected keeps the CRM's own error code instead (e.g. Salesforce's REQUIRED_FIELD_MISSING). Parked
 * codes are retried by the link itself after every pass; the others wait for a fix and a replay.
 */
export const DeadLetterCodes = {
  MAPPING_EVAL: 'the mapping (or its filter) failed on this record; fix the mapping or the record, then replay',
  MATCH_KEY_MISSING: 'the record has no value for the mapping\'s match key; fill it in the source CRM, then replay',
  PARENT_NOT_SYNCED: 'parked: the record\'s parent (e.g. its account) has not synced on the parent link yet',
  PARTNER_SCOPE_UNSETTLED: 'parked: the record\'s partner scope changed moments ago; retried until it settles',
  REGISTRATION_AWAITS_PEER_LINKS: 'parked: first-to-register waits until every partner link has read up to this registration',
} as const;

export type DeadLetterCode = keyof typeof DeadLetterCodes;

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
  COSELL_ATTRIBUTION_INVALID: 'fix',
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
const isCatalogueCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ErrorCodes, code);

export function toCosellError(e: unknown): CosellError {
  if (e instanceof CosellError) return e;
  // A package cosell runs but that cannot import this module (@cosell/sandbox) throws with a catalogue code by value.
  if (e instanceof Error && isCatalogueCode((e as { code?: unknown }).code)) {
    const { hint, details } = e as { hint?: string; details?: Record<string, unknown> };
    return new CosellError((e as unknown as { code: ErrorCode }).code, e.message, { hint, details, cause: e });
  }
  if (e instanceof Error) return new CosellError('COSELL_UNKNOWN', e.message, { cause: e });
  return new CosellError('COSELL_UNKNOWN', typeof e === 'string' ? e : JSON.stringify(e));
}
