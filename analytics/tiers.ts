/**
 * Partner tier recommendations from configured criteria (policy `analytics.tiers`, highest tier
 * first): the tier a partner earned is the first whose every criterion holds; what is missing is
 * listed for the next tier above the earned one. A criterion without data (no reviewed
 * registrations, no closed deals) does not hold, and says so.
 */

export interface TierCriteria {
  sourcedRevenue?: number;
  winRate?: number;
  wonDeals?: number;
  reviewCompliance?: number;
}

export interface TierActuals {
  sourcedRevenue: number;
  winRate: number | null;
  wonDeals: number;
  reviewCompliance: number | null;
}

export interface Shortfall {
  criterion: keyof TierCriteria;
  required: number;
  actual: number | null;
}

export interface TierRecommendation {
  current: string | null;
  earned: string | null;
  change: 'promote' | 'keep' | 'demote' | 'none';
  /** The next tier above `earned` and what it still needs (absent at the top tier). */
  next?: { tier: string; missing: Shortfall[] };
}

const CRITERIA: ReadonlyArray<keyof TierCriteria> = ['sourcedRevenue', 'winRate', 'wonDeals', 'reviewCompliance'];

export function shortfalls(criteria: TierCriteria, actual: TierActuals): Shortfall[] {
  const out: Shortfall[] = [];
  for (const k of CRITERIA) {
    const required = criteria[k];
    if (required === undefined) continue;
    const a = actual[k];
    if (a === null || a < required) out.push({ criterion: k, required, actual: a });
  }
  return out;
}

export function recommendTier(current: string | null, tiers: ReadonlyArray<readonly [string, TierCriteria]>, actual: TierActuals): TierRecommendation {
  const earnedAt = tiers.findIndex(([, c]) => shortfalls(c, actual).length === 0);
  const earned = earnedAt >= 0 ? tiers[earnedAt]![0] : null;
  const rank = (t: string | null) => (t === null ? tiers.length : (() => { const i = tiers.findIndex(([n]) => n === t); return i < 0 ? tiers.length : i; })());
  const change = current === null && earned === null ? 'none' : rank(earned) < rank(current) ? 'promote' : rank(earned) > rank(current) ? 'demote' : 'keep';
  const nextAt = (earnedAt < 0 ? tiers.length : earnedAt) - 1;
  const next = nextAt >= 0 ? { tier: tiers[nextAt]![0], missing: shortfalls(tiers[nextAt]![1], actual) } : undefined;
  return { current, earned, change, ...(next ? { next } : {}) };
}
