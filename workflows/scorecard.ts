import { ActivityFailure, ApplicationFailure, condition, continueAsNew, defineQuery, defineSignal, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AnalyticsActivities } from '../activities/analytics.js';
import type { RefreshSummary } from '../analytics/refresh.js';
import type { ScorecardSummary } from '../analytics/scorecard.js';

const { scorecardSettings } = proxyActivities<AnalyticsActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5 } });
// A first refresh reads every vendor opportunity (heartbeating each page); later ones only what changed.
const { refreshAnalytics, writePartnerScorecards } = proxyActivities<AnalyticsActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 4 },
});

/** Refresh and write now instead of waiting for the schedule. */
export const scorecardNowSignal = defineSignal('scorecardNow');
export const scorecardStatusQuery = defineQuery<ScorecardStatus>('status');

export interface ScorecardWorkflowInput {
  vendorId: string;
  /** Override the policy's `analytics.scorecard.every` (tests, demos). */
  everyMs?: number;
  /** Stop after this many rounds (tests); default: run forever. */
  maxRounds?: number;
  carried?: Pick<ScorecardStatus, 'rounds' | 'failures' | 'lastRefresh' | 'lastWrite' | 'lastError'>;
}

export interface ScorecardStatus {
  vendor: string;
  state: 'starting' | 'refreshing' | 'writing' | 'waiting' | 'done';
  rounds: number;
  failures: number;
  everyMs?: number;
  nextRoundAt?: string;
  lastRefresh?: RefreshSummary;
  lastWrite?: ScorecardSummary;
  lastError?: string;
}

const ROUNDS_PER_RUN = 200;

/**
 * One long-running workflow per vendor (id `scorecard:<vendor>`): catch the analytics fact store up
 * with the vendor's Opportunities, write each partner's scorecard onto its vendor Account, wait for
 * the schedule (or `scorecardNow`), continue-as-new when Temporal suggests it. Only counts enter the
 * history; a failed round is recorded and retried at the next tick rather than ending the workflow.
 */
export async function scorecard(input: ScorecardWorkflowInput): Promise<ScorecardStatus> {
  const status: ScorecardStatus = { vendor: input.vendorId, state: 'starting', rounds: 0, failures: 0, ...input.carried };
  let now = false;
  setHandler(scorecardStatusQuery, () => status);
  setHandler(scorecardNowSignal, () => void (now = true));
  const setState = (state: ScorecardStatus['state']) => {
    status.state = state;
    upsertSearchAttributes({ CosellState: [state] });
  };
  upsertSearchAttributes({ CosellKind: ['scorecard'], CosellState: ['starting'] });
  const everyMs = input.everyMs ?? (await scorecardSettings()).everyMs;
  status.everyMs = everyMs;
  for (let run = 0; ; run++) {
    now = false;
    try {
      setState('refreshing');
      status.lastRefresh = await refreshAnalytics();
      setState('writing');
      status.lastWrite = await writePartnerScorecards();
      status.lastError = undefined;
    } catch (e) {
      status.failures++;
      status.lastError = describe(e);
    }
    status.rounds++;
    if (input.maxRounds !== undefined && status.rounds >= input.maxRounds) {
      setState('done');
      return status;
    }
    setState('waiting');
    status.nextRoundAt = new Date(Date.now() + everyMs).toISOString();
    await condition(() => now, everyMs);
    status.nextRoundAt = undefined;
    if (workflowInfo().continueAsNewSuggested || run + 1 >= ROUNDS_PER_RUN) {
      const { rounds, failures, lastRefresh, lastWrite, lastError } = status;
      await continueAsNew<typeof scorecard>({ ...input, carried: { rounds, failures, lastRefresh, lastWrite, lastError } });
    }
  }
}

function describe(e: unknown): string {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
