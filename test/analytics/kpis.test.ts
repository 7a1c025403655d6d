import { describe, expect, it } from 'vitest';
import { addCells, factCells, opportunityFact, type Cell } from '../../analytics/facts.js';
import { computeReport, type KpiOptions, type RegistrationFact } from '../../analytics/kpis.js';
import { bootstrapMean, rateDifference, wilson } from '../../analytics/stats.js';
import { isCosellError } from '../../lib/errors.js';

/**
 * KPIs against hand-computed expectations on fixed data: three direct deals and four joint ones (one
 * with three partners), EUR and USD, an open deal, a won deal without a close date. The arithmetic is
 * written out next to each expectation.
 */

type F = Record<string, string | number | boolean | null>;
const opp = (id: string, f: F) => ({ id, modifiedAt: '2025-06-01T00:00:00.000Z', fields: f });
const won = { IsClosed: true, IsWon: true };
const lost = { IsClosed: true, IsWon: false };
const open = { IsClosed: false, IsWon: false };
const RECORDS = [
  opp('D1', { ...won, Amount: 1000, CreatedDate: '2025-01-01T09:00:00.000Z', CloseDate: '2025-01-31' }), // cycle 30
  opp('D2', { ...lost, Amount: 500, CreatedDate: '2025-01-10', CloseDate: '2025-02-10' }),
  opp('D3', { ...open, Amount: 2000, CreatedDate: '2025-02-01', CloseDate: '2025-06-01' }),
  opp('J1', { ...won, Amount: 1000, CurrencyIsoCode: 'EUR', CreatedDate: '2025-01-01', CloseDate: '2025-01-21', Partner_Attribution__c: 'acme:sourcing:60;globex:influence:40' }), // 1100 USD, cycle 20
  opp('J2', { ...lost, Amount: 300, CreatedDate: '2025-02-01', CloseDate: '2025-03-01', Partner_Attribution__c: 'acme:sourcing:100' }),
  opp('J3', { ...won, Amount: 700, CreatedDate: '2025-02-15', CloseDate: null, Partner_Attribution__c: 'globex:influence:100' }), // no close date
  opp('J4', { ...won, Amount: 4000, CreatedDate: '2025-03-01', CloseDate: '2025-03-11', Partner_Attribution__c: 'acme:sourcing:50;globex:services:25;initech:reseller:25' }), // cycle 10
];
const cellsOf = (records: typeof RECORDS): Cell[] => {
  const m = new Map<string, Cell>();
  for (const r of records) addCells(m, factCells(opportunityFact(r, { defaultCurrency: 'USD', currencyField: 'CurrencyIsoCode' })));
  return [...m.values()];
};
const H = 3_600_000;
const reg = (id: string, partner: string, status: string, submittedAt: string, decidedBy: string | null, afterH: number | null): RegistrationFact => ({
  id, partner, status, submittedAt, decidedBy, decidedAt: afterH === null ? null : new Date(Date.parse(submittedAt) + afterH * H).toISOString(),
});
const REGISTRATIONS = [
  reg('acme:1', 'acme', 'approved', '2025-01-01T00:00:00.000Z', 'jane', 24), // on time (SLA 48 h)
  reg('acme:2', 'acme', 'approved', '2025-01-05T00:00:00.000Z', 'jane', 72), // late
  reg('acme:3', 'acme', 'auto-approved', '2025-02-01T00:00:00.000Z', 'rules', 0), // not reviewed by a person
  reg('globex:1', 'globex', 'pending-review', '2025-02-01T00:00:00.000Z', null, null), // overdue on 2025-04-01
  reg('globex:2', 'globex', 'rejected', '2025-03-01T00:00:00.000Z', 'rules', 0),
];
const TIERS = { acme: 'silver', globex: 'gold', initech: 'registered' } as Record<string, string>;
const options = (o: Partial<KpiOptions> = {}): KpiOptions => ({
  currency: 'USD', rates: { EUR: 1.1 }, sourcedRoles: new Set(['sourcing']), tierOf: (p) => TIERS[p],
  costs: { acme: { mdf: 1000, partnerManager: 150, fees: 50 } }, margin: 0.5, reviewSlaMs: 48 * H, now: new Date('2025-04-01T00:00:00.000Z'),
  tierCriteria: [['gold', { sourcedRevenue: 2000, winRate: 0.6, wonDeals: 2 }], ['silver', { wonDeals: 1 }], ['registered', {}]],
  ...o,
});

