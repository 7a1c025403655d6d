import type { Kysely, Selectable } from 'kysely';
import type { AuditEventRow, LedgerTables } from './schema.js';
import type { AuditEvent, AuditInput, AuditQuery } from './types.js';
import { chunks, fromJson, isoTime, nowIso, toJson } from './util.js';

function toEvent(r: Selectable<AuditEventRow>): AuditEvent {
  return {
    id: r.id,
    eventKey: r.event_key,
    linkId: r.link_id,
    sourceId: r.source_id,
    targetId: r.target_id,
    action: r.action,
    before: fromJson(r.before),
    after: fromJson(r.after),
    decisions: fromJson(r.decisions),
    details: fromJson(r.details),
    actor: r.actor,
    at: r.at,
  };
}

/** Append events; one carrying an `eventKey` that is already stored is skipped (idempotent under duplicated activities). */
export async function writeAudits(db: Kysely<LedgerTables>, events: readonly AuditInput[]): Promise<void> {
  const now = nowIso();
  // Keyed events first, in key order, so concurrent duplicates take their unique-index locks in one order.
  const keyed = events.filter((e) => e.eventKey).sort((a, b) => (a.eventKey! < b.eventKey! ? -1 : a.eventKey! > b.eventKey! ? 1 : 0));
  const ordered = [...keyed, ...events.filter((e) => !e.eventKey)];
  for (const part of chunks(ordered)) {
    await db
      .insertInto('audit_events')
      .values(
        part.map((e) => ({
          event_key: e.eventKey ?? null,
          link_id: e.linkId,
          source_id: e.sourceId ?? null,
          target_id: e.targetId ?? null,
          action: e.action,
          before: toJson(e.before),
          after: toJson(e.after),
          decisions: toJson(e.decisions),
          details: toJson(e.details),
          actor: e.actor ?? null,
          at: e.at ? isoTime(e.at, 'audit.at') : now,
        })),
      )
      .onConflict((oc) => oc.column('event_key').doNothing())
      .execute();
  }
}

export class Audit {
  constructor(private readonly db: Kysely<LedgerTables>) {}

  async append(events: readonly AuditInput[]): Promise<void> {
    await writeAudits(this.db, events);
  }

  /** Events by link and/or record (either side), time window and action, in id order; page with `afterId`. */
  async list(q: AuditQuery = {}): Promise<AuditEvent[]> {
    const desc = q.order === 'desc';
    let sel = this.db
      .selectFrom('audit_events')
      .selectAll()
      .orderBy('id', desc ? 'desc' : 'asc')
      .limit(q.limit ?? 1000);
    if (q.linkId !== undefined) sel = sel.where('link_id', '=', q.linkId);
    if (q.linkIds !== undefined) {
      if (q.linkIds.length === 0) return [];
      sel = sel.where('link_id', 'in', [...q.linkIds]);
    }
    if (q.recordId !== undefined) {
      const id = q.recordId;
      sel = sel.where((eb) => eb.or([eb('source_id', '=', id), eb('target_id', '=', id)]));
    }
    if (q.action !== undefined) sel = sel.where('action', '=', q.action);
    if (q.since !== undefined) sel = sel.where('at', '>=', isoTime(q.since, 'since'));
    if (q.until !== undefined) sel = sel.where('at', '<', isoTime(q.until, 'until'));
    if (q.afterId !== undefined) sel = sel.where('id', desc ? '<' : '>', q.afterId);
    return (await sel.execute()).map(toEvent);
  }

  /** Retention: delete events older than `before` (ISO); returns how many. */
  async prune(before: string): Promise<number> {
    const res = await this.db.deleteFrom('audit_events').where('at', '<', isoTime(before, 'before')).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async count(linkId?: string): Promise<number> {
    let q = this.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n'));
    if (linkId !== undefined) q = q.where('link_id', '=', linkId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }
}
