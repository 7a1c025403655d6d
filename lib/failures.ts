import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { isConnectorError } from '../connectors/errors.js';
import { retryOf, toCosellError, type Retry } from './errors.js';

/** What a failed activity carries to its workflow (details[0] of the ApplicationFailure). */
export interface FailureDetails {
  code: string;
  retry: Retry;
  hint?: string;
  /** Quota: when the daily allocation resets (ISO). */
  resetsAt?: string;
}

/**
 * The one place a thrown error becomes a Temporal failure: its type is the catalogue code, and
 * whether Temporal retries it follows the catalogue (`retryOf`), so an auth failure, a rejected batch,
 * bad configuration or bad input fail the activity at once instead of being retried without end.
 * Failures an activity already shaped (ApplicationFailure, cancellation) pass through unchanged.
 */
export function toActivityFailure(e: unknown): unknown {
  if (e instanceof TemporalFailure) return e;
  const err = toCosellError(e);
  const retry = retryOf(err.code);
  const details: FailureDetails = { code: err.code, retry, ...(err.hint ? { hint: err.hint } : {}), ...(isConnectorError(err) && err.resetsAt ? { resetsAt: err.resetsAt } : {}) };
  return ApplicationFailure.create({ type: err.code, message: err.hint ? `${err.message} (hint: ${err.hint})` : err.message, nonRetryable: retry !== 'retry', details: [details], cause: e instanceof Error ? e : undefined });
}

/** Worker interceptor: every activity's errors go through `toActivityFailure`. */
export const classifyActivityFailures: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (e) {
        throw toActivityFailure(e);
      }
    },
  } satisfies ActivityInboundCallsInterceptor,
});
