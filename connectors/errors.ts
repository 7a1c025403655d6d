import { CosellError, retryOf, type ErrorCode } from '../lib/errors.js';
import type { ErrorKind, NormalisedError } from './types.js';

const CODE_BY_KIND: Record<ErrorKind, ErrorCode> = {
  rate_limited: 'COSELL_CRM_RATE_LIMITED',
  quota_exhausted: 'COSELL_CRM_QUOTA_EXHAUSTED',
  auth: 'COSELL_CRM_AUTH',
  validation: 'COSELL_CRM_VALIDATION',
  not_found: 'COSELL_CRM_NOT_FOUND',
  conflict: 'COSELL_CRM_CONFLICT',
  transient: 'COSELL_CRM_TRANSIENT',
  protocol: 'COSELL_CRM_PROTOCOL',
};

/**
 * The one error taxonomy for all connectors. Each connector maps every error shape of its CRM onto
 * this in exactly one place (connectors/<crm>/errors.ts).
 */
export class ConnectorError extends CosellError {
  readonly kind: ErrorKind;
  readonly retryAfterMs?: number; // rate_limited
  readonly resetsAt?: string; // quota_exhausted (ISO)
  readonly fields?: string[]; // validation
  readonly crmCode?: string;
  readonly status?: number;

  constructor(
    kind: ErrorKind,
    message: string,
    opts: { retryAfterMs?: number; resetsAt?: string; fields?: string[]; crmCode?: string; status?: number; cause?: unknown } = {},
  ) {
    super(CODE_BY_KIND[kind], message, { cause: opts.cause, details: { kind, crmCode: opts.crmCode, status: opts.status } });
    this.name = 'ConnectorError';
    this.kind = kind;
    this.retryAfterMs = opts.retryAfterMs;
    this.resetsAt = opts.resetsAt;
    this.fields = opts.fields;
    this.crmCode = opts.crmCode;
    this.status = opts.status;
  }

  /** From the catalogue (lib/errors.ts `retryOf`): transient and rate-limited errors only. */
  get retryable(): boolean {
    return retryOf(this.code) === 'retry';
  }

  toNormalised(): NormalisedError {
    return { kind: this.kind, message: this.message, crmCode: this.crmCode, fields: this.fields };
  }
}

export function isConnectorError(e: unknown, kind?: ErrorKind): e is ConnectorError {
  return e instanceof ConnectorError && (kind === undefined || e.kind === kind);
}
