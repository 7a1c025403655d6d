import type { Kysely } from 'kysely';
import type { LedgerTables, VendorAccountRow } from './schema.js';
import type { VendorAccount, VendorAccountInput } from './types.js';
import { chunks, fromJson, lastByKey, nowIso, sortedBy, toJson } from './util.js';

function toAccount(r: VendorAccountRow): VendorAccount {
  return {
    orgId: r.org_id,
    accountId: r.account_id,
    name: r.name,
    nameNorm: r.name_norm,
    domainNorm: r.domain_norm,
    owner: r.owner,
    named: r.named === 1,
    country: r.country,
    hasOpenOpportunity: r.has_open_opportunity === 1,
    details: fromJson(r.details),
    updatedAt: r.updated_at,
  };
}

/**
 * The vendor-account index the Rules of Engagement match against, kept current by the sync (so a
 * decision never re-reads the CRM). Keyed by (org, account id); normalised name and domain come from
 * the caller's normaliser (rules/), the ledger only stores and indexes them.
 */
export class AccountIndex {
  constructor(private readonly db: Kysely<LedgerTables>) {}

  /** Insert or fully replace accounts (fields left out become null / false). */
  async upsert(accounts: readonly VendorAccountInput[]): Promise<void> {
    const now = nowIso();
    const rows = sortedBy(lastByKey(accounts, (a) => `${a.orgId}\u0000${a.accountId}`), (a) => `${a.orgId}\u0000${a.accountId}`);
    for (const part of chunks(rows)) {
      await this.db
        .insertInto('vendor_accounts')
        .values(
          part.map((a) => ({
            org_id: a.orgId,
            account_id: a.accountId,
            name: a.name ?? null,
            name_norm: a.nameNorm ?? null,
            domain_norm: a.domainNorm ?? null,
            owner: a.owner ?? null,
            named: a.named ? 1 : 0,
            country: a.country ?? null,
            has_open_opportunity: a.hasOpenOpportunity ? 1 : 0,
            details: toJson(a.details),
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['org_id', 'account_id']).doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            name_norm: eb.ref('excluded.name_norm'),
            domain_norm: eb.ref('excluded.domain_norm'),
            owner: eb.ref('excluded.owner'),
            named: eb.ref('excluded.named'),
            country: eb.ref('excluded.country'),
            has_open_opportunity: eb.ref('excluded.has_open_opportunity'),
            details: eb.ref('excluded.details'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
  }

  /** Drop accounts deleted or merged away in the CRM. */
  async remove(orgId: string, accountIds: readonly string[]): Promise<number> {
    let n = 0;
    for (const part of chunks([...new Set(accountIds)].sort())) {
      const res = await this.db.deleteFrom('vendor_accounts').where('org_id', '=', orgId).where('account_id', 'in', part).executeTakeFirst();
      n += Number(res.numDeletedRows);
    }
    return n;
  }

  async get(orgId: string, accountId: string): Promise<VendorAccount | undefined> {
    const r = await this.db.selectFrom('vendor_accounts').selectAll().where('org_id', '=', orgId).where('account_id', '=', accountId).executeTakeFirst();
    return r ? toAccount(r) : undefined;
  }

  /** Accounts whose normalised domain is one of `domains`. */
  async byDomain(orgId: string, domains: readonly string[]): Promise<VendorAccount[]> {
    return this.byColumn(orgId, 'domain_norm', domains);
  }

  /** Accounts whose normalised name is exactly one of `names` (similarity matching happens in rules/, over `all`/`iterate`). */
  async byName(orgId: string, names: readonly string[]): Promise<VendorAccount[]> {
    return this.byColumn(orgId, 'name_norm', names);
  }

  /** The whole index of one org, in account id order (fine up to a few 100k; use `iterate` beyond). */
  async all(orgId: string): Promise<VendorAccount[]> {
    const out: VendorAccount[] = [];
    for await (const page of this.iterate(orgId)) out.push(...page);
    return out;
  }

  /** Pages of the index in account id order, without holding it all in memory. */
  async *iterate(orgId: string, pageSize = 5000): AsyncGenerator<VendorAccount[]> {
    let after: string | undefined;
    for (;;) {
      let q = this.db.selectFrom('vendor_accounts').selectAll().where('org_id', '=', orgId).orderBy('account_id').limit(pageSize);
      if (after !== undefined) q = q.where('account_id', '>', after);
      const rows = await q.execute();
      if (rows.length === 0) return;
      yield rows.map(toAccount);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].account_id;
    }
  }

  /**
   * Pages of the accounts written at or after `since` (ISO), oldest write first — how a worker
   * catches its in-memory index up with rows other workers wrote. `updated_at` is the writer's
   * clock and a transaction may commit after a later one, so callers re-read a look-back window
   * (applying a row twice is harmless). Indexed by (org_id, updated_at, account_id).
   */
  async *changedSince(orgId: string, since: string, pageSize = 5000): AsyncGenerator<VendorAccount[]> {
    let after: { at: string; id: string } | undefined;
    for (;;) {
      let q = this.db.selectFrom('vendor_accounts').selectAll().where('org_id', '=', orgId).orderBy('updated_at').orderBy('account_id').limit(pageSize);
      if (after) {
        const a = after;
        q = q.where((eb) => eb.or([eb('updated_at', '>', a.at), eb.and([eb('updated_at', '=', a.at), eb('account_id', '>', a.id)])]));
      } else q = q.where('updated_at', '>=', since);
      const rows = await q.execute();
      if (rows.length === 0) return;
      yield rows.map(toAccount);
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1];
      after = { at: last.updated_at, id: last.account_id };
    }
  }

  async count(orgId: string): Promise<number> {
    const r = await this.db.selectFrom('vendor_accounts').select((eb) => eb.fn.countAll<number>().as('n')).where('org_id', '=', orgId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  private async byColumn(orgId: string, column: 'domain_norm' | 'name_norm', values: readonly string[]): Promise<VendorAccount[]> {
    const out: VendorAccount[] = [];
    for (const part of chunks([...new Set(values)], 1000)) {
      const rows = await this.db.selectFrom('vendor_accounts').selectAll().where('org_id', '=', orgId).where(column, 'in', part).orderBy('account_id').execute();
      out.push(...rows.map(toAccount));
    }
    return out;
  }
}
