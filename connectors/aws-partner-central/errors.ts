import { ConnectorError } from '../errors.js';

/**
 * The ONE place where every error shape of Partner Central becomes the connector taxonomy:
 * - the service's modelled exceptions, as the SDK throws them (`name`, `$metadata.httpStatusCode`,
 *   `$fault`, members `Message`, `Reason`, `ErrorList[{FieldName, Code, Message}]`):
 *   ValidationException → validation (fields from ErrorList), ConflictException → conflict (a stale
 *   LastModifiedDate, a ClientToken reused with another request, an invitation no longer pending),
 *   ThrottlingException → rate_limited, or quota_exhausted when it is the 24-hour quota,
 *   AccessDeniedException → auth, ResourceNotFoundException → not_found, InternalServerException →
 *   transient, ServiceQuotaExceededException → validation (a per-opportunity association quota: retrying
 *   cannot help);
 * - the AWS front door's authentication errors (UnrecognizedClientException, InvalidSignatureException,
 *   SignatureDoesNotMatch, ExpiredTokenException, MissingAuthenticationToken…) → auth;
 * - protocol errors (UnknownOperationException, SerializationException, an unparseable answer) → protocol;
 * - network failures and timeouts (ECONNRESET, ECONNREFUSED, the SDK's TimeoutError) and any 5xx → transient;
 * - a task that came back FAILED (StartEngagementFromOpportunityTask, StartEngagementByAcceptingInvitationTask):
 *   `taskFailure`.
 */
interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { headers?: Record<string, string> };
  Message?: string;
  Reason?: string;
  ErrorList?: Array<{ FieldName?: string; Code?: string; Message?: string }>;
}

const AUTH = new Set([
  'UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'IncompleteSignature', 'ExpiredTokenException', 'ExpiredToken',
  'InvalidClientTokenId', 'MissingAuthenticationTokenException', 'MissingAuthenticationToken', 'AccessDeniedException', 'CredentialsProviderError',
]);
const PROTOCOL = new Set(['UnknownOperationException', 'SerializationException', 'InvalidAction', 'MalformedQueryString']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);
const DAILY = /daily|24 hours|per day/i;

function retryAfter(err: AwsLikeError): number | undefined {
  const h = err.$response?.headers;
  const ra = h ? (h['retry-after'] ?? h['Retry-After']) : undefined;
  if (!ra) return undefined;
  const s = Number(ra);
  return Number.isFinite(s) && s >= 0 ? Math.round(s * 1000) : undefined;
}

export function mapAceError(e: unknown, what: string, now = Date.now()): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const err = (e ?? {}) as AwsLikeError;
  const name = err.name ?? '';
  const status = err.$metadata?.httpStatusCode;
  const text = err.Message ?? err.message ?? String(e);
  const message = `${what}: ${name ? `${name}: ` : ''}${text}`;
  const common = { crmCode: name || err.code, status, cause: e };
  if (name === 'ValidationException') {
    const list = err.ErrorList ?? [];
    const fields = [...new Set(list.map((x) => x.FieldName).filter((f): f is string => !!f))];
    const detail = list.length ? ` (${list.map((x) => `${x.FieldName ?? '?'} ${x.Code ?? ''}: ${x.Message ?? ''}`.trim()).join('; ')})` : '';
    return new ConnectorError('validation', `${message}${detail}`, { ...common, crmCode: list[0]?.Code ?? err.Reason ?? name, fields });
  }
  if (name === 'ConflictException') return new ConnectorError('conflict', message, common);
  if (name === 'ThrottlingException' || name === 'TooManyRequestsException' || status === 429) {
    if (DAILY.test(text)) return new ConnectorError('quota_exhausted', message, { ...common, resetsAt: new Date(now + 60 * 60_000).toISOString() });
    return new ConnectorError('rate_limited', message, { ...common, retryAfterMs: retryAfter(err) });
  }
  if (name === 'ResourceNotFoundException' || status === 404) return new ConnectorError('not_found', message, common);
  if (name === 'ServiceQuotaExceededException') return new ConnectorError('validation', message, common);
  if (AUTH.has(name) || status === 401 || status === 403) return new ConnectorError('auth', message, common);
  if (PROTOCOL.has(name)) return new ConnectorError('protocol', message, common);
  if (name === 'InternalServerException' || name === 'ServiceUnavailableException' || (status !== undefined && status >= 500)) return new ConnectorError('transient', message, common);
  if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'AbortError' || NETWORK.has(err.code ?? '') || NETWORK.has(name)) return new ConnectorError('transient', message, common);
  if (err.$fault === 'server') return new ConnectorError('transient', message, common);
  if (name === 'SyntaxError' || err.$fault === 'client') return new ConnectorError('protocol', message, common);
  // Errors from below the SDK (sockets) carry a code and no $metadata.
  if (err.code && !err.$metadata) return new ConnectorError('transient', message, common);
  return new ConnectorError('protocol', message, common);
}

/** A task (StartEngagement…Task) that answered FAILED: its ReasonCode decides the kind. */
export function taskFailure(what: string, reasonCode: string | undefined, message: string | undefined): ConnectorError {
  const text = `${what}: task FAILED${reasonCode ? ` (${reasonCode})` : ''}${message ? `: ${message}` : ''}`;
  const kind = reasonCode === 'RequestThrottled' ? 'rate_limited' : reasonCode === 'InternalError' ? 'transient' : /Conflict$/.test(reasonCode ?? '') ? 'conflict' : /AccessDenied$/.test(reasonCode ?? '') ? 'auth' : 'validation';
  return new ConnectorError(kind, text, { crmCode: reasonCode ?? 'TASK_FAILED' });
}
