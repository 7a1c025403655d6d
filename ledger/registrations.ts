import type { Kysely } from 'kysely';
import { CosellError } from '../lib/errors.js';
import type { LedgerTables, RegistrationRow } from './schema.js';
import type { Registration, RegistrationFilter, RegistrationInput, RegistrationStatus } from './types.js';
import { fromJson, isoTime, nowIso, toJson } from './util.js';

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
    country: r.country,
    amount: r.amount === null ? null : Number(r.amount),
    currency: r.currency,
    status: r.status,
    reason: r.reason,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    submittedAt: r.submitted_at,
    expiresAt: r.expires_at,
    extensions: r.extensions,
    vendorOpportunityId: r.vendor_opportunity_id,
    details: fromJson(r.details),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

type Patch = Partial<Omit<Registration, 'id' | 'partner' | 'sourceId' | 'createdAt' | 'updatedAt'>>;

/** Only the fields present in `p` become columns, so an update never blanks what it did not mention. */
function patchColumns(p: Patch): Partial<RegistrationRow> {
  const c: Partial<RegistrationRow> = {};
  const time = (v: string | null, what: string) => (v === null ? null : isoTime(v, what));
  if (p.customerName !== undefined) c.customer_name = p.customerName;
  if (p.customerNameNorm !== undefined) c.customer_name_norm = p.customerNameNorm;
  if (p.customerDomain !== undefined) c.customer_domain = p.customerDomain;
  if (p.country !== undefined) c.country = p.country;
  if (p.amount !== undefined) c.amount = p.amount;
  if (p.currency !== undefined) c.currency = p.currency;
  if (p.status !== undefined) c.status = p.status;
  if (p.reason !== undefined) c.reason = p.reason;
  if (p.decidedBy !== undefined) c.decided_by = p.decidedBy;
  if (p.decidedAt !== undefined) c.decided_at = time(p.decidedAt, 'decidedAt');
  if (p.submittedAt !== undefined) c.submitted_at = isoTime(p.submittedAt, 'submittedAt');
  if (p.expiresAt !== undefined) c.expires_at = time(p.expiresAt, 'expiresAt');
  if (p.extensions !== undefined) c.extensions = p.extensions;
  if (p.vendorOpportunityId !== undefined) c.vendor_opportunity_id = p.vendorOpportunityId;
  if (p.details !== undefined) c.details = toJson(p.details);
  return c;
}

export class Registrations {
  constructor(private readonly db: Kysely<LedgerTables>) {}

  /**
   * Create or update by (partner, sourceId). New rows default to status `submitted`, submitted now;
   * on an existing row only the given fields change (status included), so re-reading a partner's
   * deal never undoes a decision unless the caller says so.
   */
  async upsert(input: RegistrationInput): Promise<Registration> {
    const { partner, sourceId, ...patch } = input;
    const now = nowIso();
    const cols = patchColumns(patch);
    const row: RegistrationRow = {
      id: registrationId(partner, sourceId),
      partner,
      source_id: sourceId,
      customer_name: null,
      customer_name_norm: null,
      customer_domain: null,
      country: null,
      amount: null,
      currency: null,
      status: 'submitted',
      reason: null,
      decided_by: null,
      decided_at: null,
      submitted_at: now,
      expires_at: null,
      extensions: 0,
      vendor_opportunity_id: null,
      details: null,
      created_at: now,
      updated_at: now,
      ...cols,
    };
    const out = await this.db
      .insertInto('registrations')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ ...cols, updated_at: now }))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRegistration(out);
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
    const out = await q.returningAll().executeTakeFirst();
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

  /** Oldest submission first (the order first-to-register decides by), ties by id. */
  async list(f: RegistrationFilter = {}): Promise<Registration[]> {
    let q = this.db.selectFrom('registrations').selectAll().orderBy('submitted_at').orderBy('id');
    if (f.partner !== undefined) q = q.where('partner', '=', f.partner);
    if (f.status !== undefined) q = q.where('status', 'in', Array.isArray(f.status) ? f.status : [f.status]);
    if (f.customerDomain !== undefined) q = q.where('customer_domain', '=', f.customerDomain);
    if (f.customerNameNorm !== undefined) q = q.where('customer_name_norm', '=', f.customerNameNorm);
    if (f.expiresBefore !== undefined) q = q.where('expires_at', '<', isoTime(f.expiresBefore, 'expiresBefore'));
    if (f.limit !== undefined) q = q.limit(f.limit);
    if (f.offset !== undefined) q = (f.limit === undefined ? q.limit(1e9) : q).offset(f.offset);
    return (await q.execute()).map(toRegistration);
  }
}
