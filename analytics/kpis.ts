import { CosellError } from '../lib/errors.js';
import type { Cell } from './facts.js';
import { bootstrapDifference, bootstrapMean, bootstrapMeans, meanDifference, momentsMean, rateDifference, wilson, type Difference, type Histogram, type Mean, type Rate } from './stats.js';
import { recommendTier, type TierCriteria, type TierRecommendation } from './tiers.js';

/**
 * The KPIs, pure: aggregate cells (ledger `analytics_cells`) and registrations in, a report out. No
 * I/O, no clock (the caller passes `now`), seeded bootstraps — the same input always gives the same
 * report. Definitions (analytics/README.md):
 *  - pipeline: amount of deals created in the period (any status); revenue: amount won, by close date;
 *  - sourced / influenced: a partner role's split share of a deal, sourced when the policy marks the
 *    role `sourced` — shares of one deal sum to the deal, so totals never double count;
 *  - win rate: won / (won + lost) of deals closed in the period — open deals are not in it;
 *  - cycle days: created → close date of won deals that have both dates;
 *  - joint: a deal with at least one partner; direct: none.
 */

export type Dimension = 'partner' | 'tier' | 'role' | 'partners-on-deal' | 'quarter' | 'month';
export const DIMENSIONS: readonly Dimension[] = ['partner', 'tier', 'role', 'partners-on-deal', 'quarter', 'month'];

export interface PartnerCosts {
  mdf: number;
  partnerManager: number;
  fees: number;
}

/** A registration as the KPIs see it (from ledger `registrations`). */
export interface RegistrationFact {
  id: string;
  partner: string;
  status: string;
  submittedAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
}

export interface KpiOptions {
  /** The vendor (policy) currency and the value of one unit of each other currency in it. */
  currency: string;
  rates: Readonly<Record<string, number>>;
  /** Roles that make a deal partner-sourced (policy attribution.roles[*].sourced). */
  sourcedRoles: ReadonlySet<string>;
  tierOf(partner: string): string | undefined;
  costs?: Readonly<Record<string, PartnerCosts>>;
  margin?: number;
  confidence?: number;
  /** Review SLA (ms): a reviewed registration decided later than this after submission missed it. */
  reviewSlaMs?: number;
  /** Tier criteria, highest tier first. */
  tierCriteria?: ReadonlyArray<readonly [tier: string, criteria: TierCriteria]>;
  /** Whole months, YYYY-MM, inclusive. */
  from?: string;
  to?: string;
  /** Only this partner's deals (and registrations). */
  partner?: string;
  /** Partners to score even without deals, costs or registrations (the network's). */
  allPartners?: readonly string[];
  by?: Dimension;
  now: Date;
  seed?: number;
  /** Where the policy lives, for error messages. */
  policyFile?: string;
}

export interface Metrics {
  /** Deals closed (won + lost) in the period. */
  closed: number;
  won: number;
  lost: number;
  /** Deals created in the period (any status) and their amount. */
  created: number;
  pipeline: number;
  sourcedPipeline: number;
  influencedPipeline: number;
  /** Won amount (at partner level: the partner's split share). */
  revenue: number;
  sourcedRevenue: number;
  influencedRevenue: number;
  winRate: Rate;
  cycleDays: Mean;
  /** Average whole-deal amount of won deals (null without any). */
  avgWonDeal: number | null;
}

export interface GroupRow {
  key: string;
  label: string;
  metrics: Metrics;
  /** Compared with direct deals (no partner). */
  vsDirect?: { winRate: Difference; cycleDays: Difference };
}

export interface RegistrationKpis {
  submitted: number;
  approved: number;
  rejected: number;
  pending: number;
  /** Registrations a person reviewed, or waiting for review past the SLA. */
  reviewed: number;
  onTime: number;
  compliance: Rate;
}

export interface PartnerScore {
  partner: string;
  tier: string | null;
  metrics: Metrics;
  /** Split share of won revenue (sourced + influenced) in the period. */
  attributedRevenue: number;
  /** Programme cost prorated to the period's months. */
  cost: number;
  /** (attributed revenue × margin − cost) / cost; null without a cost. */
  ropi: number | null;
  registrations: RegistrationKpis;
  tierRecommendation?: TierRecommendation;
}

