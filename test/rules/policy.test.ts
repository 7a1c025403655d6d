import { describe, expect, it } from 'vitest';
import { isCosellError } from '../../lib/errors.js';
import { formatProblem } from '../../lib/problems.js';
import { checkPartners, parsePolicy, partnerProfile, policyFromText } from '../../rules/policy.js';
import { demoNetworkPartners, demoPolicy } from './fixtures.js';

const problems = (text: string) => parsePolicy(text, 'roe.yaml').problems.map(formatProblem);

describe('policy file: the demo policy', () => {
  it('examples/roe.yaml is valid and compiles', () => {
    const p = demoPolicy();
    expect(p.lifecycle).toEqual({ reviewSlaMs: 48 * 3600_000, onTimeout: 'escalate', escalateTo: 'channel-ops', exclusivityMs: 90 * 86_400_000, extensionMs: 30 * 86_400_000, maxExtensions: 2, approvalLevels: [{ name: 'deal-desk above 250000 USD', above: 250_000, group: 'deal-desk', members: ['dana@contoso.example', 'lee@contoso.example'] }], disputeSlaMs: 72 * 3600_000, disputeEscalateTo: 'channel-ops' });
    expect([...p.tiers.keys()]).toEqual(['gold', 'silver', 'registered']);
    expect(partnerProfile(p, 'globex', demoNetworkPartners().globex)).toMatchObject({ tier: 'silver', territories: { countries: ['DE', 'FR', 'GB'] } });
    expect(partnerProfile(p, 'initech', demoNetworkPartners().initech)).toMatchObject({ tier: 'registered', territoryAction: 'reject' });
  });

  it('applies defaults for a minimal policy', () => {
    const p = policyFromText('version: 1\ntiers:\n  gold: { autoApproveUpTo: 100000 }\n', 'min.yaml');
    expect(p.matching).toMatchObject({ domain: true, nameThreshold: 0.9, onVendorOpportunity: 'reject', onRegistration: 'reject', onVendorAccount: 'ignore' });
    expect(p.lifecycle).toMatchObject({ reviewSlaMs: 48 * 3600_000, exclusivityMs: 90 * 86_400_000, extensionMs: 90 * 86_400_000, maxExtensions: 1, onTimeout: 'escalate' });
    expect(p.required.fields).toEqual(['customerName']);
  });
});

