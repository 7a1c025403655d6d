import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { isConnectorError } from '../connectors/errors.js';
import { isCosellError } from '../lib/errors.js';
import { partnershipOf } from '../overlaps/partnership.js';
import { runOverlapPass, type OverlapDeps, type OverlapPassSummary } from '../overlaps/pass.js';

/**
 * Account-mapping activities for `overlap:<partner>`. Thin: the whole pass (read, hash, match,
 * classify, write back, ledger) is overlaps/pass.ts; these only add heartbeats and turn errors the
 * workflow must not retry into typed failures. They return counts only — records never reach the
 * workflow history.
 *
 * `deps` may be the sync Engine (it has network, connector() and ledger); it is touched only when an
 * activity runs, so a worker without a network file still starts.
 */
export function createOverlapActivities(deps: OverlapDeps) {
  return {
    /** The partnership's schedule (ms between passes) from cosell.yaml. */
    async overlapSettings(partnerId: string): Promise<{ everyMs: number }> {
      return guarded(async () => ({ everyMs: partnershipOf(deps.network, partnerId).everyMs }));
    },
    async overlapPass(partnerId: string): Promise<OverlapPassSummary> {
      return guarded(async () => (await runOverlapPass(deps, partnerId, { heartbeat })).summary);
    },
  };
}

export type OverlapActivities = ReturnType<typeof createOverlapActivities>;

function heartbeat(details: Record<string, unknown>): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* outside an activity */
  }
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isConnectorError(e, 'quota_exhausted')) {
      throw ApplicationFailure.create({ type: 'QUOTA_EXHAUSTED', message: e.message, nonRetryable: true, details: [{ resetsAt: e.resetsAt }] });
    }
    if (isCosellError(e) && (e.code === 'COSELL_CONFIG_INVALID' || e.code === 'COSELL_SECRET_MISSING')) {
      throw ApplicationFailure.create({ type: e.code, message: e.hint ? `${e.message} (${e.hint})` : e.message, nonRetryable: true });
    }
    throw e;
  }
}
