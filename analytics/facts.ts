import type { CrmRecord, FieldValue } from '../connectors/types.js';
import { ATTRIBUTION_ROLES, type AttributionRole } from '../rules/types.js';

/**
 * One vendor opportunity as the analytics see it (a row of `opportunity_facts`), and the aggregate
 * cells it contributes to (`analytics_cells`). Pure: a fact is a function of the opportunity's fields
 * (and, when it carries no attribution, the registration that points at it); cells are a function of
 * the fact. The ledger adds a changed fact's cells and subtracts its previous version's, so the cells
 * always equal the sum over the current facts (tested against a from-scratch rebuild).
 *
 * Money is kept in integer cents per currency: a deal's cents are allocated to its partner roles by
 * largest remainder, so the partners' cents of a deal always sum exactly to the deal's — per-partner
 * sums equal totals by construction, whatever the splits. Conversion into the vendor currency happens
 * at report time, with the policy's rates.
 */

export type DealStatus = 'open' | 'won' | 'lost';

export interface FactPartner {
  partner: string;
  role: AttributionRole;
  /** The split as written (percent, two decimals). */
  split: number;
  /** This role's share of the deal's cents (largest remainder over the deal's roles). */
  cents: number;
}

export interface OpportunityFact {
  id: string;
  name: string | null;
  accountId: string | null;
  stage: string | null;
  status: DealStatus;
  /** Deal amount in cents of `currency` (0 when the deal has no amount). */
  amountCents: number;
  currency: string;
  /** YYYY-MM-DD, or null when the CRM gave none. */
  createdOn: string | null;
  /** The close date (YYYY-MM-DD) of a closed deal; null when open or when a closed deal has none. */
  closedOn: string | null;
  /** Days from created to closed, for won deals with both dates (null otherwise). */
  cycleDays: number | null;
  partners: FactPartner[];
  /** The registration the attribution came from, when the opportunity carried none itself. */
  registrationId: string | null;
}

/** The vendor Opportunity fields the fact store reads (only those the org has are asked for). */
export const FACT_FIELDS = [
  'Name', 'AccountId', 'StageName', 'Amount', 'CloseDate', 'CreatedDate', 'IsClosed', 'IsWon',
  'Partner_Attribution__c', 'Registered_Partner_Id__c', 'Partner_Role__c',
] as const;

export interface FactContext {
  /** The vendor's currency when the record has none (the policy currency). */
  defaultCurrency: string;
  /** A field holding the record's ISO currency code (multi-currency orgs: CurrencyIsoCode). */
  currencyField?: string;
  /** A registration that names this opportunity as its vendor opportunity (used when it carries no attribution). */
  registrationOf?: (opportunityId: string) => { id: string; partner: string; role?: AttributionRole } | undefined;
}

const str = (v: FieldValue | undefined): string | null => (v === null || v === undefined || v === '' ? null : String(v));
const bool = (v: FieldValue | undefined) => v === true || v === 'true';
const dateOf = (v: FieldValue | undefined): string | null => {
  const s = str(v);
  if (!s) return null;
  const d = /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : Number.isNaN(Date.parse(s)) ? null : new Date(s).toISOString().slice(0, 10);
  return d && !Number.isNaN(Date.parse(d)) ? d : null;
};
const DAY = 86_400_000;
/** A role as written: the ledger's `sourcing` or the CRM picklist label `Sourcing`. */
const roleOf = (s: string | null | undefined): AttributionRole | undefined => ATTRIBUTION_ROLES.find((r) => r === s?.toLowerCase());

/**
 * `acme:sourcing:60;globex:influence:40` (what the registration gate writes to Partner_Attribution__c).
 * Unreadable parts are skipped; a partner/role listed twice is counted once (the first).
 */
export function parseAttribution(text: string | null): Array<{ partner: string; role: AttributionRole; split: number }> {
  if (!text) return [];
  const out: Array<{ partner: string; role: AttributionRole; split: number }> = [];
  for (const part of text.split(';')) {
    const [partner, role, split] = part.split(':').map((s) => s.trim());
    const r = roleOf(role);
    const n = Number(split);
    if (!partner || !r || split === undefined || split === '' || !Number.isFinite(n) || n < 0) continue;
    if (out.some((o) => o.partner === partner && o.role === r)) continue;
    out.push({ partner, role: r, split: n });
  }
  return out;
}

