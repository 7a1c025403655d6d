import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approvalsNeeded, approverKey, applyCheck, changedRequested, decideReview, provideInfo, requestInfo, requestedValues, submit, unwrap, type RegistrationInput, type RegistrationState } from '../../rules/index.js';
import type { LifecycleSettings } from '../../rules/policy.js';
import { formatProblem } from '../../lib/problems.js';
import { parsePolicy } from '../../rules/policy.js';
import { demoPolicy } from './fixtures.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const settings: LifecycleSettings = demoPolicy().lifecycle; // one approval; above 250,000 USD one more from deal-desk

const pendingAt = (amount: number | null, s: LifecycleSettings = settings): RegistrationState =>
  unwrap(applyCheck(submit({ id: 'acme:1', partnerId: 'acme', submittedAt: '2026-11-20T09:59:00.000Z', amount }, T0), { outcome: 'review', ruleId: 'tier-auto-approval', reason: 'above the gold limit' }, s, T0)).state;
const approve = (s: RegistrationState, by: string, at = T0 + 1000) => decideReview(s, { action: 'approve', by, reason: 'ok' }, settings, at);

describe('multi-level approval', () => {
  it('at or below 250,000 USD one approval approves; above it the queue shows a deal-desk approval still needed', () => {
    expect(unwrap(approve(pendingAt(250_000), 'cam@contoso.example')).state.status).toBe('approved');
    const p = pendingAt(400_000);
    expect(p.awaiting).toEqual([{ level: 'review' }, { level: 'deal-desk above 250000 USD', group: 'deal-desk' }]);
    const first = unwrap(approve(p, 'cam@contoso.example'));
    expect(first.state).toMatchObject({ status: 'pending-review', awaiting: [{ group: 'deal-desk' }], approvals: [{ by: 'cam@contoso.example', level: 'review' }] });
    expect(first.effects).toContainEqual(expect.objectContaining({ type: 'notify', kind: 'review-requested', to: 'deal-desk' }));
    expect(first.effects.some((e) => e.type === 'write-back' || e.type === 'vendor-pipeline')).toBe(false); // still held
    const done = unwrap(approve(first.state, 'Dana@Contoso.example '));
    expect(done.state).toMatchObject({ status: 'approved', awaiting: [], approvals: [{ level: 'review' }, { level: 'deal-desk above 250000 USD' }] });
    expect(done.effects).toContainEqual(expect.objectContaining({ type: 'vendor-pipeline', mode: 'attributed' }));
  });

  it('one person cannot approve twice, in any case or spacing; a non-member cannot give the group level', () => {
    const first = unwrap(approve(pendingAt(400_000), 'dana@contoso.example')); // a desk member first: counts for the desk level
    expect(first.state.awaiting).toEqual([{ level: 'review' }]);
    const twice = approve(first.state, ' DANA@contoso.example');
    expect(twice.ok).toBe(false);
    if (!twice.ok) expect(twice.error.message).toMatch(/already approved it.*cannot approve twice/);
    const other = unwrap(approve(pendingAt(400_000), 'cam@contoso.example'));
    const notMember = approve(other.state, 'pat@contoso.example');
    expect(notMember.ok).toBe(false);
    if (!notMember.ok) expect(notMember.error.message).toMatch(/one approval from deal-desk; pat@contoso.example is not a member/);
  });

  it('kept counterexample (greedy level assignment): cam, ole, pat, kim cover g0 {cam, ole}, g1 {kim}, g2 {cam, kim} + review', () => {
    const s: LifecycleSettings = { ...settings, approvalLevels: [{ name: 'l0', above: 0, group: 'g0', members: ['cam', 'ole'] }, { name: 'l1', above: 0, group: 'g1', members: ['kim'] }, { name: 'l2', above: 0, group: 'g2', members: ['cam', 'kim'] }] };
    let state = pendingAt(null, s);
    for (const by of ['cam', 'ole', 'pat']) state = unwrap(decideReview(state, { action: 'approve', by, reason: 'ok' }, s, T0 + 1)).state;
    // kim can only take g1 or g2: cam must move from g0/g2 so that everyone fits (cam g2, ole g0, pat review, kim g1).
    const last = unwrap(decideReview(state, { action: 'approve', by: 'kim', reason: 'ok' }, s, T0 + 2)).state;
    expect(last.status).toBe('approved');
    expect(Object.fromEntries(last.approvals.map((a) => [a.by, a.level]))).toEqual({ cam: 'l2', ole: 'l0', pat: 'review', kim: 'l1' });
  });

  it('an unknown amount needs every level (fails closed)', () => {
    expect(approvalsNeeded(null, settings)).toHaveLength(2);
    expect(approvalsNeeded(undefined, settings)).toHaveLength(2);
  });

  it('a rejection by anyone ends it, whatever approvals were given', () => {
    const first = unwrap(approve(pendingAt(400_000), 'cam@contoso.example'));
    const r = unwrap(decideReview(first.state, { action: 'reject', by: 'pat@contoso.example', reason: 'no' }, settings, T0 + 2000));
    expect(r.state).toMatchObject({ status: 'rejected', awaiting: [], approvals: [] });
  });

  it('policy: a level naming an undefined group is reported at file:line:col', () => {
    const text = `version: 1\ntiers: { gold: { autoApproveUpTo: 1 } }\napproval:\n  groups: { deal-desk: [a@b.c] }\n  levels:\n    - { above: 10, group: dealdesk }\n`;
    expect(parsePolicy(text, 'roe.yaml').problems.map(formatProblem)).toEqual([expect.stringMatching(/^roe\.yaml:6:\d+: RULES_UNKNOWN_GROUP: approval level 1 names group "dealdesk"[\s\S]*deal-desk/)]);
  });

  it('property: approved exactly when distinct approvers cover every level; nobody counted twice; only members fill group levels', () => {
    const people = ['cam', 'pat', 'dana', 'lee', 'kim', 'ole'];
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`approvals property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/rules/approvals.test.ts)`);
    fc.assert(
      fc.property(
        // 0..3 levels with random thresholds and random member sets; an amount; a sequence of approvers (repeats and case games included).
        fc.array(fc.record({ above: fc.integer({ min: 0, max: 500_000 }), members: fc.subarray(people, { minLength: 1 }) }), { maxLength: 3 }),
        fc.option(fc.integer({ min: 0, max: 600_000 }), { nil: null }),
        fc.array(fc.tuple(fc.constantFrom(...people), fc.constantFrom('', ' ', 'UPPER')), { maxLength: 10 }),
        (levels, amount, approvers) => {
          const s: LifecycleSettings = { ...settings, approvalLevels: levels.map((l, i) => ({ name: `l${i}`, above: l.above, group: `g${i}`, members: l.members })).sort((a, b) => a.above - b.above) };
          let state = pendingAt(amount, s);
          const needed = approvalsNeeded(amount, s);
          const counted: string[] = [];
          const tried = new Set<string>();
          for (const [p, form] of approvers) {
            if (state.status !== 'pending-review') break;
            tried.add(p);
            const by = form === 'UPPER' ? p.toUpperCase() : `${form}${p}${form}`;
            const t = decideReview(state, { action: 'approve', by, reason: 'ok' }, s, T0 + 1000);
            if (counted.includes(p)) expect(t.ok).toBe(false); // the same person again: always refused
            if (t.ok) {
              counted.push(p);
              state = t.state;
            }
          }
          const keys = state.approvals.map((a) => approverKey(a.by));
          expect(new Set(keys).size).toBe(keys.length);
          for (const a of state.approvals) {
            const lvl = s.approvalLevels.find((l) => l.name === a.level);
            if (lvl) expect(lvl.members).toContain(approverKey(a.by));
          }
          // Approved iff every needed level got one distinct approval…
          expect(state.status === 'approved').toBe(state.approvals.length === needed.length && needed.every((n) => state.approvals.some((a) => a.level === n.level)));
          // …and never held back when the people who tried could cover every level (brute force), whatever their order.
          const may = (p: string, level: string) => level === 'review' || s.approvalLevels.find((l) => l.name === level)!.members.includes(p);
          const cover = (levelsLeft: string[], pool: string[]): boolean => !levelsLeft.length || pool.some((p, i) => may(p, levelsLeft[0]!) && cover(levelsLeft.slice(1), pool.filter((_, j) => j !== i)));
          if (state.status !== 'approved') expect(cover(needed.map((n) => n.level), [...tried])).toBe(false);
          if (state.status === 'pending-review') expect(state.awaiting.length + state.approvals.length).toBe(needed.length);
        },
      ),
      { numRuns: 400, seed },
    );
  });
});

