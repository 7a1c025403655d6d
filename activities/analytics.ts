import { heartbeat } from '../lib/heartbeat.js';
import { refreshNetworkFacts, type RefreshSummary } from '../analytics/refresh.js';
import { networkPolicy } from '../analytics/report.js';
import { writeScorecards, type ScorecardSummary } from '../analytics/scorecard.js';
import type { Policy } from '../rules/policy.js';
import type { Engine } from '../sync/build.js';

/**
 * Analytics activities for `scorecard:<vendor>`: catch the fact store up with the vendor's
 * Opportunities, then write the partners' scorecards onto their vendor Accounts. Thin wrappers over
 * analytics/; only counts return to the workflow.
 */
export function createAnalyticsActivities(engine: Engine, policy?: Policy) {
  let loaded: Policy | undefined | null = policy ?? null;
  const policyOf = () => (loaded === null ? (loaded = networkPolicy(engine.network)) : loaded);
  return {
    async scorecardSettings(): Promise<{ everyMs: number }> {
      return { everyMs: policyOf()?.analytics.scorecardEveryMs ?? 3_600_000 };
    },
    async refreshAnalytics(): Promise<RefreshSummary> {
      return refreshNetworkFacts(engine, policyOf(), { heartbeat });
    },
    async writePartnerScorecards(): Promise<ScorecardSummary> {
      return writeScorecards(engine, policyOf());
    },
  };
}

export type AnalyticsActivities = ReturnType<typeof createAnalyticsActivities>;

