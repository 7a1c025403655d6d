import type { Fields, FieldSpec } from '../connectors/types.js';
import { CosellError } from '../lib/errors.js';
import type { Policy } from '../rules/policy.js';
import type { Engine } from '../sync/build.js';
import type { PartnerScore, Report } from './kpis.js';
import { buildReport } from './report.js';

/**
 * The per-partner scorecard, written where vendor CRM users look: fields on the partner's own Account
 * in the vendor's Salesforce, found by `Cosell_Partner_Id__c` (an external id: an admin can put the
 * partner id on an existing partner account; else cosell creates one named after the partner). Values
 * cover the last `analytics.window` (default 365 days) in the policy currency; a scorecard whose values
 * did not change is not written again (no churn in the vendor's Account feed).
 */

export const PARTNER_ID_FIELD = 'Cosell_Partner_Id__c';

export const SCORECARD_FIELDS: FieldSpec[] = [
  { name: PARTNER_ID_FIELD, label: 'Partner Id (cosell)', type: 'string', length: 80, externalId: true, unique: true },
  { name: 'Partner_Scorecard_Period__c', label: 'Scorecard Period', type: 'string', length: 40 },
  { name: 'Partner_Sourced_Revenue__c', label: 'Partner-Sourced Revenue', type: 'currency' },
  { name: 'Partner_Influenced_Revenue__c', label: 'Partner-Influenced Revenue', type: 'currency' },
  { name: 'Partner_Sourced_Pipeline__c', label: 'Partner-Sourced Pipeline', type: 'currency' },
  { name: 'Partner_Won_Deals__c', label: 'Joint Deals Won', type: 'number' },
  { name: 'Partner_Win_Rate__c', label: 'Joint Win Rate', type: 'percent' },
  { name: 'Partner_Avg_Cycle_Days__c', label: 'Joint Avg Cycle Days', type: 'number' },
  { name: 'Partner_ROPI__c', label: 'Return on Partner Investment', type: 'number' },
  { name: 'Partner_Review_SLA__c', label: 'Registration Review SLA Met', type: 'percent' },
  { name: 'Partner_Tier_Earned__c', label: 'Tier Earned', type: 'string', length: 40 },
  { name: 'Partner_Tier_Recommendation__c', label: 'Tier Recommendation', type: 'string', length: 255 },
  { name: 'Partner_Scorecard_Updated__c', label: 'Scorecard Updated', type: 'datetime' },
];
const VALUE_FIELDS = SCORECARD_FIELDS.map((f) => f.name).filter((n) => n !== PARTNER_ID_FIELD && n !== 'Partner_Scorecard_Updated__c');

const round = (n: number | null, digits = 2) => (n === null || !Number.isFinite(n) ? null : Math.round(n * 10 ** digits) / 10 ** digits);

/** The one line a rep reads: "promote to gold", "keep silver; gold needs wonDeals 3 < 5". */
export function recommendationText(s: PartnerScore): string | null {
  const t = s.tierRecommendation;
  if (!t) return null;
  const missing = t.next ? `; ${t.next.tier} needs ${t.next.missing.map((m) => `${m.criterion} ${m.actual === null ? 'no data' : round(m.actual)} < ${m.required}`).join(', ') || 'nothing more'}` : '';
  const head = t.change === 'promote' ? `promote to ${t.earned}` : t.change === 'demote' ? `demote to ${t.earned ?? 'no tier'}` : t.change === 'keep' ? `keep ${t.current}` : 'no tier earned';
  return `${head}${missing}`.slice(0, 255);
}

