import { ConnectorError } from '../errors.js';
import type { ErrorKind, NormalisedError } from '../types.js';
import { nextMidnight } from './time.js';

/**
 * The ONE place where every HubSpot error shape becomes the connector taxonomy:
 * - HTTP error responses (`{status, message, correlationId, category, subCategory, errors[], context}`),
 *   including 429 bodies with `policyName` TEN_SECONDLY_ROLLING / DAILY and the X-HubSpot-RateLimit-* headers;
 * - per-record errors inside 207 Multi-Status batch answers (`StandardError`);
 * - network failures (reset, refused, timeouts) and anything else thrown while calling.
 */

export type Headers = Record<string, string | undefined>;

export interface HubspotErrorBody {
  status?: string;
  message?: string;
  correlationId?: string;
  category?: string;
  subCategory?: string;
  errorType?: string;
  policyName?: string;
  context?: Record<string, unknown>;
  errors?: Array<{ message?: string; in?: string; code?: string; subCategory?: string; context?: Record<string, unknown> }>;
}

export interface MapOptions {
  now?: Date;
  /** IANA zone whose midnight resets the daily quota (the portal's time zone). Default UTC. */
  dailyResetTimeZone?: string;
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH',
  'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Lower-cased header lookup (node-fetch lower-cases, nock may not). */
export function header(headers: Headers | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === want) return v;
  return undefined;
}

export function parseBody(text: string | undefined): HubspotErrorBody | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as HubspotErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

/** Retry-After (seconds or HTTP date) in ms, if present and sane. */
export function retryAfterMs(headers: Headers | undefined, now = new Date()): number | undefined {
  const ra = header(headers, 'retry-after');
  if (!ra) return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return Math.max(0, Math.round(secs * 1000));
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - now.getTime()) : undefined;
}

/** Map a non-2xx HTTP answer (status, headers, raw body text) onto the taxonomy. */
export function mapHttpError(status: number, headers: Headers | undefined, text: string | undefined, opts: MapOptions = {}): ConnectorError {
  const now = opts.now ?? new Date();
  const body = parseBody(text);
  const msg = describe(status, body, text);
  const crmCode = body?.category ?? body?.errorType ?? (body?.policyName ? 'RATE_LIMITS' : undefined);
  const base = { status, crmCode };

  if (status === 429) {
    const policy = body?.policyName ?? '';
    if (policy === 'DAILY' || /daily/i.test(body?.message ?? '') || header(headers, 'x-hubspot-ratelimit-daily-remaining') === '0') {
      // Never retried in a loop: the whole org pauses until the portal's midnight.
      const resetsAt = nextMidnight(now, opts.dailyResetTimeZone).toISOString();
      return new ConnectorError('quota_exhausted', `HubSpot daily API limit reached; resets at ${resetsAt}: ${msg}`, { ...base, crmCode: 'DAILY', resetsAt });
    }
    return new ConnectorError('rate_limited', `HubSpot rate limit (${policy || 'unknown policy'}): ${msg}`, {
      ...base,
      crmCode: policy || crmCode,
      retryAfterMs: rateLimitWait(policy, body, headers, now),
    });
  }
  if (status === 401) return new ConnectorError('auth', `HubSpot authentication failed: ${msg}`, base);
  if (status === 403) {
    // 403 is missing scopes / a locked portal: a human has to act, retrying will not help.
    return new ConnectorError('auth', `HubSpot refused access (missing scopes?): ${msg}`, base);
  }
  if (status === 404) return new ConnectorError('not_found', `HubSpot: not found: ${msg}`, base);
  if (status === 409) return new ConnectorError('conflict', `HubSpot conflict: ${msg}`, { ...base, fields: fieldsOf(body) });
  if (status === 423 || status === 408 || status === 425) return new ConnectorError('transient', `HubSpot busy (${status}): ${msg}`, base);
  if (status >= 500) return new ConnectorError('transient', `HubSpot server error ${status}: ${msg}`, { ...base, retryAfterMs: retryAfterMs(headers, now) });
  if (status === 400 || status === 422 || status === 413 || status === 414) {
    return new ConnectorError('validation', `HubSpot rejected the request: ${msg}`, { ...base, fields: fieldsOf(body) });
  }
  return new ConnectorError('protocol', `HubSpot answered an unexpected ${status}: ${msg}`, base);
}

/** Map whatever was thrown while calling (network errors, our own ConnectorErrors, client exceptions). */
export function mapThrown(e: unknown, opts: MapOptions = {}): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const err = e as { code?: unknown; type?: string; name?: string; message?: string; body?: unknown; headers?: Headers; errno?: string } | undefined;
  // @hubspot/api-client ApiException (only if something bypassed our response middleware).
  if (err && typeof err.code === 'number' && err.code >= 100) {
    const text = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '');
    return mapHttpError(err.code, err.headers, text, opts);
  }
  const code = typeof err?.code === 'string' ? err.code : err?.errno;
  const message = err?.message ?? String(e);
  if (
    (code && NETWORK_CODES.has(code)) ||
    err?.type === 'system' || err?.type === 'request-timeout' || err?.name === 'AbortError' || err?.name === 'FetchError' ||
    /socket hang up|network|timed? ?out|ECONNRESET|premature close/i.test(message)
  ) {
    return new ConnectorError('transient', `HubSpot unreachable: ${message}`, { crmCode: code, cause: e });
  }
  if (err?.name === 'SyntaxError') return new ConnectorError('protocol', `HubSpot sent an unreadable answer: ${message}`, { cause: e });
  return new ConnectorError('protocol', `HubSpot call failed: ${message}`, { cause: e });
}

