import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeOverlaps, computeOverlapsAsync, topOverlaps } from '../../overlaps/engine.js';
import { createKeyHasher, derivePartnershipKey, hmacHasher, plainHasher } from '../../overlaps/hashing.js';
import { hubspotPopulations, populationMask, salesforceOpportunityFacts, salesforcePopulations } from '../../overlaps/populations.js';
import { prepareSide } from '../../overlaps/side.js';
import { formatVendorField, parseVendorField, planPartnerWriteback, planVendorWriteback, withPartnerSegment } from '../../overlaps/writeback.js';
import { POPULATION_BIT, type Sharing, type SideAccount } from '../../overlaps/types.js';

const C = POPULATION_BIT.customers;
const O = POPULATION_BIT.opportunities;
const P = POPULATION_BIT.prospects;
const SECRET = 'test-secret-0123456789abcdef';
const hasher = createKeyHasher(SECRET, 'acme');
const sharing: Sharing = { vendor: ['customers', 'opportunities'], partner: ['customers', 'prospects'] };

// Messy on purpose: www., paths, subdomains, country TLDs, legal suffixes, case, punctuation.
const vendor: SideAccount[] = [
  { id: 'V1', name: 'Acme Corporation', domain: 'https://www.Acme.com/about', populations: C },
  { id: 'V2', name: 'Globex GmbH', domain: 'globex.de', populations: O | P },
  { id: 'V3', name: 'Initech Ltd', domain: 'http://eu.sales.INITECH.co.uk/', populations: O },
  { id: 'V4', name: 'Umbrella Corp', domain: 'umbrella.com', populations: P }, // vendor prospects are not shared
  { id: 'V5', name: 'Hooli, Inc.', domain: null, populations: C },
  { id: 'V6', name: 'Stark Industries', domain: 'stark.io', populations: C },
  { id: 'V7', name: 'Wayne Enterprises', domain: 'wayne.com', populations: C },
];
const partner: SideAccount[] = [
  { id: 'P1', name: 'ACME CORP.', domain: 'acme.com', populations: C },
  { id: 'P2', name: 'Globex', domain: 'WWW.GLOBEX.COM', populations: P },
  { id: 'P3', name: 'INITECH', domain: 'initech.co.uk', populations: C },
  { id: 'P4', name: 'Umbrella Corporation', domain: 'umbrella.com', populations: C },
  { id: 'P5', name: 'hooli', domain: '', populations: P },
  { id: 'P6', name: 'Wayne Enterprises Inc', domain: 'www.wayne.com', populations: O }, // partner opportunities are not shared
];

function pairsOf(result: ReturnType<typeof computeOverlaps>) {
  return result.overlaps.map((o) => `${o.vendorId}-${o.partnerId}:${o.matchedOn}:${o.pair}`).sort();
}

