import pRetry, { AbortError } from 'p-retry';
import { log } from '../lib/logger.js';
import { ConnectorError, isConnectorError } from './errors.js';
import type { RateBudget } from './rateBudget.js';

/**
 * The one retry policy of every connector (p-retry). Only `transient` and `rate_limited`
 * ConnectorErrors are retried; everything else (validation, auth, not found, quota exhausted, …)
 * surfaces at once. The wait before a retry is the larger of the exponential back-off and the
 * CRM's Retry-After, and a Retry-After also holds back every other call of the org in this process
 * (RateBudget.backoff), so a 429 storm is not made worse by parallel callers.
 *
 * Connectors retry writes too (jsforce never retries POST/PATCH): that is safe only because every
 * connector write is idempotent — upserts by a match key, updates by id with absolute values,
 * deletes that treat "already deleted" as done.
 */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** Add up to 100 % random jitter to the back-off (not to Retry-After). */
  jitter: boolean;
  /** A Retry-After longer than this is not waited out here: the error surfaces so the caller can reschedule. */
  maxRetryAfterMs: number;
  /** Give up (surface the last error) once this much time has passed. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 6,
  minDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: true,
  maxRetryAfterMs: 120_000,
  maxElapsedMs: 300_000,
};

export interface RetryOptions {
  policy?: Partial<RetryPolicy>;
  /** The org's budget: a Retry-After pauses every caller of the org, not only this one. */
  budget?: RateBudget;
  /** What is being attempted, for logs. */
  label?: string;
  /** Injectable for tests (records the waits instead of sleeping). */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The delay before retry number `retry` (1-based): exponential back-off, capped, optionally jittered. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** Math.max(0, retry - 1));
  return Math.round(policy.jitter ? Math.min(policy.maxDelayMs, base * (1 + random())) : base);
}

/**
 * Run `attempt` with the retry policy. `attempt` must throw ConnectorErrors (map before throwing);
 * any other error is treated as a bug and surfaces at once.
 */
export async function withRetry<T>(attempt: (attemptNumber: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...opts.policy };
  const sleep = opts.sleep ?? realSleep;
  const started = Date.now();
  return pRetry(
    async (n) => {
      try {
        return await attempt(n);
      } catch (e) {
        if (!isConnectorError(e) || !e.retryable) throw new AbortError(e as Error);
        if (e.retryAfterMs !== undefined && e.retryAfterMs > policy.maxRetryAfterMs) throw new AbortError(e);
        throw e;
      }
    },
    {
      retries: policy.retries,
      // p-retry's own wait is disabled: we wait in shouldRetry so Retry-After can lengthen it.
      minTimeout: 0,
      maxTimeout: 0,
      factor: 1,
      shouldRetry: async ({ error, retriesConsumed }) => {
        const e = error as ConnectorError;
        const backoff = backoffDelay(retriesConsumed + 1, policy);
        const delay = Math.max(backoff, e.retryAfterMs ?? 0);
        if (Date.now() - started + delay > policy.maxElapsedMs) return false;
        if (e.retryAfterMs !== undefined) opts.budget?.backoff(e.retryAfterMs);
        log.debug({ label: opts.label, kind: e.kind, crmCode: e.crmCode, status: e.status, retry: retriesConsumed + 1, delayMs: delay }, 'connector: retrying');
        await sleep(delay);
        return true;
      },
    },
  );
}
