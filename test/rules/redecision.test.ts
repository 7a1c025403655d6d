import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bestAccount, recordDomains } from '../../rules/accountIndex.js';
import { decide } from '../../rules/decide.js';
import { applyCheck, decideReview, OUTCOME_RANK, PARTNER_SAFE_REDECISION_REASON, redecide, standing, submit, type RegistrationState } from '../../rules/lifecycle.js';
import { parsePolicy } from '../../rules/policy.js';
import { decisionFacts, materialChanges, type DecisionFacts } from '../../rules/redecision.js';
import type { RegistrationInput } from '../../rules/types.js';
import { normalizeCompanyName } from '../../lib/normalize.js';
import { demoIndex, demoPolicy, partners, registration } from './fixtures.js';

/**
 * Re-decision on material changes (rules/redecision.ts + `redecide` in rules/lifecycle.ts), driven the
 * way the registration gate drives it: facts of the deal as it is now, compared with what the last
 * decision was made on; a material difference re-runs decide() and takes the lifecycle transition.
 */

const policy = demoPolicy();
const P = partners(policy);
const index = demoIndex();
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const ctx = (submittedAt: string) => ({ policy, autoApproveUpTo: policy.tiers.get('gold')!.autoApproveUpTo, submittedAt });

function facts(input: RegistrationInput): DecisionFacts {
  const opts = { nameThreshold: policy.matching.nameThreshold, requireDomainAgreement: policy.matching.requireDomainAgreement, useDomains: policy.matching.domain };
  const hit = bestAccount(index.findAccounts({ domains: recordDomains(input.website, input.contactEmail), name: normalizeCompanyName(input.customerName) }, opts));
  return decisionFacts(input, hit?.record.id ?? null, policy);
}

/** A registration decided by the rules (the workflow's first transition). */
function decided(input: RegistrationInput): RegistrationState {
  const t = applyCheck(submit({ id: input.id, partnerId: input.partnerId, submittedAt: input.submittedAt, amount: input.amount }, T0), decide(input, index, policy, P.acme), policy.lifecycle, T0);
  if (!t.ok) throw new Error(t.error.message);
  return t.state;
}

/** One step of the gate: re-decide when the deal changed materially since `decidedOn`. */
function step(state: RegistrationState, decidedOn: DecisionFacts, input: RegistrationInput, now: number): { state: RegistrationState; decidedOn: DecisionFacts; redecided: boolean } {
  const after = facts(input);
  const changes = materialChanges(decidedOn, after, ctx(input.submittedAt));
  if (!changes.length || standing(state.status) === null || state.status === 'rejected') return { state, decidedOn, redecided: false };
  const d = decide(input, index, policy, P.acme);
  const t = redecide(state, { decision: d, before: decidedOn, after, changes }, policy.lifecycle, now);
  if (!t.ok) throw new Error(t.error.message);
  return { state: t.state, decidedOn: after, redecided: true };
}

describe('material changes', () => {
  const base = registration({ amount: 5_000 });
  it('a raise past the tier limit is material, one within it is not', () => {
    expect(materialChanges(facts(base), facts({ ...base, amount: 90_000 }), ctx(base.submittedAt))).toEqual([]);
    expect(materialChanges(facts(base), facts({ ...base, amount: 1_250_000 }), ctx(base.submittedAt))).toEqual(['amount']);
  });
  it('above the limit, a raise of more than amountIncreasePercent (10%) over the decided amount is material', () => {
    const big = { ...base, amount: 150_000 };
    expect(materialChanges(facts(big), facts({ ...big, amount: 160_000 }), ctx(base.submittedAt))).toEqual([]);
    expect(materialChanges(facts(big), facts({ ...big, amount: 170_000 }), ctx(base.submittedAt))).toEqual(['amount']);
  });
  it('another customer, another vendor account, a close date pushed far out', () => {
    expect(materialChanges(facts(base), facts({ ...base, customerName: 'Stark Industries', website: 'stark.com' }), ctx(base.submittedAt))).toEqual(['customer']);
    const atPied = { ...base, customerName: 'Pied Piper', website: 'piedpiper.com' };
    expect(materialChanges(facts(atPied), facts({ ...base, customerName: 'Hooli', website: 'hooli.com' }), ctx(base.submittedAt))).toEqual(['customer', 'account']);
    expect(materialChanges(facts(base), facts({ ...base, closeDate: '2027-06-30' }), ctx(base.submittedAt))).toEqual([]);
    expect(materialChanges(facts(base), facts({ ...base, closeDate: '2028-06-30' }), ctx(base.submittedAt))).toEqual(['close-date']);
  });
});