describe('overlap engine (pure)', () => {
  it('finds overlaps across www., subdomains, country TLDs, legal suffixes and case', () => {
    const result = computeOverlaps({ vendor, partner, sharing, hasher });
    expect(pairsOf(result)).toEqual([
      'V1-P1:domain:customer/customer',
      'V2-P2:domain-label:opportunity/prospect',
      'V3-P3:domain:opportunity/customer',
      'V5-P5:name:customer/prospect',
    ]);
    expect(result.stats.byPair).toEqual({ 'customer/customer': 1, 'opportunity/prospect': 1, 'opportunity/customer': 1, 'customer/prospect': 1 });
    expect(result.stats.vendorShared).toBe(6); // V4 (prospect only) never takes part
    expect(result.stats.partnerShared).toBe(5); // P6 (opportunity only) never takes part
  });

  it('the async form (yields between phases for heartbeats) gives the same result', async () => {
    const phases: string[] = [];
    const result = await computeOverlapsAsync({ vendor, partner, sharing, hasher }, (p) => phases.push(p));
    expect(pairsOf(result)).toEqual(pairsOf(computeOverlaps({ vendor, partner, sharing, hasher })));
    expect(phases).toEqual(['vendor-hashed', 'partner-hashed']);
  });

  it('never lets a record outside the shared populations take part, on either side', () => {
    const result = computeOverlaps({ vendor, partner, sharing, hasher });
    // Same company on both sides, but the vendor does not share prospects / the partner does not share opportunities.
    expect(result.overlaps.some((o) => o.vendorId === 'V4' || o.partnerId === 'P4')).toBe(false);
    expect(result.overlaps.some((o) => o.vendorId === 'V7' || o.partnerId === 'P6')).toBe(false);
    // So nothing is written about them on the other side either.
    const partnerPlan = planPartnerWriteback(partner, result.overlaps, 'cosell_vendor_relation');
    expect(partnerPlan.updates.map((u) => u.id).sort()).toEqual(['P1', 'P2', 'P3', 'P5']);
    const vendorPlan = planVendorWriteback(vendor, 'acme', result.overlaps, 'Partner_Overlaps__c');
    expect(vendorPlan.updates.map((u) => u.id).sort()).toEqual(['V1', 'V2', 'V3', 'V5']);
    // And the vendor's unshared prospect bit never reaches the partner: V2 is an opportunity AND a prospect,
    // but the vendor only shares opportunities, so the partner reads "opportunity".
    expect(partnerPlan.updates.find((u) => u.id === 'P2')?.fields).toEqual({ cosell_vendor_relation: 'opportunity' });
  });

  it('the hashed side the matcher sees holds no raw keys, no CRM ids and only shared population bits', () => {
    const prepared = prepareSide('vendor', vendor, populationMask(sharing.vendor), hasher);
    const { keyHash, keyKind, keyOwner, populations, size, keyCount } = prepared.hashed;
    expect(Object.keys(prepared.hashed).sort()).toEqual(['keyCount', 'keyHash', 'keyKind', 'keyOwner', 'populations', 'size']);
    const blob = JSON.stringify({ keyHash, keyKind: [...keyKind], keyOwner: [...keyOwner], populations: [...populations], size, keyCount });
    for (const word of ['acme', 'globex', 'initech', 'hooli', '.com', 'gmbh']) expect(blob.toLowerCase()).not.toContain(word);
    // Opaque ids are positions 0..size-1, not CRM ids.
    expect([...keyOwner].every((o) => o < size)).toBe(true);
    expect([...prepared.hashed.populations].every((m) => m !== 0 && (m & P) === 0)).toBe(true);
    expect(prepared.hashed.keyHash.every((h) => /^[A-Za-z0-9_-]{22}$/.test(h))).toBe(true);
  });

  it('writes when an overlap appears, keeps other partners, and clears when it ends', () => {
    const first = computeOverlaps({ vendor, partner, sharing, hasher });
    // Another partner's segment is already on V1 and V6.
    const vendorNow = vendor.map((a) => ({ ...a, current: a.id === 'V1' || a.id === 'V6' ? 'globex: customer' : null }));
    const plan1 = planVendorWriteback(vendorNow, 'acme', first.overlaps, 'F');
    expect(Object.fromEntries(plan1.updates.map((u) => [u.id, u.fields.F]))).toEqual({
      V1: 'acme: customer; globex: customer',
      V2: 'acme: prospect',
      V3: 'acme: customer',
      V5: 'acme: prospect',
    });
    // Apply, then the partner's ACME stops being shared (e.g. it became "other") and Initech's website changes.
    const applied = vendorNow.map((a) => ({ ...a, current: (plan1.updates.find((u) => u.id === a.id)?.fields.F as string | undefined) ?? a.current }));
    const partnerNext = partner.map((p) => (p.id === 'P1' ? { ...p, populations: 0 } : p.id === 'P3' ? { ...p, name: 'Initrode', domain: 'initrode.com' } : p));
    const second = computeOverlaps({ vendor: applied, partner: partnerNext, sharing, hasher });
    const plan2 = planVendorWriteback(applied, 'acme', second.overlaps, 'F');
    expect(Object.fromEntries(plan2.updates.map((u) => [u.id, u.fields.F]))).toEqual({ V1: 'globex: customer', V3: null });
    expect(plan2).toMatchObject({ set: 0, cleared: 2 });
    // A third run with everything applied writes nothing (no API calls for unchanged overlaps).
    const applied2 = applied.map((a) => {
      const u = plan2.updates.find((x) => x.id === a.id);
      return u ? { ...a, current: u.fields.F as string | null } : a;
    });
    expect(planVendorWriteback(applied2, 'acme', second.overlaps, 'F').updates).toEqual([]);

    const partnerApplied = partnerNext.map((p) => ({ ...p, current: ['P1', 'P3'].includes(p.id) ? 'customer' : null }));
    const partnerPlan = planPartnerWriteback(partnerApplied, second.overlaps, 'G');
    expect(partnerPlan.updates.filter((u) => u.fields.G === null).map((u) => u.id).sort()).toEqual(['P1', 'P3']);
  });

  it('keys the hashes per partnership: the same domain hashes differently for two partners', () => {
    const acme = createKeyHasher(SECRET, 'acme');
    const globex = createKeyHasher(SECRET, 'globex');
    expect(acme('d:acme.com')).not.toBe(globex('d:acme.com'));
    expect(acme('d:acme.com')).toBe(createKeyHasher(SECRET, 'acme')('d:acme.com'));
    expect(createKeyHasher(`${SECRET}x`, 'acme')('d:acme.com')).not.toBe(acme('d:acme.com'));
    // Two sides hashing with different partnership keys find nothing in common.
    const v = prepareSide('vendor', vendor, 7, acme);
    const p = prepareSide('partner', partner, 7, globex);
    const shared = new Set(v.hashed.keyHash);
    expect(p.hashed.keyHash.some((h) => shared.has(h))).toBe(false);
    expect(() => createKeyHasher('short', 'acme')).toThrow(/shorter than 16/);
  });

  it('computes a real HMAC-SHA256 (RFC 2104), truncated to 128 bits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.string({ maxLength: 1500 }), (key, msg) => {
        const expected = createHmac('sha256', Buffer.from(key)).update(msg).digest().subarray(0, 16).toString('base64url');
        expect(hmacHasher(Buffer.from(key))(msg)).toBe(expected);
      }),
      { numRuns: 200 },
    );
    expect(derivePartnershipKey(SECRET, 'acme')).toHaveLength(32);
  });

  it('keyed matching finds exactly the pairs plain matching finds (hashing preserves equality)', () => {
    const names = ['Acme', 'Globex', 'Initech', 'Hooli', 'Umbrella', 'Stark', 'Wayne', 'Cyberdyne'];
    const tlds = ['com', 'de', 'co.uk', 'fr'];
    const account = fc.record({
      n: fc.constantFrom(...names),
      t: fc.constantFrom(...tlds),
      www: fc.boolean(),
      suffix: fc.constantFrom('', ' Inc.', ' GmbH', ' Ltd', ' S.A.'),
      pops: fc.integer({ min: 0, max: 7 }),
      upper: fc.boolean(),
    });
    const toAccount = (prefix: string) => (a: { n: string; t: string; www: boolean; suffix: string; pops: number; upper: boolean }, i: number): SideAccount => {
      const domain = `${a.www ? 'www.' : ''}${a.n.toLowerCase()}.${a.t}`;
      const name = `${a.n}${a.suffix}`;
      return { id: `${prefix}${i}`, name: a.upper ? name.toUpperCase() : name, domain: a.upper ? domain.toUpperCase() : domain, populations: a.pops };
    };
    fc.assert(
      fc.property(fc.array(account, { maxLength: 25 }), fc.array(account, { maxLength: 25 }), (vs, ps) => {
        const v = vs.map(toAccount('V'));
        const p = ps.map(toAccount('P'));
        const keyed = computeOverlaps({ vendor: v, partner: p, sharing, hasher });
        const plain = computeOverlaps({ vendor: v, partner: p, sharing, hasher: plainHasher });
        expect(pairsOf(keyed)).toEqual(pairsOf(plain));
      }),
      { numRuns: 100 },
    );
  });

  it('scores a domain match above a name match for the same populations, and orders the top list', () => {
    const v: SideAccount[] = [
      { id: 'A', name: 'Alpha Ltd', domain: 'alpha.com', populations: C },
      { id: 'B', name: 'Beta', domain: null, populations: C },
    ];
    const p: SideAccount[] = [
      { id: 'a', name: 'Alpha', domain: 'alpha.com', populations: C },
      { id: 'b', name: 'BETA GmbH', domain: 'beta-partner.com', populations: C },
    ];
    const { overlaps } = computeOverlaps({ vendor: v, partner: p, sharing, hasher });
    const byId = Object.fromEntries(overlaps.map((o) => [o.vendorId, o]));
    expect(byId.A.score).toBeGreaterThan(byId.B.score);
    expect(topOverlaps(overlaps, 1)[0].vendorId).toBe('A');
  });

  it('ignores ambiguous name keys shared by many partner records', () => {
    const v: SideAccount[] = [{ id: 'V', name: 'Delta', domain: null, populations: C }];
    const p: SideAccount[] = Array.from({ length: 8 }, (_, i) => ({ id: `p${i}`, name: 'Delta Inc', domain: `delta${i}.example.com`, populations: C }));
    expect(computeOverlaps({ vendor: v, partner: p, sharing, hasher }).overlaps).toHaveLength(0);
    expect(computeOverlaps({ vendor: v, partner: p.slice(0, 2), sharing, hasher }).overlaps).toHaveLength(2);
  });
});

