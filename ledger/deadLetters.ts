import type { Kysely, Selectable } from 'kysely';
import type { DeadLetterRow, LedgerTables } from './schema.js';
import type { DeadLetter, DeadLetterInput, DeadLetterStatus } from './types.js';
import { chunks, fromJson, lastByKey, nowIso, sortedBy, toJson } from './util.js';

function toDeadLetter(r: Selectable<DeadLetterRow>): DeadLetter {
  return {
    id: r.id,
    linkId: r.link_id,
    sourceId: r.source_id,
    payload: JSON.parse(r.payload),
    reason: r.reason,
    code: r.code,
    kind: r.kind,
    fields: fromJson<string[]>(r.fields) ?? [],
    attempts: r.attempts,
    status: r.status as DeadLetterStatus,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    replayedAt: r.replayed_at,
    resolvedAt: r.resolved_at,
  };
}

/**
 * One dead letter per (link, source record): a record that fails again (after a replay, or in a
 * later page) updates the same row with the latest reason, counts the attempt and is pending again.
 */
export async function writeDeadLetters(db: Kysely<LedgerTables>, linkId: string, inputs: readonly DeadLetterInput[]): Promise<void> {
  const now = nowIso();
  const rows = sortedBy(lastByKey(inputs, (d) => d.sourceId), (d) => d.sourceId);
  for (const part of chunks(rows)) {
    await db
      .insertInto('dead_letters')
      .values(
        part.map((d) => ({
          link_id: linkId,
          source_id: d.sourceId,
          payload: JSON.stringify(d.payload ?? null),
          reason: d.reason,
          code: d.code ?? null,
          kind: d.kind ?? null,
          fields: toJson(d.fields ?? null),
          attempts: 1,
          status: 'pending',
          created_at: now,
          updated_at: now,
          replayed_at: null,
          resolved_at: null,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['link_id', 'source_id']).doUpdateSet((eb) => ({
          payload: eb.ref('excluded.payload'),
          reason: eb.ref('excluded.reason'),
          code: eb.ref('excluded.code'),
          kind: eb.ref('excluded.kind'),
          fields: eb.ref('excluded.fields'),
          attempts: eb('dead_letters.attempts', '+', 1),
          status: 'pending',
          updated_at: eb.ref('excluded.updated_at'),
          resolved_at: null,
        })),
      )
      .execute();
  }
}

/** The records have landed: their open dead letters become resolved. */
export async function resolveDeadLetters(db: Kysely<LedgerTables>, linkId: string, sourceIds: readonly string[]): Promise<number> {
  const now = nowIso();
  let n = 0;
  for (const part of chunks([...new Set(sourceIds)].sort())) {
    const res = await db
      .updateTable('dead_letters')
      .set({ status: 'resolved', resolved_at: now, updated_at: now })
      .where('link_id', '=', linkId)
      .where('source_id', 'in', part)
      .where('status', '!=', 'resolved')
      .executeTakeFirst();
    n += Number(res.numUpdatedRows);
  }
  return n;
}

export interface DeadLetterQuery {
  linkId?: string;
  status?: DeadLetterStatus | DeadLetterStatus[];
  /** Only these codes (in SQL, so a few parked records are found behind any number of others). */
  codes?: readonly string[];
  /** Only these ids. */
  ids?: readonly number[];
  /** Only those without a CRM code (`codes` cannot name "none"). */
  withoutCode?: boolean;
  /** Keyset paging: ids after this one (rows come in id order). */
  afterId?: number;
  limit?: number; // default 1000
}

/** A replay was started for these (pending) dead letters; returns how many changed. Part of a page commit (commitPage.ts). */
export async function markDeadLettersReplayed(db: Kysely<LedgerTables>, ids: readonly number[]): Promise<number> {
  const now = nowIso();
  let n = 0;
  for (const part of chunks([...new Set(ids)].sort((a, b) => a - b))) {
    const res = await db
      .updateTable('dead_letters')
      .set({ status: 'replayed', replayed_at: now, updated_at: now })
      .where('id', 'in', part)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    n += Number(res.numUpdatedRows);
  }
  return n;
}

export class DeadLetters {
  constructor(private readonly db: Kysely<LedgerTables>) {}

  async list(q: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    let sel = this.db.selectFrom('dead_letters').selectAll().orderBy('id').limit(q.limit ?? 1000);
    if (q.linkId !== undefined) sel = sel.where('link_id', '=', q.linkId);
    if (q.status !== undefined) sel = sel.where('status', 'in', Array.isArray(q.status) ? q.status : [q.status]);
    if (q.codes?.length === 0 || q.ids?.length === 0) return [];
    if (q.codes !== undefined) sel = sel.where('code', 'in', [...q.codes]);
    if (q.ids !== undefined) sel = sel.where('id', 'in', [...q.ids]);
    if (q.withoutCode) sel = sel.where('code', 'is', null);
    if (q.afterId !== undefined) sel = sel.where('id', '>', q.afterId);
    return (await sel.execute()).map(toDeadLetter);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const r = await this.db.selectFrom('dead_letters').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toDeadLetter(r) : undefined;
  }

  async bySource(linkId: string, sourceId: string): Promise<DeadLetter | undefined> {
    const r = await this.db.selectFrom('dead_letters').selectAll().where('link_id', '=', linkId).where('source_id', '=', sourceId).executeTakeFirst();
    return r ? toDeadLetter(r) : undefined;
  }

  /** Record failures outside a page commit. Prefer `commitPage({ deadLetters })`. */
  async add(linkId: string, inputs: readonly DeadLetterInput[]): Promise<void> {
    await writeDeadLetters(this.db, linkId, inputs);
  }

  /** A replay was started for these (pending) dead letters; returns how many changed. A replay passes them to `commitPage({ replayedDeadLetters })` instead, so the mark commits with the replay's outcome. */
  async markReplayed(ids: readonly number[]): Promise<number> {
    return markDeadLettersReplayed(this.db, ids);
  }

  async resolve(linkId: string, sourceIds: readonly string[]): Promise<number> {
    return resolveDeadLetters(this.db, linkId, sourceIds);
  }

  /**
   * Pending dead letters grouped by link and category (the connector's error kind and the CRM's
   * code), with a count, the latest change and one reason as an example: the console's errors-by-
   * category view, computed in SQL.
   */
  async summary(): Promise<Array<{ linkId: string; kind: string | null; code: string | null; count: number; lastAt: string; example: string }>> {
    const rows = await this.db
      .selectFrom('dead_letters')
      .select(['link_id', 'kind', 'code', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('updated_at').as('last_at'), (eb) => eb.fn.min('reason').as('example')])
      .where('status', '=', 'pending')
      .groupBy(['link_id', 'kind', 'code'])
      .orderBy('link_id')
      .orderBy('kind')
      .orderBy('code')
      .execute();
    return rows.map((r) => ({ linkId: r.link_id, kind: r.kind, code: r.code, count: Number(r.n), lastAt: String(r.last_at), example: String(r.example) }));
  }

  /** Counts by status, of one link or all. */
  async counts(linkId?: string): Promise<Record<DeadLetterStatus, number>> {
    let q = this.db.selectFrom('dead_letters').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status');
    if (linkId !== undefined) q = q.where('link_id', '=', linkId);
    const out: Record<DeadLetterStatus, number> = { pending: 0, replayed: 0, resolved: 0 };
    for (const r of await q.execute()) out[r.status as DeadLetterStatus] = Number(r.n);
    return out;
  }
}
