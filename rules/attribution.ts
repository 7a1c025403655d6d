import type { Policy } from './policy.js';
import { ATTRIBUTION_ROLES, type AttributionRole, type PartnerProfile } from './types.js';

/**
 * Multi-partner deals: one vendor opportunity can carry several partners, each with a role and a
 * share of the attribution. Splits are percentages that must sum to exactly 100 (compared in
 * hundredths, so 33.33 + 33.33 + 33.34 is fine). Whether the deal counts as partner-sourced or only
 * partner-influenced is derived from the roles the policy marks `sourced: true`.
 */

export interface PartnerAttribution {
  partnerId: string;
  role: AttributionRole;
  /** Percentage of the deal attributed to this partner in this role (0..100). */
  split: number;
}

export type AttributionPolicy = Pick<Policy, 'attribution'>;

const hundredths = (n: number) => Math.round(n * 100);

function sourcedRoles(policy?: AttributionPolicy): Set<AttributionRole> {
  const roles = policy?.attribution.roles;
  if (!roles) return new Set(['sourcing']);
  return new Set(ATTRIBUTION_ROLES.filter((r) => roles[r]?.sourced));
}

/** Every problem with a set of partner attributions (empty when valid). */
export function validateAttribution(
  parts: readonly PartnerAttribution[],
  opts: { policy?: AttributionPolicy; partners?: ReadonlyArray<Pick<PartnerProfile, 'id' | 'roles'>> } = {},
): string[] {
  const problems: string[] = [];
  if (!parts.length) return ['a deal needs at least one partner attribution'];
  const seen = new Set<string>();
  for (const p of parts) {
    if (!ATTRIBUTION_ROLES.includes(p.role)) problems.push(`${p.partnerId}: unknown role "${p.role}" (expected ${ATTRIBUTION_ROLES.join(', ')})`);
    if (typeof p.split !== 'number' || !Number.isFinite(p.split) || p.split < 0 || p.split > 100) problems.push(`${p.partnerId}/${p.role}: split ${p.split} must be a percentage between 0 and 100`);
    else if (Math.abs(p.split * 100 - hundredths(p.split)) > 1e-6) problems.push(`${p.partnerId}/${p.role}: split ${p.split} has more than two decimals`);
    const key = `${p.partnerId}/${p.role}`;
    if (seen.has(key)) problems.push(`${key} is listed twice`);
    seen.add(key);
    const profile = opts.partners?.find((x) => x.id === p.partnerId);
    if (profile?.roles && !profile.roles.includes(p.role)) problems.push(`${p.partnerId} may not hold role ${p.role} (allowed: ${profile.roles.join(', ') || 'none'})`);
  }
  const total = parts.reduce((s, p) => s + (Number.isFinite(p.split) ? hundredths(p.split) : 0), 0);
  if (total !== 10_000) problems.push(`attribution splits sum to ${total / 100}%, not 100%`);
  const singleSourcing = opts.policy?.attribution.singleSourcing ?? true;
  const sourced = sourcedRoles(opts.policy);
  const sourcers = [...new Set(parts.filter((p) => sourced.has(p.role)).map((p) => p.partnerId))];
  if (singleSourcing && sourcers.length > 1) problems.push(`only one partner may source a deal; sourcing roles held by ${sourcers.sort().join(', ')}`);
  return problems;
}

/**
 * Splits from the policy's default split per role, scaled to sum to 100 (largest remainder on
 * hundredths, ties by partner id then role, so the result is deterministic).
 */
export function defaultSplits(participants: ReadonlyArray<{ partnerId: string; role: AttributionRole }>, policy?: AttributionPolicy): PartnerAttribution[] {
  if (!participants.length) return [];
  const sorted = [...participants].sort((a, b) => (a.partnerId === b.partnerId ? ATTRIBUTION_ROLES.indexOf(a.role) - ATTRIBUTION_ROLES.indexOf(b.role) : a.partnerId < b.partnerId ? -1 : 1));
  const weights = sorted.map((p) => policy?.attribution.roles[p.role]?.defaultSplit ?? 1);
  const totalWeight = weights.reduce((s, w) => s + w, 0);
  const effective = totalWeight > 0 ? weights : weights.map(() => 1);
  const sum = effective.reduce((s, w) => s + w, 0);
  const exact = effective.map((w) => (w * 10_000) / sum);
  const floors = exact.map(Math.floor);
  let remaining = 10_000 - floors.reduce((s, f) => s + f, 0);
  const order = exact.map((e, i) => ({ i, frac: e - floors[i]! })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (remaining <= 0) break;
    floors[i]!++;
    remaining--;
  }
  return sorted.map((p, i) => ({ partnerId: p.partnerId, role: p.role, split: floors[i]! / 100 }));
}

export interface AttributionSummary {
  /** `sourced` when a partner holds a sourced role, else `influenced`. */
  type: 'sourced' | 'influenced';
  sourcedBy: string | null;
  influencedBy: string[];
  /** Total split per partner (percent). */
  byPartner: Record<string, number>;
}

/** Sourced vs influenced, for reporting (assumes `validateAttribution` passed). */
export function summarizeAttribution(parts: readonly PartnerAttribution[], policy?: AttributionPolicy): AttributionSummary {
  const sourced = sourcedRoles(policy);
  const sourcer = parts.filter((p) => sourced.has(p.role)).map((p) => p.partnerId).sort()[0] ?? null;
  const byPartner: Record<string, number> = {};
  for (const p of [...parts].sort((a, b) => (a.partnerId < b.partnerId ? -1 : a.partnerId > b.partnerId ? 1 : 0))) {
    byPartner[p.partnerId] = (hundredths(byPartner[p.partnerId] ?? 0) + hundredths(p.split)) / 100;
  }
  const influencedBy = [...new Set(parts.map((p) => p.partnerId))].filter((id) => id !== sourcer).sort();
  return { type: sourcer ? 'sourced' : 'influenced', sourcedBy: sourcer, influencedBy, byPartner };
}
