import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldType } from '../../connectors/types.js';
import { canonicalValue, contentHash } from '../../ledger/index.js';
import { planWrite, type Conflict, type FieldOwner } from '../../sync/plan.js';
import { hashFields, normalizeValue, sameValue } from '../../sync/values.js';

/**
 * Randomised checks of the three-way plan (sync/plan.ts) and the one value canonicaliser
 * (sync/values.ts, ledger/contentHash.ts). FC_RUNS raises the number of runs; a failure prints its
 * seed and shrunk counterexample, and `fc.assert(..., { seed, path })` replays it.
 */
const RUNS = Number(process.env.FC_RUNS ?? 500);
const OWNERS: FieldOwner[] = ['source', 'target', 'fill-if-blank', 'newest'];
const value = fc.constantFrom<string | number | null>('A', 'B', 'C', '00123', '123', 123, ' A ', '', null);
const at = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();

/** One field's history since the last sync: the base, then edits on each side at integer times. */
const history = fc.record({
  owner: fc.constantFrom(...OWNERS),
  type: fc.constantFrom<FieldType | undefined>('string', 'number', undefined),
  base: value,
  sourceEdits: fc.array(fc.tuple(value, fc.integer({ min: 1, max: 50 })), { maxLength: 3 }),
  targetEdits: fc.array(fc.tuple(value, fc.integer({ min: 1, max: 50 })), { maxLength: 3 }),
  // Edits of *other* fields bump the record-level modification time without touching this one.
  sourceTouched: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
  targetTouched: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
});
type History = typeof history extends fc.Arbitrary<infer T> ? T : never;

function play(h: History) {
  const last = (edits: Array<[unknown, number]>, fallback: unknown) => (edits.length ? [...edits].sort((a, b) => a[1] - b[1]).at(-1)![0] : fallback);
  const s = last(h.sourceEdits, h.base) as string | number | null;
  const t = last(h.targetEdits, h.base) as string | number | null;
  const sMod = Math.max(0, ...h.sourceEdits.map((e) => e[1]), h.sourceTouched ?? 0);
  const tMod = Math.max(0, ...h.targetEdits.map((e) => e[1]), h.targetTouched ?? 0);
  const plan = planWrite({ f: s }, { fields: { f: t }, modifiedAt: at(tMod) }, { f: { owner: h.owner } }, at(sMod), { base: { f: h.base }, types: { f: h.type } });
  return { s, t, sMod, tMod, plan, same: (a: unknown, b: unknown) => sameValue(a, b, h.type) };
}

