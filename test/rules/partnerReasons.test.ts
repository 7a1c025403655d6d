import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPartnerSafeReason, partnerSafeReason, PARTNER_SAFE_REDECISION_REASON, REGISTRATION_STATUSES, type RuleId } from '../../rules/index.js';

const RULES: RuleId[] = ['required-fields', 'min-deal-size', 'named-account', 'vendor-opportunity', 'first-to-register', 'territory', 'vendor-account', 'currency', 'close-date', 'tier-auto-approval'];

describe('partner-safe reasons', () => {
  it('whatever the internal reason says, the partner reads a fixed sentence that contains none of it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REGISTRATION_STATUSES),
        fc.option(fc.constantFrom(...RULES), { nil: undefined }),
        fc.option(fc.constantFrom('rules', 'cam@contoso.example', null), { nil: undefined }),
        // Internal reasons name other partners, registration ids, customers, vendor records and owners.
        fc.tuple(fc.constantFrom('globex', 'Globex Integrators', 'acme:300000017', '006XX0000012345AAA', 'Named Strategic Holdings', 'owner 005XX00000ABCDE'), fc.string({ maxLength: 40 })),
        (status, ruleId, decidedBy, [secret, noise]) => {
          const reason = `${noise} ${secret} ${noise}`;
          const out = partnerSafeReason(status, { ruleId, decidedBy, reason });
          expect(isPartnerSafeReason(out)).toBe(true);
          expect(out).not.toContain(secret);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a rules rejection says which kind of rule; a person\'s rejection and "already covered" rules say nothing more', () => {
    expect(partnerSafeReason('rejected', { ruleId: 'min-deal-size', decidedBy: 'rules' })).toBe('The deal is below the minimum size for registration.');
    expect(partnerSafeReason('rejected', { ruleId: 'territory', decidedBy: 'cam@contoso.example', reason: 'Germany is covered by Globex' })).toBe('The vendor did not accept the registration.');
    const covered = new Set((['named-account', 'vendor-opportunity', 'vendor-account', 'first-to-register'] as RuleId[]).map((ruleId) => partnerSafeReason('rejected', { ruleId })));
    expect([...covered]).toEqual(['The customer is already covered; the registration cannot be accepted.']);
  });

  it('keeps the catalogue sentences of a re-decision as they are', () => {
    for (const r of Object.values(PARTNER_SAFE_REDECISION_REASON)) expect(partnerSafeReason('pending-review', { reason: r })).toBe(r);
  });
});
