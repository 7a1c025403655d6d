import type { CrmKind, CrmRecord, FieldValue } from '../connectors/types.js';
import { POPULATION_BIT, POPULATIONS, RELATIONS, type Population, type Relation } from './types.js';

/**
 * Which population(s) an account/company belongs to, per CRM. The rules, in one place:
 *
 * Salesforce Account
 *   customers     — Type starts with "Customer" (Customer - Direct / Customer - Channel) or the account
 *                   has a Closed Won opportunity;
 *   opportunities — the account has an open opportunity (IsClosed = false);
 *   prospects     — every other account that is not a customer, except Types that are not sales
 *                   targets at all (partners, resellers, competitors, press, "Other").
 * HubSpot company
 *   customers     — lifecyclestage customer or evangelist;
 *   opportunities — lifecyclestage opportunity, or hs_num_open_deals > 0;
 *   prospects     — lifecyclestage subscriber / lead / marketingqualifiedlead / salesqualifiedlead /
 *                   opportunity, or no lifecycle stage at all; "other" is not a sales target.
 * A record can be in several populations (a customer with an open upsell is a customer and an
 * opportunity); a customer is never a prospect.
 */

export interface OpportunityFacts {
  won: boolean;
  open: boolean;
}

const SF_NOT_A_TARGET = /partner|reseller|competitor|press|^other$/i;

export function salesforcePopulations(account: Record<string, FieldValue>, opps?: OpportunityFacts): number {
  const type = typeof account.Type === 'string' ? account.Type.trim() : '';
  let mask = 0;
  if (/^customer/i.test(type) || opps?.won) mask |= POPULATION_BIT.customers;
  if (opps?.open) mask |= POPULATION_BIT.opportunities;
  if (!(mask & POPULATION_BIT.customers) && !SF_NOT_A_TARGET.test(type)) mask |= POPULATION_BIT.prospects;
  return mask;
}

const HS_PROSPECT_STAGES = new Set(['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', '']);
const HS_CUSTOMER_STAGES = new Set(['customer', 'evangelist']);

export function hubspotPopulations(company: Record<string, FieldValue>): number {
  const stage = typeof company.lifecyclestage === 'string' ? company.lifecyclestage.trim().toLowerCase() : '';
  const openDeals = Number(company.hs_num_open_deals ?? 0);
  let mask = 0;
  if (HS_CUSTOMER_STAGES.has(stage)) mask |= POPULATION_BIT.customers;
  if (stage === 'opportunity' || openDeals > 0) mask |= POPULATION_BIT.opportunities;
  if (!(mask & POPULATION_BIT.customers) && HS_PROSPECT_STAGES.has(stage)) mask |= POPULATION_BIT.prospects;
  return mask;
}

/** Won/open flags per account id, from Salesforce Opportunity records (AccountId, IsWon, IsClosed). */
export function salesforceOpportunityFacts(opportunities: Iterable<CrmRecord>): Map<string, OpportunityFacts> {
  const facts = new Map<string, OpportunityFacts>();
  for (const o of opportunities) {
    const accountId = o.fields.AccountId;
    if (typeof accountId !== 'string' || !accountId) continue;
    const f = facts.get(accountId) ?? { won: false, open: false };
    const isWon = o.fields.IsWon === true || o.fields.IsWon === 'true' || o.fields.StageName === 'Closed Won';
    const isClosed = o.fields.IsClosed === true || o.fields.IsClosed === 'true' || /^Closed/.test(String(o.fields.StageName ?? ''));
    if (isWon) f.won = true;
    if (!isClosed) f.open = true;
    facts.set(accountId, f);
  }
  return facts;
}

export function populationsOf(kind: CrmKind, fields: Record<string, FieldValue>, opps?: OpportunityFacts): number {
  return kind === 'salesforce' ? salesforcePopulations(fields, opps) : hubspotPopulations(fields);
}

export function populationMask(pops: readonly Population[]): number {
  let mask = 0;
  for (const p of pops) mask |= POPULATION_BIT[p];
  return mask;
}

/** The strongest relation in a mask (customer > opportunity > prospect), or undefined for none. */
export function relationOf(mask: number): Relation | undefined {
  for (let i = 0; i < POPULATIONS.length; i++) if (mask & POPULATION_BIT[POPULATIONS[i]]) return RELATIONS[i];
  return undefined;
}

/** Relation index (0 customer, 1 opportunity, 2 prospect, -1 none) without allocating. */
export function relationIndex(mask: number): number {
  if (mask & 1) return 0;
  if (mask & 2) return 1;
  if (mask & 4) return 2;
  return -1;
}