describe('KPIs on fixed data', () => {
  const r = computeReport(cellsOf(RECORDS), REGISTRATIONS, options());

  it('totals: pipeline, revenue, sourced vs influenced (splits honoured, EUR converted, no double count)', () => {
    expect(r.totals.created).toBe(7);
    expect(r.totals.pipeline).toBeCloseTo(1000 + 500 + 2000 + 1100 + 300 + 700 + 4000, 6); // 9600
    expect(r.totals.revenue).toBeCloseTo(1000 + 1100 + 700 + 4000, 6); // 6800
    expect(r.totals.sourcedRevenue).toBeCloseTo(660 + 2000, 6); // acme's 60 % of J1 (EUR 600 × 1.1) + 50 % of J4
    expect(r.totals.influencedRevenue).toBeCloseTo(440 + 700 + 1000 + 1000, 6); // globex J1, J3, J4 + initech J4
    expect(r.totals.sourcedRevenue + r.totals.influencedRevenue).toBeCloseTo(r.totals.jointRevenue, 6); // 5800
    expect(r.totals.sourcedPipeline).toBeCloseTo(660 + 300 + 2000, 6);
    expect(r.totals.influencedPipeline).toBeCloseTo(440 + 700 + 1000 + 1000, 6);
    expect(r.totals.directRevenue).toBeCloseTo(1000, 6);
  });

  it('win rate counts closed deals only (the open one is out); the undated won deal counts in an unbounded report', () => {
    expect(r.totals).toMatchObject({ closed: 6, won: 4, lost: 2 });
    expect(r.totals.winRate.value).toBeCloseTo(4 / 6, 9);
    expect(r.totals.winRate.low).toBeCloseTo(0.3, 3); // Wilson 95 % for 4/6: [0.300, 0.903]
    expect(r.totals.winRate.high).toBeCloseTo(0.9032, 3);
    expect(r.comparison.direct).toMatchObject({ closed: 2, won: 1 });
    expect(r.comparison.joint).toMatchObject({ closed: 4, won: 3 });
    expect(r.notes.join(' ')).toMatch(/1 closed deal\(s\) without a close date count in totals/);
  });

  it('cycle days: created → close of won deals with both dates; the undated one is not in it', () => {
    expect(r.totals.cycleDays).toMatchObject({ value: 20, n: 3, method: 'normal' }); // (30 + 20 + 10) / 3
    expect(r.comparison.joint.cycleDays.method).toBe('bootstrap');
    expect(r.comparison.joint.cycleDays).toMatchObject({ value: 15, n: 2 }); // J1 20, J4 10
    expect(r.comparison.direct.cycleDays).toMatchObject({ value: 30, n: 1 });
    expect(r.comparison.joint.avgWonDeal).toBeCloseTo((1100 + 700 + 4000) / 3, 6);
  });

  it('says the joint vs direct difference is not significant on seven deals', () => {
    expect(r.comparison.winRate.significant).toBe(false);
    expect(r.comparison.winRate.verdict).toMatch(/not significant.*n = 4 vs 2/);
    expect(r.comparison.cycleDays).toMatchObject({ significant: false, value: -15 });
    expect(r.comparison.cycleDays.verdict).toMatch(/too few won deals with dates to tell \(n = 2 vs 1/);
  });

  it('per partner: split share of revenue, each deal once, whole-deal average, ROPI from prorated costs', () => {
    const acme = r.partners.find((p) => p.partner === 'acme')!;
    expect(acme.metrics).toMatchObject({ closed: 3, won: 2, lost: 1, created: 3 });
    expect(acme.attributedRevenue).toBeCloseTo(2660, 6);
    expect(acme.metrics.avgWonDeal).toBeCloseTo((1100 + 4000) / 2, 6);
    expect(acme.metrics.cycleDays.value).toBe(15);
    expect(acme.cost).toBeCloseTo(1200 * 3 / 12, 6); // 2025-01..2025-03 = 3 months of 1200 a year
    expect(acme.ropi).toBeCloseTo((2660 * 0.5 - 300) / 300, 9);
    const globex = r.partners.find((p) => p.partner === 'globex')!;
    expect(globex.metrics).toMatchObject({ closed: 3, won: 3 });
    expect(globex.attributedRevenue).toBeCloseTo(440 + 700 + 1000, 6);
    expect(globex.ropi).toBeNull(); // no cost configured
    const sum = r.partners.reduce((s, p) => s + p.attributedRevenue, 0);
    expect(sum).toBeCloseTo(r.totals.jointRevenue, 6);
  });

  it('registrations and review-SLA compliance', () => {
    expect(r.registrations).toMatchObject({ submitted: 5, approved: 3, rejected: 1, pending: 1, reviewed: 3, onTime: 1 });
    expect(r.partners.find((p) => p.partner === 'acme')!.registrations).toMatchObject({ submitted: 3, reviewed: 2, onTime: 1 });
    expect(r.registrations.compliance.value).toBeCloseTo(1 / 3, 9);
  });

  it('tier recommendations: current, earned, what is missing', () => {
    const t = (p: string) => r.partners.find((x) => x.partner === p)!.tierRecommendation!;
    expect(t('acme')).toEqual({ current: 'silver', earned: 'gold', change: 'promote' });
    expect(t('globex')).toEqual({ current: 'gold', earned: 'silver', change: 'demote', next: { tier: 'gold', missing: [{ criterion: 'sourcedRevenue', required: 2000, actual: 0 }] } });
    expect(t('initech')).toMatchObject({ current: 'registered', earned: 'silver', change: 'promote' });
  });

  it('breakdowns by partners on deal, quarter, role and tier', () => {
    const b = computeReport(cellsOf(RECORDS), [], options({ by: 'partners-on-deal' })).by!.rows;
    expect(b.map((x) => [x.key, x.metrics.closed, x.metrics.won])).toEqual([['0', 2, 1], ['1', 2, 1], ['2', 1, 1], ['3', 1, 1]]);
    const q = computeReport(cellsOf(RECORDS), [], options({ by: 'quarter' })).by!.rows;
    expect(q.map((x) => [x.key, x.metrics.won])).toEqual([['', 1], ['2025-Q1', 3]]);
    const roles = computeReport(cellsOf(RECORDS), [], options({ by: 'role' })).by!.rows;
    expect(Object.fromEntries(roles.map((x) => [x.key, Math.round(x.metrics.revenue)]))).toEqual({ sourcing: 2660, influence: 440 + 700, services: 1000, reseller: 1000 });
    const tiers = computeReport(cellsOf(RECORDS), [], options({ by: 'tier' })).by!.rows;
    expect(Object.fromEntries(tiers.map((x) => [x.key, Math.round(x.metrics.revenue)]))).toEqual({ gold: 2140, silver: 2660, registered: 1000 });
  });

  it('a bounded period leaves the undated deal out, and one partner shows only its deals', () => {
    const b = computeReport(cellsOf(RECORDS), REGISTRATIONS, options({ from: '2025-01', to: '2025-03' }));
    expect(b.totals).toMatchObject({ closed: 5, won: 3 });
    expect(b.notes.join(' ')).toMatch(/left out/);
    const feb = computeReport(cellsOf(RECORDS), [], options({ from: '2025-02', to: '2025-02' }));
    expect(feb.totals).toMatchObject({ created: 3, closed: 1, won: 0, lost: 1 }); // D3, J2, J3 created; D2 closed (lost)
    const acme = computeReport(cellsOf(RECORDS), REGISTRATIONS, options({ partner: 'acme' }));
    expect(acme.partners.map((p) => p.partner)).toEqual(['acme']);
    expect(acme.totals.revenue).toBeCloseTo(2660, 6);
    expect(acme.registrations.submitted).toBe(3);
  });

  it('refuses a currency the policy has no rate for, naming it and the fix', () => {
    try {
      computeReport(cellsOf([opp('X', { ...won, Amount: 1, CurrencyIsoCode: 'JPY', CreatedDate: '2025-01-01', CloseDate: '2025-01-02' })]), [], options({ policyFile: 'roe.yaml' }));
      expect.unreachable();
    } catch (e) {
      expect(isCosellError(e, 'COSELL_ANALYTICS_CURRENCY')).toBe(true);
      expect((e as Error).message).toMatch(/JPY.*roe\.yaml/);
    }
  });
});

describe('statistics', () => {
  it('Wilson, Newcombe and a seeded bootstrap', () => {
    expect(wilson(0, 0).value).toBeNull();
    const w = wilson(81, 263); // a textbook case: [0.2553, 0.3662]
    expect(w.low).toBeCloseTo(0.2553, 3);
    expect(w.high).toBeCloseTo(0.3662, 3);
    // Newcombe (1998) example: 56/70 vs 48/80 → difference 0.2, 95 % CI [0.0524, 0.3339]
    const d = rateDifference(wilson(56, 70), wilson(48, 80));
    expect(d.low).toBeCloseTo(0.0524, 3);
    expect(d.high).toBeCloseTo(0.3339, 3);
    expect(d.significant).toBe(true);
    const h: Array<[number, number]> = [[10, 40], [20, 40], [60, 20]];
    const a = bootstrapMean(h, { seed: 5 });
    expect(a).toEqual(bootstrapMean(h, { seed: 5 }));
    expect(a.value).toBe(24);
    expect(a.low).toBeLessThan(24);
    expect(a.high).toBeGreaterThan(24);
    // sd ≈ 17.4, se ≈ 1.94: the 95 % interval is about ±3.8 days.
    expect(a.high - a.low).toBeGreaterThan(5.5);
    expect(a.high - a.low).toBeLessThan(9.5);
  });
});
