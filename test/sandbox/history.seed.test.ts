import { describe, expect, it } from 'vitest';
import { parseAttribution } from '../../analytics/facts.js';
import { generateSeed } from '@cosell/sandbox';

/** The analytics history seed (SeedSpec.history): opt-in, deterministic, eight quarters of closed deals, direct and with 1–3 partners. */
describe('seed history', () => {
  const spec = { accounts: 50, opportunities: 10, history: { deals: 800, quarters: 8, partners: ['acme', 'globex', 'initech'] } };
  const now = Date.UTC(2026, 10, 1);
  const deals = [...generateSeed(spec, { orgId: 'vendor', role: 'vendor', networkSeed: 42, now }).history()];

  it('is off unless asked for, and the same every time', () => {
    expect([...generateSeed({ accounts: 5 }, { orgId: 'vendor', role: 'vendor' }).history()]).toEqual([]);
    expect([...generateSeed(spec, { orgId: 'vendor', role: 'vendor', networkSeed: 42, now }).history()]).toEqual(deals);
  });

  it('closes every deal within the quarters before now, after it was created; won and lost; 0–3 partners with splits summing to 100', () => {
    expect(deals).toHaveLength(800);
    const first = now - 8 * 91 * 86_400_000;
    for (const d of deals) {
      const close = Date.parse(d.closeDate);
      expect(close).toBeLessThan(now);
      expect(close).toBeGreaterThanOrEqual(first - 86_400_000);
      expect(d.createdAt).toBeLessThan(close);
      const parts = parseAttribution(d.attribution || null);
      expect(new Set(parts.map((p) => p.partner)).size).toBe(d.partners);
      if (parts.length) expect(parts.reduce((s, p) => s + p.split, 0)).toBe(100);
    }
    const byPartners = [0, 1, 2, 3].map((n) => deals.filter((d) => d.partners === n));
    for (const g of byPartners) expect(g.length).toBeGreaterThan(40);
    expect(deals.some((d) => d.won) && deals.some((d) => !d.won)).toBe(true);
    const quarters = new Set(deals.map((d) => `${d.closeDate.slice(0, 4)}-${Math.floor((Number(d.closeDate.slice(5, 7)) - 1) / 3)}`));
    expect(quarters.size).toBeGreaterThanOrEqual(8);
    // The pattern the report should find: more partners, more wins.
    const rate = (g: typeof deals) => g.filter((d) => d.won).length / g.length;
    expect(rate(byPartners[3]!)).toBeGreaterThan(rate(byPartners[0]!));
  });
});
