import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyCheck, decideExtension, expire, extend, requestExtension, submit, unwrap, PARTNER_EXTENSION_TEXT, type RegistrationState, type Transition } from '../../rules/lifecycle.js';
import { isPartnerSafeReason } from '../../rules/partnerReasons.js';
import type { LifecycleSettings } from '../../rules/policy.js';
import { demoPolicy } from './fixtures.js';

/**
 * Extension requests in the pure lifecycle: the partner asks, the vendor approves (one extension
 * period) or denies. Random sequences of requests, decisions, direct extensions and expiry never give
 * more than `maxExtensions`, never two open requests, never move the expiry back, never leave a request
 * open outside exclusivity — and what the partner's deal reads is always one of the fixed sentences.
 */
const settings: LifecycleSettings = demoPolicy().lifecycle; // 90d + 30d × 2
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const DAY = 86_400_000;
const approved = (): RegistrationState => unwrap(applyCheck(submit({ id: 'acme:1', partnerId: 'acme', submittedAt: new Date(T0).toISOString() }, T0), { outcome: 'approved', ruleId: 'tier-auto-approval', reason: 'within limit' }, settings, T0)).state;

describe('extension requests (rules/lifecycle.ts)', () => {
  it('request → approve extends by one period; request → deny keeps the expiry; both audited, written back in fixed words', () => {
    const s = approved();
    const asked = unwrap(requestExtension(s, { by: 'partner', reason: 'procurement moved to Q3' }, settings, T0 + DAY));
    expect(asked.state.extensionRequest).toMatchObject({ by: 'partner', reason: 'procurement moved to Q3' });
    expect(asked.state.expiresAt).toBe(s.expiresAt);
    expect(asked.effects).toContainEqual(expect.objectContaining({ type: 'write-back', reason: PARTNER_EXTENSION_TEXT.requested }));
    expect(asked.effects).toContainEqual(expect.objectContaining({ type: 'notify', kind: 'review-requested' }));
    expect(requestExtension(asked.state, { by: 'partner', reason: 'again' }, settings, T0 + 2 * DAY)).toMatchObject({ ok: false });
    const yes = unwrap(decideExtension(asked.state, { action: 'approve', by: 'carl', reason: 'fair' }, settings, T0 + 2 * DAY));
    expect(yes.state).toMatchObject({ extensions: 1, extensionRequest: undefined, expiresAt: new Date(Date.parse(s.expiresAt!) + settings.extensionMs).toISOString() });
    expect(yes.effects).toContainEqual(expect.objectContaining({ type: 'audit', event: 'registration.extension-approved' }));
    const again = unwrap(requestExtension(yes.state, { by: 'partner', reason: 'one more month' }, settings, T0 + 3 * DAY));
    const no = unwrap(decideExtension(again.state, { action: 'deny', by: 'carl', reason: 'no' }, settings, T0 + 4 * DAY));
    expect(no.state).toMatchObject({ extensions: 1, extensionRequest: undefined, expiresAt: yes.state.expiresAt });
    expect(no.effects).toContainEqual(expect.objectContaining({ type: 'write-back', reason: PARTNER_EXTENSION_TEXT.denied }));
    expect(decideExtension(no.state, { action: 'approve', by: 'carl', reason: 'x' }, settings, T0 + 5 * DAY)).toMatchObject({ ok: false });
    expect(requestExtension(s, { by: 'partner', reason: ' ' }, settings, T0)).toMatchObject({ ok: false });
  });

  it('property: random requests, decisions, extensions and expiry keep every invariant', () => {
    type Step = { kind: 'request' | 'approve' | 'deny' | 'extend' | 'expire'; days: number };
    fc.assert(
      fc.property(fc.array(fc.record({ kind: fc.constantFrom<Step['kind']>('request', 'approve', 'deny', 'extend', 'expire'), days: fc.integer({ min: 0, max: 60 }) }), { maxLength: 30 }), (steps) => {
        let s = approved();
        let now = T0;
        for (const step of steps) {
          now += step.days * DAY;
          const t: Transition =
            step.kind === 'request' ? requestExtension(s, { by: 'partner', reason: 'more time' }, settings, now)
            : step.kind === 'approve' || step.kind === 'deny' ? decideExtension(s, { action: step.kind, by: 'carl', reason: 'decided' }, settings, now)
            : step.kind === 'extend' ? extend(s, { by: 'carl' }, settings, now)
            : expire(s, now);
          if (!t.ok) continue;
          const before = s;
          s = t.state;
          expect(s.extensions).toBeLessThanOrEqual(settings.maxExtensions);
          if (s.status === before.status && before.expiresAt && s.expiresAt) expect(Date.parse(s.expiresAt)).toBeGreaterThanOrEqual(Date.parse(before.expiresAt));
          if (s.status !== 'approved' && s.status !== 'auto-approved') expect(s.extensionRequest).toBeUndefined();
          for (const e of t.effects) if (e.type === 'write-back' && (step.kind === 'request' || step.kind === 'approve' || step.kind === 'deny')) expect(isPartnerSafeReason(e.reason)).toBe(true);
          if (step.kind === 'request') expect(before.extensionRequest).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });
});
