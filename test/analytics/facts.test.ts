import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateCents, factCells, opportunityFact, parseAttribution, partnersBucket } from '../../analytics/facts.js';

const rec = (fields: Record<string, string | number | boolean | null>, id = '006A') => ({ id, modifiedAt: '2026-06-01T00:00:00.000Z', fields });

describe('opportunity facts', () => {
  it('reads status, dates, cycle, currency and the attribution the registration gate writes', () => {
    const f = opportunityFact(rec({ Name: 'Big', StageName: 'Closed Won', IsClosed: true, IsWon: true, Amount: 1000, CreatedDate: '2026-01-01T10:00:00.000Z', CloseDate: '2026-03-02', CurrencyIsoCode: 'eur', Partner_Attribution__c: 'globex:influence:40;acme:Sourcing:60;bad;acme:sourcing:10' }), { defaultCurrency: 'USD', currencyField: 'CurrencyIsoCode' });
    expect(f).toMatchObject({ status: 'won', amountCents: 100_000, currency: 'EUR', createdOn: '2026-01-01', closedOn: '2026-03-02', cycleDays: 60 });
    // Sorted by partner; the duplicate acme/sourcing is counted once (the first).
    expect(f.partners).toEqual([{ partner: 'acme', role: 'sourcing', split: 60, cents: 60_000 }, { partner: 'globex', role: 'influence', split: 40, cents: 40_000 }]);
    expect(partnersBucket(f)).toBe(2);
  });

  it('a closed deal without a close date has no period and no cycle; an open deal never has a close date', () => {
    expect(opportunityFact(rec({ IsClosed: true, IsWon: true, Amount: 5, CreatedDate: '2026-01-01' }), { defaultCurrency: 'USD' })).toMatchObject({ status: 'won', closedOn: null, cycleDays: null });
    expect(opportunityFact(rec({ IsClosed: false, Amount: null, CloseDate: '2026-12-01' }), { defaultCurrency: 'USD' })).toMatchObject({ status: 'open', closedOn: null, amountCents: 0, currency: 'USD' });
  });

  it('without attribution fields: the registered partner, else a registration naming the opportunity', () => {
    expect(opportunityFact(rec({ Registered_Partner_Id__c: 'initech', Partner_Role__c: 'Reseller', Amount: 10 }), { defaultCurrency: 'USD' }).partners).toEqual([{ partner: 'initech', role: 'reseller', split: 100, cents: 1000 }]);
    const f = opportunityFact(rec({ Amount: 10 }), { defaultCurrency: 'USD', registrationOf: (id) => (id === '006A' ? { id: 'acme:1', partner: 'acme' } : undefined) });
    expect(f).toMatchObject({ registrationId: 'acme:1', partners: [{ partner: 'acme', role: 'sourcing', split: 100, cents: 1000 }] });
    expect(opportunityFact(rec({ Amount: 10 }), { defaultCurrency: 'USD' }).partners).toEqual([]);
  });

  it('parses attribution text defensively', () => {
    expect(parseAttribution('a:sourcing:33.33;b:services:33.33;c:influence:33.34')).toHaveLength(3);
    expect(parseAttribution('a:unknownrole:50;b:services:-1;c:services:x;:services:5')).toEqual([]);
  });

  it('allocates cents exactly: integer parts that sum to the total, proportional within one cent (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 6 }), (total, weights) => {
        const parts = allocateCents(total, weights);
        expect(parts.every(Number.isInteger)).toBe(true);
        expect(parts.reduce((s, p) => s + p, 0)).toBe(total);
        const sum = weights.some((w) => w > 0) ? weights.reduce((s, w) => s + w, 0) : weights.length;
        parts.forEach((p, i) => expect(Math.abs(p - (total * (weights.some((w) => w > 0) ? weights[i]! : 1)) / sum)).toBeLessThan(1 + 1e-6));
      }),
    );
  });

  it("a deal's partner cells sum to its deal cell, and each partner counts the deal once", () => {
    const f = opportunityFact(rec({ IsClosed: true, IsWon: true, Amount: 999.99, CreatedDate: '2026-01-01', CloseDate: '2026-01-31', Partner_Attribution__c: 'a:sourcing:33.33;a:services:33.33;b:influence:33.34' }), { defaultCurrency: 'USD' });
    const closed = factCells(f).filter((c) => c.kind === 'closed');
    const deal = closed.find((c) => c.partner === '')!;
    const parts = closed.filter((c) => c.partner !== '');
    expect(parts.reduce((s, c) => s + c.cents, 0)).toBe(deal.cents);
    expect(parts.reduce((s, c) => s + c.partnerDeals, 0)).toBe(2);
    expect(parts.filter((c) => c.partner === 'a').reduce((s, c) => s + c.cycleN, 0)).toBe(1);
    expect(factCells(f).filter((c) => c.kind === 'cycle')).toEqual([expect.objectContaining({ cycleDays: 30, deals: 1, bucket: 2 })]);
  });
});
