import { ConnectorError } from '../errors.js';
import type { ErrorKind, NormalisedError } from '../types.js';

/**
 * The ONE place where every Salesforce error shape becomes the connector taxonomy:
 * - top-level REST errors: a JSON array `[{message, errorCode, fields?}]` (or one such object);
 * - per-record errors in sObject Collections results: `{statusCode, message, fields}`;
 * - OAuth token endpoint errors: `{error, error_description}`;
 * - bare HTTP statuses (HTML / text / empty bodies), 300 Multiple Choices;
 * - network failures and timeouts (no response at all);
 * - errors jsforce itself throws (HttpApiError with errorCode/data, OAuth errors named after `error`).
 */

const AUTH_CODES = new Set([
  'INVALID_SESSION_ID', 'INVALID_AUTH_HEADER', 'INVALID_OPERATION_WITH_EXPIRED_PASSWORD', 'INSUFFICIENT_ACCESS',
  'API_DISABLED_FOR_ORG', 'API_CURRENTLY_DISABLED', 'NOT_AUTHORIZED',
  // OAuth `error` values
  'invalid_grant', 'invalid_client', 'invalid_client_id', 'invalid_client_credentials', 'unauthorized_client',
  'unsupported_grant_type', 'invalid_request', 'inactive_user', 'inactive_org', 'invalid_app_access', 'invalid_scope',
]);
const TRANSIENT_CODES = new Set([
  'UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'QUERY_TIMEOUT', 'REQUEST_RUNNING_TOO_LONG', 'UNKNOWN_EXCEPTION',
  'TXN_SECURITY_METERING_ERROR', 'temporarily_unavailable', 'server_error',
]);
const NOT_FOUND_CODES = new Set(['NOT_FOUND', 'ENTITY_IS_DELETED', 'INVALID_TYPE', 'INVALID_ID_FIELD']);
const CONFLICT_CODES = new Set([
  'DUPLICATE_VALUE', 'DUPLICATE_EXTERNAL_ID', 'DUPLICATES_DETECTED', 'DUPLICATE_DEVELOPER_NAME', 'DUPLICATE_USERNAME',
  'MULTIPLE_CHOICES', 'ENTITY_IS_LOCKED', 'ENTITY_FAILED_IFLASTMODIFIED_ON_UPDATE',
]);
/** Our own bugs or a misbehaving server: retrying will not help and the record is not at fault. */
const PROTOCOL_CODES = new Set(['MALFORMED_QUERY', 'INVALID_QUERY_LOCATOR', 'INVALID_QUERY_FILTER_OPERATOR', 'JSON_PARSER_ERROR', 'INVALID_CURSOR']);

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH', 'ETIMEDOUT',
  'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'ECONNABORTED',
]);

/** The kind of a Salesforce error code (REST errorCode, per-record statusCode or OAuth error). */
export function kindOfCode(code: string | undefined, status?: number, message = ''): ErrorKind {
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    // The same code is sent for the daily allocation and for >25 concurrent long-running requests.
    return /TotalRequests|total requests/i.test(message) ? 'quota_exhausted' : 'rate_limited';
  }
  if (code && AUTH_CODES.has(code)) return 'auth';
  if (code && TRANSIENT_CODES.has(code)) return 'transient';
  if (code && NOT_FOUND_CODES.has(code)) return 'not_found';
  if (code && CONFLICT_CODES.has(code)) return 'conflict';
  if (code && PROTOCOL_CODES.has(code)) return 'protocol';
  if (status !== undefined) return kindOfStatus(status);
  return 'validation'; // record-level codes we do not list are the record's fault: visible, replayable
}

function kindOfStatus(status: number): ErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 409 || status === 300) return 'conflict';
  if (status === 420 || status === 429) return 'rate_limited';
  if (status === 408 || status >= 500) return 'transient';
  if (status >= 400) return 'validation';
  return 'protocol';
}

/** Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.round(secs * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

interface RestErrorItem {
  message?: string;
  errorCode?: string;
  statusCode?: string;
  fields?: string[];
}

function parseBody(body: string | undefined): unknown {
  if (!body) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export interface HttpErrorInput {
  status: number;
  headers: Record<string, string | undefined>;
  body?: string;
  /** What was being done, for the message (never a URL with a token). */
  what?: string;
}

