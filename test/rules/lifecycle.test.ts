import { describe, expect, it } from 'vitest';
import { isCosellError } from '../../lib/errors.js';
import { applyCheck, close, decideReview, expire, extend, reviewTimeout, submit, unwrap, type RegistrationState } from '../../rules/lifecycle.js';
import type { LifecycleSettings } from '../../rules/policy.js';
import { demoPolicy } from './fixtures.js';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const settings: LifecycleSettings = demoPolicy().lifecycle; // 48h SLA, escalate, 90d + 30d × 2

const fresh = () => submit({ id: 'acme:1', partnerId: 'acme', submittedAt: '2026-11-20T09:59:00.000Z', amount: 50_000 }, T0);
const pending = () => unwrap(applyCheck(fresh(), { outcome: 'review', ruleId: 'tier-auto-approval', reason: 'above limit' }, settings, T0)).state;
const approved = () => unwrap(applyCheck(fresh(), { outcome: 'approved', ruleId: 'tier-auto-approval', reason: 'within limit' }, settings, T0)).state;

describe('registration lifecycle (pure transitions)', () => {
  it('submitted → checked → auto-approved, exclusive for the policy period, with effects', () => {
    const t = unwrap(applyCheck(fresh(), { outcome: 'approved', ruleId: 'tier-auto-approval', reason: 'within limit' }, settings, T0));
    expect(t.state.status).toBe('auto-approved');
    expect(t.state.history.map((h) => h.to)).toEqual(['submitted', 'checked', 'auto-approved']);
    expect(t.state.expiresAt).toBe(new Date(T0 + 90 * D).toISOString());
    expect(t.effects.map((e) => e.type)).toEqual(['audit', 'start-timer', 'vendor-pipeline', 'write-back', 'index', 'audit']);
    expect(t.effects).toContainEqual({ type: 'vendor-pipeline', mode: 'attributed', expiresAt: t.state.expiresAt });
    expect(t.effects).toContainEqual({ type: 'start-timer', timer: 'exclusivity', dueAt: t.state.expiresAt });
  });

  it('review: held out of the pipeline with an SLA timer, then approved by a person', () => {
    const p = unwrap(applyCheck(fresh(), { outcome: 'review', ruleId: 'territory', reason: 'DE is outside' }, settings, T0));
    expect(p.state.status).toBe('pending-review');
    expect(p.state.reviewDueAt).toBe(new Date(T0 + 48 * H).toISOString());
    expect(p.effects).toContainEqual({ type: 'vendor-pipeline', mode: 'held' });
    expect(p.effects).toContainEqual(expect.objectContaining({ type: 'notify', kind: 'review-requested', to: 'channel-ops' }));
    const a = unwrap(decideReview(p.state, { action: 'approve', by: 'ops@vendor', reason: 'partner has history here' }, settings, T0 + H));
    expect(a.state).toMatchObject({ status: 'approved', decidedBy: 'ops@vendor', reason: 'partner has history here', reviewDueAt: undefined });
    expect(a.effects[0]).toEqual({ type: 'cancel-timer', timer: 'review-sla' });
    expect(a.state.expiresAt).toBe(new Date(T0 + H + 90 * D).toISOString());
  });

  it('review then rejected by a person: never pipeline, written back, removed from the index', () => {
    const r = unwrap(decideReview(pending(), { action: 'reject', by: 'ops', reason: 'duplicate' }, settings, T0 + H));
    expect(r.state.status).toBe('rejected');
    expect(r.effects).toEqual(expect.arrayContaining([
      { type: 'vendor-pipeline', mode: 'none' },
      { type: 'write-back', status: 'rejected', reason: 'duplicate' },
      { type: 'index', op: 'remove', status: 'rejected' },
    ]));
  });

  it('rules rejection is terminal', () => {
    const r = unwrap(applyCheck(fresh(), { outcome: 'rejected', ruleId: 'named-account', reason: 'named' }, settings, T0));
    expect(r.state.status).toBe('rejected');
    const again = decideReview(r.state, { action: 'approve', by: 'ops', reason: 'x' }, settings, T0);
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error).toMatchObject({ code: 'COSELL_REGISTRATION_STATE', status: 'rejected', action: 'approve' });
  });

  it('a decision needs who and why', () => {
    expect(decideReview(pending(), { action: 'approve', by: ' ', reason: 'ok' }, settings, T0).ok).toBe(false);
    expect(decideReview(pending(), { action: 'approve', by: 'ops', reason: '' }, settings, T0).ok).toBe(false);
  });

  it('SLA timeout escalates once, then waits for a person', () => {
    const e = unwrap(reviewTimeout(pending(), settings, T0 + 48 * H));
    expect(e.state).toMatchObject({ status: 'pending-review', escalated: true });
    expect(e.effects[0]).toMatchObject({ type: 'notify', kind: 'escalated', to: 'channel-ops' });
    expect(reviewTimeout(e.state, settings, T0 + 96 * H).ok).toBe(false);
    expect(unwrap(decideReview(e.state, { action: 'approve', by: 'vp', reason: 'ok' }, settings, T0 + 50 * H)).state.status).toBe('approved');
  });

  it('SLA timeout applies the policy default (approve / reject), not before it is due', () => {
    expect(reviewTimeout(pending(), settings, T0 + 47 * H).ok).toBe(false);
    const auto = unwrap(reviewTimeout(pending(), { ...settings, onTimeout: 'approve' }, T0 + 48 * H));
    expect(auto.state).toMatchObject({ status: 'approved', decidedBy: 'sla-timeout' });
    const rej = unwrap(reviewTimeout(pending(), { ...settings, onTimeout: 'reject' }, T0 + 48 * H));
    expect(rej.state).toMatchObject({ status: 'rejected', decidedBy: 'sla-timeout', reason: 'review SLA ran out; policy default is to reject' });
  });

  it('extends exclusivity at most maxExtensions times, from the current expiry', () => {
    let s: RegistrationState = approved();
    const first = unwrap(extend(s, { by: 'acme-rep' }, settings, T0 + 80 * D));
    expect(first.state.expiresAt).toBe(new Date(T0 + 120 * D).toISOString());
    expect(first.effects.slice(0, 2)).toEqual([{ type: 'cancel-timer', timer: 'exclusivity' }, { type: 'start-timer', timer: 'exclusivity', dueAt: first.state.expiresAt }]);
    s = unwrap(extend(first.state, { by: 'acme-rep' }, settings, T0 + 110 * D)).state;
    expect(s.extensions).toBe(2);
    const third = extend(s, { by: 'acme-rep' }, settings, T0 + 140 * D);
    expect(third.ok).toBe(false);
    if (!third.ok) expect(third.error.message).toMatch(/already has 2 of at most 2 extensions/);
    expect(() => unwrap(third)).toThrow(expect.objectContaining({ code: 'COSELL_REGISTRATION_STATE' }));
  });

  it('expires when the exclusivity timer fires, but not early (an extension moved it)', () => {
    const s = approved();
    expect(expire(s, T0 + 89 * D).ok).toBe(false);
    const x = unwrap(expire(s, T0 + 90 * D));
    expect(x.state.status).toBe('expired');
    expect(x.effects).toContainEqual({ type: 'index', op: 'remove', status: 'expired' });
    expect(extend(x.state, { by: 'a' }, settings, T0 + 91 * D).ok).toBe(false);
  });

  it('won / lost close an approved or pending registration, nothing else', () => {
    expect(unwrap(close(approved(), 'won', {}, T0 + D)).state.status).toBe('won');
    const lost = unwrap(close(pending(), 'lost', { by: 'sync' }, T0 + D));
    expect(lost.state.status).toBe('lost');
    expect(lost.effects[0]).toEqual({ type: 'cancel-timer', timer: 'review-sla' });
    expect(close(fresh(), 'won', {}, T0).ok).toBe(false);
    expect(close(lost.state, 'won', {}, T0).ok).toBe(false);
  });

  it('a refused transition becomes a CosellError with code COSELL_REGISTRATION_STATE', () => {
    try {
      unwrap(applyCheck(approved(), { outcome: 'approved', ruleId: 'tier-auto-approval', reason: '' }, settings, T0));
      expect.unreachable();
    } catch (e) {
      expect(isCosellError(e, 'COSELL_REGISTRATION_STATE')).toBe(true);
      expect((e as Error).message).toBe('registration acme:1 is auto-approved: cannot apply a rules check (only a submitted registration is checked)');
    }
  });

  it('states are plain JSON (survive workflow history)', () => {
    const s = unwrap(decideReview(pending(), { action: 'approve', by: 'ops', reason: 'ok' }, settings, T0)).state;
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(typeof s.expiresAt).toBe('string');
  });
});
