import type { CrmRecord, Fields } from '../connectors/types.js';
import { CosellError } from '../lib/errors.js';
import { log } from '../lib/logger.js';
import type { LinkRuntime } from '../sync/runtime.js';
import { countryCode, isoOrNull, str } from './fieldValues.js';

/** What reading a deal's customer needs of a link: the partner org, its connector and object (the preview has no full runtime). */
export type CustomerSource = Pick<LinkRuntime, 'link' | 'sourceOrg' | 'source' | 'sourceObject'>;

export interface Customer {
  name: string | null;
  domain: string | null;
  country: string | null;
  /** When the partner created the deal in its own CRM (HubSpot `createdate`, Salesforce `CreatedDate`). */
  createdAt: string | null;
}

/**
 * The end customer of each partner deal — its associated company / account (name, domain, country),
 * read in one batch per page from the partner's own CRM: HubSpot the deal → company association (v4
 * batch read, through the connector), Salesforce `Opportunity.AccountId` → Account; deals without one fall back to the mapped
 * fields (Customer_Domain__c, the deal name) — and when the partner created the deal there, read from
 * the source record (`createdate` / `CreatedDate`), the time first-to-register compares.
 * A failed read throws COSELL_RULES_DATA_UNAVAILABLE (retryable): deciding on the mapped fields
 * alone would match a different customer key than the company the partner linked.
 */
export async function resolveCustomers(rt: CustomerSource, records: Array<{ sourceId: string; source: Fields }>): Promise<Map<string, Customer>> {
  const out = new Map<string, Customer>();
  const ids = records.map((r) => r.sourceId);
  const created = new Map<string, string>();
  const customer = (id: string): Customer => {
    let c = out.get(id);
    if (!c) out.set(id, (c = { name: null, domain: null, country: null, createdAt: null }));
    return c;
  };
  try {
    if (rt.sourceOrg.kind === 'hubspot') {
      // Search and batch reads always return `createdate`; read it only for records that lack it.
      for (const r of records) if (isoOrNull(r.source.createdate)) created.set(r.sourceId, isoOrNull(r.source.createdate)!);
      const missing = ids.filter((id) => !created.has(id));
      if (missing.length) for (const d of await rt.source.readByIds(rt.sourceObject, missing, ['createdate'])) if (isoOrNull(d.fields.createdate)) created.set(d.id, isoOrNull(d.fields.createdate)!);
      const links = await dealCompanies(rt, ids);
      const companies = links.size ? await rt.source.readByIds('companies', [...new Set(links.values())], ['name', 'domain', 'website', 'country']) : [];
      const byId = new Map(companies.map((c) => [c.id, c]));
      for (const [deal, company] of links) {
        const c = byId.get(company);
        if (c) Object.assign(customer(deal), { name: str(c.fields.name), domain: str(c.fields.domain) ?? str(c.fields.website), country: countryCode(c.fields.country) });
      }
    } else if (rt.sourceOrg.kind === 'salesforce') {
      const opportunity = rt.sourceObject === 'Opportunity';
      const opps = await rt.source.readByIds(rt.sourceObject, ids, opportunity ? ['CreatedDate', 'AccountId'] : ['CreatedDate']);
      for (const o of opps) if (isoOrNull(o.fields.CreatedDate)) created.set(o.id, isoOrNull(o.fields.CreatedDate)!);
      const accountOf = new Map(opps.filter((o) => opportunity && str(o.fields.AccountId)).map((o) => [o.id, String(o.fields.AccountId)]));
      const accounts: CrmRecord[] = accountOf.size ? await rt.source.readByIds('Account', [...new Set(accountOf.values())], ['Name', 'Website', 'BillingCountry']) : [];
      const byId = new Map(accounts.map((a) => [a.id, a]));
      for (const [opp, acc] of accountOf) {
        const a = byId.get(acc);
        if (a) Object.assign(customer(opp), { name: str(a.fields.Name), domain: str(a.fields.Website), country: countryCode(a.fields.BillingCountry) });
      }
    }
  } catch (e) {
    throw rulesDataUnavailable(`the customers of ${ids.length} partner deal(s) could not be read from ${rt.sourceOrg.id}`, rt, e);
  }
  for (const [id, at] of created) customer(id).createdAt = at;
  return out;
}

/** The retryable error of a decision that cannot see what it needs (fail closed: nothing is decided). */
export function rulesDataUnavailable(what: string, rt: Pick<LinkRuntime, 'link'>, cause: unknown): CosellError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  log.warn({ err: cause, link: rt.link.id }, `${what}; nothing decided, the page will be retried`);
  return new CosellError('COSELL_RULES_DATA_UNAVAILABLE', `${what}: ${reason}`, { cause, details: { link: rt.link.id, retryable: true }, hint: 'the page is retried; check the CRM connection if this persists' });
}

/**
 * deal id → its company id (deals with none left out), through the HubSpot connector's association
 * read (`POST /crm/v4/associations/{from}/{to}/batch/read`, 1,000 ids a call) — so the read shares the
 * connector's retries, rate budget and error mapping, and picks the same company the sync's
 * `associations.companies` parent reference follows (the lowest id when a deal has several).
 */
async function dealCompanies(rt: CustomerSource, dealIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!rt.source.associationsOf || !dealIds.length) return out;
  for (const [deal, company] of await rt.source.associationsOf(rt.sourceObject, dealIds, 'associations.companies')) if (company) out.set(deal, company);
  return out;
}