export interface Report {
  currency: string;
  period: { from: string | null; to: string | null; months: number };
  partner: string | null;
  confidence: number;
  totals: Metrics & { jointRevenue: number; directRevenue: number; jointPipeline: number; directPipeline: number };
  comparison: {
    joint: Metrics;
    direct: Metrics;
    winRate: Difference;
    cycleDays: Difference;
    /** Deals by number of partners on them (0, 1, 2, 3+), each against direct (0). */
    byPartnersOnDeal: GroupRow[];
  };
  by?: { dimension: Dimension; rows: GroupRow[] };
  timeline: Array<{ month: string; pipeline: number; sourcedPipeline: number; influencedPipeline: number; revenue: number; sourcedRevenue: number; influencedRevenue: number; directRevenue: number }>;
  partners: PartnerScore[];
  registrations: RegistrationKpis;
  notes: string[];
}

type Level = 'deal' | 'partner' | 'role';

const BUCKET_LABELS = ['direct (0 partners)', '1 partner', '2 partners', '3+ partners'];
const quarterOf = (month: string) => (month ? `${month.slice(0, 4)}-Q${Math.floor((Number(month.slice(5, 7)) - 1) / 3) + 1}` : '');

export function monthsBetween(from: string, to: string): number {
  const [fy, fm] = from.split('-').map(Number) as [number, number];
  const [ty, tm] = to.split('-').map(Number) as [number, number];
  return Math.max(0, (ty - fy) * 12 + (tm - fm) + 1);
}

