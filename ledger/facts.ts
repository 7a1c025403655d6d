import { sql, type Kysely, type Transaction } from 'kysely';
import { addCells, factCells, isEmptyCell, type Cell, type OpportunityFact } from '../analytics/facts.js';
import type { DialectName } from './migrations.js';
import type { AnalyticsCellRow, LedgerTables } from './schema.js';
import { advanceConsumer } from './streams.js';
import { chunks, lastByKey, nowIso, sortedBy, withRetry } from './util.js';

/** One opportunity version to apply: its fact, or null when the opportunity was deleted. */
export interface FactChange {
  id: string;
  /** The CRM modification time of this version (a version older than the stored one is ignored). */
  modifiedAt: string;
  fact: OpportunityFact | null;
}

export interface FactApplyResult {
  changed: number;
  unchanged: number;
  deleted: number;
  /** Older than the stored version (read late): ignored. */
  stale: number;
  /** Cells touched (inserted, changed or removed). */
  cells: number;
  /** The stream position moved (when one was given). */
  advanced?: boolean;
}

const CELL_COLUMNS = ['kind', 'month', 'partner', 'role', 'status', 'bucket', 'currency', 'cycle_days', 'deals', 'partner_deals', 'cents', 'deal_cents', 'cycle_n', 'cycle_sum', 'cycle_sumsq'] as const;
const fromRow = (r: Omit<AnalyticsCellRow, 'org_id'>): Cell => ({
  kind: r.kind as Cell['kind'],
  month: r.month,
  partner: r.partner,
  role: r.role,
  status: r.status as Cell['status'],
  bucket: Number(r.bucket),
  currency: r.currency,
  cycleDays: Number(r.cycle_days),
  deals: Number(r.deals),
  partnerDeals: Number(r.partner_deals),
  cents: Number(r.cents),
  dealCents: Number(r.deal_cents),
  cycleN: Number(r.cycle_n),
  cycleSum: Number(r.cycle_sum),
  cycleSumSq: Number(r.cycle_sumsq),
});

/**
 * The analytics fact store: one fact per vendor opportunity and the aggregate cells of all of them
 * (see analytics/facts.ts). `apply` writes a batch of opportunity versions in ONE transaction: each
 * changed fact's new cells are added and its stored version's subtracted, deletions subtract, and —
 * when the batch came from a change stream — the consumer's position moves in the same transaction,
 * so a crash or a duplicated page can never count a deal twice. Appliers of one org are serialised
 * (PostgreSQL: a transaction advisory lock; SQLite: one writer).
 */
