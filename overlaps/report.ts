import type { Overlap as StoredOverlap } from '../ledger/index.js';
import { RELATIONS, type Overlap, type Side } from './types.js';

/**
 * The `cosell overlaps` report: counts by population pair (a vendor × partner matrix), by match kind,
 * the top accounts, and CSV. A report is always written from one side's point of view: the vendor's
 * view names the vendor's accounts and shows only the partner's relation; the partner's view the
 * other way round — so exporting it never hands one org the other's record ids or names.
 */
export interface ReportRow {
  vendorId: string;
  vendorName: string;
  vendorRelation: string;
  partnerId: string;
  partnerName: string;
  partnerRelation: string;
  classification: string;
  matchedOn: string;
  score: number;
}

export function rowsFromLedger(stored: readonly StoredOverlap[]): ReportRow[] {
  return stored.map((o) => {
    const d = (o.details ?? {}) as Record<string, unknown>;
    const [vr, pr] = o.classification.split('/');
    return {
      vendorId: o.vendorAccountId,
      vendorName: typeof d.vendorName === 'string' ? d.vendorName : '',
      vendorRelation: typeof d.vendorRelation === 'string' ? d.vendorRelation : (vr ?? ''),
      partnerId: o.partnerRecordId,
      partnerName: typeof d.partnerName === 'string' ? d.partnerName : '',
      partnerRelation: typeof d.partnerRelation === 'string' ? d.partnerRelation : (pr ?? ''),
      classification: o.classification,
      matchedOn: typeof d.matchedOn === 'string' ? d.matchedOn : '',
      score: o.score,
    };
  });
}

export function rowsFromEngine(overlaps: readonly Overlap[]): ReportRow[] {
  return overlaps.map((o) => ({
    vendorId: o.vendorId,
    vendorName: o.vendorLabel ?? '',
    vendorRelation: o.vendorRelation,
    partnerId: o.partnerId,
    partnerName: o.partnerLabel ?? '',
    partnerRelation: o.partnerRelation,
    classification: o.pair,
    matchedOn: o.matchedOn,
    score: o.score,
  }));
}

/** Highest score first, then by the viewing side's name and id (stable output). */
export function sortRows(rows: readonly ReportRow[], side: Side): ReportRow[] {
  const name = (r: ReportRow) => (side === 'vendor' ? r.vendorName : r.partnerName);
  const id = (r: ReportRow) => (side === 'vendor' ? r.vendorId : r.partnerId);
  return [...rows].sort((a, b) => b.score - a.score || name(a).localeCompare(name(b)) || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}

/** Rows: vendor relation; columns: partner relation; plus totals. */
export function pairMatrix(rows: readonly ReportRow[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(`${r.vendorRelation}/${r.partnerRelation}`, (counts.get(`${r.vendorRelation}/${r.partnerRelation}`) ?? 0) + 1);
  const header = ['vendor \\ partner', ...RELATIONS, 'total'];
  const body = RELATIONS.map((vr) => {
    const cells = RELATIONS.map((pr) => counts.get(`${vr}/${pr}`) ?? 0);
    return [vr, ...cells.map(String), String(cells.reduce((a, b) => a + b, 0))];
  });
  const totals = RELATIONS.map((pr) => RELATIONS.reduce((n, vr) => n + (counts.get(`${vr}/${pr}`) ?? 0), 0));
  body.push(['total', ...totals.map(String), String(rows.length)]);
  return table([header, ...body]);
}

export function matchKindLine(rows: readonly ReportRow[]): string {
  const by = new Map<string, number>();
  for (const r of rows) by.set(r.matchedOn, (by.get(r.matchedOn) ?? 0) + 1);
  return ['domain', 'domain-label', 'name'].map((k) => `${k} ${by.get(k) ?? 0}`).join(' · ');
}

export function topTable(rows: readonly ReportRow[], side: Side, n: number): string {
  const top = sortRows(rows, side).slice(0, n);
  const header = side === 'vendor' ? ['score', 'vendor account', 'our relation', 'partner relation', 'matched on'] : ['score', 'company', 'our relation', 'vendor relation', 'matched on'];
  const body = top.map((r) =>
    side === 'vendor'
      ? [String(r.score), r.vendorName || r.vendorId, r.vendorRelation, r.partnerRelation, r.matchedOn]
      : [String(r.score), r.partnerName || r.partnerId, r.partnerRelation, r.vendorRelation, r.matchedOn],
  );
  return table([header, ...body]);
}

export function toCsv(rows: readonly ReportRow[], side: Side, partner: string): string {
  const header =
    side === 'vendor'
      ? ['partner', 'vendor_account_id', 'vendor_account_name', 'vendor_relation', 'partner_relation', 'classification', 'matched_on', 'score']
      : ['partner', 'partner_record_id', 'partner_record_name', 'partner_relation', 'vendor_relation', 'classification', 'matched_on', 'score'];
  const lines = [header.join(',')];
  for (const r of sortRows(rows, side)) {
    const cells =
      side === 'vendor'
        ? [partner, r.vendorId, r.vendorName, r.vendorRelation, r.partnerRelation, r.classification, r.matchedOn, String(r.score)]
        : [partner, r.partnerId, r.partnerName, r.partnerRelation, r.vendorRelation, r.classification, r.matchedOn, String(r.score)];
    lines.push(cells.map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** RFC 4180 quoting, and a leading ' against spreadsheet formula injection (=, +, -, @). */
export function csvCell(value: string): string {
  const v = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const fmt = (r: string[]) => r.map((cell, c) => (c === 0 || !/^\d+$/.test(cell) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [fmt(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(fmt)].join('\n');
}