/** Compute the report. Throws COSELL_ANALYTICS_CURRENCY when a cell's currency has no rate. */
export function computeReport(allCells: readonly Cell[], registrations: readonly RegistrationFact[], o: KpiOptions): Report {
  const confidence = o.confidence ?? 0.95;
  const seed = o.seed ?? 20260101;
  const notes: string[] = [];
  const missing = [...new Set(allCells.filter((c) => c.kind !== 'cycle').map((c) => c.currency))].filter((c) => !(c in o.rates) && c !== o.currency).sort();
  if (missing.length) {
    throw new CosellError('COSELL_ANALYTICS_CURRENCY', `opportunities are in ${missing.join(', ')}, which ${o.policyFile ?? 'the policy'} has no exchange rate for`, {
      details: { currencies: missing },
      hint: `add exchangeRates: { ${missing.map((c) => `${c}: <value of 1 ${c} in ${o.currency}>`).join(', ')} } to ${o.policyFile ?? 'the policy file'}`,
    });
  }
  const rate = (cur: string) => (cur === o.currency ? 1 : o.rates[cur]!);
  const money = (c: Cell, cents: number) => (cents * rate(c.currency)) / 100;

  // The period: whole months; undated cells count only when the report has no bounds.
  const dated = allCells.filter((c) => c.month !== '');
  const months = [...new Set(dated.map((c) => c.month))].sort();
  const from = o.from ?? months[0] ?? null;
  const to = o.to ?? months[months.length - 1] ?? null;
  const bounded = o.from !== undefined || o.to !== undefined;
  const inPeriod = (c: Cell) => (c.month === '' ? !bounded : (!from || c.month >= from) && (!to || c.month <= to));
  const undatedClosed = allCells.filter((c) => c.month === '' && c.kind === 'closed' && c.partner === '').reduce((s, c) => s + c.deals, 0);
  if (undatedClosed) notes.push(bounded ? `${undatedClosed} closed deal(s) without a close date are left out (a bounded report places deals by close date)` : `${undatedClosed} closed deal(s) without a close date count in totals and win rates, not in cycle days or the timeline`);
  const cells = allCells.filter(inPeriod);
  const deal = cells.filter((c) => c.partner === '' && c.kind !== 'cycle');
  const mine = (c: Cell) => !o.partner || c.partner === o.partner;
  const part = cells.filter((c) => c.partner !== '' && mine(c));
  const hist = cells.filter((c) => c.kind === 'cycle');
  // Indexes built once (each keeps the cells' order, so every sum adds in the same order as a filter
  // would): the timeline, the partner scorecards and the partners-on-deal rows read their group
  // instead of scanning every cell once per month / partner / bucket.
  const dealByMonth = groupBy(deal, (c) => c.month);
  const partByMonth = groupBy(part, (c) => c.month);
  const partByPartner = groupBy(part, (c) => c.partner);
  const dealByBucket = groupBy(deal, (c) => c.bucket);
  const partnerCellsByBucket = groupBy(cells.filter((c) => c.partner !== ''), (c) => c.bucket);

  const histogram = (pred: (c: Cell) => boolean): Histogram => {
    const m = new Map<number, number>();
    for (const c of hist) if (pred(c)) m.set(c.cycleDays, (m.get(c.cycleDays) ?? 0) + c.deals);
    return [...m.entries()].sort((a, b) => a[0] - b[0]);
  };

  // One bootstrap distribution per distinct histogram, reused for its interval and its differences;
  // each seeded from the histogram itself, so a group's interval does not depend on what else is asked.
  const boots = new Map<string, number[]>();
  const meansOf = (h: Histogram) => {
    const key = h.map(([v, c]) => `${v}:${c}`).join(',');
    let m = boots.get(key);
    if (!m) boots.set(key, (m = bootstrapMeans(h, { seed: seed + hashOf(key) })));
    return m;
  };

  /** Sourced / influenced pipeline and revenue: each partner role's split share, sourced when its role is. */
  const shares = (partnerRows: readonly Cell[]) => {
    const t = { sourcedPipeline: 0, influencedPipeline: 0, sourcedRevenue: 0, influencedRevenue: 0 };
    for (const c of partnerRows) {
      const sourced = o.sourcedRoles.has(c.role);
      if (c.kind === 'created') t[sourced ? 'sourcedPipeline' : 'influencedPipeline'] += money(c, c.cents);
      else if (c.kind === 'closed' && c.status === 'won') t[sourced ? 'sourcedRevenue' : 'influencedRevenue'] += money(c, c.cents);
    }
    return t;
  };

  /** Metrics of a group of cells: deal-level cells count deals; partner/role cells count the partner's deals and its split share. */
  const metrics = (level: Level, rows: readonly Cell[], partnerRows: readonly Cell[], cycleHist?: Histogram): Metrics => {
    const count = (c: Cell) => (level === 'partner' ? c.partnerDeals : c.deals);
    let closed = 0, won = 0, lost = 0, created = 0, pipeline = 0, revenue = 0, wonWhole = 0, cn = 0, cs = 0, css = 0;
    for (const c of rows) {
      if (c.kind === 'created') {
        created += count(c);
        pipeline += money(c, c.cents);
      } else if (c.kind === 'closed') {
        closed += count(c);
        if (c.status === 'won') {
          won += count(c);
          revenue += money(c, c.cents);
          wonWhole += money(c, level === 'deal' ? c.cents : level === 'partner' ? c.dealCents : c.cents);
          cn += c.cycleN;
          cs += c.cycleSum;
          css += c.cycleSumSq;
        } else lost += count(c);
      }
    }
    const { sourcedPipeline: sp, influencedPipeline: ip, sourcedRevenue: sr, influencedRevenue: ir } = shares(partnerRows);
    const cycleDays = level === 'role' ? { value: null, n: 0, low: 0, high: 0, method: 'none' as const } : cycleHist ? bootstrapMean(cycleHist, { confidence, means: meansOf(cycleHist) }) : momentsMean(cn, cs, css, confidence);
    return {
      closed, won, lost, created, pipeline, sourcedPipeline: sp, influencedPipeline: ip, revenue, sourcedRevenue: sr, influencedRevenue: ir,
      winRate: wilson(won, closed, confidence), cycleDays, avgWonDeal: won ? wonWhole / won : null,
    };
  };

  const directCells = deal.filter((c) => c.bucket === 0);
  const directHist = histogram((c) => c.bucket === 0);
  const direct = metrics('deal', directCells, [], directHist);
  const vsDirect = (m: Metrics, h?: Histogram): NonNullable<GroupRow['vsDirect']> => ({
    winRate: rateDifference(m.winRate, direct.winRate, 'win rate vs direct'),
    cycleDays: h ? bootstrapDifference(h, directHist, { confidence, what: 'cycle days vs direct', unit: ' d', meansA: meansOf(h), meansB: meansOf(directHist) }) : meanDifference(m.cycleDays, direct.cycleDays, { confidence, what: 'cycle days vs direct', unit: ' d' }),
  });

  // Joint: every deal with a partner — or, for one partner, that partner's deals.
  const jointHist = o.partner ? undefined : histogram((c) => c.bucket > 0);
  const joint = o.partner ? metrics('partner', part, part) : metrics('deal', deal.filter((c) => c.bucket > 0), part, jointHist);
  // Totals and periods are not compared: a normal interval from the cells' moments (no bootstrap to pay for).
  const totalsBase = o.partner ? joint : metrics('deal', deal, part);
  const totals = {
    ...totalsBase,
    jointRevenue: joint.revenue,
    directRevenue: o.partner ? 0 : direct.revenue,
    jointPipeline: joint.pipeline,
    directPipeline: o.partner ? 0 : direct.pipeline,
  };
  const jointVs = vsDirect(joint, jointHist);
  if (o.partner) notes.push(`joint = deals ${o.partner} is on (its split share of amounts); the partners-on-deal comparison covers every deal`);
  const byPartnersOnDeal: GroupRow[] = [0, 1, 2, 3].map((b) => {
    const h = histogram((c) => c.bucket === b);
    const m = metrics('deal', dealByBucket.get(b) ?? [], partnerCellsByBucket.get(b) ?? [], h);
    return { key: String(b), label: BUCKET_LABELS[b]!, metrics: m, ...(b > 0 ? { vsDirect: vsDirect(m, h) } : {}) };
  });

  // Breakdown.
  let by: Report['by'];
  if (o.by) {
    const groups = new Map<string, { rows: Cell[]; partnerRows: Cell[]; hist?: (c: Cell) => boolean }>();
    const group = (k: string) => groups.get(k) ?? (groups.set(k, { rows: [], partnerRows: [] }), groups.get(k)!);
    let level: Level = 'deal';
    if (o.by === 'partner' || o.by === 'tier' || o.by === 'role') {
      level = o.by === 'role' ? 'role' : 'partner';
      for (const c of part) {
        const k = o.by === 'partner' ? c.partner : o.by === 'tier' ? (o.tierOf(c.partner) ?? '(no tier)') : c.role;
        group(k).rows.push(c);
        group(k).partnerRows.push(c);
      }
    } else if (o.by === 'partners-on-deal') {
      by = { dimension: o.by, rows: byPartnersOnDeal };
    } else {
      const period = o.by === 'quarter' ? quarterOf : (m: string) => m;
      for (const c of deal) group(period(c.month)).rows.push(c);
      for (const c of part) group(period(c.month)).partnerRows.push(c);
    }
    if (!by) {
      const rows = [...groups.entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([k, g]) => {
          const h = g.hist ? histogram(g.hist) : undefined;
          const m = metrics(level, g.rows, g.partnerRows, h);
          return { key: k, label: k || '(no date)', metrics: m, ...(o.by === 'partner' || o.by === 'tier' ? { vsDirect: vsDirect(m) } : {}) };
        });
      by = { dimension: o.by, rows };
    }
  }

  // Timeline by month.
  const timeline = months
    .filter((m) => (!from || m >= from) && (!to || m <= to))
    .map((m) => {
      const t = { month: m, pipeline: 0, sourcedPipeline: 0, influencedPipeline: 0, revenue: 0, sourcedRevenue: 0, influencedRevenue: 0, directRevenue: 0 };
      for (const c of dealByMonth.get(m) ?? []) {
        if (c.kind === 'created') t.pipeline += money(c, c.cents);
        else if (c.status === 'won') {
          t.revenue += money(c, c.cents);
          if (c.bucket === 0) t.directRevenue += money(c, c.cents);
        }
      }
      return { ...t, ...shares(partByMonth.get(m) ?? []) };
    });

  // Registrations, in the period by submission month.
  const regs = registrations.filter((r) => (!o.partner || r.partner === o.partner) && (!from || r.submittedAt.slice(0, 7) >= from) && (!to || r.submittedAt.slice(0, 7) <= to));
  const regKpis = (rs: readonly RegistrationFact[]) => registrationKpis(rs, o.reviewSlaMs ?? 48 * 3_600_000, o.now, confidence);

  // Partner scorecards: every partner seen on a deal, with costs or with registrations.
  const periodMonths = from && to ? monthsBetween(from, to) : 12;
  const partnerIds = [...new Set([...(o.allPartners ?? []), ...part.map((c) => c.partner), ...Object.keys(o.costs ?? {}), ...regs.map((r) => r.partner)])].filter((p) => !o.partner || p === o.partner).sort();
  const partners: PartnerScore[] = partnerIds.map((p) => {
    const rows = partByPartner.get(p) ?? [];
    const m = metrics('partner', rows, rows);
    const c = o.costs?.[p];
    const cost = c ? ((c.mdf + c.partnerManager + c.fees) * periodMonths) / 12 : 0;
    const attributed = m.sourcedRevenue + m.influencedRevenue;
    const r = regKpis(regs.filter((x) => x.partner === p));
    const tier = o.tierOf(p) ?? null;
    return {
      partner: p, tier, metrics: m, attributedRevenue: attributed, cost,
      ropi: cost > 0 ? (attributed * (o.margin ?? 1) - cost) / cost : null,
      registrations: r,
      ...(o.tierCriteria?.length ? { tierRecommendation: recommendTier(tier, o.tierCriteria, { sourcedRevenue: m.sourcedRevenue, winRate: m.winRate.value, wonDeals: m.won, reviewCompliance: r.compliance.value }) } : {}),
    };
  });

  return {
    currency: o.currency,
    period: { from, to, months: from && to ? monthsBetween(from, to) : 0 },
    partner: o.partner ?? null,
    confidence,
    totals,
    comparison: { joint, direct, winRate: jointVs.winRate, cycleDays: jointVs.cycleDays, byPartnersOnDeal },
    ...(by ? { by } : {}),
    timeline,
    partners,
    registrations: regKpis(regs),
    notes,
  };
}