/**
 * Split `total` cents over `weights` so the parts are integers summing to exactly `total`: floors,
 * then the remaining cents to the largest fractions (ties by position, so it is deterministic). Zero
 * weights everywhere split evenly.
 */
export function allocateCents(total: number, weights: readonly number[]): number[] {
  if (!weights.length) return [];
  const w = weights.some((x) => x > 0) ? weights : weights.map(() => 1);
  const sum = w.reduce((s, x) => s + x, 0);
  const sign = total < 0 ? -1 : 1;
  const abs = Math.abs(total);
  const exact = w.map((x) => (abs * x) / sum);
  const parts = exact.map(Math.floor);
  let left = abs - parts.reduce((s, x) => s + x, 0);
  const order = exact.map((e, i) => ({ i, frac: e - parts[i]! })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    parts[i]!++;
    left--;
  }
  return parts.map((p) => p * sign);
}

/** The fact for one vendor opportunity record. */
export function opportunityFact(record: CrmRecord, ctx: FactContext): OpportunityFact {
  const f = record.fields;
  const closed = bool(f.IsClosed);
  const status: DealStatus = closed ? (bool(f.IsWon) ? 'won' : 'lost') : 'open';
  const amount = Number(f.Amount);
  const amountCents = f.Amount === null || f.Amount === undefined || f.Amount === '' || !Number.isFinite(amount) ? 0 : Math.round(amount * 100);
  const currency = (ctx.currencyField ? str(f[ctx.currencyField])?.toUpperCase() : null) ?? ctx.defaultCurrency;
  const createdOn = dateOf(f.CreatedDate);
  const closedOn = closed ? dateOf(f.CloseDate) : null;
  const cycle = status === 'won' && createdOn && closedOn ? Math.round((Date.parse(closedOn) - Date.parse(createdOn)) / DAY) : null;
  let parts = parseAttribution(str(f.Partner_Attribution__c));
  let registrationId: string | null = null;
  if (!parts.length) {
    const partner = str(f.Registered_Partner_Id__c);
    const role = roleOf(str(f.Partner_Role__c));
    if (partner) parts = [{ partner, role: role ?? 'sourcing', split: 100 }];
    else {
      const reg = ctx.registrationOf?.(record.id);
      if (reg) {
        parts = [{ partner: reg.partner, role: reg.role ?? 'sourcing', split: 100 }];
        registrationId = reg.id;
      }
    }
  }
  // Partner order is fixed (partner, then role order) so a fact's cells do not depend on field order.
  parts.sort((a, b) => (a.partner === b.partner ? ATTRIBUTION_ROLES.indexOf(a.role) - ATTRIBUTION_ROLES.indexOf(b.role) : a.partner < b.partner ? -1 : 1));
  const cents = allocateCents(amountCents, parts.map((p) => p.split));
  return {
    id: record.id,
    name: str(f.Name),
    accountId: str(f.AccountId),
    stage: str(f.StageName),
    status,
    amountCents,
    currency,
    createdOn,
    closedOn,
    cycleDays: cycle !== null && cycle >= 0 ? cycle : null,
    partners: parts.map((p, i) => ({ ...p, cents: cents[i]! })),
    registrationId,
  };
}

/** Number of distinct partners on a deal, bucketed 0, 1, 2, 3 (= 3 or more). */
export function partnersBucket(fact: Pick<OpportunityFact, 'partners'>): number {
  return Math.min(3, new Set(fact.partners.map((p) => p.partner)).size);
}

export type CellKind = 'created' | 'closed' | 'cycle';

/** The key of one aggregate cell ('' partner/role: the deal level). */
export interface CellKey {
  kind: CellKind;
  /** YYYY-MM of the created date (kind created) or close date (closed, cycle); '' when the deal has none. */
  month: string;
  partner: string;
  role: string;
  status: DealStatus;
  bucket: number;
  currency: string;
  /** The cycle length (kind cycle: a histogram for bootstrap intervals); -1 otherwise. */
  cycleDays: number;
}

