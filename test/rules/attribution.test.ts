import { describe, expect, it } from 'vitest';
import { defaultSplits, summarizeAttribution, validateAttribution } from '../../rules/attribution.js';
import { guardStage } from '../../rules/stageGuard.js';
import { demoPolicy, partners } from './fixtures.js';

const policy = demoPolicy();

describe('multi-partner attribution', () => {
  const threeWay = [
    { partnerId: 'acme', role: 'sourcing' as const, split: 60 },
    { partnerId: 'initech', role: 'reseller' as const, split: 25 },
    { partnerId: 'globex', role: 'influence' as const, split: 15 },
  ];

  it('accepts a three-partner deal whose splits sum to 100% and summarises sourced vs influenced', () => {
    expect(validateAttribution(threeWay, { policy, partners: Object.values(partners(policy)) })).toEqual([]);
    expect(summarizeAttribution(threeWay, policy)).toEqual({ type: 'sourced', sourcedBy: 'acme', influencedBy: ['globex', 'initech'], byPartner: { acme: 60, globex: 15, initech: 25 } });
  });

  it('rejects splits that do not sum to 100%, to two decimals', () => {
    expect(validateAttribution([{ partnerId: 'acme', role: 'sourcing', split: 60 }, { partnerId: 'globex', role: 'influence', split: 30 }])).toEqual(['attribution splits sum to 90%, not 100%']);
    expect(validateAttribution([{ partnerId: 'a', role: 'sourcing', split: 33.34 }, { partnerId: 'b', role: 'services', split: 33.33 }, { partnerId: 'c', role: 'influence', split: 33.33 }])).toEqual([]);
    expect(validateAttribution([{ partnerId: 'a', role: 'sourcing', split: 100.001 }])).toContain('a/sourcing: split 100.001 must be a percentage between 0 and 100');
  });

  it('rejects two sourcing partners, duplicates, and roles a partner may not hold', () => {
    const problems = validateAttribution(
      [
        { partnerId: 'acme', role: 'sourcing', split: 50 },
        { partnerId: 'globex', role: 'sourcing', split: 25 },
        { partnerId: 'initech', role: 'sourcing', split: 25 },
        { partnerId: 'initech', role: 'sourcing', split: 0 },
      ],
      { policy, partners: Object.values(partners(policy)) },
    );
    expect(problems).toEqual([
      'initech may not hold role sourcing (allowed: reseller)',
      'initech/sourcing is listed twice',
      'initech may not hold role sourcing (allowed: reseller)',
      'only one partner may source a deal; sourcing roles held by acme, globex, initech',
    ]);
    expect(validateAttribution([])).toEqual(['a deal needs at least one partner attribution']);
  });

  it('an influence-only deal is influenced', () => {
    expect(summarizeAttribution([{ partnerId: 'globex', role: 'influence', split: 100 }], policy)).toMatchObject({ type: 'influenced', sourcedBy: null, influencedBy: ['globex'] });
  });

  it('default splits follow the policy weights, sum to exactly 100 and do not depend on input order', () => {
    const a = defaultSplits([{ partnerId: 'acme', role: 'sourcing' }, { partnerId: 'initech', role: 'reseller' }, { partnerId: 'globex', role: 'influence' }], policy);
    expect(a).toEqual([
      { partnerId: 'acme', role: 'sourcing', split: 70.59 },
      { partnerId: 'globex', role: 'influence', split: 5.88 },
      { partnerId: 'initech', role: 'reseller', split: 23.53 },
    ]);
    expect(validateAttribution(a, { policy })).toEqual([]);
    const b = defaultSplits([{ partnerId: 'globex', role: 'influence' }, { partnerId: 'initech', role: 'reseller' }, { partnerId: 'acme', role: 'sourcing' }], policy);
    expect(b).toEqual(a);
    const thirds = defaultSplits([{ partnerId: 'a', role: 'services' }, { partnerId: 'b', role: 'services' }, { partnerId: 'c', role: 'services' }], policy);
    expect(thirds.map((t) => t.split)).toEqual([33.34, 33.33, 33.33]);
  });
});

describe('stage guard: partners cannot push the vendor pipeline beyond the policy cap', () => {
  it('writes a stage within the cap', () => {
    expect(guardStage(policy, { partnerStage: 'qualifiedtobuy', proposedVendorStage: 'Qualification', currentVendorStage: 'Prospecting' })).toMatchObject({ stage: 'Qualification', guarded: false });
  });

  it('caps a stage beyond what the partner stage may push', () => {
    expect(guardStage(policy, { partnerStage: 'contractsent', proposedVendorStage: 'Negotiation/Review', currentVendorStage: 'Qualification' })).toEqual({
      stage: 'Value Proposition',
      guarded: true,
      reason: 'partner stage "contractsent" may push the vendor stage at most to "Value Proposition" (wanted "Negotiation/Review")',
    });
    expect(guardStage(policy, { partnerStage: 'closedwon', proposedVendorStage: 'Closed Won' })).toMatchObject({ stage: 'Qualification', guarded: true });
  });

  it('never moves the vendor stage backwards, and leaves a vendor stage beyond the cap alone', () => {
    expect(guardStage(policy, { partnerStage: 'appointmentscheduled', proposedVendorStage: 'Prospecting', currentVendorStage: 'Negotiation/Review' })).toMatchObject({ stage: null, guarded: true });
    expect(guardStage(policy, { partnerStage: 'decisionmakerboughtin', proposedVendorStage: 'Closed Won', currentVendorStage: 'Proposal/Price Quote' })).toMatchObject({ stage: null, guarded: true });
  });

  it('does not write an unknown stage; without a guard everything passes', () => {
    expect(guardStage(policy, { partnerStage: 'x', proposedVendorStage: 'Made Up' })).toMatchObject({ stage: null, guarded: true });
    expect(guardStage({ stageGuard: undefined }, { partnerStage: 'x', proposedVendorStage: 'Closed Won' })).toMatchObject({ stage: 'Closed Won', guarded: false });
  });
});