/**
 * A failed refresh at `/oauth/v1/token` (its own body shape: `{status: "BAD_REFRESH_TOKEN", message}`).
 * 400/401/403 mean bad or revoked credentials: a person must re-authorise the app; never retried.
 * The body is not copied into the error: it may echo what was sent.
 */
export function mapOauthError(e: unknown, opts: MapOptions = {}): ConnectorError {
  const err = e as { code?: unknown; body?: unknown };
  if (err?.code === 400 || err?.code === 401 || err?.code === 403) {
    const reason = (err.body as { status?: unknown } | undefined)?.status;
    return new ConnectorError('auth', `HubSpot OAuth refresh was rejected${typeof reason === 'string' ? ` (${reason})` : ''}; re-authorise the app and update the refresh token reference`, {
      status: err.code,
      crmCode: typeof reason === 'string' ? reason : undefined,
    });
  }
  return mapThrown(e, opts);
}

/** One per-record error from a 207 batch answer (`StandardError`) → NormalisedError. */
export function mapRecordError(err: HubspotErrorBody & { status?: string }): NormalisedError {
  const category = err.category ?? '';
  const sub = err.subCategory ?? err.errors?.[0]?.code;
  const kind = kindOfCategory(category, err.message ?? '');
  const fields = fieldsOf(err);
  return { kind, message: err.message ?? category ?? 'record rejected', crmCode: sub ? `${category}:${sub}` : category || undefined, ...(fields ? { fields } : {}) };
}

function kindOfCategory(category: string, message: string): ErrorKind {
  switch (category) {
    case 'VALIDATION_ERROR':
    case 'INVALID_EMAIL':
    case 'PROPERTY_DOESNT_EXIST':
    case 'INVALID_PARAMS':
      return 'validation';
    case 'OBJECT_NOT_FOUND':
    case 'NOT_FOUND':
      return 'not_found';
    case 'CONFLICT':
    case 'OBJECT_ALREADY_EXISTS':
    case 'DUPLICATE':
      return 'conflict';
    case 'RATE_LIMITS':
      return 'rate_limited';
    case 'INVALID_AUTHENTICATION':
    case 'EXPIRED_AUTHENTICATION':
    case 'MISSING_SCOPES':
      return 'auth';
    case 'INTERNAL_ERROR':
    case 'SERVICE_UNAVAILABLE':
    case 'TIMEOUT':
      return 'transient';
    default:
      if (/not found|does not exist/i.test(message)) return 'not_found';
      if (/already exists|duplicate/i.test(message)) return 'conflict';
      return 'validation';
  }
}

/**
 * How long to wait after a short-window 429. Retry-After wins. When the 429 carries the window headers,
 * the transport has already told the org's RateBudget that the window is full, and the budget holds
 * every caller until a slot frees (the oldest call ages out): no fixed wait on top, only the retry
 * policy's short back-off. Without headers, 2 s (the back-off lengthens it if 429s persist).
 */
function rateLimitWait(policy: string, body: HubspotErrorBody | undefined, headers: Headers | undefined, now: Date): number | undefined {
  const explicit = retryAfterMs(headers, now);
  if (explicit !== undefined) return explicit;
  if (policy === 'SECONDLY' || (!policy.startsWith('TEN_') && /\bsecondly limit/i.test(body?.message ?? ''))) return 1000;
  if (header(headers, 'x-hubspot-ratelimit-remaining') !== undefined) return undefined;
  return 2000;
}

/** The property names an error is about, from wherever HubSpot put them. */
export function fieldsOf(body: HubspotErrorBody | undefined): string[] | undefined {
  if (!body) return undefined;
  const out = new Set<string>();
  const fromCtx = (ctx: Record<string, unknown> | undefined) => {
    const names = ctx?.propertyName ?? ctx?.propertyNames ?? ctx?.property;
    if (Array.isArray(names)) for (const n of names) if (typeof n === 'string') out.add(n);
    if (typeof names === 'string') out.add(names);
  };
  fromCtx(body.context);
  for (const e of body.errors ?? []) {
    fromCtx(e.context);
    if (e.in && e.in !== 'body') out.add(e.in);
  }
  // "Property values were not valid: [{...,"name":"dealstage"}]" — the classic VALIDATION_ERROR message.
  const m = /not valid: (\[.*\])\s*$/s.exec(body.message ?? '');
  if (m) {
    try {
      for (const v of JSON.parse(m[1]) as Array<{ name?: string }>) if (v.name) out.add(v.name);
    } catch {
      /* message was not JSON after all */
    }
  }
  const quoted = /Property "([^"]+)" does not exist/.exec(body.message ?? '');
  if (quoted) out.add(quoted[1]);
  return out.size ? [...out] : undefined;
}

function describe(status: number, body: HubspotErrorBody | undefined, text: string | undefined): string {
  if (body?.message) {
    const details = (body.errors ?? []).map((e) => e.message).filter(Boolean).slice(0, 3);
    const id = body.correlationId ? ` (correlationId ${body.correlationId})` : '';
    return `${body.message}${details.length ? ` — ${details.join('; ')}` : ''}${id}`;
  }
  const snippet = (text ?? '').slice(0, 200).trim();
  return snippet || `HTTP ${status}`;
}
