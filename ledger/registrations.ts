import { sql, type Kysely, type Transaction } from 'kysely';
import { CosellError } from '../lib/errors.js';
import { CLAIMING_STATUSES, type DialectName } from './migrations.js';
import type { LedgerTables, RegistrationRow } from './schema.js';
import type { ClaimRequest, ClaimResult, ReclaimRequest, ReclaimResult, Registration, RegistrationFilter, RegistrationInput, RegistrationPageQuery, RegistrationPatch, RegistrationSort, RegistrationStatus } from './types.js';
import { fromJson, isoTime, nowIso, toJson, withRetry } from './util.js';

export { CLAIMING_STATUSES };
/** Claiming statuses a claim by an earlier-created deal may still take over (nobody approved it yet). */
export const PENDING_CLAIM_STATUSES = ['submitted', 'checked', 'pending-review'] as const;

/**
 * The customer a registration claims — the key of "one active registration per customer":
 *
 *   `domain:<d>`  when the customer's domain is known, d = `normalizeDomain()` (lower case, scheme /
 *                 path / `www.` and other subdomains dropped, public-suffix aware: `shop.acme.co.uk`
 *                 → `acme.co.uk`);
 *   `name:<n>`    else, n = `normalizeCompanyName()` (case, accents, punctuation, `&`/and and legal
 *                 suffixes such as Inc/GmbH/Ltd dropped: "ACME, Inc." → `acme`);
 *   null          when neither is known: such a deal cannot claim anything (and fails `required`).
 *
 * Both inputs are already normalised by the caller (the ledger stores, it does not normalise). The
 * exact key is the hard constraint; similar-but-different names are the rules' job (`decide()`).
 */
export function customerKey(c: { domainNorm?: string | null; nameNorm?: string | null }): string | null {
  if (c.domainNorm) return `domain:${c.domainNorm}`;
  if (c.nameNorm) return `name:${c.nameNorm}`;
  return null;
}

/** Strict "registered before": the partner's own create time, then the registration id. */
function registeredBefore(a: { at: string; id: string }, b: { at: string; id: string }): boolean {
  return a.at !== b.at ? a.at < b.at : a.id < b.id;
}

const isClaiming = (status: string | undefined) => (CLAIMING_STATUSES as readonly string[]).includes(status ?? '');

/** A unique-index violation on either backend (SQLite: SQLITE_CONSTRAINT_UNIQUE, PostgreSQL: 23505). */
function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

/** The error for a write that would give a customer a second active registration. */
function claimedError(id: string, e: unknown): CosellError {
  return new CosellError('COSELL_REGISTRATION_CLAIMED', `registration ${id} cannot become active: its customer already has an active registration`, {
    cause: e,
    details: { id },
    hint: 'reject or let the active registration end first (`cosell registrations list`)',
  });
}

/** Thrown inside a claim transaction when the holder changed under it: the claim is tried again. */
class ClaimRace extends Error {}

/** The registration id, as used by the ledger and the registration workflow (`registration:<id>`). */
export function registrationId(partner: string, sourceId: string): string {
  return `${partner}:${sourceId}`;
}

