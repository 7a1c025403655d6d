import { heartbeat } from '../lib/heartbeat.js';
import { partnershipOf } from '../overlaps/partnership.js';
import { runOverlapPass, type OverlapDeps, type OverlapPassSummary } from '../overlaps/pass.js';

/**
 * Account-mapping activities for `overlap:<partner>`. Thin: the whole pass (read, hash, match,
 * classify, write back, ledger) is overlaps/pass.ts; these only add heartbeats (errors become typed
 * failures for every activity in lib/failures.ts). They return counts only — records never reach the
 * workflow history.
 *
 * `deps` may be the sync Engine (it has network, connector() and ledger); it is touched only when an
 * activity runs, so a worker without a network file still starts.
 */
export function createOverlapActivities(deps: OverlapDeps) {
  return {
    /** The partnership's schedule (ms between passes) from cosell.yaml. */
    async overlapSettings(partnerId: string): Promise<{ everyMs: number }> {
      return { everyMs: partnershipOf(deps.network, partnerId).everyMs };
    },
    async overlapPass(partnerId: string): Promise<OverlapPassSummary> {
      return (await runOverlapPass(deps, partnerId, { heartbeat })).summary;
    },
  };
}

export type OverlapActivities = ReturnType<typeof createOverlapActivities>;