describe('redecide (lifecycle)', () => {
  it('auto-approved at 5,000 then raised 250×: back to review, exclusivity cancelled, the partner told a neutral reason, audited with before/after and the rule', () => {
    const input = registration({ amount: 5_000 });
    const state = decided(input);
    expect(state.status).toBe('auto-approved');
    const raised = { ...input, amount: 1_250_000 };
    const d = decide(raised, index, policy, P.acme);
    const t = redecide(state, { decision: d, before: facts(input), after: facts(raised), changes: ['amount'] }, policy.lifecycle, T0 + 1000);
    if (!t.ok) throw new Error(t.error.message);
    expect(t.state).toMatchObject({ status: 'pending-review', expiresAt: undefined, decidedOn: { amount: 1_250_000 } });
    expect(t.effects).toContainEqual({ type: 'cancel-timer', timer: 'exclusivity' });
    expect(t.effects).toContainEqual({ type: 'vendor-pipeline', mode: 'held' });
    expect(t.effects).toContainEqual({ type: 'write-back', status: 'pending-review', reason: PARTNER_SAFE_REDECISION_REASON.review });
    const audit = t.effects.find((e) => e.type === 'audit' && e.event === 'registration.redecided');
    expect(audit).toMatchObject({ detail: { from: 'auto-approved', to: 'pending-review', ruleId: 'tier-auto-approval', before: { amount: 5_000 }, after: { amount: 1_250_000 } } });
  });

  it('a person approved it above the limit; a raise past the tolerance sends it back to review', () => {
    const input = registration({ amount: 150_000 });
    let state = decided(input);
    expect(state.status).toBe('pending-review');
    const ok = decideReview(state, { action: 'approve', by: 'cam', reason: 'strategic' }, policy.lifecycle, T0 + 1);
    if (!ok.ok) throw new Error(ok.error.message);
    state = ok.state;
    let decidedOn = facts(input);
    ({ state, decidedOn } = step(state, decidedOn, { ...input, amount: 160_000 }, T0 + 2));
    expect(state.status).toBe('approved');
    ({ state } = step(state, decidedOn, { ...input, amount: 1_250_000 }, T0 + 3));
    expect(state.status).toBe('pending-review');
  });

  it('never loosens, and refuses a registration that is over', () => {
    const state = decided(registration({ amount: 150_000 }));
    const t = redecide(state, { decision: { outcome: 'approved', ruleId: 'tier-auto-approval', reason: 'ok' }, before: null, after: facts(registration()), changes: ['amount'] }, policy.lifecycle, T0);
    expect(t.ok && t.state.status).toBe('pending-review');
    const rejected = decided(registration({ amount: 10 }));
    expect(rejected.status).toBe('rejected');
    expect(redecide(rejected, { decision: { outcome: 'review', ruleId: 'tier-auto-approval', reason: 'x' }, before: null, after: facts(registration()), changes: ['amount'] }, policy.lifecycle, T0).ok).toBe(false);
  });
});

// ---------- the property ----------

const CUSTOMERS = [
  { customerName: 'Initrode Global', website: 'initrode.com', country: 'US' }, // new customer
  { customerName: 'Pied Piper', website: 'piedpiper.com', country: 'US' }, // existing account (allowed)
  { customerName: 'Stark Industries', website: 'stark.com', country: 'US' }, // named account → reject
  { customerName: 'Hooli', website: 'hooli.com', country: 'US' }, // open vendor opportunity → reject
  { customerName: 'Vandelay Industries', website: 'vandelay.de', country: 'DE' }, // out of territory → review
  { customerName: 'Nameless Shop', website: null, country: 'US' }, // no domain → required field → reject
  { customerName: 'Initrode Global', website: 'initrode.com', country: 'CA' },
];
const amountArb = fc.oneof(fc.constantFrom(null, 1_000, 4_999, 5_000, 99_999, 100_000, 100_001, 110_000, 1_250_000), fc.integer({ min: 0, max: 2_000_000 }));
const closeArb = fc.constantFrom(null, '2026-12-31', '2027-03-31', '2027-11-19', '2027-11-21', '2028-06-30', '2030-01-01');
const editArb = fc.oneof(
  fc.record({ kind: fc.constant('amount' as const), amount: amountArb }),
  fc.record({ kind: fc.constant('customer' as const), customer: fc.constantFrom(...CUSTOMERS) }),
  fc.record({ kind: fc.constant('close' as const), closeDate: closeArb }),
);

describe('property: after any sequence of edits, the status is what decide() gives for the latest facts, or stricter', () => {
  it('random amount / customer / close-date edits', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CUSTOMERS), amountArb, closeArb, fc.array(editArb, { maxLength: 12 }), (customer, amount, closeDate, edits) => {
        let input: RegistrationInput = registration({ ...customer, amount, closeDate });
        let state = decided(input);
        let decidedOn = facts(input);
        let now = T0;
        for (const e of edits) {
          input = e.kind === 'amount' ? { ...input, amount: e.amount } : e.kind === 'customer' ? { ...input, ...e.customer } : { ...input, closeDate: e.closeDate };
          ({ state, decidedOn } = step(state, decidedOn, input, (now += 1000)));
          const latest = decide(input, index, policy, P.acme).outcome;
          const now_ = standing(state.status);
          expect(now_).not.toBeNull();
          expect(OUTCOME_RANK[now_!]).toBeGreaterThanOrEqual(OUTCOME_RANK[latest]);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('policy: closeDate and redecision keys', () => {
  it('defaults: far out = 365 days, review; amount tolerance 10%', () => {
    expect(policy.closeDate).toMatchObject({ farOut: '365d', action: 'review' });
    expect(policy.redecision.amountIncrease).toBeCloseTo(0.1);
  });
  it('bad values are reported at file:line:col', () => {
    const text = 'version: 1\ntiers: { gold: { autoApproveUpTo: 1 } }\ncloseDate:\n  farOut: soon\nredecision:\n  amountIncreasePercent: -5\n';
    const { policy: p, problems } = parsePolicy(text, 'roe.yaml');
    expect(p).toBeUndefined();
    expect(problems.map((x) => `${x.file}:${x.line}:${x.col}: ${x.code}`)).toEqual(['roe.yaml:4:11: RULES_BAD_VALUE', 'roe.yaml:6:26: RULES_BAD_VALUE']);
  });
});
