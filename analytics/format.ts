import { stringify } from 'csv-stringify/sync';
import type { GroupRow, Metrics, PartnerScore, Report } from './kpis.js';
import type { Difference, Mean, Rate } from './stats.js';

/** The report as text tables (the CLI default) and as CSV (one table, a `section` column). */

const money = (n: number | null, cur: string) => (n === null ? '—' : `${cur} ${Math.round(n).toLocaleString('en-US')}`);
const rate = (r: Rate) => (r.value === null ? '—' : `${(r.value * 100).toFixed(1)}% [${(r.low * 100).toFixed(1)}–${(r.high * 100).toFixed(1)}] n=${r.n}`);
const mean = (m: Mean) => (m.value === null ? '—' : Number.isFinite(m.low) ? `${m.value.toFixed(1)} d [${m.low.toFixed(1)}–${m.high.toFixed(1)}] n=${m.n}` : `${m.value.toFixed(1)} d n=${m.n}`);
const diff = (d: Difference | undefined) => (d ? d.verdict : '');

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const metricHeaders = ['', 'closed', 'win rate [CI]', 'cycle days [CI]', 'avg won', 'pipeline', 'revenue', 'sourced rev', 'influenced rev'];
const metricCells = (label: string, m: Metrics, cur: string) => [label, String(m.closed), rate(m.winRate), mean(m.cycleDays), money(m.avgWonDeal, cur), money(m.pipeline, cur), money(m.revenue, cur), money(m.sourcedRevenue, cur), money(m.influencedRevenue, cur)];

