import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccountIndex } from '../../rules/accountIndex.js';
import { decide, registeredBefore, RULE_ORDER } from '../../rules/decide.js';
import type { ActiveRegistration, RegistrationInput, VendorAccount } from '../../rules/types.js';
import { demoPolicy, partners } from './fixtures.js';

/**
 * Property tests: a decision is a pure function of (input, index content, policy, partner). It must
 * not depend on the order the index was filled (or on records added and removed again); only
 * first-to-register depends on time, and then only on (registration time, id).
 */

const policy = demoPolicy((y) => y.replace('vendorAccounts: ignore', 'vendorAccounts: review'));
const P = partners(policy);

const names = ['Acme', 'Acme Corp', 'ACME Corporation', 'Hooli', 'Hooli Inc.', 'Initrode', 'Initrode Global', 'Globex GmbH', 'Stark Industries', 'Vandelay', 'Pied Piper', 'Wayne Enterprises'];
const domains = [null, 'acme.com', 'www.acme.com', 'hooli.com', 'initrode.com', 'globex.de', 'stark.com', 'bigbank.com', 'piedpiper.com'];
const times = ['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z', '2026-11-02T00:00:00.000Z', '2026-11-03T00:00:00.000Z'];
const partnerIds = ['acme', 'globex', 'initech'] as const;

const accountArb = (id: string): fc.Arbitrary<VendorAccount> =>
  fc.record({
    id: fc.constant(id),
    name: fc.constantFrom(...names),
    domain: fc.constantFrom(...domains),
    named: fc.boolean(),
    country: fc.constantFrom('US', 'DE', null),
    hasOpenOpportunity: fc.boolean(),
  });

const registrationArb = (id: string): fc.Arbitrary<ActiveRegistration> =>
  fc.record({
    id: fc.constant(id),
    partnerId: fc.constantFrom(...partnerIds),
    customerName: fc.constantFrom(...names),
    website: fc.constantFrom(...domains),
    registeredAt: fc.constantFrom(...times),
    status: fc.constantFrom('pending-review' as const, 'approved' as const, 'auto-approved' as const),
  });

const worldArb = fc
  .tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 8 }))
  .chain(([na, nr]) =>
    fc.record({
      accounts: fc.tuple(...Array.from({ length: na }, (_, i) => accountArb(`001${String(i).padStart(3, '0')}`))),
      registrations: fc.tuple(...Array.from({ length: nr }, (_, i) => registrationArb(`${i % 3 === 0 ? 'globex' : 'initech'}:${i}`))),
    }),
  );

const inputArb: fc.Arbitrary<RegistrationInput> = fc.record({
  id: fc.constantFrom('acme:1', 'acme:2', 'globex:99'),
  partnerId: fc.constant('acme'),
  customerName: fc.constantFrom(...names),
  website: fc.constantFrom(...domains),
  contactEmail: fc.constantFrom(null, 'cfo@acme.com', 'x@gmail.com', 'ops@hooli.com'),
  country: fc.constantFrom('US', 'CA', 'DE', null),
  amount: fc.constantFrom(1000, 20_000, 99_999, 150_000, null),
  currency: fc.constantFrom('USD', 'EUR', null),
  closeDate: fc.constantFrom('2027-01-01', null),
  submittedAt: fc.constantFrom(...times),
});

function build(accounts: readonly VendorAccount[], registrations: readonly ActiveRegistration[], noise: readonly VendorAccount[] = []): AccountIndex {
  const index = new AccountIndex();
  for (const n of noise) index.upsertAccount({ ...n, id: `noise-${n.id}` });
  for (const a of accounts) index.upsertAccount(a);
  for (const r of registrations) index.upsertRegistration(r);
  for (const n of noise) index.removeAccount(`noise-${n.id}`);
  return index;
}

describe('decide: properties', () => {
  it('same input → same decision (twice on one index, and on a rebuilt index)', () => {
    fc.assert(
      fc.property(worldArb, inputArb, (world, input) => {
        const index = build(world.accounts, world.registrations);
        const a = decide(input, index, policy, P.acme);
        const b = decide(structuredClone(input), index, policy, P.acme);
        const c = decide(input, build(world.accounts, world.registrations), policy, P.acme);
        expect(b).toEqual(a);
        expect(c).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  it('does not depend on the order the index was filled, nor on records added then removed', () => {
    fc.assert(
      fc.property(
        worldArb.chain((w) => fc.record({ w: fc.constant(w), accounts: fc.shuffledSubarray(w.accounts, { minLength: w.accounts.length }), registrations: fc.shuffledSubarray(w.registrations, { minLength: w.registrations.length }) })),
        fc.array(accountArb('x'), { maxLength: 5 }).map((xs) => xs.map((x, i) => ({ ...x, id: `n${i}` }))),
        inputArb,
        ({ w, accounts, registrations }, noise, input) => {
          const inOrder = decide(input, build(w.accounts, w.registrations), policy, P.acme);
          const shuffled = decide(input, build(accounts, registrations, noise), policy, P.acme);
          expect(shuffled).toEqual(inOrder);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('first to register: of two conflicting registrations by different partners, exactly the later one is flagged', () => {
    const reg = fc.record({
      partnerId: fc.constantFrom(...partnerIds),
      n: fc.integer({ min: 0, max: 50 }),
      registeredAt: fc.constantFrom(...times),
      customerName: fc.constantFrom('Initrode', 'Initrode Inc.', 'INITRODE GmbH'),
      website: fc.constantFrom('initrode.com', 'https://www.initrode.com', null),
    });
    fc.assert(
      fc.property(reg, reg, (x, y) => {
        fc.pre(x.partnerId !== y.partnerId);
        const a = { ...x, id: `${x.partnerId}:${x.n}`, status: 'approved' as const };
        const b = { ...y, id: `${y.partnerId}:${y.n}`, status: 'approved' as const };
        const asInput = (r: typeof a): RegistrationInput => ({ id: r.id, partnerId: r.partnerId, customerName: r.customerName, website: r.website, country: 'US', amount: 10_000, closeDate: '2027-01-01', submittedAt: r.registeredAt });
        const flagged = (me: typeof a, other: typeof a) => {
          const index = new AccountIndex();
          index.upsertRegistration(other);
          return decide(asInput(me), index, policy, partners(policy)[me.partnerId as 'acme']).checks.find((c) => c.ruleId === 'first-to-register')!.passed === false;
        };
        const aFirst = registeredBefore({ at: a.registeredAt, id: a.id }, { at: b.registeredAt, id: b.id });
        expect(flagged(a, b)).toBe(!aFirst);
        expect(flagged(b, a)).toBe(aFirst);
      }),
      { numRuns: 200 },
    );
  });

  it('the outcome is the first failing rule by precedence (reject before review), else approval', () => {
    fc.assert(
      fc.property(worldArb, inputArb, (world, input) => {
        const d = decide(input, build(world.accounts, world.registrations), policy, P.acme);
        const failing = d.checks.filter((c) => !c.passed);
        const expected = failing.find((c) => c.action === 'reject') ?? failing.find((c) => c.action === 'review');
        expect(d.outcome).toBe(expected ? (expected.action === 'reject' ? 'rejected' : 'review') : 'approved');
        expect(d.ruleId).toBe(expected?.ruleId ?? 'tier-auto-approval');
        expect(d.checks).toHaveLength(RULE_ORDER.length);
      }),
      { numRuns: 200 },
    );
  });
});