export interface CellMeasures {
  /** Deals (deal level) / deal-role rows (partner level). */
  deals: number;
  /** Deals counted once per partner (on the partner's first role of the deal); = deals at deal level. */
  partnerDeals: number;
  /** Deal level: the deal amount; partner level: this role's allocated share. */
  cents: number;
  /** The whole deal amount, counted once per partner (partner level) / once (deal level). */
  dealCents: number;
  cycleN: number;
  cycleSum: number;
  cycleSumSq: number;
}

export type Cell = CellKey & CellMeasures;

export const cellKeyOf = (c: CellKey) => `${c.kind}\u0000${c.month}\u0000${c.partner}\u0000${c.role}\u0000${c.status}\u0000${c.bucket}\u0000${c.currency}\u0000${c.cycleDays}`;

const month = (d: string | null) => (d ? d.slice(0, 7) : '');

/**
 * One cell, always built by this function with its properties in one order: every cell then shares
 * one hidden class. (Spreading `base` and a measures object into each literal made V8 fall back to
 * dictionary-mode objects — ~90 µs a fact, most of a refresh's CPU time.)
 */
function cell(kind: CellKind, month: string, partner: string, role: string, status: DealStatus, bucket: number, currency: string, cycleDays: number, deals: number, partnerDeals: number, cents: number, dealCents: number, cycleN: number, cycleSum: number, cycleSumSq: number): Cell {
  return { kind, month, partner, role, status, bucket, currency, cycleDays, deals, partnerDeals, cents, dealCents, cycleN, cycleSum, cycleSumSq };
}

/** The cells one fact contributes to (each with its measures); the store adds these per version. */
export function factCells(fact: OpportunityFact): Cell[] {
  const bucket = partnersBucket(fact);
  const { status, currency, amountCents } = fact;
  const won = status === 'won' && fact.cycleDays !== null;
  const days = won ? fact.cycleDays! : 0;
  const out: Cell[] = [];
  for (let k = 0; k < (status === 'open' ? 1 : 2); k++) {
    const kind: CellKind = k === 0 ? 'created' : 'closed';
    const m = month(k === 0 ? fact.createdOn : fact.closedOn);
    // Cycle moments on the closed cells of won deals with both dates (deal level; once per partner).
    const n = k === 1 && won ? 1 : 0;
    out.push(cell(kind, m, '', '', status, bucket, currency, -1, 1, 1, amountCents, amountCents, n, n * days, n * days * days));
    const seen = new Set<string>();
    for (const p of fact.partners) {
      const first = !seen.has(p.partner);
      seen.add(p.partner);
      const pn = first ? n : 0;
      out.push(cell(kind, m, p.partner, p.role, status, bucket, currency, -1, 1, first ? 1 : 0, p.cents, first ? amountCents : 0, pn, pn * days, pn * days * days));
    }
  }
  // The histogram carries no money: no currency in its key (a third of the cells on a three-currency book).
  if (won) out.push(cell('cycle', month(fact.closedOn), '', '', status, bucket, '', days, 1, 1, 0, 0, 0, 0, 0));
  return out;
}

/**
 * Sum cells by key into `into` (sign -1 subtracts: a fact's previous version). Keys whose measures
 * all end at zero are kept (the caller decides); returns the map.
 */
export function addCells(into: Map<string, Cell>, cells: readonly Cell[], sign = 1): Map<string, Cell> {
  for (const c of cells) {
    const k = cellKeyOf(c);
    const cur = into.get(k);
    if (!cur) into.set(k, cell(c.kind, c.month, c.partner, c.role, c.status, c.bucket, c.currency, c.cycleDays, c.deals * sign, c.partnerDeals * sign, c.cents * sign, c.dealCents * sign, c.cycleN * sign, c.cycleSum * sign, c.cycleSumSq * sign));
    else {
      cur.deals += c.deals * sign;
      cur.partnerDeals += c.partnerDeals * sign;
      cur.cents += c.cents * sign;
      cur.dealCents += c.dealCents * sign;
      cur.cycleN += c.cycleN * sign;
      cur.cycleSum += c.cycleSum * sign;
      cur.cycleSumSq += c.cycleSumSq * sign;
    }
  }
  return into;
}

export const isEmptyCell = (c: CellMeasures) => c.deals === 0 && c.partnerDeals === 0 && c.cents === 0 && c.dealCents === 0 && c.cycleN === 0 && c.cycleSum === 0 && c.cycleSumSq === 0;
