import type { Connector, Fields } from '../connectors/types.js';
import { splitEndpoint, type LinkConfig, type LoadedNetwork } from '../lib/config.js';
import { CLAIMING_STATUSES, customerKey, registrationId, type Ledger, type Registration } from '../ledger/index.js';
import { normalizeCompanyName, normalizeDomain } from '../lib/normalize.js';
import type { PreviewGate } from '../mappings/preview.js';
import { decide, partnerProfile, registeredBefore, type AttributionRole, type Decision, type Policy } from '../rules/index.js';
import { AccountIndexFeed } from './accountIndexFeed.js';
import { duplicateOf } from './claims.js';
import { resolveCustomers } from './customers.js';
import { detailsOf, gateAction } from './details.js';
import { registrationInput } from './input.js';

/**
 * The registration gate's decision for records a mapping preview shows, taken the way the sync takes
 * it (registrations/gate.ts) and writing nothing: an existing registration is enforced with its
 * status; a new deal is decided by the pure `decide()` against the vendor-account index as the ledger
 * holds it (the rules index's rows and the active registrations — read, never advanced), then its
 * claim on the customer is checked against the ledger's active registrations (one per customer: an
 * approved holder or an earlier-registered one makes it a duplicate) and against the records before
 * it in the same preview, which claim in memory only. What it does not foresee: the first-to-register
 * wait of an auto-approval (it is approved after the wait unless an earlier registration arrives) and
 * re-decisions of existing registrations on a material edit (the sync does those on the next poll).
 */
export interface GatePreviewOptions {
  network: LoadedNetwork;
  ledger: Ledger;
  policy: Policy;
  link: LinkConfig;
  /** The partner org's connector (the deals' customers are read from it, as the gate reads them). */
  source: Connector;
  /** The vendor's connector (only named by the index; the preview never reads the vendor feed). */
  target: Connector;
  /** The moment a new deal without a partner-CRM create time counts as registered (default now). */
  now?: Date;
}

export function previewGate(opts: GatePreviewOptions): (records: Array<{ sourceId: string; source: Fields; mapped: Fields }>) => Promise<Map<string, PreviewGate>> {
  return async (records) => {
    const { network, ledger, policy, link } = opts;
    const out = new Map<string, PreviewGate>();
    if (!records.length) return out;
    const { org: sourceOrgId, object: sourceObject } = splitEndpoint(link.from);
    const vendorId = splitEndpoint(link.to).org;
    const partnerId = sourceOrgId === network.network.vendor.id ? vendorId : sourceOrgId;
    const partner = network.partner(partnerId);
    const profile = partnerProfile(policy, partnerId, partner ? { tier: partner.tier, territories: partner.territories, roles: partner.roles as AttributionRole[] | undefined } : undefined);
    // A feed of its own (not the worker's shared one): filled from the ledger only, so nothing advances.
    const feed = new AccountIndexFeed(ledger, opts.target, vendorId);
    await feed.refreshFromLedger();
    await feed.loadRegistrations();
    const customers = await resolveCustomers({ link, sourceOrg: network.org(sourceOrgId), source: opts.source, sourceObject }, records);
    const now = (opts.now ?? new Date()).toISOString();
    /** Claims taken by earlier records of this preview (in memory). */
    const previewClaims = new Map<string, Pick<Registration, 'id' | 'partner' | 'customerName' | 'customerDomain' | 'submittedAt' | 'status'>>();

    for (const r of records) {
      const id = registrationId(partnerId, r.sourceId);
      const existing = await ledger.registrations.get(id);
      if (existing) {
        out.set(r.sourceId, { action: gateAction(existing), status: existing.status, reason: existing.reason ?? '', ruleId: detailsOf(existing).decision?.ruleId, registrationId: id, existing: true });
        continue;
      }
      const c = customers.get(r.sourceId);
      const registeredAt = c?.createdAt ?? now;
      const input = registrationInput(id, partnerId, r, c, registeredAt);
      let decision: Pick<Decision, 'outcome' | 'ruleId' | 'reason' | 'matches'> = decide(input, feed.index, policy, profile);
      const nameNorm = normalizeCompanyName(input.customerName) || null;
      const domain = normalizeDomain(input.website) ?? null;
      const key = customerKey({ domainNorm: domain, nameNorm });
      if (decision.outcome !== 'rejected' && key) {
        const holder = previewClaims.get(key) ?? (await ledger.registrations.list({ customerKey: key, status: [...CLAIMING_STATUSES], limit: 1 }))[0];
        // The ledger's claim: an approved holder keeps the customer; a pending one only against a later registration.
        const holderKeeps = holder && (holder.status === 'approved' || holder.status === 'auto-approved' || !registeredBefore({ at: registeredAt, id }, { at: holder.submittedAt, id: holder.id }));
        if (holderKeeps) decision = duplicateOf(decision, holder as Registration, key);
      }
      const status = decision.outcome === 'approved' ? 'auto-approved' : decision.outcome === 'rejected' ? 'rejected' : 'pending-review';
      if (status !== 'rejected') {
        if (key) previewClaims.set(key, { id, partner: partnerId, customerName: input.customerName, customerDomain: domain, submittedAt: registeredAt, status });
        feed.index.upsertRegistration({ id, partnerId, customerName: input.customerName, website: input.website, contactEmail: input.contactEmail, products: input.products, registeredAt, status });
      }
      out.set(r.sourceId, { action: status === 'auto-approved' ? 'write' : status === 'rejected' ? 'reject' : 'hold', status, reason: decision.reason, ruleId: decision.ruleId, registrationId: id, existing: false });
    }
    return out;
  };
}

/** How a preview row's gate decision reads: `held: pending review (reason)`, `rejected (reason)`, or undefined when it writes. */
export function describeGate(gate: PreviewGate | undefined): string | undefined {
  if (!gate || gate.action === 'write') return undefined;
  const why = gate.reason ? ` (${gate.reason})` : '';
  return gate.action === 'hold' ? `held: ${gate.status.replace('-', ' ')}${why}` : `rejected${why}`;
}