/** Map an HTTP error response (status >= 300 that is not a success) to a ConnectorError. */
export function mapHttpError({ status, headers, body, what }: HttpErrorInput): ConnectorError {
  const parsed = parseBody(body);
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const prefix = what ? `${what}: ` : '';

  // OAuth: {error, error_description}
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && typeof (parsed as any).error === 'string') {
    const { error, error_description } = parsed as { error: string; error_description?: string };
    let kind = kindOfCode(error, status);
    if (kind === 'validation') kind = status >= 500 ? 'transient' : 'auth';
    return new ConnectorError(kind, `${prefix}${error}: ${error_description ?? 'OAuth error'}`, { crmCode: error, status, retryAfterMs });
  }

  // REST: [{message, errorCode, fields}] (or a single object)
  const items: RestErrorItem[] = Array.isArray(parsed) ? parsed : parsed && typeof parsed === 'object' ? [parsed as RestErrorItem] : [];
  const first = items.find((i) => i && (i.errorCode || i.statusCode || i.message));
  if (first) {
    const code = first.errorCode ?? first.statusCode;
    const message = items.map((i) => `${i.errorCode ?? i.statusCode ?? 'ERROR'}: ${i.message ?? ''}`).join('; ');
    let kind = kindOfCode(code, status, first.message);
    // An unknown code on a 5xx/429 is still a 5xx/429.
    if (kind === 'validation' && (status >= 500 || status === 429)) kind = kindOfStatus(status);
    const fields = items.flatMap((i) => i.fields ?? []);
    return new ConnectorError(kind, `${prefix}${message}`, {
      crmCode: code,
      status,
      retryAfterMs: kind === 'rate_limited' || kind === 'transient' ? retryAfterMs : undefined,
      fields: fields.length ? fields : undefined,
    });
  }

  const kind = kindOfStatus(status);
  const text = body && !/^\s*</.test(body) ? body.slice(0, 200) : '';
  return new ConnectorError(kind, `${prefix}HTTP ${status}${text ? `: ${text}` : ''}`, { crmCode: `HTTP_${status}`, status, retryAfterMs });
}

/** A per-record error list from sObject Collections (`errors: [{statusCode, message, fields}]`). */
export function mapRecordErrors(errors: RestErrorItem[] | undefined): NormalisedError {
  const list = errors?.length ? errors : [{ statusCode: 'UNKNOWN', message: 'the record failed without an error' }];
  const first = list[0];
  const code = first.statusCode ?? first.errorCode;
  const fields = list.flatMap((e) => e.fields ?? []);
  return {
    kind: kindOfCode(code, undefined, first.message),
    message: list.map((e) => `${e.statusCode ?? e.errorCode}: ${e.message ?? ''}`).join('; '),
    crmCode: code,
    fields: fields.length ? fields : undefined,
  };
}

/**
 * Anything thrown while talking to Salesforce → ConnectorError. Our transport already throws
 * ConnectorErrors for HTTP errors; this catches what is left (network, timeouts, jsforce's own errors).
 */
export function mapThrown(e: unknown, what?: string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const prefix = what ? `${what}: ` : '';
  const err = e as { name?: string; message?: string; code?: string; errorCode?: string; type?: string; cause?: { code?: string; message?: string } };
  const message = err?.message ?? String(e);
  // Node's fetch: TypeError('fetch failed') with the socket error as `cause`.
  const netCode = err?.code ?? err?.cause?.code;
  if (netCode && NETWORK_CODES.has(netCode)) {
    return new ConnectorError('transient', `${prefix}network error ${netCode}: ${err.cause?.message ?? message}`, { crmCode: netCode, cause: e });
  }
  if (err?.name === 'TypeError' && message === 'fetch failed') {
    return new ConnectorError('transient', `${prefix}network error: ${err.cause?.message ?? message}`, { crmCode: 'NETWORK', cause: e });
  }
  if (err?.name === 'AbortError' || err?.type === 'aborted' || /Request Timeout|timed? ?out|aborted/i.test(message)) {
    return new ConnectorError('transient', `${prefix}request timed out: ${message}`, { crmCode: 'TIMEOUT', cause: e });
  }
  if (err?.name === 'FetchError' || err?.type === 'system') {
    return new ConnectorError('transient', `${prefix}network error: ${message}`, { crmCode: err.code ?? 'NETWORK', cause: e });
  }
  // jsforce HttpApiError (errorCode + data) or OAuth error (name = OAuth `error`)
  const code = err?.errorCode ?? (err?.name && err.name !== 'Error' && err.name !== 'TypeError' ? err.name : undefined);
  if (code) {
    const m = /^ERROR_HTTP_(\d{3})$/.exec(code);
    const kind = m ? kindOfStatus(Number(m[1])) : kindOfCode(code, undefined, message);
    return new ConnectorError(kind, `${prefix}${code}: ${message}`, { crmCode: code, status: m ? Number(m[1]) : undefined, cause: e });
  }
  return new ConnectorError('protocol', `${prefix}${message}`, { cause: e });
}
