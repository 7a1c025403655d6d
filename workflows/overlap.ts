import { ActivityFailure, ApplicationFailure, condition, continueAsNew, defineQuery, defineSignal, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OverlapActivities } from '../activities/overlap.js';
import type { OverlapPassSummary } from '../overlaps/pass.js';

const { overlapSettings } = proxyActivities<OverlapActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});
// A pass reads both orgs in full: long, but it heartbeats every page and between hashing phases
// (one phase is synchronous: up to a minute for a million records on a busy core).
const { overlapPass } = proxyActivities<OverlapActivities>({
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 4 },
});

/** Run a pass now instead of waiting for the timer. */
export const overlapNowSignal = defineSignal('overlapNow');
export const overlapStatusQuery = defineQuery<OverlapStatus>('status');

export interface OverlapWorkflowInput {
  partnerId: string;
  /** Override the partnership's `sharing.every` (tests, demos). */
  everyMs?: number;
  /** Stop after this many passes (CLI `--once`, tests); default: run forever. */
  maxPasses?: number;
  /** Carried across continue-as-new. */
  carried?: { passes: number; failures: number; last?: OverlapPassSummary; lastError?: string };
}

export interface OverlapStatus {
  partner: string;
  state: 'starting' | 'running' | 'waiting' | 'done';
  passes: number;
  failures: number;
  everyMs?: number;
  nextPassAt?: string;
  /** Counts of the last successful pass (by population pair, by match kind, writes, ledger). */
  last?: OverlapPassSummary;
  lastError?: string;
}

const PASSES_PER_RUN = 200;

/**
 * One long-running workflow per partnership (id `overlap:<partner>`): a pass, then a timer (the
 * partnership's `sharing.every`) or the `overlapNow` signal, and continue-as-new when Temporal
 * suggests it. Only counts pass through this history; a failed pass is recorded and retried at the
 * next tick rather than ending the workflow.
 */
export async function overlapWorkflow(input: OverlapWorkflowInput): Promise<OverlapStatus> {
  const status: OverlapStatus = {
    partner: input.partnerId,
    state: 'starting',
    passes: input.carried?.passes ?? 0,
    failures: input.carried?.failures ?? 0,
    last: input.carried?.last,
    lastError: input.carried?.lastError,
  };
  let now = false;
  setHandler(overlapStatusQuery, () => status);
  setHandler(overlapNowSignal, () => void (now = true));
  const setState = (state: OverlapStatus['state']) => {
    status.state = state;
    upsertSearchAttributes({ CosellState: [state] });
  };
  upsertSearchAttributes({ CosellKind: ['overlap'], CosellPartner: [input.partnerId], CosellState: ['starting'] });

  const everyMs = input.everyMs ?? (await overlapSettings(input.partnerId)).everyMs;
  status.everyMs = everyMs;
  for (let run = 0; ; run++) {
    setState('running');
    now = false;
    try {
      const summary = await overlapPass(input.partnerId);
      // On change streams a pass with nothing changed is skipped: the last real pass's counts stay.
      if (!summary.skipped || !status.last) status.last = summary;
      status.lastError = undefined;
    } catch (e) {
      status.failures++;
      status.lastError = describe(e);
    }
    status.passes++;
    if (input.maxPasses !== undefined && status.passes >= input.maxPasses) {
      setState('done');
      return status;
    }
    setState('waiting');
    status.nextPassAt = new Date(Date.now() + everyMs).toISOString();
    await condition(() => now, everyMs);
    status.nextPassAt = undefined;
    if (workflowInfo().continueAsNewSuggested || run + 1 >= PASSES_PER_RUN) {
      await continueAsNew<typeof overlapWorkflow>({
        ...input,
        carried: { passes: status.passes, failures: status.failures, last: status.last, lastError: status.lastError },
      });
    }
  }
}

function describe(e: unknown): string {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