function toRegistration(r: RegistrationRow): Registration {
  return {
    id: r.id,
    partner: r.partner,
    sourceId: r.source_id,
    customerName: r.customer_name,
    customerNameNorm: r.customer_name_norm,
    customerDomain: r.customer_domain,
    customerKey: r.customer_key,
    country: r.country,
    amount: r.amount === null ? null : Number(r.amount),
    currency: r.currency,
    status: r.status,
    reason: r.reason,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    submittedAt: r.submitted_at,
    expiresAt: r.expires_at,
    reviewDueAt: r.review_due_at ?? null,
    extensions: r.extensions,
    vendorOpportunityId: r.vendor_opportunity_id,
    details: fromJson(r.details),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

type Patch = RegistrationPatch;

/** Only the fields present in `p` become columns, so an update never blanks what it did not mention. */
function patchColumns(p: Patch): Partial<RegistrationRow> {
  const c: Partial<RegistrationRow> = {};
  const time = (v: string | null, what: string) => (v === null ? null : isoTime(v, what));
  if (p.customerName !== undefined) c.customer_name = p.customerName;
  if (p.customerNameNorm !== undefined) c.customer_name_norm = p.customerNameNorm;
  if (p.customerDomain !== undefined) c.customer_domain = p.customerDomain;
  if (p.customerKey !== undefined) c.customer_key = p.customerKey;
  if (p.country !== undefined) c.country = p.country;
  if (p.amount !== undefined) c.amount = p.amount;
  if (p.currency !== undefined) c.currency = p.currency;
  if (p.status !== undefined) c.status = p.status;
  if (p.reason !== undefined) c.reason = p.reason;
  if (p.decidedBy !== undefined) c.decided_by = p.decidedBy;
  if (p.decidedAt !== undefined) c.decided_at = time(p.decidedAt, 'decidedAt');
  if (p.submittedAt !== undefined) c.submitted_at = isoTime(p.submittedAt, 'submittedAt');
  if (p.expiresAt !== undefined) c.expires_at = time(p.expiresAt, 'expiresAt');
  if (p.reviewDueAt !== undefined) c.review_due_at = time(p.reviewDueAt, 'reviewDueAt');
  if (p.extensions !== undefined) c.extensions = p.extensions;
  if (p.vendorOpportunityId !== undefined) c.vendor_opportunity_id = p.vendorOpportunityId;
  if (p.details !== undefined) c.details = toJson(p.details);
  return c;
}

/** The row a new registration starts as: status `submitted`, submitted now, unless `input` says otherwise. */
function newRow(input: RegistrationInput, now: string): RegistrationRow {
  const { partner, sourceId, ...patch } = input;
  return {
    id: registrationId(partner, sourceId),
    partner,
    source_id: sourceId,
    customer_name: null,
    customer_name_norm: null,
    customer_domain: null,
    customer_key: null,
    country: null,
    amount: null,
    currency: null,
    status: 'submitted',
    reason: null,
    decided_by: null,
    decided_at: null,
    submitted_at: now,
    expires_at: null,
    review_due_at: null,
    extensions: 0,
    vendor_opportunity_id: null,
    details: null,
    created_at: now,
    updated_at: now,
    ...patchColumns(patch),
  };
}

const SORT_COLUMNS: Record<RegistrationSort, 'submitted_at' | 'review_due_at' | 'amount' | 'customer_name' | 'partner' | 'status'> = {
  submitted: 'submitted_at',
  due: 'review_due_at',
  amount: 'amount',
  customer: 'customer_name',
  partner: 'partner',
  status: 'status',
};

/** Up to this many search matches are sorted by id list (see `page`); more, in one pass over the table. */
const SEARCH_IDS_FIRST = 5000;

export class Registrations {
  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly dialect: DialectName = 'sqlite',
  ) {}

  /**
   * Create or update by (partner, sourceId). New rows default to status `submitted`, submitted now;
   * on an existing row only the given fields change (status included), so re-reading a partner's
   * deal never undoes a decision unless the caller says so.
   */
  async upsert(input: RegistrationInput): Promise<Registration> {
    const { partner, sourceId, ...patch } = input;
    const now = nowIso();
    const cols = patchColumns(patch);
    try {
      const out = await this.db
        .insertInto('registrations')
        .values(newRow(input, now))
        .onConflict((oc) => oc.column('id').doUpdateSet({ ...cols, updated_at: now }))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRegistration(out);
    } catch (e) {
      throw isUniqueViolation(e) ? claimedError(registrationId(partner, sourceId), e) : e;
    }
  }

  /**
   * Claim the registration's customer (compare-and-set under the one-active-per-customer index) and
   * store the registration in one transaction. First to register is decided by the partner's own
   * create time (`submittedAt`), then id:
   *
   *   nobody holds the customer              → stored with the wanted status: `claimed`
   *   the holder is still pending (nobody     → if this deal was created earlier, the holder is
   *   approved it) — submitted / checked /      demoted with `superseded(…)` and this one stored:
   *   pending-review                            `took-over`; else as the loser below
   *   the holder is approved / auto-approved → stored with `lost(holder)` (a non-claiming status):
   *                                             `lost` — approval is never taken back by a late arrival
   *   this registration already exists       → returned unchanged: `exists` (a duplicated page)
   *   the customer has no key                → stored as wanted, claiming nothing: `unkeyed`
   *
   * Concurrent claimers of one customer are serialised (PostgreSQL: a transaction advisory lock on
   * the key; SQLite: one writer), and the partial unique index refuses a second active row whatever
   * happens, so a lost race is retried, never doubled.
   */
  async claim(req: ClaimRequest): Promise<ClaimResult> {
    const wanted = req.registration;
    const id = registrationId(wanted.partner, wanted.sourceId);
    if (!isClaiming(wanted.status)) throw new CosellError('COSELL_LEDGER', `claim of ${id}: status ${wanted.status} does not claim a customer`);
    const me = { ...wanted, submittedAt: isoTime(wanted.submittedAt, 'submittedAt') };
    for (let attempt = 1; ; attempt++) {
      try {
        return await withRetry(this.dialect, () => this.db.transaction().execute((tx) => this.claimIn(tx, id, me, req)));
      } catch (e) {
        if (!(e instanceof ClaimRace || isUniqueViolation(e)) || attempt >= 8) throw isUniqueViolation(e) ? claimedError(id, e) : e;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
      }
    }
  }

  /**
   * The registration's customer changed (its deal moved to another company, the domain was edited;
   * the gate re-decides it): move its claim to the new customer key, with the customer fields, in one
   * transaction under the same guarantee as `claim` (PostgreSQL advisory lock on the key; the partial
   * unique index). When another registration in a claiming status holds the new key, nothing changes
   * and the holder is returned (`held`: the caller rejects this one as the later registration). A row
   * not in a claiming status just takes the new customer fields.
   */
  async reclaim(id: string, to: ReclaimRequest): Promise<ReclaimResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withRetry(this.dialect, () =>
          this.db.transaction().execute(async (tx) => {
            if (to.customerKey && this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`cosell.claim:${to.customerKey}`}))`.execute(tx);
            const row = await tx.selectFrom('registrations').selectAll().where('id', '=', id).executeTakeFirst();
            if (!row) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${id}`, { hint: 'list them with `cosell registrations list`' });
            if (to.customerKey && isClaiming(row.status) && row.customer_key !== to.customerKey) {
              const holder = await tx.selectFrom('registrations').selectAll().where('customer_key', '=', to.customerKey).where('status', 'in', [...CLAIMING_STATUSES]).where('id', '<>', id).executeTakeFirst();
              if (holder) return { outcome: 'held' as const, registration: toRegistration(row), holder: toRegistration(holder) };
            }
            const patch = { customerKey: to.customerKey, customerName: to.customerName, customerNameNorm: to.customerNameNorm, customerDomain: to.customerDomain, ...(to.country !== undefined ? { country: to.country } : {}) };
            const out = await tx.updateTable('registrations').set({ ...patchColumns(patch), updated_at: nowIso() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
            return { outcome: 'claimed' as const, registration: toRegistration(out) };
          }),
        );
      } catch (e) {
        // Another worker claimed the key between our read and write (SQLite has one writer; PostgreSQL's lock covers claimers): try again, the holder is then seen.
        if (!isUniqueViolation(e) || attempt >= 8) throw isUniqueViolation(e) ? claimedError(id, e) : e;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
      }
    }
  }

  private async claimIn(tx: Transaction<LedgerTables>, id: string, me: ClaimRequest['registration'], req: ClaimRequest): Promise<ClaimResult> {
    const now = nowIso();
    const insert = async (input: RegistrationInput) => toRegistration(await tx.insertInto('registrations').values(newRow(input, now)).returningAll().executeTakeFirstOrThrow());
    const key = me.customerKey;
    if (key && this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`cosell.claim:${key}`}))`.execute(tx);
    const existing = await tx.selectFrom('registrations').selectAll().where('id', '=', id).executeTakeFirst();
    if (existing) return { outcome: 'exists', registration: toRegistration(existing) };
    if (!key) return { outcome: 'unkeyed', registration: await insert(me) };
    const row = await tx.selectFrom('registrations').selectAll().where('customer_key', '=', key).where('status', 'in', [...CLAIMING_STATUSES]).executeTakeFirst();
    if (!row) return { outcome: 'claimed', registration: await insert(me) };
    const holder = toRegistration(row);
    const holderPending = (PENDING_CLAIM_STATUSES as readonly string[]).includes(holder.status);
    if (holderPending && registeredBefore({ at: me.submittedAt, id }, { at: holder.submittedAt, id: holder.id })) {
      const patch = req.superseded(holder, { ...me, id });
      if (isClaiming(patch.status)) throw new CosellError('COSELL_LEDGER', `claim of ${id}: a superseded registration needs a non-claiming status, not ${patch.status}`);
      const demoted = await tx
        .updateTable('registrations')
        .set({ ...patchColumns(patch), updated_at: now })
        .where('id', '=', holder.id)
        .where('status', '=', holder.status)
        .returningAll()
        .executeTakeFirst();
      if (!demoted) throw new ClaimRace(`holder ${holder.id} changed`);
      return { outcome: 'took-over', registration: await insert(me), superseded: toRegistration(demoted) };
    }
    const lost = req.lost(holder);
    if (isClaiming(lost.status)) throw new CosellError('COSELL_LEDGER', `claim of ${id}: a lost claim needs a non-claiming status, not ${lost.status}`);
    return { outcome: 'lost', registration: await insert({ ...me, ...lost }), holder };
  }

  /**
   * Change an existing registration. With `ifStatus`, only when its current status is one of those
   * (compare-and-set for decisions: two racing approvals cannot both apply).
   */
  async update(id: string, patch: Patch, opts: { ifStatus?: RegistrationStatus[] } = {}): Promise<Registration> {
    let q = this.db
      .updateTable('registrations')
      .set({ ...patchColumns(patch), updated_at: nowIso() })
      .where('id', '=', id);
    if (opts.ifStatus) q = q.where('status', 'in', opts.ifStatus);
    const out = await q
      .returningAll()
      .executeTakeFirst()
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? claimedError(id, e) : e;
      });
    if (out) return toRegistration(out);
    const current = await this.get(id);
    if (!current) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${id}`, { hint: 'list them with `cosell registrations list`' });
    throw new CosellError('COSELL_REGISTRATION_STATE', `registration ${id} is ${current.status}, expected ${opts.ifStatus!.join(' or ')}`, {
      details: { id, status: current.status },
    });
  }

  async get(id: string): Promise<Registration | undefined> {
    const r = await this.db.selectFrom('registrations').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toRegistration(r) : undefined;
  }

  /** How many registrations each partner has in each status, counted in SQL (the worker's metrics gauge). */
  async countsByStatus(): Promise<Array<{ partner: string; status: string; count: number }>> {
    const rows = await this.db.selectFrom('registrations').select(['partner', 'status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['partner', 'status']).orderBy('partner').orderBy('status').execute();
    return rows.map((r) => ({ partner: r.partner, status: r.status, count: Number(r.n) }));
  }

  /** Oldest submission first (the order first-to-register decides by), ties by id. */
  async list(f: RegistrationFilter = {}): Promise<Registration[]> {
    let q = this.db.selectFrom('registrations').selectAll().orderBy('submitted_at').orderBy('id');
    if (f.partner !== undefined) q = q.where('partner', '=', f.partner);
    if (f.status !== undefined) q = q.where('status', 'in', Array.isArray(f.status) ? f.status : [f.status]);
    if (f.customerDomain !== undefined) q = q.where('customer_domain', '=', f.customerDomain);
    if (f.customerNameNorm !== undefined) q = q.where('customer_name_norm', '=', f.customerNameNorm);
    if (f.customerKey !== undefined) q = q.where('customer_key', '=', f.customerKey);
    if (f.expiresBefore !== undefined) q = q.where('expires_at', '<', isoTime(f.expiresBefore, 'expiresBefore'));
    if (f.limit !== undefined) q = q.limit(f.limit);
    if (f.offset !== undefined) q = (f.limit === undefined ? q.limit(1e9) : q).offset(f.offset);
    return (await q.execute()).map(toRegistration);
  }

  /**
   * Approved registrations whose partner asked to extend exclusivity and nobody decided yet (the
   * workflow mirrors the open request into `details.extensionRequest`), soonest expiry first. A text
   * match on the details JSON, within the approved statuses' index range: the queue shows a handful.
   */
  async extensionRequests(limit = 50): Promise<Registration[]> {
    const rows = await this.db
      .selectFrom('registrations')
      .selectAll()
      .where('status', 'in', ['approved', 'auto-approved'])
      .where('details', 'like', '%"extensionRequest":{%')
      .orderBy('expires_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toRegistration);
  }

  /**
   * One page of the review queue and how many match in all, filtered, sorted and paged in SQL (the
   * console never loads the whole table). Every sort ends on id, so pages never overlap or skip; a
   * missing sort value (no amount, no due time) sorts last either way.
   *
   * Shaped for indexes at 100,000s of rows: the rows with a value and those without are two ranges
   * (an `x is null` sort key would defeat the (status, column) indexes), each read as ids only, and
   * the page's full rows fetched by id at the end (sorting narrow rows, not the details JSON).
   */
  async page(q: RegistrationPageQuery): Promise<{ rows: Registration[]; total: number }> {
    const dir = q.dir ?? 'asc';
    const offset = q.offset ?? 0;
    let base = this.db.selectFrom('registrations');
    if (q.status?.length) base = q.status.length === 1 ? base.where('status', '=', q.status[0]) : base.where('status', 'in', q.status);
    if (q.partner) base = base.where('partner', '=', q.partner);
    const search = q.search?.trim();
    if (search) {
      const like = `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      base = base.where((eb) => eb.or([sql<boolean>`lower(customer_name) like ${like} escape '\\'`, sql<boolean>`customer_domain like ${like} escape '\\'`]));
    }
    const column = SORT_COLUMNS[q.sort ?? 'submitted'];
    if (search) {
      // A text search reads every candidate: first the matching ids from the covering (status, name,
      // domain, id) index, then sort and page just those; a search matching very many rows is one
      // pass over the matches, counted by a window.
      const matched = await base.select('id').limit(SEARCH_IDS_FIRST + 1).execute();
      const narrowed = matched.length <= SEARCH_IDS_FIRST ? this.db.selectFrom('registrations').where('id', 'in', matched.length ? matched.map((r) => r.id) : ['']) : base;
      const rows = await narrowed
        .select(['id', sql<number>`count(*) over ()`.as('n')])
        .orderBy(sql`${sql.ref(column)} is null`)
        .orderBy(sql.ref(column), dir)
        .orderBy('id', dir)
        .limit(q.limit)
        .offset(offset)
        .execute();
      const total = matched.length <= SEARCH_IDS_FIRST ? matched.length : rows.length ? Number(rows[0].n) : Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      return { rows: await this.byIds(rows.map((r) => r.id)), total };
    }
    const nullable = column !== 'submitted_at' && column !== 'partner' && column !== 'status';
    // One pass counts both: every match, and those with a value in the sort column (count(col) skips nulls).
    const counted = await base.select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.count<number>(column).as('v')]).executeTakeFirstOrThrow();
    const total = Number(counted.n);
    const valued = nullable ? Number(counted.v) : total;
    const ids: string[] = [];
    if (offset < valued) {
      const rows = await (nullable ? base.where(column, 'is not', null) : base).select('id').orderBy(column, dir).orderBy('id', dir).limit(q.limit).offset(offset).execute();
      ids.push(...rows.map((r) => r.id));
    }
    if (nullable && ids.length < q.limit && offset + ids.length < total) {
      const rows = await base.where(column, 'is', null).select('id').orderBy('id', dir).limit(q.limit - ids.length).offset(Math.max(0, offset - valued)).execute();
      ids.push(...rows.map((r) => r.id));
    }
    return { rows: await this.byIds(ids), total };
  }

  /** Full rows for these ids, in the given order. */
  private async byIds(ids: string[]): Promise<Registration[]> {
    if (!ids.length) return [];
    const byId = new Map((await this.db.selectFrom('registrations').selectAll().where('id', 'in', ids).execute()).map((r) => [r.id, toRegistration(r)]));
    return ids.map((id) => byId.get(id)!).filter(Boolean);
  }

}
