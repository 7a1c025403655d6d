import type { Metrics, Report } from './kpis.js';
import type { Mean, Rate } from './stats.js';

/**
 * The report as one self-contained HTML page: inline CSS and SVG charts, no script, no font, no
 * network request — it opens the same from a file, a mail attachment or an air-gapped laptop.
 * Charts: win rate and cycle days joint vs direct (and by partners on the deal) with their intervals,
 * sourced / influenced revenue and pipeline by month, ROPI by partner.
 */

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmtMoney = (n: number | null, cur: string) => (n === null ? '—' : `${cur} ${Math.round(n).toLocaleString('en-US')}`);
const fmtK = (n: number) => (Math.abs(n) >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : Math.abs(n) >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : n.toFixed(0));
const COLORS = { direct: '#8a8f98', joint: '#2f6fdf', sourced: '#1b9e77', influenced: '#d95f02', neg: '#c0392b' };

interface Bar {
  label: string;
  value: number | null;
  low?: number;
  high?: number;
  n: number;
  color: string;
}

/** Vertical bars with interval whiskers (win rates in %, cycle days). */
function intervalChart(title: string, bars: Bar[], unit: string, max?: number): string {
  const W = 520, H = 260, L = 48, B = 52, T = 28;
  const top = max ?? Math.max(1, ...bars.map((b) => (Number.isFinite(b.high ?? NaN) ? b.high! : (b.value ?? 0)))) * 1.1;
  const y = (v: number) => T + (H - T - B) * (1 - Math.min(top, Math.max(0, v)) / top);
  const bw = (W - L - 10) / bars.length;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  const parts = [
    `<text x="${W / 2}" y="16" text-anchor="middle" class="t">${esc(title)}</text>`,
    ...ticks.map((t) => `<line x1="${L}" x2="${W - 10}" y1="${y(t)}" y2="${y(t)}" class="g"/><text x="${L - 6}" y="${y(t) + 4}" text-anchor="end" class="a">${esc(unit === '%' ? `${Math.round(t)}%` : t.toFixed(0))}</text>`),
  ];
  bars.forEach((b, i) => {
    const x = L + i * bw + bw * 0.2;
    const w = bw * 0.6;
    const cx = x + w / 2;
    if (b.value !== null) {
      parts.push(`<rect x="${x}" y="${y(b.value)}" width="${w}" height="${y(0) - y(b.value)}" fill="${b.color}"><title>${esc(`${b.label}: ${b.value.toFixed(1)}${unit} (n=${b.n})`)}</title></rect>`);
      if (b.low !== undefined && b.high !== undefined && Number.isFinite(b.low) && Number.isFinite(b.high)) {
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(b.low)}" y2="${y(b.high)}" class="w"/><line x1="${cx - 6}" x2="${cx + 6}" y1="${y(b.low)}" y2="${y(b.low)}" class="w"/><line x1="${cx - 6}" x2="${cx + 6}" y1="${y(b.high)}" y2="${y(b.high)}" class="w"/>`);
      }
      parts.push(`<text x="${cx}" y="${y(b.value) - 4}" text-anchor="middle" class="v">${esc(b.value.toFixed(unit === '%' ? 0 : 1))}</text>`);
    }
    parts.push(`<text x="${cx}" y="${H - B + 16}" text-anchor="middle" class="a">${esc(b.label)}</text><text x="${cx}" y="${H - B + 30}" text-anchor="middle" class="a">n=${b.n}</text>`);
  });
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

