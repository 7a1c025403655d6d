import type { Kysely } from 'kysely';
import type { DialectName } from './migrations.js';
import { ReplayIds } from './replayIds.js';
import type { LedgerTables } from './schema.js';
import { withRetry } from './util.js';

/** A lease as its holder knows it: until `expiresAt` (ms since epoch) unless renewed. */
export interface LeaseGrant {
  holder: string;
  /** Counts the holders of this (org, topic): the fencing token of this holder's writes. */
  epoch: number;
  expiresAt: number;
}

export interface StoredLease extends LeaseGrant {
  orgId: string;
  topic: string;
  acquiredAt: string;
  renewedAt: string;
}

/** What a fenced replay-id write did: stored, not later than the stored one, or refused because the lease is gone. */
export type FencedWrite = 'stored' | 'behind' | 'lost';

const iso = (ms: number) => new Date(ms).toISOString();
/** Sorts before every real expiry: a released lease is free at once. */
const RELEASED = iso(0);

/**
 * Change Data Capture leases: which worker subscribes each (org, topic), so several workers run ONE
 * Pub/Sub subscription per org object instead of one each. Every statement is one compare-and-set on
 * the lease row:
 * - `acquire` takes a lease only when it is free (never held, released, or past `expires_at`), bumping
 *   the epoch;
 * - `renew` moves `expires_at` only for the same holder AND epoch while it is still live, so a holder
 *   that paused past its expiry cannot renew its way back over a taker;
 * - `advanceReplayId` stores a position only while (holder, epoch) holds a live lease, in one
 *   transaction with that check: a holder that lost the lease learns it at its next write, and its
 *   stale write never lands after the taker read the position (the taker's acquire waits on the
 *   row this transaction touched).
 *
 * Times come from `clock` (the worker's; the tests' fake one). Holders on different hosts assume
 * clocks within a small fraction of the lease's length of each other — NTP's milliseconds against a
 * 15 s lease.
 */
export class CdcLeases {
  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly dialect: DialectName,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Take the lease if it is free. The grant, or undefined while someone (this holder included) holds it. */
  async acquire(orgId: string, topic: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    const now = this.clock();
    const row = await this.db
      .insertInto('cdc_leases')
      .values({ org_id: orgId, topic, holder, epoch: 1, acquired_at: iso(now), renewed_at: iso(now), expires_at: iso(now + ttlMs) })
      .onConflict((oc) =>
        oc
          .columns(['org_id', 'topic'])
          .doUpdateSet((eb) => ({
            holder: eb.ref('excluded.holder'),
            epoch: eb(eb.ref('cdc_leases.epoch'), '+', 1),
            acquired_at: eb.ref('excluded.acquired_at'),
            renewed_at: eb.ref('excluded.renewed_at'),
            expires_at: eb.ref('excluded.expires_at'),
          }))
          .where('cdc_leases.expires_at', '<=', iso(now)),
      )
      .returning(['holder', 'epoch'])
      .executeTakeFirst();
    return row ? { holder: row.holder, epoch: Number(row.epoch), expiresAt: now + ttlMs } : undefined;
  }

  /** Extend a live lease of this holder and epoch; undefined when it is no longer this holder's. */
  async renew(orgId: string, topic: string, grant: Pick<LeaseGrant, 'holder' | 'epoch'>, ttlMs: number): Promise<LeaseGrant | undefined> {
    const now = this.clock();
    const r = await this.db
      .updateTable('cdc_leases')
      .set({ renewed_at: iso(now), expires_at: iso(now + ttlMs) })
      .where((eb) => eb.and(mine(orgId, topic, grant)))
      .where('expires_at', '>', iso(now))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? { holder: grant.holder, epoch: grant.epoch, expiresAt: now + ttlMs } : undefined;
  }

  /** Give the lease up (a graceful stop): the next standby's acquire takes it at once. */
  async release(orgId: string, topic: string, grant: Pick<LeaseGrant, 'holder' | 'epoch'>): Promise<boolean> {
    const r = await this.db
      .updateTable('cdc_leases')
      .set({ expires_at: RELEASED })
      .where((eb) => eb.and(mine(orgId, topic, grant)))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Store a replay id only while `grant` holds the live lease. The lease row is touched first (a row
   * lock on PostgreSQL, the write lock on SQLite) so no acquire can commit between the check and the write.
   */
  async advanceReplayId(orgId: string, topic: string, grant: Pick<LeaseGrant, 'holder' | 'epoch'>, replayId: string): Promise<FencedWrite> {
    const now = this.clock();
    return withRetry(this.dialect, () =>
      this.db.transaction().execute(async (trx) => {
        const held = await trx
          .updateTable('cdc_leases')
          .set((eb) => ({ renewed_at: eb.ref('renewed_at') }))
          .where((eb) => eb.and(mine(orgId, topic, grant)))
          .where('expires_at', '>', iso(now))
          .executeTakeFirst();
        if (Number(held.numUpdatedRows) !== 1) return 'lost';
        return (await new ReplayIds(trx).advance(orgId, topic, replayId)) ? 'stored' : 'behind';
      }),
    );
  }

  async get(orgId: string, topic: string): Promise<StoredLease | undefined> {
    const row = await this.db.selectFrom('cdc_leases').selectAll().where('org_id', '=', orgId).where('topic', '=', topic).executeTakeFirst();
    return row ? toLease(row) : undefined;
  }

  /** Every lease (of one org), live or not: `cosell status` shows who holds each. */
  async list(orgId?: string): Promise<StoredLease[]> {
    let q = this.db.selectFrom('cdc_leases').selectAll();
    if (orgId) q = q.where('org_id', '=', orgId);
    return (await q.orderBy('org_id').orderBy('topic').execute()).map(toLease);
  }
}

/** The lease row of (org, topic) as this holder and epoch have it. */
function mine(orgId: string, topic: string, grant: Pick<LeaseGrant, 'holder' | 'epoch'>) {
  return { org_id: orgId, topic, holder: grant.holder, epoch: grant.epoch };
}

function toLease(row: LedgerTables['cdc_leases']): StoredLease {
  return { orgId: row.org_id, topic: row.topic, holder: row.holder, epoch: Number(row.epoch), acquiredAt: row.acquired_at, renewedAt: row.renewed_at, expiresAt: Date.parse(row.expires_at) };
}
