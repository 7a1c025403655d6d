import type { LoadedNetwork } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import { suggestionHint } from '../lib/suggest.js';
import type { Ledger } from '../ledger/index.js';
import { loadPolicy, type Policy } from '../rules/policy.js';
import { computeReport, DIMENSIONS, type Dimension, type KpiOptions, type RegistrationFact, type Report } from './kpis.js';

/**
 * From the ledger and the configuration to a report: the cells of the vendor's fact store, the
 * registrations, and the KPI options the policy gives (currency and rates, sourced roles, costs,
 * margin, tier criteria, review SLA). Tiers come from the policy's partner entries, else the network
 * file's.
 */

export interface ReportQuery {
  partner?: string;
  /** YYYY, YYYY-MM, YYYY-MM-DD or YYYY-Qn; reports are in whole months. */
  from?: string;
  to?: string;
  by?: string;
  now?: Date;
}

/** A period bound as a month (YYYY-MM): the first month of a year/quarter for `from`, the last for `to`. */
export function monthOf(value: string, which: 'from' | 'to'): string {
  const v = value.trim();
  let m: RegExpMatchArray | null;
  if ((m = v.match(/^(\d{4})-(\d{2})(?:-(\d{2}))?$/)) && Number(m[2]) >= 1 && Number(m[2]) <= 12 && (!m[3] || !Number.isNaN(Date.parse(v)))) return `${m[1]}-${m[2]}`;
  if ((m = v.match(/^(\d{4})-?Q([1-4])$/i))) return `${m[1]}-${String((Number(m[2]) - 1) * 3 + (which === 'from' ? 1 : 3)).padStart(2, '0')}`;
  if ((m = v.match(/^(\d{4})$/))) return `${m[1]}-${which === 'from' ? '01' : '12'}`;
  throw new CosellError('COSELL_INPUT_INVALID', `--${which} ${JSON.stringify(value)} is not a date`, { hint: 'write 2025-01-31, 2025-01, 2025-Q1 or 2025 (reports are in whole months)' });
}

/** The network's Rules-of-Engagement policy (`rules:`), if it has one: currency, rates, roles, analytics settings. */
export function networkPolicy(network: LoadedNetwork): Policy | undefined {
  return network.network.rules ? loadPolicy(network.resolve(network.network.rules)) : undefined;
}

export function kpiOptions(network: LoadedNetwork, policy: Policy | undefined, query: ReportQuery): KpiOptions {
  const partnerIds = network.network.partners.map((p) => p.id);
  if (query.partner !== undefined && !partnerIds.includes(query.partner)) {
    throw new CosellError('COSELL_INPUT_INVALID', `no partner "${query.partner}" in ${network.file}`, { hint: suggestionHint(query.partner, partnerIds) });
  }
  if (query.by !== undefined && !(DIMENSIONS as readonly string[]).includes(query.by)) {
    throw new CosellError('COSELL_INPUT_INVALID', `--by ${JSON.stringify(query.by)} is not a breakdown`, { hint: suggestionHint(query.by, DIMENSIONS) });
  }
  const from = query.from ? monthOf(query.from, 'from') : undefined;
  const to = query.to ? monthOf(query.to, 'to') : undefined;
  if (from && to && from > to) throw new CosellError('COSELL_INPUT_INVALID', `--from ${query.from} is after --to ${query.to}`, { hint: 'swap them' });
  const roles = policy?.attribution.roles ?? { sourcing: { defaultSplit: 100, sourced: true } };
  const a = policy?.analytics;
  return {
    currency: policy?.currency ?? 'USD',
    rates: policy?.exchangeRates ?? {},
    sourcedRoles: new Set(Object.entries(roles).filter(([, r]) => r?.sourced).map(([k]) => k)),
    tierOf: (p) => network.partner(p)?.tier,
    costs: a?.costs,
    margin: a?.margin,
    confidence: a?.confidence,
    reviewSlaMs: policy?.lifecycle.reviewSlaMs,
    tierCriteria: a ? Object.entries(a.tiers) : undefined,
    from,
    to,
    partner: query.partner,
    allPartners: partnerIds,
    by: query.by as Dimension | undefined,
    now: query.now ?? new Date(),
    policyFile: policy?.file,
  };
}

export async function registrationFacts(ledger: Ledger): Promise<RegistrationFact[]> {
  return (await ledger.registrations.list()).map((r) => ({ id: r.id, partner: r.partner, status: r.status, submittedAt: r.submittedAt, decidedAt: r.decidedAt, decidedBy: r.decidedBy }));
}

export async function buildReport(ledger: Ledger, network: LoadedNetwork, policy: Policy | undefined, query: ReportQuery = {}): Promise<Report> {
  const options = kpiOptions(network, policy, query);
  const [cells, registrations] = await Promise.all([ledger.facts.cells(network.network.vendor.id), registrationFacts(ledger)]);
  return computeReport(cells, registrations, options);
}