describe('policy file: every problem at once, with positions and fix hints (golden)', () => {
  it('reports schema and cross-reference problems together, sorted by position', () => {
    const text = [
      'version: 1',                                                    // 1
      'currency: usd',                                                 // 2
      'matchng: {}',                                                   // 3
      'tiers:',                                                        // 4
      '  gold: { autoApproveUpTo: "lots" }',                           // 5
      '  silver: { autoApproveUpTo: 25000 }',                          // 6
      'dealSize: { minimum: 10, acton: review }',                      // 7
      'review: { sla: 2 days, onTimeout: escalte }',                   // 8
      'partners:',                                                     // 9
      '  acme: { tier: gld, territories: { regions: [EMAE] } }',       // 10: who a partner is: the network file's
      '  globex: { tier: silver, territories: { countries: [DEU] } }', // 11
      'required: { fields: [customerNme, fields.useCase] }',           // 12
      'stageGuard: { vendorStages: [Open, Won], default: Opne, caps: { x: won } }', // 13
      'namedAccounts: { domains: [localhost] }',                       // 14
      'regions: { EMEA: [DE] }',                                       // 15
      '',
    ].join('\n');
    expect(problems(text)).toEqual([
      'roe.yaml:2:11: RULES_BAD_VALUE: currency: must be an ISO 4217 code such as USD or EUR',
      'roe.yaml:3:1: RULES_UNKNOWN_KEY: unknown key "matchng"\n    hint: did you mean "matching"?',
      'roe.yaml:5:28: RULES_TYPE: tiers.gold.autoApproveUpTo must be a number, not string "lots"',
      'roe.yaml:7:26: RULES_UNKNOWN_KEY: unknown key "acton" in dealSize\n    hint: did you mean "action"?',
      'roe.yaml:8:16: RULES_BAD_VALUE: review.sla: must be a duration like 48h, 90d, 30m or 10s',
      'roe.yaml:8:35: RULES_BAD_VALUE: review.onTimeout: "escalte" is not allowed\n    hint: did you mean "escalate"?',
      'roe.yaml:10:11: RULES_PARTNER_MOVED: partners.acme.tier: a partner\'s tier is set in the network file, not in the rules policy (one source of truth)\n    hint: delete it here and make sure the network file\'s partner "acme" has tier: gld',
      'roe.yaml:10:22: RULES_PARTNER_MOVED: partners.acme.territories: a partner\'s territories are set in the network file, not in the rules policy (one source of truth)\n    hint: delete it here and make sure the network file\'s partner "acme" has territories: { regions: [EMAE] }',
      'roe.yaml:11:13: RULES_PARTNER_MOVED: partners.globex.tier: a partner\'s tier is set in the network file, not in the rules policy (one source of truth)\n    hint: delete it here and make sure the network file\'s partner "globex" has tier: silver',
      'roe.yaml:11:27: RULES_PARTNER_MOVED: partners.globex.territories: a partner\'s territories are set in the network file, not in the rules policy (one source of truth)\n    hint: delete it here and make sure the network file\'s partner "globex" has territories: { countries: [DEU] }',
      'roe.yaml:12:22: RULES_UNKNOWN_FIELD: "customerNme" is not a registration field\n    hint: did you mean "customerName"?',
      'roe.yaml:13:51: RULES_UNKNOWN_STAGE: "Opne" is not one of stageGuard.vendorStages\n    hint: did you mean "Open"?',
      'roe.yaml:14:28: RULES_BAD_DOMAIN: "localhost" is not a company domain\n    hint: write a registrable domain such as bigbank.com',
    ]);
  });

  it('reports a missing required key and a wrong type of block', () => {
    expect(problems('version: 1\nmatching: [domain]\n')).toEqual([
      'roe.yaml:1:1: RULES_MISSING: tiers is required (record)\n    hint: add "tiers:"',
      'roe.yaml:2:11: RULES_TYPE: matching must be a mapping, not a list',
    ]);
  });

  it('lists the valid choices when nothing is close', () => {
    expect(problems('version: 1\ntiers: { gold: { autoApproveUpTo: 1 } }\nreview: { onTimeout: maybe }\n')).toEqual([
      'roe.yaml:3:22: RULES_BAD_VALUE: review.onTimeout: "maybe" is not allowed\n    hint: expected one of: approve, reject, escalate',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const out = problems('version: 1\ntiers:\n  gold: { autoApproveUpTo: 1\n');
    expect(out.length).toBeGreaterThan(0);
    expect(out[0]).toMatch(/^roe\.yaml:\d+:\d+: YAML_SYNTAX: /);
  });

  it('reports a duplicate key', () => {
    expect(problems('version: 1\ntiers: { gold: { autoApproveUpTo: 1 } }\ncurrency: USD\ncurrency: EUR\n')[0]).toMatch(/^roe\.yaml:4:1: YAML_SYNTAX: Map keys must be unique/);
  });

  it('policyFromText throws COSELL_RULES_INVALID with one line per problem (and its hint line)', () => {
    try {
      policyFromText('version: 2\ntiers: {}\n', 'x.yaml');
      expect.unreachable();
    } catch (e) {
      expect(isCosellError(e, 'COSELL_RULES_INVALID')).toBe(true);
      expect((e as Error).message.split('\n')).toEqual([
        'x.yaml:1:10: RULES_VERSION: unsupported policy version 2: this cosell reads policy version 1',
        '    hint: write version: 1 and the rules/README.md format, or upgrade cosell',
        'x.yaml:2:8: RULES_MISSING: tiers must define at least one partner tier',
        '    hint: e.g. gold: { autoApproveUpTo: 100000 }',
      ]);
    }
  });

  it('a partner\'s tier, territories, roles or CRM in the policy is an error saying where they go (the network file); territoryAction stays', () => {
    const text = 'version: 1\ntiers: { registered: { autoApproveUpTo: 0 } }\npartners:\n  initech: { crm: salesforce, roles: [reseller], territories: { countries: [US], action: reject } }\n  globex: { territoryAction: review }\n';
    expect(problems(text)).toEqual([
      'roe.yaml:4:14: RULES_PARTNER_MOVED: partners.initech.crm: a partner\'s CRM is set in the network file, not in the rules policy (one source of truth)\n    hint: delete it here and make sure the network file\'s partner "initech" has kind: salesforce',
      'roe.yaml:4:31: RULES_PARTNER_MOVED: partners.initech.roles: a partner\'s roles are set in the network file, not in the rules policy (one source of truth)\n    hint: delete it here and make sure the network file\'s partner "initech" has roles: [reseller]',
      'roe.yaml:4:50: RULES_PARTNER_MOVED: partners.initech.territories: a partner\'s territories are set in the network file, not in the rules policy (one source of truth)\n    hint: delete it here and make sure the network file\'s partner "initech" has territories: { countries: [US] }; keep the territory rule here as partners.initech.territoryAction: reject',
    ]);
    expect(problems('version: 1\ntiers: { registered: { autoApproveUpTo: 0 } }\npartners:\n  globex: { territoryAction: reject }\n')).toEqual([]);
    expect(() => policyFromText(text, 'roe.yaml')).toThrow(/RULES_PARTNER_MOVED/);
  });

  it('checks network-file partners against the policy tiers and regions', () => {
    const p = demoPolicy();
    expect(checkPartners(p, [{ id: 'acme', tier: 'gold' }, { id: 'hooli', tier: 'platinum', territories: { regions: ['NAM'] } }, { id: 'umbrella' }])).toEqual([
      'partner "hooli": tier "platinum" is not defined in examples/roe.yaml (expected one of: gold, silver, registered)',
      'partner "hooli": region "NAM" is not defined in examples/roe.yaml (did you mean "NA"?)',
      'partner "umbrella": no tier (set it in the network file)',
    ]);
    try {
      partnerProfile(p, 'hooli', { tier: 'glod' });
      expect.unreachable();
    } catch (e) {
      expect(isCosellError(e, 'COSELL_RULES_INVALID')).toBe(true);
      expect((e as { hint?: string }).hint).toBe('did you mean "gold"?');
    }
  });
});