export class Facts {
  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly dialect: DialectName,
  ) {}

  async apply(orgId: string, changes: readonly FactChange[], opts: { stream?: { streamId: string; consumer: string; seq: number; generation: number } } = {}): Promise<FactApplyResult> {
    const batch = sortedBy(lastByKey(changes, (c) => c.id), (c) => c.id);
    return withRetry(this.dialect, () =>
      this.db.transaction().execute(async (tx) => {
        if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${'cosell.analytics:' + orgId}))`.execute(tx);
        const result: FactApplyResult = { changed: 0, unchanged: 0, deleted: 0, stale: 0, cells: 0 };
        const old = new Map<string, { fact: string; modifiedAt: string }>();
        for (const part of chunks(batch.map((c) => c.id))) {
          const rows = await tx.selectFrom('opportunity_facts').select(['opportunity_id', 'fact', 'modified_at']).where('org_id', '=', orgId).where('opportunity_id', 'in', part).execute();
          for (const r of rows) old.set(r.opportunity_id, { fact: r.fact, modifiedAt: r.modified_at });
        }
        const delta = new Map<string, Cell>();
        const upserts: Array<{ change: FactChange; json: string }> = [];
        const deletes: string[] = [];
        for (const c of batch) {
          const prev = old.get(c.id);
          if (prev && c.modifiedAt < prev.modifiedAt) {
            result.stale++;
            continue;
          }
          const json = c.fact ? JSON.stringify(c.fact) : null;
          if ((prev?.fact ?? null) === json) {
            result.unchanged++;
            continue;
          }
          if (prev) addCells(delta, factCells(JSON.parse(prev.fact) as OpportunityFact), -1);
          if (c.fact) {
            addCells(delta, factCells(c.fact));
            upserts.push({ change: c, json: json! });
            result.changed++;
          } else {
            deletes.push(c.id);
            result.deleted++;
          }
        }
        const now = nowIso();
        for (const part of chunks(upserts)) {
          await tx
            .insertInto('opportunity_facts')
            .values(part.map(({ change: c, json }) => ({ org_id: orgId, opportunity_id: c.id, status: c.fact!.status, created_on: c.fact!.createdOn, closed_on: c.fact!.closedOn, fact: json, modified_at: c.modifiedAt, updated_at: now })))
            .onConflict((oc) =>
              oc.columns(['org_id', 'opportunity_id']).doUpdateSet((eb) => ({
                status: eb.ref('excluded.status'),
                created_on: eb.ref('excluded.created_on'),
                closed_on: eb.ref('excluded.closed_on'),
                fact: eb.ref('excluded.fact'),
                modified_at: eb.ref('excluded.modified_at'),
                updated_at: eb.ref('excluded.updated_at'),
              })),
            )
            .execute();
        }
        for (const part of chunks(deletes)) await tx.deleteFrom('opportunity_facts').where('org_id', '=', orgId).where('opportunity_id', 'in', part).execute();
        // In key order (the delta map's keys are the cell keys: sorting them costs no key building).
        const touched = [...delta.entries()].filter(([, c]) => !isEmptyCell(c)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, c]) => c);
        result.cells = touched.length;
        await this.addToCells(tx, orgId, touched);
        if (touched.length) {
          await tx
            .deleteFrom('analytics_cells')
            .where('org_id', '=', orgId)
            .where('deals', '=', 0)
            .where('partner_deals', '=', 0)
            .where('cents', '=', 0)
            .where('deal_cents', '=', 0)
            .where('cycle_n', '=', 0)
            .where('cycle_sum', '=', 0)
            .where('cycle_sumsq', '=', 0)
            .execute();
        }
        if (opts.stream) result.advanced = await advanceConsumer(tx, opts.stream.streamId, opts.stream.consumer, opts.stream.seq, opts.stream.generation);
        return result;
      }),
    );
  }

  private async addToCells(tx: Transaction<LedgerTables>, orgId: string, cells: readonly Cell[]): Promise<void> {
    const plus = (col: keyof AnalyticsCellRow) => sql<number>`${sql.ref(`analytics_cells.${col}`)} + ${sql.ref(`excluded.${col}`)}`;
    for (const part of chunks(cells, 400)) {
      await tx
        .insertInto('analytics_cells')
        .values(
          part.map((c) => ({
            org_id: orgId, kind: c.kind, month: c.month, partner: c.partner, role: c.role, status: c.status, bucket: c.bucket, currency: c.currency, cycle_days: c.cycleDays,
            deals: c.deals, partner_deals: c.partnerDeals, cents: c.cents, deal_cents: c.dealCents, cycle_n: c.cycleN, cycle_sum: c.cycleSum, cycle_sumsq: c.cycleSumSq,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['org_id', 'kind', 'month', 'partner', 'role', 'status', 'bucket', 'currency', 'cycle_days']).doUpdateSet({
            deals: plus('deals'),
            partner_deals: plus('partner_deals'),
            cents: plus('cents'),
            deal_cents: plus('deal_cents'),
            cycle_n: plus('cycle_n'),
            cycle_sum: plus('cycle_sum'),
            cycle_sumsq: plus('cycle_sumsq'),
          }),
        )
        .execute();
    }
  }

  /** Every aggregate cell of the org (what reports read). */
  async cells(orgId: string): Promise<Cell[]> {
    return (await this.db.selectFrom('analytics_cells').select(CELL_COLUMNS).where('org_id', '=', orgId).execute()).map(fromRow);
  }

  async get(orgId: string, opportunityId: string): Promise<OpportunityFact | undefined> {
    const r = await this.db.selectFrom('opportunity_facts').select('fact').where('org_id', '=', orgId).where('opportunity_id', '=', opportunityId).executeTakeFirst();
    return r ? (JSON.parse(r.fact) as OpportunityFact) : undefined;
  }

  async count(orgId: string): Promise<number> {
    const r = await this.db.selectFrom('opportunity_facts').select((eb) => eb.fn.countAll<number>().as('n')).where('org_id', '=', orgId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Every fact of the org, a page at a time in id order (rebuilds, checks). */
  async *all(orgId: string, pageSize = 2000): AsyncGenerator<OpportunityFact[]> {
    let after = '';
    for (;;) {
      const rows = await this.db.selectFrom('opportunity_facts').select(['opportunity_id', 'fact']).where('org_id', '=', orgId).where('opportunity_id', '>', after).orderBy('opportunity_id').limit(pageSize).execute();
      if (!rows.length) return;
      yield rows.map((r) => JSON.parse(r.fact) as OpportunityFact);
      after = rows[rows.length - 1]!.opportunity_id;
    }
  }
}