const APPROVED = new Set(['approved', 'auto-approved', 'won', 'lost', 'expired']);
const PENDING = new Set(['submitted', 'checked', 'pending-review']);

/**
 * Registrations submitted / approved / rejected, and review-SLA compliance: of the registrations a
 * person decided (decided_by other than `rules`) or that still wait for review past the SLA, the
 * share decided within the SLA of their submission.
 */
export function registrationKpis(rs: readonly RegistrationFact[], slaMs: number, now: Date, confidence = 0.95): RegistrationKpis {
  let approved = 0, rejected = 0, pending = 0, reviewed = 0, onTime = 0;
  for (const r of rs) {
    if (APPROVED.has(r.status)) approved++;
    else if (r.status === 'rejected') rejected++;
    else if (PENDING.has(r.status)) pending++;
    const submitted = Date.parse(r.submittedAt);
    const byPerson = r.decidedBy !== null && r.decidedBy !== 'rules' && r.decidedAt !== null;
    if (byPerson) {
      reviewed++;
      if (Date.parse(r.decidedAt!) - submitted <= slaMs) onTime++;
    } else if (r.status === 'pending-review' && now.getTime() - submitted > slaMs) reviewed++;
  }
  return { submitted: rs.length, approved, rejected, pending, reviewed, onTime, compliance: wilson(onTime, reviewed, confidence) };
}

/** Items by key, each group in the items' order. */
function groupBy<K, T>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = m.get(k);
    if (g) g.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** FNV-1a of a string: a histogram's own bootstrap seed. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
