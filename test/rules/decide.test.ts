import { describe, expect, it } from 'vitest';
import { decide } from '../../rules/decide.js';
import { demoIndex, demoNetworkPartners, demoPolicy, partners, registration } from './fixtures.js';

const policy = demoPolicy();
const P = partners(policy);

describe('decide: one rule at a time (demo policy examples/roe.yaml)', () => {
  it('auto-approves a gold partner deal within its limit, in territory, for a new customer', () => {
    const d = decide(registration(), demoIndex(), policy, P.acme);
    expect(d.outcome).toBe('approved');
    expect(d.ruleId).toBe('tier-auto-approval');
    expect(d.reason).toMatch(/within the gold auto-approval limit of 100,000 USD/);
    expect(d.matches).toEqual([]);
    expect(d.checks.every((c) => c.passed)).toBe(true);
    expect(d.checks.map((c) => c.ruleId)).toEqual([
      'required-fields', 'currency', 'min-deal-size', 'named-account', 'vendor-opportunity', 'first-to-register', 'territory', 'vendor-account', 'close-date', 'tier-auto-approval',
    ]);
  });

  it('sends a deal above the tier limit to review (silver ≤ 25,000)', () => {
    const d = decide(registration({ partnerId: 'globex', id: 'globex:1', country: 'DE', amount: 30_000, currency: 'USD' }), demoIndex(), policy, P.globex);
    expect(d.outcome).toBe('review');
    expect(d.ruleId).toBe('tier-auto-approval');
    expect(d.reason).toMatch(/above the silver auto-approval limit of 25,000 USD/);
  });

  it('converts currencies before comparing (EUR 20,000 = USD 21,600 ≤ silver 25,000)', () => {
    const d = decide(registration({ partnerId: 'globex', id: 'globex:2', country: 'FR', amount: 20_000, currency: 'EUR' }), demoIndex(), policy, P.globex);
    expect(d.outcome).toBe('approved');
    expect(d.customer.amount).toBe(21_600);
  });

  it('reviews an amount in a currency the policy has no rate for', () => {
    const d = decide(registration({ amount: 20_000, currency: 'JPY' }), demoIndex(), policy, P.acme);
    expect(d.outcome).toBe('review');
    expect(d.ruleId).toBe('currency');
  });

  it('always reviews a registered-tier reseller (auto-approval limit 0)', () => {
    const d = decide(registration({ partnerId: 'initech', id: 'initech:1', amount: 6_000 }), demoIndex(), policy, P.initech);
    expect(d.outcome).toBe('review');
    expect(d.ruleId).toBe('tier-auto-approval');
    expect(d.reason).toMatch(/registered auto-approval limit of 0 USD/);
  });

  it('rejects a deal below the minimum deal size', () => {
    const d = decide(registration({ amount: 4_999 }), demoIndex(), policy, P.acme);
    expect(d.outcome).toBe('rejected');
    expect(d.ruleId).toBe('min-deal-size');
    expect(d.reason).toBe('amount 4,999 USD is below the minimum deal size of 5,000 USD');
  });

  it('rejects a registration missing required fields, listing them', () => {
    const d = decide(registration({ website: null, contactEmail: 'someone@gmail.com', amount: null, closeDate: '' }), demoIndex(), policy, P.acme);
    expect(d.outcome).toBe('rejected');
    expect(d.ruleId).toBe('required-fields');
    expect(d.reason).toBe('missing required fields: domain, amount, closeDate');
  });

  it('takes the domain from the contact e-mail when there is no website', () => {
    const d = decide(registration({ website: null, contactEmail: 'cfo@mail.piedpiper.com', customerName: 'PP' }), demoIndex(), policy, P.acme);
    expect(d.matches).toEqual([expect.objectContaining({ kind: 'vendor-account', id: '001B', matchedOn: 'domain', score: 1 })]);
    expect(d.outcome).toBe('approved'); // existing customer without open opportunity: allowed by the demo policy
    expect(d.checks.find((c) => c.ruleId === 'vendor-account')?.detail).toMatch(/existing vendor account 001B \(allowed by policy\)/);
  });

  it('rejects a duplicate of a vendor opportunity (domain match), naming it', () => {
    const d = decide(registration({ customerName: 'Hooli', website: 'http://hooli.com/about' }), demoIndex(), policy, P.acme);
    expect(d.outcome).toBe('rejected');
    expect(d.ruleId).toBe('vendor-opportunity');
    expect(d.reason).toContain('open opportunity 006H "Hooli platform" at account 001A "Hooli Inc."');
    expect(d.matches.map((m) => [m.kind, m.id])).toEqual([['vendor-opportunity', '006H'], ['vendor-account', '001A']]);
  });

  it('finds the vendor opportunity by company name when the domain is unknown', () => {
    const d = decide(registration({ customerName: 'Dunder-Mifflin Paper Co.', website: null, contactEmail: null }), demoIndex(), demoPolicy((y) => y.replace('fields: [customerName, domain, amount, closeDate]', 'fields: [customerName]')), P.acme);
    expect(d.outcome).toBe('rejected');
    expect(d.ruleId).toBe('vendor-opportunity');
    expect(d.matches[0]).toMatchObject({ kind: 'vendor-opportunity', id: '001D', matchedOn: 'name' });
    expect(d.matches[0]!.score).toBeGreaterThanOrEqual(0.9);
  });

  it('does not match on a similar name when both domains are known and differ', () => {
    const d = decide(registration({ customerName: 'Hooli', website: 'hooli.io' }), demoIndex(), policy, P.acme);
    expect(d.matches).toEqual([]);
    expect(d.outcome).toBe('approved');
  });

  it('honours product overlap when the policy asks for it', () => {
    const withOverlap = demoPolicy((y) => y.replace('productOverlap: false', 'productOverlap: true'));
    const other = decide(registration({ website: 'hooli.com', products: ['analytics'] }), demoIndex(), withOverlap, P.acme);
    expect(other.outcome).toBe('approved');
    expect(other.checks.find((c) => c.ruleId === 'vendor-opportunity')?.detail).toMatch(/without product overlap: 006H/);
    const same = decide(registration({ website: 'hooli.com', products: ['Platform'] }), demoIndex(), withOverlap, P.acme);
    expect(same.ruleId).toBe('vendor-opportunity');
  });

  it('conflict between two partners: the later one is rejected naming the earlier', () => {
    const index = demoIndex();
    index.upsertRegistration({ id: 'globex:7', partnerId: 'globex', customerName: 'Initrode GmbH', website: 'www.initrode.com', registeredAt: '2026-11-19T08:00:00.000Z', status: 'approved' });
    const d = decide(registration({ submittedAt: '2026-11-20T10:00:00.000Z' }), index, policy, P.acme);
    expect(d.outcome).toBe('rejected');
    expect(d.ruleId).toBe('first-to-register');
    expect(d.reason).toBe('"Initrode GmbH" was registered first by globex at 2026-11-19T08:00:00.000Z (registration globex:7, approved; matched on domain)');
    expect(d.matches).toEqual([expect.objectContaining({ kind: 'registration', id: 'globex:7', partnerId: 'globex' })]);
  });

  it('the earlier registration is not blocked by a later one, nor by the same partner', () => {
    const index = demoIndex();
    index.upsertRegistration({ id: 'globex:8', partnerId: 'globex', customerName: 'Initrode', website: 'initrode.com', registeredAt: '2026-11-21T08:00:00.000Z', status: 'pending-review' });
    index.upsertRegistration({ id: 'acme:1', partnerId: 'acme', customerName: 'Initrode', website: 'initrode.com', registeredAt: '2026-11-01T08:00:00.000Z', status: 'approved' });
    const d = decide(registration({ submittedAt: '2026-11-20T10:00:00.000Z' }), index, policy, P.acme);
    expect(d.outcome).toBe('approved');
  });

  it('sends a conflict to review when the policy says review', () => {
    const index = demoIndex();
    index.upsertRegistration({ id: 'globex:9', partnerId: 'globex', customerName: 'Initrode', registeredAt: '2026-11-19T08:00:00.000Z', status: 'approved' });
    const reviewPolicy = demoPolicy((y) => y.replace('registrations: reject', 'registrations: review'));
    const d = decide(registration({ customerName: 'Initrode Inc.', website: null, contactEmail: 'x@initrode.com' }), index, reviewPolicy, P.acme);
    expect(d.outcome).toBe('review');
    expect(d.ruleId).toBe('first-to-register');
    expect(d.reason).toMatch(/registered first by globex/);
  });

  it('rejects a named account: by the vendor flag, by the list of domains, and by the list of names', () => {
    const byFlag = decide(registration({ customerName: 'Stark Industries', website: 'stark.com' }), demoIndex(), policy, P.acme);
    expect(byFlag).toMatchObject({ outcome: 'rejected', ruleId: 'named-account' });
    expect(byFlag.reason).toBe('reserved for the direct team: vendor account 001C "Stark Industries" is a named account owned by pepper');
    const byDomain = decide(registration({ customerName: 'BigBank', website: 'https://online.bigbank.com' }), demoIndex(), policy, P.acme);
    expect(byDomain.reason).toBe('reserved for the direct team: domain bigbank.com is on the named-account list');
    const byName = decide(registration({ customerName: 'Wayne Enterprises, Inc.', website: 'wayne-ent.com' }), demoIndex(), policy, P.acme);
    expect(byName).toMatchObject({ outcome: 'rejected', ruleId: 'named-account' });
    expect(byName.reason).toMatch(/name matches named account "wayne enterprises"/);
  });

  it('named account wins over every later rule (precedence)', () => {
    const d = decide(registration({ customerName: 'Stark', website: 'stark.com', country: 'JP', amount: 1_000_000 }), demoIndex(), policy, P.acme);
    expect(d.ruleId).toBe('named-account');
    const failed = d.checks.filter((c) => !c.passed).map((c) => c.ruleId);
    expect(failed).toEqual(['named-account', 'territory', 'tier-auto-approval']);
  });

  it('out of territory goes to review (policy default) or is rejected (partner override)', () => {
    const d = decide(registration({ country: 'DE' }), demoIndex(), policy, P.acme);
    expect(d).toMatchObject({ outcome: 'review', ruleId: 'territory' });
    expect(d.reason).toBe("DE is outside acme's territory (CA, US)");
    const i = decide(registration({ partnerId: 'initech', id: 'initech:2', country: 'CA' }), demoIndex(), policy, P.initech);
    expect(i).toMatchObject({ outcome: 'rejected', ruleId: 'territory' });
  });

  it('territory by region and segment', () => {
    const regional = policy;
    const globex = partners(regional, demoNetworkPartners((y) => y.replace('territories: { countries: [DE, FR, GB] }', 'territories: { regions: [EMEA], segments: [enterprise] }'))).globex;
    expect(decide(registration({ partnerId: 'globex', id: 'globex:3', country: 'NL', segment: 'Enterprise', amount: 10_000 }), demoIndex(), regional, globex).outcome).toBe('approved');
    const smb = decide(registration({ partnerId: 'globex', id: 'globex:4', country: 'NL', segment: 'smb', amount: 10_000 }), demoIndex(), regional, globex);
    expect(smb).toMatchObject({ outcome: 'review', ruleId: 'territory' });
    expect(smb.reason).toMatch(/segment smb is outside globex's segments \(enterprise\)/);
    const usa = decide(registration({ partnerId: 'globex', id: 'globex:5', country: 'usa', segment: 'enterprise', amount: 10_000 }), demoIndex(), regional, globex);
    expect(usa.reason).toMatch(/^US is outside globex's territory/);
  });

  it('reviews a registration without a country when the partner has a territory', () => {
    const d = decide(registration({ country: null }), demoIndex(), policy, P.acme);
    expect(d).toMatchObject({ outcome: 'review', ruleId: 'territory' });
    expect(d.reason).toMatch(/^no customer country/);
  });

  it('an existing vendor customer can be sent to review by policy', () => {
    const strict = demoPolicy((y) => y.replace('vendorAccounts: ignore', 'vendorAccounts: review'));
    const d = decide(registration({ customerName: 'Pied Piper Inc', website: 'piedpiper.com' }), demoIndex(), strict, P.acme);
    expect(d).toMatchObject({ outcome: 'review', ruleId: 'vendor-account' });
    expect(d.reason).toBe('existing vendor account: 001B "Pied Piper" (owner monica)');
  });

  it('checks required mapped fields (fields.<name>)', () => {
    const p = demoPolicy((y) => y.replace('fields: [customerName, domain, amount, closeDate]', 'fields: [customerName, fields.useCase]'));
    expect(decide(registration(), demoIndex(), p, P.acme).reason).toBe('missing required field: fields.useCase');
    expect(decide(registration({ fields: { useCase: 'migration' } }), demoIndex(), p, P.acme).outcome).toBe('approved');
  });

  it('follows index updates: a removed account no longer matches, an upsert replaces', () => {
    const index = demoIndex();
    const input = registration({ customerName: 'Hooli', website: 'hooli.com' });
    expect(decide(input, index, policy, P.acme).ruleId).toBe('vendor-opportunity');
    index.upsertAccount({ id: '001A', name: 'Hooli Inc.', domain: 'hooli.com', hasOpenOpportunity: false });
    expect(decide(input, index, policy, P.acme).outcome).toBe('approved');
    index.removeAccount('001A');
    expect(decide(input, index, policy, P.acme).matches).toEqual([]);
  });
});
