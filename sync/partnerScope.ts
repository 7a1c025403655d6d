import type { CrmRecord } from '../connectors/types.js';
import type { DeadLetterCode } from '../lib/errors.js';
import { splitEndpoint } from '../lib/config.js';
import { registrationId, type Registration } from '../ledger/index.js';
import type { AuditInput, DeadLetterInput } from '../ledger/types.js';
import type { LinkRuntime } from './runtime.js';

/**
 * Partner scope, enforced by the engine whatever the link's mapping says: on a link from the vendor
 * into a partner's CRM, a vendor record is written to that partner only if the partner is on it —
 *
 *   - the record is the partner's own deal (or company) coming back: a pair on one of the partner's
 *     own links into the vendor has it as its target (its registration link, the paired link); or
 *   - the partner is on another partner's registered deal through that registration's attribution
 *     (roles and splits set with the registration workflow's `attribute` update — the explicit,
 *     recorded way to share a deal), unless that registration was rejected; or
 *   - for vendor accounts (Salesforce `Account`): an opportunity at the account is in scope as above;
 *   - or the link says `share: all` in the network file: the admin's explicit share of every record.
 *
 * Everything else is refused: counted as skipped and audited on the link with the record's id and
 * the rule only (no field values, no other partner named). A mapping `filter` still narrows further;
 * it can no longer widen. The ledger is the truth here, not vendor-editable fields such as
 * Registered_Partner_Id__c.
 *
 * A record the vendor changed moments ago may be a partner's own deal whose pair is not committed yet
 * (the registration link writes the CRM first, then the ledger): such a refusal is parked as a dead
 * letter and replayed after the next catch-up, until it is admitted or older than the settle window.
 */
export const SCOPE_UNSETTLED = 'PARTNER_SCOPE_UNSETTLED' satisfies DeadLetterCode;
export const SCOPE_SETTLE_MS = 120_000;

export interface ScopeOutcome {
  admitted: CrmRecord[];
  refused: number;
  audits: AuditInput[];
  parked: DeadLetterInput[];
  /** Refused for good: any dead letter they had on this link is resolved. */
  resolved: string[];
}

/** Whether the partner takes part in a registration: its own, or through its attribution. */
function onRegistration(reg: Registration, partnerId: string): boolean {
  if (reg.status === 'rejected') return false;
  if (reg.partner === partnerId) return true;
  const parts = (reg.details as { attribution?: Array<{ partnerId?: string }> } | null)?.attribution;
  return Array.isArray(parts) && parts.some((p) => p?.partnerId === partnerId);
}

/** The vendor records (of `object`) the partner is on, among `ids`. */
async function inScope(rt: LinkRuntime, partnerId: string, object: string, ids: string[]): Promise<Set<string>> {
  const vendorId = rt.network.network.vendor.id;
  const allowed = new Set<string>();
  if (!ids.length) return allowed;
  for (const l of rt.network.network.links) {
    const from = splitEndpoint(l.from).org;
    const to = splitEndpoint(l.to);
    if (to.org !== vendorId || to.object !== object || from === vendorId) continue;
    const pairs = await rt.ledger.pairs.byTarget(l.id, ids);
    for (const [targetId, pair] of pairs) {
      if (from === partnerId) {
        allowed.add(targetId); // the partner's own record, coming back
        continue;
      }
      const reg = await rt.ledger.registrations.get(registrationId(from, pair.sourceId));
      if (reg && onRegistration(reg, partnerId)) allowed.add(targetId);
    }
  }
  return allowed;
}

/** Vendor accounts with an in-scope opportunity (Salesforce vendors: Opportunity.AccountId). */
async function accountsInScope(rt: LinkRuntime, partnerId: string, accountIds: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  if (!accountIds.length || rt.sourceOrg.kind !== 'salesforce' || rt.sourceObject !== 'Account') return out;
  const opps = await rt.source.readByField('Opportunity', 'AccountId', accountIds, ['Id', 'AccountId']);
  const allowed = await inScope(rt, partnerId, 'Opportunity', opps.map((o) => o.id));
  for (const o of opps) if (allowed.has(o.id) && typeof o.fields.AccountId === 'string') out.add(o.fields.AccountId);
  return out;
}

/** The link's partner when it writes vendor records into a partner's CRM; else undefined (no scope applies). */
export function scopedPartner(rt: Pick<LinkRuntime, 'network' | 'sourceOrg' | 'targetOrg' | 'link'>): string | undefined {
  if (rt.sourceOrg.id !== rt.network.network.vendor.id || rt.link.share === 'all') return undefined;
  return rt.network.partner(rt.targetOrg.id) ? rt.targetOrg.id : undefined;
}

/** Split a page of vendor records into those the link's partner may receive and the refused rest. */
export async function applyPartnerScope(rt: LinkRuntime, records: CrmRecord[], now = Date.now()): Promise<ScopeOutcome> {
  const partnerId = scopedPartner(rt);
  const out: ScopeOutcome = { admitted: records, refused: 0, audits: [], parked: [], resolved: [] };
  if (!partnerId || records.length === 0) return out;
  const ids = records.map((r) => r.id);
  const allowed = await inScope(rt, partnerId, rt.sourceObject, ids);
  for (const id of await accountsInScope(rt, partnerId, ids.filter((id) => !allowed.has(id)))) allowed.add(id);
  out.admitted = [];
  for (const rec of records) {
    if (allowed.has(rec.id)) {
      out.admitted.push(rec);
      continue;
    }
    out.refused++;
    const recent = now - Date.parse(rec.modifiedAt) < SCOPE_SETTLE_MS;
    if (recent) {
      out.parked.push({ sourceId: rec.id, payload: { id: rec.id, modifiedAt: rec.modifiedAt }, reason: `not in partner ${partnerId}'s scope yet; retried until ${SCOPE_SETTLE_MS / 1000}s after its last change`, code: SCOPE_UNSETTLED, kind: 'not_found' });
    } else {
      out.resolved.push(rec.id);
      out.audits.push({ linkId: rt.link.id, sourceId: rec.id, action: 'scope-refused', details: { rule: 'partner-scope', partner: partnerId }, eventKey: `${rt.link.id}:${rec.id}:${rec.modifiedAt}:scope` });
    }
  }
  return out;
}