/** Stacked bars by month. */
function stackedChart(title: string, months: string[], series: Array<{ name: string; color: string; values: number[] }>, cur: string): string {
  const W = 1060, H = 280, L = 64, B = 48, T = 40;
  const totals = months.map((_, i) => series.reduce((s, x) => s + Math.max(0, x.values[i] ?? 0), 0));
  const top = Math.max(1, ...totals) * 1.1;
  const y = (v: number) => T + (H - T - B) * (1 - v / top);
  const bw = (W - L - 10) / Math.max(1, months.length);
  const parts = [
    `<text x="${W / 2}" y="16" text-anchor="middle" class="t">${esc(title)}</text>`,
    ...series.map((s, i) => `<rect x="${L + i * 170}" y="24" width="12" height="12" fill="${s.color}"/><text x="${L + i * 170 + 16}" y="34" class="a">${esc(s.name)}</text>`),
    ...[0, 0.25, 0.5, 0.75, 1].map((f) => `<line x1="${L}" x2="${W - 10}" y1="${y(f * top)}" y2="${y(f * top)}" class="g"/><text x="${L - 6}" y="${y(f * top) + 4}" text-anchor="end" class="a">${esc(fmtK(f * top))}</text>`),
  ];
  months.forEach((m, i) => {
    let base = 0;
    const x = L + i * bw + bw * 0.15;
    for (const s of series) {
      const v = Math.max(0, s.values[i] ?? 0);
      if (v > 0) parts.push(`<rect x="${x}" y="${y(base + v)}" width="${bw * 0.7}" height="${y(base) - y(base + v)}" fill="${s.color}"><title>${esc(`${m} ${s.name}: ${fmtMoney(v, cur)}`)}</title></rect>`);
      base += v;
    }
    if (months.length <= 36 && (months.length <= 12 || i % 3 === 0)) parts.push(`<text x="${x + bw * 0.35}" y="${H - B + 16}" text-anchor="middle" class="a">${esc(m)}</text>`);
  });
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

/** Horizontal bars around zero (ROPI). */
function ropiChart(rows: Array<{ label: string; value: number | null }>): string {
  const W = 520, rowH = 28, L = 110, T = 30;
  const H = T + rowH * Math.max(1, rows.length) + 10;
  const vals = rows.map((r) => r.value ?? 0);
  const lo = Math.min(0, ...vals);
  const hi = Math.max(0.1, ...vals);
  const x = (v: number) => L + ((W - L - 40) * (v - lo)) / (hi - lo || 1);
  const parts = [`<text x="${W / 2}" y="16" text-anchor="middle" class="t">ROPI by partner = (attributed revenue × margin − cost) / cost</text>`, `<line x1="${x(0)}" x2="${x(0)}" y1="${T - 4}" y2="${H - 6}" class="w"/>`];
  rows.forEach((r, i) => {
    const yy = T + i * rowH;
    parts.push(`<text x="${L - 8}" y="${yy + 17}" text-anchor="end" class="a">${esc(r.label)}</text>`);
    if (r.value === null) parts.push(`<text x="${x(0) + 6}" y="${yy + 17}" class="a">no cost configured</text>`);
    else {
      const a = Math.min(x(0), x(r.value));
      parts.push(`<rect x="${a}" y="${yy + 4}" width="${Math.abs(x(r.value) - x(0))}" height="${rowH - 10}" fill="${r.value < 0 ? COLORS.neg : COLORS.sourced}"/><text x="${Math.max(x(0), x(r.value)) + 4}" y="${yy + 17}" class="v">${esc(`${r.value.toFixed(2)}×`)}</text>`);
    }
  });
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="ROPI by partner">${parts.join('')}</svg>`;
}

const rateBar = (label: string, r: Rate, color: string): Bar => ({ label, value: r.value === null ? null : r.value * 100, low: r.low * 100, high: r.high * 100, n: r.n, color });
const meanBar = (label: string, m: Mean, color: string): Bar => ({ label, value: m.value, low: m.low, high: m.high, n: m.n, color });
const pct = (r: Rate) => (r.value === null ? '—' : `${(r.value * 100).toFixed(1)}% <small>[${(r.low * 100).toFixed(1)}–${(r.high * 100).toFixed(1)}]</small>`);
const days = (m: Mean) => (m.value === null ? '—' : `${m.value.toFixed(1)}${Number.isFinite(m.low) ? ` <small>[${m.low.toFixed(1)}–${m.high.toFixed(1)}]</small>` : ''}`);

function metricsTable(rows: Array<{ label: string; m: Metrics; extra?: string }>, cur: string, extraHeader?: string): string {
  const head = ['', 'closed', 'won', 'win rate [CI]', 'cycle days [CI]', 'avg won deal', 'pipeline', 'revenue', 'sourced', 'influenced', ...(extraHeader ? [extraHeader] : [])];
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map(
      (r) =>
        `<tr><td>${esc(r.label)}</td><td>${r.m.closed}</td><td>${r.m.won}</td><td>${pct(r.m.winRate)}</td><td>${days(r.m.cycleDays)}</td><td>${fmtMoney(r.m.avgWonDeal, cur)}</td><td>${fmtMoney(r.m.pipeline, cur)}</td><td>${fmtMoney(r.m.revenue, cur)}</td><td>${fmtMoney(r.m.sourcedRevenue, cur)}</td><td>${fmtMoney(r.m.influencedRevenue, cur)}</td>${extraHeader ? `<td>${r.extra ?? ''}</td>` : ''}</tr>`,
    )
    .join('')}</tbody></table>`;
}

export function formatHtml(r: Report, opts: { title?: string; generatedAt?: Date } = {}): string {
  const cur = r.currency;
  const c = r.comparison;
  const buckets = c.byPartnersOnDeal;
  const title = opts.title ?? 'cosell — joint-selling report';
  const verdict = (s: string, significant: boolean) => `<p class="${significant ? 'sig' : 'ns'}">${esc(s)}</p>`;
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p class="sub">${esc(`${r.period.from ?? '…'} to ${r.period.to ?? '…'} · ${r.period.months} months · ${cur} · intervals ${Math.round(r.confidence * 100)} %${r.partner ? ` · partner ${r.partner}` : ''}${opts.generatedAt ? ` · generated ${opts.generatedAt.toISOString()}` : ''}`)}</p>`,
    `<div class="kpis">${[
      ['Revenue', fmtMoney(r.totals.revenue, cur)],
      ['Partner-sourced revenue', fmtMoney(r.totals.sourcedRevenue, cur)],
      ['Partner-influenced revenue', fmtMoney(r.totals.influencedRevenue, cur)],
      ['Sourced pipeline', fmtMoney(r.totals.sourcedPipeline, cur)],
      ['Influenced pipeline', fmtMoney(r.totals.influencedPipeline, cur)],
      ['Win rate', r.totals.winRate.value === null ? '—' : `${(r.totals.winRate.value * 100).toFixed(1)}%`],
    ]
      .map(([k, v]) => `<div class="kpi"><div class="k">${esc(k!)}</div><div class="n">${esc(v!)}</div></div>`)
      .join('')}</div>`,
    `<h2>Joint vs direct</h2>`,
    `<div class="row">${intervalChart('Win rate (won / closed)', [rateBar(r.partner ? r.partner : 'joint', c.joint.winRate, COLORS.joint), rateBar('direct', c.direct.winRate, COLORS.direct), ...buckets.slice(1).map((b) => rateBar(b.label, b.metrics.winRate, COLORS.joint))], '%', 100)}${intervalChart(
      'Cycle days (created → won)',
      [meanBar(r.partner ? r.partner : 'joint', c.joint.cycleDays, COLORS.joint), meanBar('direct', c.direct.cycleDays, COLORS.direct), ...buckets.slice(1).map((b) => meanBar(b.label, b.metrics.cycleDays, COLORS.joint))],
      ' d',
    )}</div>`,
    verdict(c.winRate.verdict, c.winRate.significant),
    verdict(c.cycleDays.verdict, c.cycleDays.significant),
    ...buckets.slice(1).flatMap((b) => (b.vsDirect ? [verdict(`${b.label}: ${b.vsDirect.winRate.verdict}`, b.vsDirect.winRate.significant), verdict(`${b.label}: ${b.vsDirect.cycleDays.verdict}`, b.vsDirect.cycleDays.significant)] : [])),
    metricsTable([{ label: r.partner ? `with ${r.partner}` : 'joint', m: c.joint }, { label: 'direct', m: c.direct }, ...buckets.map((b) => ({ label: b.label, m: b.metrics }))], cur),
    `<h2>Sourced and influenced over time</h2>`,
    stackedChart('Won revenue by close month', r.timeline.map((t) => t.month), [
      { name: 'partner-sourced', color: COLORS.sourced, values: r.timeline.map((t) => t.sourcedRevenue) },
      { name: 'partner-influenced', color: COLORS.influenced, values: r.timeline.map((t) => t.influencedRevenue) },
      { name: 'direct', color: COLORS.direct, values: r.timeline.map((t) => t.directRevenue) },
    ], cur),
    stackedChart('Pipeline by created month (partner shares)', r.timeline.map((t) => t.month), [
      { name: 'sourced pipeline', color: COLORS.sourced, values: r.timeline.map((t) => t.sourcedPipeline) },
      { name: 'influenced pipeline', color: COLORS.influenced, values: r.timeline.map((t) => t.influencedPipeline) },
    ], cur),
    `<h2>Partners</h2>`,
    ropiChart(r.partners.map((p) => ({ label: p.partner, value: p.ropi }))),
    `<table><thead><tr>${['partner', 'tier', 'won / closed', 'win rate [CI]', 'sourced revenue', 'influenced revenue', 'cost', 'ROPI', 'registrations (approved / rejected)', 'review SLA met', 'earned tier', 'missing for next tier']
      .map((h) => `<th>${esc(h)}</th>`)
      .join('')}</tr></thead><tbody>${r.partners
      .map((p) => {
        const t = p.tierRecommendation;
        const missing = t?.next ? `${esc(t.next.tier)}: ${t.next.missing.map((m) => esc(`${m.criterion} ${m.actual === null ? 'no data' : m.actual.toFixed(2)} < ${m.required}`)).join(', ') || 'nothing'}` : '';
        return `<tr><td>${esc(p.partner)}</td><td>${esc(p.tier ?? '—')}</td><td>${p.metrics.won} / ${p.metrics.closed}</td><td>${pct(p.metrics.winRate)}</td><td>${fmtMoney(p.metrics.sourcedRevenue, cur)}</td><td>${fmtMoney(p.metrics.influencedRevenue, cur)}</td><td>${fmtMoney(p.cost, cur)}</td><td>${p.ropi === null ? '—' : `${p.ropi.toFixed(2)}×`}</td><td>${p.registrations.submitted} (${p.registrations.approved} / ${p.registrations.rejected})</td><td>${pct(p.registrations.compliance)}</td><td>${esc(t ? `${t.earned ?? '—'} (${t.change})` : '—')}</td><td>${missing}</td></tr>`;
      })
      .join('')}</tbody></table>`,
    ...(r.by && r.by.dimension !== 'partners-on-deal' ? [`<h2>By ${esc(r.by.dimension)}</h2>`, metricsTable(r.by.rows.map((g) => ({ label: g.label, m: g.metrics, extra: g.vsDirect ? esc(g.vsDirect.winRate.verdict) : '' })), cur, 'win rate vs direct')] : []),
    `<h2>Registrations</h2><p>${r.registrations.submitted} submitted · ${r.registrations.approved} approved · ${r.registrations.rejected} rejected · ${r.registrations.pending} pending · review SLA met ${r.registrations.onTime} of ${r.registrations.reviewed}</p>`,
    ...r.notes.map((n) => `<p class="note">${esc(n)}</p>`),
    `<p class="foot">Definitions: pipeline = amount of deals created in the period; revenue = amount won, by close date; sourced / influenced = each partner role's split share (sourced roles per the policy), so they add up to the joint amount and never double count; win rate = won / (won + lost); cycle days = created → close of won deals. Intervals: Wilson (rates), seeded percentile bootstrap (cycle days joint / direct / by number of partners), normal (cycle days of totals, periods, partners); a difference is significant when its interval excludes zero.</p>`,
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1d2430;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e3e6ea;padding-bottom:4px}
.sub{color:#5b6472;margin:0 0 16px}.row{display:flex;flex-wrap:wrap;gap:16px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}.kpi{border:1px solid #e3e6ea;border-radius:6px;padding:10px}
.kpi .k{color:#5b6472;font-size:12px}.kpi .n{font-size:18px;font-weight:600}
table{border-collapse:collapse;width:100%;margin:10px 0;font-size:13px}th,td{border-bottom:1px solid #eef0f3;padding:4px 6px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f6f7f9;font-weight:600}small{color:#6b7480}
svg .t{font-size:13px;font-weight:600;fill:#1d2430}svg .a{font-size:11px;fill:#5b6472}svg .v{font-size:11px;fill:#1d2430}svg .g{stroke:#eef0f3}svg .w{stroke:#1d2430;stroke-width:1.5}
.sig{color:#0b6b3a}.ns{color:#7a5b00}.note{color:#5b6472;font-style:italic}.foot{color:#6b7480;font-size:12px;margin-top:24px}
</style></head><body>
${body}
</body></html>
`;
}
