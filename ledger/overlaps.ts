import { sql, type Kysely } from 'kysely';
import type { DialectName } from './migrations.js';
import type { LedgerTables, OverlapRow } from './schema.js';
import type { Overlap, OverlapDiff, OverlapInput } from './types.js';
import { chunks, fromJson, lastByKey, nowIso, sortedBy, toJson, withRetry } from './util.js';

function toOverlap(r: OverlapRow): Overlap {
  return {
    partner: r.partner,
    vendorAccountId: r.vendor_account_id,
    partnerRecordId: r.partner_record_id,
    hashedKey: r.hashed_key,
    classification: r.classification,
    score: Number(r.score),
    details: fromJson(r.details),
    updatedAt: r.updated_at,
  };
}

const pairKey = (o: { vendorAccountId: string; partnerRecordId: string }) => `${o.vendorAccountId}\u0000${o.partnerRecordId}`;

/** The latest account-mapping result per partner: one row per (vendor account, partner record) that overlap. */
export class Overlaps {
  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly dialect: DialectName,
  ) {}

  /**
   * Make `rows` the partner's overlap set, atomically, and say what changed (appeared, ended,
   * reclassified) so the caller writes back only the differences. Runs for one partner at a time
   * (an advisory lock on PostgreSQL), so concurrent runs end in exactly one of their results.
   */
  async replace(partner: string, rows: readonly OverlapInput[]): Promise<OverlapDiff> {
    const now = nowIso();
    const wanted = sortedBy(lastByKey(rows, pairKey), pairKey);
    return withRetry(this.dialect, () =>
      this.db.transaction().execute(async (tx) => {
        if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${'cosell.overlaps:' + partner}))`.execute(tx);
        const existing = new Map<string, Overlap>();
        for (const r of await tx.selectFrom('account_overlaps').selectAll().where('partner', '=', partner).execute()) existing.set(pairKey(toOverlap(r)), toOverlap(r));

        const diff: OverlapDiff = { added: [], removed: [], changed: [], unchanged: 0 };
        const toWrite: Overlap[] = [];
        for (const w of wanted) {
          const o: Overlap = { ...w, partner, details: w.details ?? null, updatedAt: now };
          const prev = existing.get(pairKey(w));
          existing.delete(pairKey(w));
          if (!prev) diff.added.push(o);
          else if (prev.classification !== o.classification || prev.score !== o.score || prev.hashedKey !== o.hashedKey || toJson(prev.details) !== toJson(o.details)) diff.changed.push(o);
          else {
            diff.unchanged++;
            continue;
          }
          toWrite.push(o);
        }
        diff.removed = sortedBy([...existing.values()], pairKey);

        for (const part of chunks(diff.removed)) {
          await tx
            .deleteFrom('account_overlaps')
            .where('partner', '=', partner)
            .where((eb) => eb.or(part.map((o) => eb.and([eb('vendor_account_id', '=', o.vendorAccountId), eb('partner_record_id', '=', o.partnerRecordId)]))))
            .execute();
        }
        for (const part of chunks(toWrite)) {
          await tx
            .insertInto('account_overlaps')
            .values(
              part.map((o) => ({
                partner,
                vendor_account_id: o.vendorAccountId,
                partner_record_id: o.partnerRecordId,
                hashed_key: o.hashedKey,
                classification: o.classification,
                score: o.score,
                details: toJson(o.details),
                updated_at: now,
              })),
            )
            .onConflict((oc) =>
              oc.columns(['partner', 'vendor_account_id', 'partner_record_id']).doUpdateSet((eb) => ({
                hashed_key: eb.ref('excluded.hashed_key'),
                classification: eb.ref('excluded.classification'),
                score: eb.ref('excluded.score'),
                details: eb.ref('excluded.details'),
                updated_at: eb.ref('excluded.updated_at'),
              })),
            )
            .execute();
        }
        return diff;
      }),
    );
  }

  async list(partner: string, opts: { classification?: string; limit?: number; offset?: number } = {}): Promise<Overlap[]> {
    let q = this.db.selectFrom('account_overlaps').selectAll().where('partner', '=', partner).orderBy('score', 'desc').orderBy('vendor_account_id').orderBy('partner_record_id');
    if (opts.classification !== undefined) q = q.where('classification', '=', opts.classification);
    if (opts.limit !== undefined || opts.offset !== undefined) q = q.limit(opts.limit ?? 1e9).offset(opts.offset ?? 0);
    return (await q.execute()).map(toOverlap);
  }

  /** Counts by classification (the `cosell overlaps` summary table). */
  async summary(partner: string): Promise<Array<{ classification: string; count: number }>> {
    const rows = await this.db
      .selectFrom('account_overlaps')
      .select(['classification', (eb) => eb.fn.countAll<number>().as('n')])
      .where('partner', '=', partner)
      .groupBy('classification')
      .orderBy('classification')
      .execute();
    return rows.map((r) => ({ classification: r.classification, count: Number(r.n) }));
  }
}
