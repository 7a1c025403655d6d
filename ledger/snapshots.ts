import { sql, type Kysely } from 'kysely';
import type { DialectName } from './migrations.js';
import type { LedgerTables } from './schema.js';
import type { RecordSnapshot, SnapshotWrite } from './types.js';
import { chunks, fromJson, nowIso, toJson, withRetry } from './util.js';

type Row = { org_id: string; object: string; record_id: string; fields: string; modified_at: string | null };
const keyOf = (w: { orgId: string; object: string; recordId: string }) => `${w.orgId}\u0000${w.object}\u0000${w.recordId}`;

/** Advisory-lock class for snapshot rows (two-key form, apart from every other lock cosell takes). */
const SNAPSHOT_LOCK_CLASS = 7301;

/**
 * Merge field values into the stored snapshots, field by field: what a link just read or wrote is the
 * truth for those fields; other fields keep what the other direction last saw. Read-merge-write inside
 * the caller's transaction, in key order. On PostgreSQL the records are first locked (transaction-scoped
 * advisory locks, in lock-id order) so two workers merging into one record cannot lose each other's
 * fields — row locks alone cannot cover rows that do not exist yet.
 */
export async function writeSnapshots(db: Kysely<LedgerTables>, writes: readonly SnapshotWrite[], dialect: DialectName): Promise<void> {
  const now = nowIso();
  const merged = new Map<string, SnapshotWrite>();
  for (const w of writes) {
    const k = keyOf(w);
    const prev = merged.get(k);
    merged.set(k, prev ? { ...w, fields: { ...prev.fields, ...w.fields }, modifiedAt: w.modifiedAt ?? prev.modifiedAt } : w);
  }
  if (dialect === 'postgres' && merged.size > 0) {
    const keys = [...merged.values()].map((w) => JSON.stringify([w.orgId, w.object, w.recordId])); // text without NUL bytes
    await sql`select pg_advisory_xact_lock(${SNAPSHOT_LOCK_CLASS}, s.h) from (select distinct hashtext(k) as h from unnest(${keys}::text[]) as k order by h) as s`.execute(db);
  }
  const groups = new Map<string, SnapshotWrite[]>();
  for (const w of [...merged.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))) {
    const g = `${w.orgId}\u0000${w.object}`;
    (groups.get(g) ?? groups.set(g, []).get(g)!).push(w);
  }
  for (const group of groups.values()) {
    for (const part of chunks(group)) {
      const existing = await db
        .selectFrom('record_snapshots')
        .select(['record_id', 'fields'])
        .where('org_id', '=', part[0].orgId)
        .where('object', '=', part[0].object)
        .where('record_id', 'in', part.map((w) => w.recordId))
        .execute();
      const old = new Map(existing.map((r) => [r.record_id, fromJson<Record<string, unknown>>(r.fields) ?? {}]));
      await db
        .insertInto('record_snapshots')
        .values(
          part.map((w) => ({
            org_id: w.orgId,
            object: w.object,
            record_id: w.recordId,
            fields: toJson({ ...(old.get(w.recordId) ?? {}), ...w.fields })!,
            modified_at: w.modifiedAt ?? now,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['org_id', 'object', 'record_id']).doUpdateSet((eb) => ({
            fields: eb.ref('excluded.fields'),
            modified_at: eb.ref('excluded.modified_at'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
  }
}

export class Snapshots {
  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly dialect: DialectName,
  ) {}

  async get(orgId: string, object: string, recordIds: readonly string[]): Promise<Map<string, RecordSnapshot>> {
    const out = new Map<string, RecordSnapshot>();
    for (const part of chunks([...new Set(recordIds)])) {
      const rows: Row[] = await this.db.selectFrom('record_snapshots').selectAll().where('org_id', '=', orgId).where('object', '=', object).where('record_id', 'in', part).execute();
      for (const r of rows) out.set(r.record_id, { fields: fromJson(r.fields) ?? {}, modifiedAt: r.modified_at ?? undefined });
    }
    return out;
  }

  async put(writes: readonly SnapshotWrite[]): Promise<void> {
    await withRetry(this.dialect, () => this.db.transaction().execute((tx) => writeSnapshots(tx, writes, this.dialect)));
  }
}