describe('planWrite: three-way semantics (random base / source / target histories)', () => {
  it('an echo never writes: a source value the target already has plans nothing', () => {
    fc.assert(
      fc.property(history, (h) => {
        const { s, t, plan, same } = play(h);
        if (same(s, t)) expect(plan.write).toEqual({});
      }),
      { numRuns: RUNS },
    );
  });

  it('no news from the source, no write: a field whose net source change is nil (A→B→A) leaves the target edit standing', () => {
    fc.assert(
      fc.property(history, (h) => {
        const { s, plan, same } = play(h);
        if (same(s, h.base)) {
          expect(plan.write).toEqual({});
          expect(plan.conflicts).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('every dropped value appears in a conflict: a real source change not written, or a target edit overwritten, names its loser', () => {
    fc.assert(
      fc.property(history, (h) => {
        const { s, t, plan, same } = play(h);
        const written = 'f' in plan.write;
        const conflict = plan.conflicts.find((c) => c.field === 'f');
        if (!same(s, h.base) && !same(s, t) && !written) {
          expect(conflict).toMatchObject({ winner: 'target', loserValue: s, policy: h.owner });
        }
        if (written && !same(t, h.base) && !same(t, s)) {
          expect(conflict).toMatchObject({ winner: 'source', loserValue: t, policy: h.owner });
        }
        for (const c of plan.conflicts) {
          expect(c.sourceModifiedAt).toBe(at(Math.max(0, ...h.sourceEdits.map((e) => e[1]), h.sourceTouched ?? 0)));
          expect(c.targetModifiedAt).not.toBeNull();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('only the source changed: source- and newest-owned fields take it, whatever the record times say', () => {
    fc.assert(
      fc.property(history, (h) => {
        const { s, t, plan, same } = play(h);
        if ((h.owner === 'source' || h.owner === 'newest') && !same(s, h.base) && same(t, h.base) && !same(s, t)) {
          expect(plan.write).toEqual({ f: s });
          expect(plan.conflicts).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('newest: when both sides changed the field and nothing else, the later human edit wins', () => {
    fc.assert(
      fc.property(history, (h) => {
        const hh = { ...h, owner: 'newest' as const, sourceTouched: undefined, targetTouched: undefined };
        const { s, t, sMod, tMod, plan, same } = play(hh);
        if (same(s, h.base) || same(t, h.base) || same(s, t)) return;
        expect('f' in plan.write).toBe(sMod >= tMod);
      }),
      { numRuns: RUNS },
    );
  });

  it('target-owned fields are never overwritten; fill-if-blank only fills blanks', () => {
    fc.assert(
      fc.property(history, (h) => {
        const { t, plan } = play(h);
        if (h.owner === 'target') expect(plan.write).toEqual({});
        if (h.owner === 'fill-if-blank' && normalizeValue(t, h.type) !== null) expect(plan.write).toEqual({});
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * Two records kept in sync by two links (S→T and T→S, one field, `newest` both ways), each poll planning
 * against the other record as it is now and its own base, each of our writes bumping the record's
 * modification time like a CRM does. Random interleavings of human edits (including rapid flips) and
 * polls, then the network settles: both records hold the latest human edit, and settling ends in a
 * round that writes nothing (no ping-pong).
 */
describe('two links, one field: random interleavings converge to the latest human edit', () => {
  type Side = { v: string; mod: number };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('editS' as const), v: fc.constantFrom('A', 'B', 'C') }),
    fc.record({ kind: fc.constant('editT' as const), v: fc.constantFrom('A', 'B', 'C') }),
    fc.record({ kind: fc.constant('touchS' as const) }),
    fc.record({ kind: fc.constant('touchT' as const) }),
    fc.record({ kind: fc.constant('pollL' as const) }),
    fc.record({ kind: fc.constant('pollR' as const) }),
  );

  type Edit = { side: 'S' | 'T'; v: string };
  function simulate(ops: Array<{ kind: string; v?: string }>, withTouches: boolean) {
    let clock = 0;
    const S: Side = { v: 'A', mod: 0 };
    const T: Side = { v: 'A', mod: 0 };
    // Each record's value as last synced (the ledger's snapshot: read by its outgoing link, or written
    // by the incoming one); a link's base is its source's synced value.
    const synced = { S: 'A', T: 'A' };
    let latest: Edit | undefined; // the last human edit that changed a value
    const conflicts: Conflict[] = [];
    let writes = 0;
    const poll = (from: Side, to: Side, src: 'S' | 'T') => {
      const dst = src === 'S' ? 'T' : 'S';
      const plan = planWrite({ f: from.v }, { fields: { f: to.v }, modifiedAt: at(to.mod) }, { f: { owner: 'newest' } }, at(from.mod), { base: { f: synced[src] }, targetBase: { f: synced[dst] } });
      conflicts.push(...plan.conflicts);
      if ('f' in plan.write) {
        to.v = String(plan.write.f);
        to.mod = ++clock;
        synced[dst] = to.v;
        writes++;
      } else if (from.v === to.v) synced[dst] = to.v; // seen to agree: synced on both sides
      // A value that lost stays news (not synced): once the winner is gone, it is weighed again.
      if (!plan.conflicts.some((c) => c.winner === 'target')) synced[src] = from.v;
    };
    for (const o of ops) {
      if (o.kind === 'editS' || o.kind === 'editT') {
        const side = o.kind === 'editS' ? S : T;
        // A save bumps the record's time even when the value stays — that is a touch, so only with touches.
        if (side.v !== o.v || withTouches) side.mod = ++clock;
        if (side.v !== o.v) latest = { side: o.kind === 'editS' ? 'S' : 'T', v: o.v! };
        side.v = o.v!;
      } else if (withTouches && (o.kind === 'touchS' || o.kind === 'touchT')) (o.kind === 'touchS' ? S : T).mod = ++clock;
      else if (o.kind === 'pollL') poll(S, T, 'S');
      else if (o.kind === 'pollR') poll(T, S, 'T');
    }
    // The value the spec says must win: the latest human edit — unless that side's edits since it was
    // last synced net to nothing (A→B→A), in which case the other side's value stands.
    const own = latest?.side === 'S' ? S : T;
    const other = latest?.side === 'S' ? T : S;
    const undone = latest !== undefined && own.v === synced[latest.side];
    const expected = latest === undefined ? 'A' : undone ? other.v : latest.v;
    let rounds = 0;
    for (; rounds < 4; rounds++) {
      const before = writes;
      poll(S, T, 'S');
      poll(T, S, 'T');
      if (writes === before) break;
    }
    return { S, T, expected, conflicts, rounds };
  }

  it('without other-field edits: converged on the latest human edit (or, when it netted to nothing, the other side), quiet after at most two rounds', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 14 }), (ops) => {
        const r = simulate(ops, false);
        expect(r.S.v).toBe(r.T.v);
        expect(r.S.v).toBe(r.expected);
        expect(r.rounds).toBeLessThanOrEqual(2);
      }),
      { numRuns: RUNS },
    );
  });

  it('with other-field edits (record-level times): still converged and quiet, and an edit that should have won but did not is in a conflict as the loser', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 14 }), (ops) => {
        const r = simulate(ops, true);
        expect(r.S.v).toBe(r.T.v);
        expect(r.rounds).toBeLessThanOrEqual(2);
        if (r.S.v !== r.expected) expect(r.conflicts.some((c) => c.loserValue === r.expected)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('one value canonicaliser', () => {
  const raw = fc.oneof(fc.constantFrom<unknown>('00123', '123', '123.0', '1e3', ' x ', 'true', 'FALSE', '', null, 0, 123, 1000.5, true, '2026-03-01', '2026-03-01T00:00:00Z', '2026-03-01T10:00:00.000+0000'), fc.string({ maxLength: 6 }), fc.double({ noNaN: true }));
  const type = fc.constantFrom<FieldType | undefined>(undefined, 'string', 'text', 'picklist', 'number', 'currency', 'boolean', 'date', 'datetime');

  it('text fields compare as text: "00123" and "123" differ; a number and its text agree', () => {
    for (const t of ['string', 'text', 'id', 'picklist', 'reference'] as const) {
      expect(sameValue('00123', '123', t)).toBe(false);
      expect(sameValue(123, '123', t)).toBe(true);
      expect(sameValue(' Acme ', 'Acme', t)).toBe(true);
    }
    expect(sameValue('00123', '123')).toBe(false); // unknown type: leading zeros are text
    expect(sameValue('00123', '123', 'number')).toBe(true);
    expect(sameValue('5000.00', 5000, 'currency')).toBe(true);
    expect(sameValue('2026-11-22T00:00:00.000Z', '2026-11-22', 'date')).toBe(true);
    expect(sameValue('2026-11-22T10:15:30.000+0000', '2026-11-22T10:15:30Z', 'datetime')).toBe(true);
    expect(sameValue('TRUE', true, 'boolean')).toBe(true);
  });

  it('equality is an equivalence per type, and the ledger hash agrees with it', () => {
    fc.assert(
      fc.property(raw, raw, type, (a, b, t) => {
        const ta = t;
        expect(sameValue(a, a, ta)).toBe(true);
        expect(sameValue(a, b, ta)).toBe(sameValue(b, a, ta));
        // The ledger's canonical text is the engine's canonical value written out: one set of rules.
        const na = normalizeValue(a, ta);
        expect(canonicalValue(a as never, ta)).toBe(na === null ? null : String(na));
        if (sameValue(a, b, ta)) {
          expect(contentHash({ f: a as never }, undefined, { f: ta })).toBe(contentHash({ f: b as never }, undefined, { f: ta }));
          expect(hashFields({ f: a as never }, { f: ta })).toBe(hashFields({ f: b as never }, { f: ta }));
        }
        // Canonicalising is idempotent.
        expect(normalizeValue(na, ta)).toBe(na);
      }),
      { numRuns: RUNS },
    );
  });
});