export function formatText(r: Report): string {
  const cur = r.currency;
  const out: string[] = [];
  const pct = Math.round(r.confidence * 100);
  out.push(`Joint-selling report — ${r.period.from ?? '…'} to ${r.period.to ?? '…'} (${r.period.months} months), ${cur}${r.partner ? `, partner ${r.partner}` : ''}; intervals ${pct} %`);
  out.push('');
  out.push(table(metricHeaders, [metricCells('all deals', r.totals, cur), metricCells(r.partner ? `with ${r.partner}` : 'joint (1+ partners)', r.comparison.joint, cur), metricCells('direct (0 partners)', r.comparison.direct, cur)]));
  out.push(`  ${r.comparison.winRate.verdict}`);
  out.push(`  ${r.comparison.cycleDays.verdict}`);
  out.push(`  sourced pipeline ${money(r.totals.sourcedPipeline, cur)}, influenced pipeline ${money(r.totals.influencedPipeline, cur)} (split shares; they add up to the joint pipeline ${money(r.totals.jointPipeline, cur)})`);
  out.push('');
  out.push('By partners on the deal');
  out.push(table([...metricHeaders, 'vs direct'], r.comparison.byPartnersOnDeal.map((g) => [...metricCells(g.label, g.metrics, cur), g.vsDirect ? `${diff(g.vsDirect.winRate)}; ${diff(g.vsDirect.cycleDays)}` : ''])));
  if (r.by && r.by.dimension !== 'partners-on-deal') {
    out.push('');
    out.push(`By ${r.by.dimension}`);
    out.push(table(metricHeaders, r.by.rows.map((g: GroupRow) => metricCells(g.label, g.metrics, cur))));
  }
  if (r.partners.length) {
    out.push('');
    out.push('Partners');
    out.push(
      table(
        ['partner', 'tier', 'won/closed', 'win rate [CI]', 'sourced rev', 'influenced rev', 'cost', 'ROPI', 'regs (appr/rej)', 'review SLA', 'earned tier', 'missing for next'],
        r.partners.map((p: PartnerScore) => [
          p.partner, p.tier ?? '—', `${p.metrics.won}/${p.metrics.closed}`, rate(p.metrics.winRate), money(p.metrics.sourcedRevenue, cur), money(p.metrics.influencedRevenue, cur),
          money(p.cost, cur), p.ropi === null ? '—' : `${p.ropi.toFixed(2)}×`, `${p.registrations.submitted} (${p.registrations.approved}/${p.registrations.rejected})`,
          p.registrations.compliance.value === null ? '—' : `${(p.registrations.compliance.value * 100).toFixed(0)}% of ${p.registrations.reviewed}`,
          p.tierRecommendation ? `${p.tierRecommendation.earned ?? '—'} (${p.tierRecommendation.change})` : '—',
          p.tierRecommendation?.next ? `${p.tierRecommendation.next.tier}: ${p.tierRecommendation.next.missing.map((m) => `${m.criterion} ${m.actual === null ? 'no data' : round(m.actual)} < ${round(m.required)}`).join(', ') || 'nothing'}` : '',
        ]),
      ),
    );
  }
  const g = r.registrations;
  out.push('');
  out.push(`Registrations: ${g.submitted} submitted, ${g.approved} approved, ${g.rejected} rejected, ${g.pending} pending; review SLA met ${g.onTime} of ${g.reviewed}${g.compliance.value === null ? '' : ` (${rate(g.compliance)})`}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}

const round = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toString() : n.toFixed(2));

const CSV_COLUMNS = [
  'section', 'key', 'label', 'created', 'closed', 'won', 'lost', 'win_rate', 'win_rate_low', 'win_rate_high', 'cycle_days', 'cycle_days_low', 'cycle_days_high', 'cycle_n',
  'avg_won_deal', 'pipeline', 'sourced_pipeline', 'influenced_pipeline', 'revenue', 'sourced_revenue', 'influenced_revenue',
  'win_rate_vs_direct', 'win_rate_vs_direct_significant', 'cycle_days_vs_direct', 'cycle_days_vs_direct_significant', 'cost', 'ropi', 'tier', 'earned_tier', 'currency',
] as const;

const num = (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? '' : Number.isInteger(n) ? String(n) : n.toFixed(6).replace(/\.?0+$/, ''));

function csvRow(section: string, key: string, label: string, m: Metrics, cur: string, extra: Partial<Record<(typeof CSV_COLUMNS)[number], string>> = {}, vs?: GroupRow['vsDirect']): string[] {
  const v: Record<string, string> = {
    section, key, label, created: num(m.created), closed: num(m.closed), won: num(m.won), lost: num(m.lost),
    win_rate: num(m.winRate.value), win_rate_low: m.winRate.value === null ? '' : num(m.winRate.low), win_rate_high: m.winRate.value === null ? '' : num(m.winRate.high),
    cycle_days: num(m.cycleDays.value), cycle_days_low: num(m.cycleDays.value === null ? null : m.cycleDays.low), cycle_days_high: num(m.cycleDays.value === null ? null : m.cycleDays.high), cycle_n: num(m.cycleDays.n),
    avg_won_deal: num(m.avgWonDeal), pipeline: num(m.pipeline), sourced_pipeline: num(m.sourcedPipeline), influenced_pipeline: num(m.influencedPipeline),
    revenue: num(m.revenue), sourced_revenue: num(m.sourcedRevenue), influenced_revenue: num(m.influencedRevenue),
    win_rate_vs_direct: num(vs?.winRate.value), win_rate_vs_direct_significant: vs ? String(vs.winRate.significant) : '',
    cycle_days_vs_direct: num(vs?.cycleDays.value), cycle_days_vs_direct_significant: vs ? String(vs.cycleDays.significant) : '',
    currency: cur, ...extra,
  };
  return CSV_COLUMNS.map((c) => v[c] ?? '');
}

export function formatCsv(r: Report): string {
  const cur = r.currency;
  const rows: string[][] = [
    csvRow('total', 'all', 'all deals', r.totals, cur),
    csvRow('comparison', 'joint', r.partner ? `with ${r.partner}` : 'joint', r.comparison.joint, cur, {}, { winRate: r.comparison.winRate, cycleDays: r.comparison.cycleDays }),
    csvRow('comparison', 'direct', 'direct', r.comparison.direct, cur),
    ...r.comparison.byPartnersOnDeal.map((g) => csvRow('partners-on-deal', g.key, g.label, g.metrics, cur, {}, g.vsDirect)),
    ...(r.by && r.by.dimension !== 'partners-on-deal' ? r.by.rows.map((g) => csvRow(`by-${r.by!.dimension}`, g.key, g.label, g.metrics, cur, {}, g.vsDirect)) : []),
    ...r.partners.map((p) => csvRow('partner', p.partner, p.partner, p.metrics, cur, { cost: num(p.cost), ropi: num(p.ropi), tier: p.tier ?? '', earned_tier: p.tierRecommendation?.earned ?? '' })),
  ];
  return stringify([CSV_COLUMNS as unknown as string[], ...rows]);
}