export function scorecardFields(s: PartnerScore, report: Report): Fields {
  return {
    Partner_Scorecard_Period__c: `${report.period.from ?? ''}..${report.period.to ?? ''} ${report.currency}`,
    Partner_Sourced_Revenue__c: round(s.metrics.sourcedRevenue),
    Partner_Influenced_Revenue__c: round(s.metrics.influencedRevenue),
    Partner_Sourced_Pipeline__c: round(s.metrics.sourcedPipeline),
    Partner_Won_Deals__c: s.metrics.won,
    Partner_Win_Rate__c: round(s.metrics.winRate.value === null ? null : s.metrics.winRate.value * 100),
    Partner_Avg_Cycle_Days__c: round(s.metrics.cycleDays.value, 1),
    Partner_ROPI__c: round(s.ropi),
    Partner_Review_SLA__c: round(s.registrations.compliance.value === null ? null : s.registrations.compliance.value * 100),
    Partner_Tier_Earned__c: s.tierRecommendation?.earned ?? null,
    Partner_Tier_Recommendation__c: recommendationText(s),
  };
}

export interface ScorecardSummary {
  partners: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  period: string;
}

/** The window as whole months ending with the current one (365d → 12 months). */
export function windowMonths(windowMs: number, now: Date): { from: string; to: string } {
  const months = Math.max(1, Math.round(windowMs / ((365.25 / 12) * 86_400_000)));
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (months - 1), 1));
  return { from: start.toISOString().slice(0, 7), to: now.toISOString().slice(0, 7) };
}
const same = (a: unknown, b: unknown) => (a === null || a === undefined || a === '' ? null : typeof a === 'number' || typeof b === 'number' ? Number(a) : String(a)) === (b === null || b === undefined || b === '' ? null : typeof a === 'number' || typeof b === 'number' ? Number(b) : String(b));

/** Compute every partner's scorecard over the policy's window and write the changed ones. */
export async function writeScorecards(engine: Pick<Engine, 'network' | 'ledger' | 'connector'>, policy: Policy | undefined, now = new Date()): Promise<ScorecardSummary> {
  const network = engine.network;
  const vendorId = network.network.vendor.id;
  if (network.network.vendor.kind !== 'salesforce') {
    throw new CosellError('COSELL_CONFIG_INVALID', `scorecards are written to a Salesforce vendor's partner Accounts; ${vendorId} is ${network.network.vendor.kind}`, { hint: 'read them with `cosell report` instead' });
  }
  const { from, to } = windowMonths(policy?.analytics.windowMs ?? 365 * 86_400_000, now);
  const report = await buildReport(engine.ledger, network, policy, { from, to, now });
  const vendor = await engine.connector(vendorId);
  await vendor.ensureFields('Account', SCORECARD_FIELDS);
  const partners = network.network.partners;
  const existing = new Map((await vendor.readByField('Account', PARTNER_ID_FIELD, partners.map((p) => p.id), ['Name', PARTNER_ID_FIELD, ...VALUE_FIELDS])).map((r) => [String(r.fields[PARTNER_ID_FIELD]), r]));
  const summary: ScorecardSummary = { partners: partners.length, created: 0, updated: 0, unchanged: 0, failed: 0, period: `${report.period.from}..${report.period.to}` };
  const updates: Array<{ id: string; fields: Fields }> = [];
  const creates: Array<{ key: string; fields: Fields }> = [];
  const stamp = now.toISOString();
  for (const p of partners) {
    // The report scores every partner of the network, with or without deals in the window.
    const score = report.partners.find((s) => s.partner === p.id)!;
    const fields = scorecardFields(score, report);
    const current = existing.get(p.id);
    if (current && VALUE_FIELDS.every((f) => same(current.fields[f], fields[f]))) {
      summary.unchanged++;
      continue;
    }
    if (current) updates.push({ id: current.id, fields: { ...fields, Partner_Scorecard_Updated__c: stamp } });
    else creates.push({ key: p.id, fields: { Name: p.name, ...fields, Partner_Scorecard_Updated__c: stamp } });
  }
  for (const r of updates.length ? await vendor.update('Account', updates) : []) summary[r.status === 'failed' ? 'failed' : 'updated']++;
  for (const r of creates.length ? await vendor.upsert('Account', PARTNER_ID_FIELD, creates) : []) summary[r.status === 'failed' ? 'failed' : 'created']++;
  if (summary.failed) throw new CosellError('COSELL_CRM_VALIDATION', `${summary.failed} partner scorecard(s) were refused by ${vendorId}`, { details: { ...summary } });
  return summary;
}