describe('request info ("Action Required")', () => {
  const input = (over: Partial<RegistrationInput> = {}): RegistrationInput => ({ id: 'acme:1', partnerId: 'acme', customerName: 'Hooli', website: 'hooli.com', amount: 100, closeDate: '2027-01-01', submittedAt: '2026-11-20T09:59:00.000Z', fields: { Next_Step__c: 'call' }, ...over });
  const facts = { amount: 120_000, amountGiven: true, domains: ['hooli.com'], name: 'hooli', country: 'US', accountId: null, closeDate: '2027-01-01' };

  it('pauses the SLA, writes the fields back, and only a change of a requested field re-decides it (back to review, fresh approvals)', () => {
    const asked = unwrap(requestInfo(pendingAt(400_000), { by: 'cam', fields: ['amount', 'closeDate', 'amount'], reason: 'globex says it is theirs' }, T0 + 10));
    expect(asked.state).toMatchObject({ status: 'pending-review', reviewDueAt: undefined, infoRequest: { fields: ['amount', 'closeDate'], by: 'cam' } });
    expect(asked.effects).toContainEqual({ type: 'write-back', status: 'pending-review', actionRequired: ['amount', 'closeDate'] });
    expect(asked.effects).toContainEqual({ type: 'cancel-timer', timer: 'review-sla' });
    const decision = { outcome: 'review' as const, ruleId: 'tier-auto-approval' as const, reason: 'above' };
    expect(provideInfo(asked.state, { changed: ['country'], decision, after: facts }, settings, T0 + 20).ok).toBe(false);
    expect(provideInfo(asked.state, { changed: [], decision, after: facts }, settings, T0 + 20).ok).toBe(false);
    const back = unwrap(provideInfo(asked.state, { changed: ['amount'], decision, after: facts }, settings, T0 + 20));
    expect(back.state).toMatchObject({ status: 'pending-review', infoRequest: undefined, amount: 120_000, awaiting: [{ level: 'review' }], approvals: [] });
    expect(back.state.reviewDueAt).toBe(new Date(T0 + 20 + settings.reviewSlaMs).toISOString());
    const rejected = unwrap(provideInfo(asked.state, { changed: ['closeDate'], decision: { outcome: 'rejected', ruleId: 'min-deal-size', reason: 'small' }, after: facts }, settings, T0 + 20));
    expect(rejected.state).toMatchObject({ status: 'rejected', infoRequest: undefined });
  });

  it('refuses fields that are not registration fields and requests outside review', () => {
    expect(requestInfo(pendingAt(1), { by: 'cam', fields: ['salary'], reason: 'x' }, T0).ok).toBe(false);
    expect(requestInfo(pendingAt(1), { by: 'cam', fields: ['fields.Next Step'], reason: 'x' }, T0).ok).toBe(false);
    expect(requestInfo(pendingAt(1), { by: 'cam', fields: ['fields.Next_Step__c'], reason: 'x' }, T0).ok).toBe(true);
    const approved = unwrap(approve(pendingAt(1), 'cam')).state;
    expect(requestInfo(approved, { by: 'cam', fields: ['amount'], reason: 'x' }, T0).ok).toBe(false);
  });

  it('property: the fields reported changed are exactly the requested fields whose value changed — never another field', () => {
    const FIELDS = ['customerName', 'website', 'contactEmail', 'domain', 'country', 'segment', 'amount', 'currency', 'closeDate', 'products', 'fields.Next_Step__c', 'fields.Budget__c'] as const;
    const value = fc.oneof(fc.constant(null), fc.constant(''), fc.constant('  '), fc.string({ maxLength: 6 }), fc.integer({ min: 0, max: 10 }), fc.constantFrom('hooli.com', 'https://www.hooli.com/', 'x@hooli.com', 'x@gmail.com'));
    const set = (inp: RegistrationInput, f: string, v: unknown): RegistrationInput => {
      if (f.startsWith('fields.')) return { ...inp, fields: { ...inp.fields, [f.slice(7)]: v } };
      if (f === 'domain') return { ...inp, website: v as string };
      if (f === 'products') return { ...inp, products: v === null ? null : [String(v)] };
      return { ...inp, [f]: f === 'amount' && typeof v === 'string' ? Number.NaN : v };
    };
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`info request property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/rules/approvals.test.ts)`);
    fc.assert(
      fc.property(fc.subarray([...FIELDS], { minLength: 1 }), fc.array(fc.tuple(fc.constantFrom(...FIELDS), value), { maxLength: 6 }), (requested, edits) => {
        const before = input();
        let after = before;
        for (const [f, v] of edits) after = set(after, f, v);
        const changed = changedRequested(requestedValues(before, requested), requestedValues(after, requested));
        for (const f of changed) expect(requested).toContain(f);
        // Exactly the requested fields whose canonical value moved.
        const moved = requested.filter((f) => JSON.stringify(requestedValues(before, [f])) !== JSON.stringify(requestedValues(after, [f])));
        expect(changed).toEqual(moved);
        // An edit touching no requested field is never an answer ('domain' reads website and contactEmail).
        const reads = (f: string) => (f === 'domain' ? ['domain', 'website', 'contactEmail'] : f === 'website' || f === 'contactEmail' ? [f, 'domain'] : [f]);
        if (edits.every(([f]) => !requested.some((r) => reads(r).includes(f)))) expect(changed).toEqual([]);
      }),
      { numRuns: 500, seed },
    );
  });
});
