import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopicLease } from '../../connectors/salesforce/cdc/lease.js';
import { CdcLeases, type Ledger } from '../../ledger/index.js';
import { backends, useLedgerStore, uniqueLink, type LedgerStore } from './backends.js';

/**
 * The CDC lease (ledger/leases.ts + the keeper in connectors/salesforce/cdc/lease.ts) under random
 * operations by several workers on one fake clock: ticks (acquire / renew), concurrent ticks, graceful
 * releases, crashes (a process gone, its grant still in its memory), pauses (the clock moving past
 * expiries without ticks) and fenced replay-id writes. After every operation:
 * - at most one keeper believes it holds the lease (crashed ones included: a partitioned process
 *   still believes), and the ledger row names it, with the expiry it believes;
 * - a write succeeds only by the holder the ledger names; a keeper that lost the lease gets 'lost' at
 *   its next write at the latest, and stands by from then on;
 * - epochs only grow; the stored replay id only grows and is always one a holder wrote.
 * At the end the holder crashes and the others tick on their own schedules: one of them holds the
 * lease within ttl + one renew interval of the crash.
 */
const TTL = 15_000;
const RENEW = 5_000;
const WORKERS = 3;

type Op =
  | { kind: 'tick'; who: number }
  | { kind: 'ticks'; who: number[] }
  | { kind: 'release'; who: number }
  | { kind: 'crash'; who: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'write'; who: number };

const who = fc.integer({ min: 0, max: WORKERS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: who.map((w) => ({ kind: 'tick' as const, who: w })) },
  { weight: 2, arbitrary: fc.uniqueArray(who, { minLength: 2, maxLength: WORKERS }).map((w) => ({ kind: 'ticks' as const, who: w })) },
  { weight: 1, arbitrary: who.map((w) => ({ kind: 'release' as const, who: w })) },
  { weight: 1, arbitrary: who.map((w) => ({ kind: 'crash' as const, who: w })) },
  // Mostly within a renew interval, sometimes a pause past the expiry.
  { weight: 3, arbitrary: fc.oneof(fc.integer({ min: 1, max: RENEW }), fc.integer({ min: RENEW, max: 2 * TTL })).map((ms) => ({ kind: 'advance' as const, ms })) },
  { weight: 4, arbitrary: who.map((w) => ({ kind: 'write' as const, who: w })) },
);

interface Keeper {
  name: string;
  lease: TopicLease;
  gains: number;
  losses: number;
}

