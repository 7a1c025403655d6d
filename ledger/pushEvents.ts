import { sql, type Kysely } from 'kysely';
import type { DialectName } from './migrations.js';
import type { LedgerTables } from './schema.js';
import { chunks, withRetry } from './util.js';

/**
 * Events a CRM pushed to us (push/): written before they are acknowledged, so an acknowledged event
 * is never lost; stored once per (org, dedupe key) however often it is delivered; handed to the change
 * notifier by the forwarder (push/forwarder.ts), which claims due rows with a short lease (several
 * workers may forward; a notification may repeat, never vanish) and retries failed ones with back-off.
 */

/** Records of one object that an event says changed. */
export interface PushTarget {
  object: string;
  ids: string[];
}

export interface PushEventInput {
  orgId: string;
  source: string;
  dedupeKey: string;
  eventId: string;
  eventType: string;
  occurredAt: string;
  targets: PushTarget[];
  payload: unknown;
  /** Set for an event kept but not used (why); such events are never notified. */
  rejected?: string;
}

export interface ClaimedPushEvent {
  id: number;
  orgId: string;
  eventId: string;
  eventType: string;
  occurredAt: string;
  receivedAt: string;
  targets: PushTarget[];
  attempts: number;
}

export interface PushEventCounts {
  pending: number;
  notified: number;
  rejected: number;
  /** Oldest pending event's receipt time (how far behind the notifier is). */
  oldestPendingAt?: string;
}

export class PushEvents {
  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly dialect: DialectName,
  ) {}

  /**
   * Store a batch in one transaction; events already stored (same org and dedupe key) are left as
   * they are. Returns the keys that were new and how many were duplicates. When this resolves, the
   * events are durable: only then may the sender be told 2xx.
   */
  async accept(events: PushEventInput[], now = new Date()): Promise<{ inserted: string[]; duplicates: number }> {
    const at = now.toISOString();
    // First occurrence wins (a batch may carry one event twice); rows go in in delivery order.
    const seen = new Set<string>();
    const unique = events.filter((e) => {
      const k = `${e.orgId}\u0000${e.dedupeKey}`;
      return seen.has(k) ? false : (seen.add(k), true);
    });
    const inserted: string[] = [];
    await withRetry(this.dialect, () =>
      this.db.transaction().execute(async (tx) => {
        inserted.length = 0;
        for (const part of chunks(unique, 200)) {
          const rows = await tx
            .insertInto('push_events')
            .values(
              part.map((e) => ({
                org_id: e.orgId,
                source: e.source,
                dedupe_key: e.dedupeKey,
                event_id: e.eventId,
                event_type: e.eventType,
                occurred_at: e.occurredAt,
                received_at: at,
                targets: JSON.stringify(e.targets),
                payload: JSON.stringify(e.payload),
                status: e.rejected ? 'rejected' : 'pending',
                reason: e.rejected ?? null,
                attempts: 0,
                next_attempt_at: at,
                lease_until: null,
                last_error: null,
                notified_at: null,
              })),
            )
            .onConflict((oc) => oc.columns(['org_id', 'dedupe_key']).doNothing())
            .returning('dedupe_key')
            .execute();
          inserted.push(...rows.map((r) => r.dedupe_key));
        }
      }),
    );
    return { inserted: [...inserted], duplicates: events.length - inserted.length };
  }

  /**
   * Claim up to `limit` pending events that are due and not leased by another forwarder, for
   * `leaseMs`. A forwarder that dies holding a lease only delays those events until it runs out.
   */
  async claimDue(limit: number, leaseMs: number, now = new Date()): Promise<ClaimedPushEvent[]> {
    const at = now.toISOString();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const free = (eb: any) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', at)]);
    const candidates = await this.db
      .selectFrom('push_events')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', at)
      .where(free)
      .orderBy('id')
      .limit(limit)
      .execute();
    if (candidates.length === 0) return [];
    // The lease condition is re-checked by the update itself: two forwarders never both claim a row.
    const rows = await this.db
      .updateTable('push_events')
      .set({ lease_until: until })
      .where('id', 'in', candidates.map((c) => c.id))
      .where('status', '=', 'pending')
      .where(free)
      .returning(['id', 'org_id', 'event_id', 'event_type', 'occurred_at', 'received_at', 'targets', 'attempts'])
      .execute();
    return rows
      .map((r) => ({
        id: Number(r.id),
        orgId: r.org_id,
        eventId: r.event_id,
        eventType: r.event_type,
        occurredAt: r.occurred_at,
        receivedAt: r.received_at,
        targets: JSON.parse(r.targets) as PushTarget[],
        attempts: r.attempts,
      }))
      .sort((a, b) => a.id - b.id);
  }

  async markNotified(ids: number[], now = new Date()): Promise<void> {
    for (const part of chunks(ids)) {
      await this.db.updateTable('push_events').set({ status: 'notified', notified_at: now.toISOString(), lease_until: null, last_error: null }).where('id', 'in', part).execute();
    }
  }

  /** The notifier failed for these events: count the attempt, keep them pending until `retryAt`. */
  async markFailed(ids: number[], error: string, retryAt: Date): Promise<void> {
    for (const part of chunks(ids)) {
      await this.db
        .updateTable('push_events')
        .set({ attempts: sql`attempts + 1`, last_error: error.slice(0, 2000), next_attempt_at: retryAt.toISOString(), lease_until: null })
        .where('id', 'in', part)
        .where('status', '=', 'pending')
        .execute();
    }
  }

  /** When the next pending event falls due (its retry time or its lease's end), if any is pending. */
  async nextDueAt(): Promise<Date | undefined> {
    const r = await this.db
      .selectFrom('push_events')
      .select((eb) => eb.fn.min(sql<string>`case when lease_until is not null and lease_until > next_attempt_at then lease_until else next_attempt_at end`).as('due'))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return r?.due ? new Date(r.due as string) : undefined;
  }

  async counts(orgId?: string): Promise<PushEventCounts> {
    let q = this.db.selectFrom('push_events').select(['status', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.min('received_at').as('oldest')]).groupBy('status');
    if (orgId) q = q.where('org_id', '=', orgId);
    const out: PushEventCounts = { pending: 0, notified: 0, rejected: 0 };
    for (const r of await q.execute()) {
      if (r.status === 'pending' || r.status === 'notified' || r.status === 'rejected') out[r.status] = Number(r.n);
      if (r.status === 'pending' && r.oldest) out.oldestPendingAt = String(r.oldest);
    }
    return out;
  }

  /** Stored events of an org (tests, inspection), oldest first. */
  async list(orgId: string, opts: { status?: string; limit?: number } = {}) {
    let q = this.db.selectFrom('push_events').selectAll().where('org_id', '=', orgId).orderBy('id').limit(opts.limit ?? 100_000);
    if (opts.status) q = q.where('status', '=', opts.status);
    return (await q.execute()).map((r) => ({ ...r, id: Number(r.id), targets: JSON.parse(r.targets) as PushTarget[], payload: JSON.parse(r.payload) as unknown }));
  }

  /**
   * Forget notified events received before `before`. Their dedupe keys go with them, so keep them longer
   * than the sender redelivers (HubSpot: 24 hours); the forwarder keeps 48 h.
   */
  async prune(before: Date): Promise<number> {
    const r = await this.db.deleteFrom('push_events').where('status', '=', 'notified').where('received_at', '<', before.toISOString()).executeTakeFirst();
    return Number(r.numDeletedRows ?? 0);
  }
}