describe('populations per CRM', () => {
  it('Salesforce: Type, won and open opportunities', () => {
    expect(salesforcePopulations({ Type: 'Customer - Direct' })).toBe(C);
    expect(salesforcePopulations({ Type: 'Prospect' })).toBe(P);
    expect(salesforcePopulations({ Type: null })).toBe(P);
    expect(salesforcePopulations({ Type: 'Prospect' }, { won: true, open: false })).toBe(C);
    expect(salesforcePopulations({ Type: 'Prospect' }, { won: false, open: true })).toBe(O | P);
    expect(salesforcePopulations({ Type: 'Customer - Channel' }, { won: true, open: true })).toBe(C | O);
    expect(salesforcePopulations({ Type: 'Channel Partner / Reseller' })).toBe(0);
    expect(salesforcePopulations({ Type: 'Other' })).toBe(0);
    const facts = salesforceOpportunityFacts([
      { id: 'o1', modifiedAt: '', fields: { AccountId: 'A', IsWon: true, IsClosed: true } },
      { id: 'o2', modifiedAt: '', fields: { AccountId: 'A', IsWon: false, IsClosed: false } },
      { id: 'o3', modifiedAt: '', fields: { AccountId: 'B', StageName: 'Closed Lost' } },
      { id: 'o4', modifiedAt: '', fields: { AccountId: null, IsClosed: false } },
    ]);
    expect(Object.fromEntries(facts)).toEqual({ A: { won: true, open: true }, B: { won: false, open: false } });
  });

  it('HubSpot: lifecycle stage and open deals', () => {
    expect(hubspotPopulations({ lifecyclestage: 'customer' })).toBe(C);
    expect(hubspotPopulations({ lifecyclestage: 'evangelist', hs_num_open_deals: '2' })).toBe(C | O);
    expect(hubspotPopulations({ lifecyclestage: 'opportunity' })).toBe(O | P);
    expect(hubspotPopulations({ lifecyclestage: 'lead' })).toBe(P);
    expect(hubspotPopulations({ lifecyclestage: 'salesqualifiedlead', hs_num_open_deals: '1' })).toBe(O | P);
    expect(hubspotPopulations({})).toBe(P);
    expect(hubspotPopulations({ lifecyclestage: 'other' })).toBe(0);
  });
});

describe('vendor overlap field', () => {
  it('parses, formats, sorts and truncates', () => {
    expect(formatVendorField(parseVendorField(' globex : prospect;acme: customer ;; junk'))).toBe('acme: customer; globex: prospect');
    expect(withPartnerSegment('acme: customer', 'acme', undefined)).toBeNull();
    expect(withPartnerSegment(null, 'zeta', 'opportunity')).toBe('zeta: opportunity');
    const many = new Map(Array.from({ length: 30 }, (_, i) => [`partner-${String(i).padStart(2, '0')}`, 'opportunity']));
    const text = formatVendorField(many)!;
    expect(text.length).toBeLessThanOrEqual(255);
    expect(text).toMatch(/; …\+\d+ more$/);
    // The truncation marker is not read back as a partner.
    expect([...parseVendorField(text).keys()].every((k) => k.startsWith('partner-'))).toBe(true);
  });
});