for (const backend of backends) {
  describe(`CDC leases on ${backend.name}`, () => {
    let store: LedgerStore;
    let ledger: Ledger;
    useLedgerStore(backend, (s, l) => ((store = s), (ledger = l)));

    it('one holder at a time, a dead holder replaced within ttl + renew, a stale holder fenced at its next write', async () => {
      // One ledger connection per worker (separate pools on PostgreSQL: the concurrent ticks race for real).
      const conns = await Promise.all(Array.from({ length: WORKERS }, () => store.open()));
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 10 ** 9 }), async (ops, start) => {
            let now = Date.UTC(2026, 0, 1) + start;
            const clock = () => now;
            const org = uniqueLink('org');
            const topic = '/data/OpportunityChangeEvent';
            let generation = 0;
            let replayId = 0;
            const written = new Set<string>();
            let lastEpoch = 0;
            const crashed: Keeper[] = [];
            const make = (i: number): Keeper => {
              const k = { name: `w${i}-${++generation}`, gains: 0, losses: 0 } as Keeper;
              k.lease = new TopicLease(new CdcLeases(conns[i].db, conns[i].dialect, clock), {
                orgId: org,
                topic,
                holder: k.name,
                ttlMs: TTL,
                renewMs: RENEW,
                clock,
                onGained: () => void k.gains++,
                onLost: () => void k.losses++,
              });
              return k;
            };
            const keepers = Array.from({ length: WORKERS }, (_, i) => make(i));
            const believers = () => [...keepers, ...crashed].filter((k) => believes(k, now));
            const check = async () => {
              const b = believers();
              expect(b.length, `believers at ${now}: ${b.map((k) => k.name)}`).toBeLessThanOrEqual(1);
              const row = await ledger.cdcLeases.get(org, topic);
              if (b.length === 1) {
                expect(row?.holder).toBe(b[0].name);
                expect(row?.epoch).toBe(b[0].lease.peek()!.epoch);
                expect(row?.expiresAt).toBe(b[0].lease.peek()!.expiresAt);
                expect(row!.expiresAt).toBeGreaterThan(now);
              }
              if (row) {
                expect(row.epoch).toBeGreaterThanOrEqual(lastEpoch);
                lastEpoch = row.epoch;
              }
              const stored = await ledger.replayIds.get(org, topic);
              if (stored) expect(written.has(stored.replayId)).toBe(true);
            };

            for (const o of ops) {
              switch (o.kind) {
                case 'tick':
                  await keepers[o.who].lease.tick();
                  break;
                case 'ticks':
                  await Promise.all(o.who.map((w) => keepers[w].lease.tick()));
                  break;
                case 'release':
                  await keepers[o.who].lease.stop();
                  keepers[o.who] = make(o.who);
                  break;
                case 'crash':
                  // The process is gone; its memory (a grant) is kept to check it never overlaps.
                  crashed.push(keepers[o.who]);
                  keepers[o.who] = make(o.who);
                  break;
                case 'advance':
                  now += o.ms;
                  break;
                case 'write': {
                  const k = keepers[o.who];
                  const row = await ledger.cdcLeases.get(org, topic);
                  const rowIsMine = row !== undefined && row.holder === k.name && row.expiresAt > now;
                  const hadGrant = k.lease.peek() !== undefined;
                  const losses = k.losses;
                  const id = String(++replayId);
                  const r = await k.lease.write(id);
                  if (r === 'stored') {
                    expect(rowIsMine, `${k.name} wrote while the ledger named ${row?.holder}`).toBe(true);
                    written.add(id);
                    expect((await ledger.replayIds.get(org, topic))?.replayId).toBe(id);
                  } else {
                    // Replay ids only grow here, so a live holder's write is never 'behind'.
                    expect(r).toBe('lost');
                    expect(rowIsMine).toBe(false);
                    // It knows now: it stands by (no grant) until it acquires again, told by onLost if it held.
                    expect(k.lease.peek()).toBeUndefined();
                    if (hadGrant) expect(k.losses).toBe(losses + 1);
                  }
                  break;
                }
              }
              await check();
            }

            // Liveness: the holder (if any) crashes; the others tick every RENEW from random phases.
            const holder = keepers.findIndex((k) => believes(k, now));
            const crashAt = now;
            if (holder >= 0) {
              crashed.push(keepers[holder]);
              keepers[holder] = make(holder);
            }
            const next = keepers.map((_, i) => now + ((i * 1_777 + start) % RENEW));
            for (;;) {
              const i = next.indexOf(Math.min(...next));
              now = next[i];
              await keepers[i].lease.tick();
              next[i] += RENEW;
              await check();
              if (keepers.some((k) => believes(k, now))) break;
              expect(now, 'nobody took the lease within ttl + renew interval').toBeLessThanOrEqual(crashAt + TTL + RENEW);
            }
            expect(now).toBeLessThanOrEqual(crashAt + TTL + RENEW);
            for (const k of keepers) await k.lease.stop();
          }),
          { numRuns: backend.name === 'postgres' ? 40 : 60 },
        );
      } finally {
        await Promise.all(conns.map((c) => c.close()));
      }
    });

    it('a released lease is free at once; a paused holder cannot renew over its taker', async () => {
      let now = Date.UTC(2026, 0, 1);
      const leases = new CdcLeases(ledger.db, ledger.dialect, () => now);
      const org = uniqueLink('org');
      const t = '/data/AccountChangeEvent';
      const a = await leases.acquire(org, t, 'a', TTL);
      expect(a).toMatchObject({ holder: 'a', epoch: 1 });
      expect(await leases.acquire(org, t, 'b', TTL)).toBeUndefined();
      expect(await leases.acquire(org, t, 'a', TTL)).toBeUndefined();
      expect(await leases.release(org, t, a!)).toBe(true);
      const b = await leases.acquire(org, t, 'b', TTL);
      expect(b).toMatchObject({ holder: 'b', epoch: 2 });
      now += TTL;
      const c = await leases.acquire(org, t, 'c', TTL);
      expect(c).toMatchObject({ holder: 'c', epoch: 3 });
      expect(await leases.renew(org, t, b!, TTL)).toBeUndefined();
      expect(await leases.advanceReplayId(org, t, b!, '7')).toBe('lost');
      expect(await leases.advanceReplayId(org, t, c!, '7')).toBe('stored');
      expect(await leases.advanceReplayId(org, t, c!, '6')).toBe('behind');
      expect((await ledger.replayIds.get(org, t))?.replayId).toBe('7');
      expect((await leases.list(org)).map((l) => l.holder)).toEqual(['c']);
    });
  });
}

/** A keeper believes it holds the lease while the grant it was given is live by the clock. */
function believes(k: Keeper, now: number): boolean {
  const g = k.lease.peek();
  return g !== undefined && g.expiresAt > now;
}
