import { describe, expect, it } from 'vitest';
import { generateSeed, mapStage, SEED_STAGES } from '@cosell/sandbox';

/** The seed generator: deterministic, realistic, with deliberate vendor/partner overlaps, lazy at scale. */

describe('generateSeed', () => {
  it('is deterministic per (seed, org) and differs between orgs and seeds', () => {
    const a = generateSeed({ accounts: 50 }, { orgId: 'acme', networkSeed: 1 });
    const b = generateSeed({ accounts: 50 }, { orgId: 'acme', networkSeed: 1 });
    const c = generateSeed({ accounts: 50 }, { orgId: 'globex', networkSeed: 1 });
    const d = generateSeed({ accounts: 50 }, { orgId: 'acme', networkSeed: 2 });
    expect([...a.companies()]).toEqual([...b.companies()]);
    expect([...a.deals()]).toEqual([...b.deals()]);
    expect([...a.companies()].map((x) => x.name)).not.toEqual([...c.companies()].map((x) => x.name));
    expect([...a.companies()].map((x) => x.name)).not.toEqual([...d.companies()].map((x) => x.name));
  });

  it('produces realistic companies: legal suffixes, www./subdomain/country-TLD domains, countries, industries', () => {
    const s = generateSeed({ accounts: 400 }, { orgId: 'acme', role: 'partner', vendorAccounts: 300, networkSeed: 42 });
    const cs = [...s.companies()];
    expect(cs.some((c) => /\b(Inc\.|GmbH|Ltd|S\.A\.|B\.V\.|K\.K\.)/.test(c.name))).toBe(true);
    expect(cs.some((c) => c.domain.toLowerCase().startsWith('www.'))).toBe(true);
    expect(cs.some((c) => /\.(co\.uk|de|fr|com\.au|co\.jp)$/i.test(c.domain))).toBe(true);
    expect(cs.some((c) => /^(sales|shop|eu|us|corp|global|info)\./i.test(c.domain))).toBe(true);
    expect(new Set(cs.map((c) => c.country)).size).toBeGreaterThan(5);
    expect(new Set(cs.map((c) => c.industry)).size).toBeGreaterThan(10);
    expect(cs.every((c) => c.employees > 0 && c.annualRevenue > 0)).toBe(true);
  });

  it('overlaps partners with the vendor through messy variants, and says which (ground truth)', () => {
    const vendor = generateSeed({ accounts: 300 }, { orgId: 'vendor', role: 'vendor', networkSeed: 42 });
    const partner = generateSeed({ accounts: 200 }, { orgId: 'acme', role: 'partner', vendorAccounts: 300, networkSeed: 42 });
    const overlaps = Array.from({ length: 200 }, (_, i) => i).filter((i) => partner.overlapOf(i) >= 0);
    expect(overlaps.length).toBeGreaterThan(30);
    expect(overlaps.length).toBeLessThan(100);
    let differentSpelling = 0;
    for (const i of overlaps) {
      const p = partner.company(i);
      const v = vendor.company(partner.overlapOf(i));
      expect(p.canonicalKey).toBe(v.canonicalKey);
      const core = (d: string) => d.toLowerCase().replace(/^(www|sales|shop|eu|us|corp|global|info)\./, '').split('.')[0];
      expect(core(p.domain)).toBe(core(v.domain));
      if (p.name !== v.name || p.domain !== v.domain) differentSpelling++;
    }
    expect(differentSpelling).toBeGreaterThan(overlaps.length / 2);
    const others = Array.from({ length: 200 }, (_, i) => i).filter((i) => partner.overlapOf(i) < 0);
    const vendorKeys = new Set([...vendor.companies()].map((c) => c.canonicalKey));
    expect(others.every((i) => !vendorKeys.has(partner.company(i).canonicalKey))).toBe(true);
  });

  it('covers every neutral stage and maps onto any pipeline', () => {
    const s = generateSeed({ opportunities: 100 }, { orgId: 'vendor', role: 'vendor' });
    expect(new Set([...s.deals()].map((d) => d.stageIndex))).toEqual(new Set(SEED_STAGES.map((_, i) => i)));
    const hs = { open: ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent'], won: 'closedwon', lost: 'closedlost' };
    expect(SEED_STAGES.map((_, i) => mapStage(i, hs))).toEqual(['appointmentscheduled', 'appointmentscheduled', 'qualifiedtobuy', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost']);
    expect(s.deal(0).closeDate).toMatch(/^\d{4}-\d\d-\d\d$/);
  });

  it('is lazy: a 1,000,000-record spec costs nothing until records are read, and any index is O(1)', () => {
    const t0 = performance.now();
    const s = generateSeed({ accounts: 1_000_000, opportunities: 1_000_000 }, { orgId: 'big', role: 'vendor' });
    const last = s.company(999_999);
    const deal = s.deal(999_999);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(last.key).toBe('big-c-999999');
    expect(deal.companyIndex).toBeLessThan(1_000_000);
    expect(() => s.company(1_000_000)).toThrow(RangeError);
  });
});
