import { sql, type Kysely } from 'kysely';
import type { LedgerTables, RecordPairRow } from './schema.js';
import type { HashWrite, PairWrite, RecordPair } from './types.js';
import { chunks, fromJson, lastByKey, nowIso, sortedBy, toJson } from './util.js';

function toPair(r: RecordPairRow): RecordPair {
  return {
    linkId: r.link_id,
    sourceId: r.source_id,
    targetId: r.target_id,
    matchKey: r.match_key,
    sourceHash: r.source_hash,
    targetHash: r.target_hash,
    base: fromJson(r.base),
    targetDeletedAt: r.target_deleted_at,
    deletedAt: r.deleted_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Upsert pairs by (link, source id): a retried or duplicated page updates the same rows, never adds
 * new ones. A null/omitted match key, hash or base keeps the stored value; re-pairing clears a deletion
 * (and, with another target id, a target-side deletion).
 */
export async function writePairs(db: Kysely<LedgerTables>, linkId: string, pairs: readonly PairWrite[]): Promise<void> {
  const now = nowIso();
  const rows = sortedBy(lastByKey(pairs, (p) => p.sourceId), (p) => p.sourceId);
  for (const part of chunks(rows)) {
    await db
      .insertInto('record_pairs')
      .values(
        part.map((p) => ({
          link_id: linkId,
          source_id: p.sourceId,
          target_id: p.targetId,
          match_key: p.matchKey ?? null,
          source_hash: p.sourceHash ?? null,
          target_hash: p.targetHash ?? null,
          base: toJson(p.base),
          target_deleted_at: p.targetDeleted ? now : null,
          deleted_at: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['link_id', 'source_id']).doUpdateSet((eb) => ({
          target_id: eb.ref('excluded.target_id'),
          match_key: eb.fn.coalesce('excluded.match_key', 'record_pairs.match_key'),
          source_hash: eb.fn.coalesce('excluded.source_hash', 'record_pairs.source_hash'),
          target_hash: eb.fn.coalesce('excluded.target_hash', 'record_pairs.target_hash'),
          base: eb.fn.coalesce('excluded.base', 'record_pairs.base'),
          // Marked once (the first time seen); a pair re-written with another target (re-created) is live again.
          target_deleted_at: sql<string | null>`case when excluded.target_id <> record_pairs.target_id then excluded.target_deleted_at else coalesce(record_pairs.target_deleted_at, excluded.target_deleted_at) end`,
          deleted_at: null,
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
    const relinked = part.filter((p) => p.relinked).map((p) => p.sourceId);
    if (relinked.length) await db.updateTable('record_pairs').set({ target_deleted_at: null }).where('link_id', '=', linkId).where('source_id', 'in', relinked).execute();
  }
}

/** Update hashes of existing pairs in bulk (one UPDATE … FROM (VALUES …) per chunk, portable to both databases). */
export async function writeHashes(db: Kysely<LedgerTables>, linkId: string, hashes: readonly HashWrite[]): Promise<void> {
  const now = nowIso();
  const rows = sortedBy(lastByKey(hashes, (h) => h.sourceId), (h) => h.sourceId);
  for (const part of chunks(rows)) {
    const values = sql.join(part.map((h) => sql`(${h.sourceId}, ${h.sourceHash ?? null}, ${h.targetHash ?? null})`));
    // VALUES columns are named column1..3 by both SQLite and PostgreSQL.
    await sql`update record_pairs
      set source_hash = coalesce(v.column2, record_pairs.source_hash),
          target_hash = coalesce(v.column3, record_pairs.target_hash),
          updated_at = ${now}
      from (values ${values}) as v
      where record_pairs.link_id = ${linkId} and record_pairs.source_id = v.column1`.execute(db);
  }
}

export async function markPairsDeleted(db: Kysely<LedgerTables>, linkId: string, sourceIds: readonly string[]): Promise<void> {
  const now = nowIso();
  for (const part of chunks([...new Set(sourceIds)].sort())) {
    await db
      .updateTable('record_pairs')
      .set({ deleted_at: now, updated_at: now })
      .where('link_id', '=', linkId)
      .where('source_id', 'in', part)
      .where('deleted_at', 'is', null)
      .execute();
  }
}

export class Pairs {
  constructor(private readonly db: Kysely<LedgerTables>) {}

  /** Pairs of the given source records, keyed by source id (absent = never synced). */
  async bySource(linkId: string, sourceIds: readonly string[]): Promise<Map<string, RecordPair>> {
    const out = new Map<string, RecordPair>();
    for (const part of chunks([...new Set(sourceIds)], 1000)) {
      const rows = await this.db.selectFrom('record_pairs').selectAll().where('link_id', '=', linkId).where('source_id', 'in', part).execute();
      for (const r of rows) out.set(r.source_id, toPair(r));
    }
    return out;
  }

  /**
   * Pairs by target id (e.g. the reverse link asking "did we write this record?"). Should several
   * sources share a target, the live, most recently updated pair wins.
   */
  async byTarget(linkId: string, targetIds: readonly string[]): Promise<Map<string, RecordPair>> {
    const out = new Map<string, RecordPair>();
    for (const part of chunks([...new Set(targetIds)], 1000)) {
      const rows = await this.db.selectFrom('record_pairs').selectAll().where('link_id', '=', linkId).where('target_id', 'in', part).execute();
      for (const r of rows) {
        const prev = out.get(r.target_id);
        if (!prev || preferable(toPair(r), prev)) out.set(r.target_id, toPair(r));
      }
    }
    return out;
  }

  /** Pairs by match key (first sync of a record whose twin already exists). */
  async byMatchKey(linkId: string, keys: readonly string[]): Promise<Map<string, RecordPair>> {
    const out = new Map<string, RecordPair>();
    for (const part of chunks([...new Set(keys)], 1000)) {
      const rows = await this.db.selectFrom('record_pairs').selectAll().where('link_id', '=', linkId).where('match_key', 'in', part).execute();
      for (const r of rows) {
        const prev = out.get(r.match_key!);
        if (!prev || preferable(toPair(r), prev)) out.set(r.match_key!, toPair(r));
      }
    }
    return out;
  }

  /** One page of a link's pairs ordered by source id (for back-fills and checks); page on with `afterSourceId`. */
  async list(linkId: string, opts: { afterSourceId?: string; limit?: number; includeDeleted?: boolean } = {}): Promise<RecordPair[]> {
    let q = this.db.selectFrom('record_pairs').selectAll().where('link_id', '=', linkId).orderBy('source_id').limit(opts.limit ?? 1000);
    if (opts.afterSourceId !== undefined) q = q.where('source_id', '>', opts.afterSourceId);
    if (!opts.includeDeleted) q = q.where('deleted_at', 'is', null);
    return (await q.execute()).map(toPair);
  }

  async count(linkId: string, opts: { includeDeleted?: boolean } = {}): Promise<number> {
    let q = this.db.selectFrom('record_pairs').select((eb) => eb.fn.countAll<number>().as('n')).where('link_id', '=', linkId);
    if (!opts.includeDeleted) q = q.where('deleted_at', 'is', null);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /** Write pairs outside a page commit (e.g. an initial match-key reconciliation). */
  async upsert(linkId: string, pairs: readonly PairWrite[]): Promise<void> {
    await writePairs(this.db, linkId, pairs);
  }
}

function preferable(a: RecordPair, b: RecordPair): boolean {
  if ((a.deletedAt === null) !== (b.deletedAt === null)) return a.deletedAt === null;
  return a.updatedAt > b.updatedAt;
}
