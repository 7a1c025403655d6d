import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DISPUTE_OUTCOMES, DISPUTE_TEXT, disputeTimeout, openDispute, resolveDispute, type DisputeState } from '../../rules/index.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const settings = { disputeSlaMs: 72 * 3600_000, disputeEscalateTo: 'channel-ops' };
const open = (reason = 'we were first'): DisputeState => {
  const t = openDispute({ registrationId: 'globex:7', partnerId: 'globex', by: 'partner', reason, openedAt: new Date(T0).toISOString() }, settings, T0);
  if (!t.ok) throw new Error(t.message);
  return t.state;
};

describe('disputes (pure transitions)', () => {
  it('opens with an SLA, escalates once when it runs out, resolves once', () => {
    const s = open();
    expect(s).toMatchObject({ status: 'open', dueAt: new Date(T0 + settings.disputeSlaMs).toISOString() });
    expect(disputeTimeout(s, settings, T0 + 1000).ok).toBe(false); // not due yet
    const e = disputeTimeout(s, settings, T0 + settings.disputeSlaMs);
    if (!e.ok) throw new Error(e.message);
    expect(e.state.status).toBe('escalated');
    expect(e.effects).toContainEqual(expect.objectContaining({ type: 'notify', kind: 'escalated', to: 'channel-ops' }));
    expect(disputeTimeout(e.state, settings, T0 + 2 * settings.disputeSlaMs).ok).toBe(false); // once
    const r = resolveDispute(e.state, { outcome: 'overturn', by: 'cam', reason: 'ok' }, T0 + 10);
    if (!r.ok) throw new Error(r.message);
    expect(r.state.status).toBe('overturned');
    expect(r.effects[0]).toEqual({ type: 'settle', resolution: { outcome: 'overturn', by: 'cam', reason: 'ok' } });
    expect(resolveDispute(r.state, { outcome: 'uphold', by: 'cam', reason: 'again' }, T0 + 20).ok).toBe(false);
  });

  it('refuses a resolution without who and why, an unknown outcome, or shares outside a split', () => {
    expect(resolveDispute(open(), { outcome: 'uphold', by: ' ', reason: 'x' }, T0).ok).toBe(false);
    expect(resolveDispute(open(), { outcome: 'uphold', by: 'cam', reason: '' }, T0).ok).toBe(false);
    expect(resolveDispute(open(), { outcome: 'maybe' as never, by: 'cam', reason: 'x' }, T0).ok).toBe(false);
    expect(resolveDispute(open(), { outcome: 'uphold', by: 'cam', reason: 'x', partners: [{ partnerId: 'acme', role: 'sourcing' }] }, T0).ok).toBe(false);
  });

  it('property: what the partner reads about its dispute is a fixed sentence, whatever anyone typed', () => {
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`dispute write-back property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/rules/dispute.test.ts)`);
    const fixed = new Set(Object.values(DISPUTE_TEXT));
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(...DISPUTE_OUTCOMES), fc.string({ minLength: 1 }), fc.boolean(), (partnerReason, outcome, resolverReason, escalate) => {
        const t = openDispute({ registrationId: 'globex:7', partnerId: 'globex', by: 'partner', reason: `${partnerReason} acme Acme Consulting`, openedAt: '2026-11-20T10:00:00.000Z' }, settings, T0);
        if (!t.ok) return; // a blank reason is refused
        let s = t.state;
        const effects = [...t.effects];
        if (escalate) {
          const e = disputeTimeout(s, settings, T0 + settings.disputeSlaMs);
          if (e.ok) {
            s = e.state;
            effects.push(...e.effects);
          }
        }
        const r = resolveDispute(s, { outcome, by: 'cam', reason: `${resolverReason} held by acme` }, T0 + settings.disputeSlaMs + 1);
        if (r.ok) effects.push(...r.effects);
        // Write-backs carry only a status; the words come from the catalogue.
        for (const e of effects) if (e.type === 'write-back') expect(fixed.has(DISPUTE_TEXT[e.status])).toBe(true);
        for (const e of effects) if (e.type === 'write-back') expect(Object.keys(e)).toEqual(['type', 'status']);
      }),
      { numRuns: 300, seed },
    );
  });
});
