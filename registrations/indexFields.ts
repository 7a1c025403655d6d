import type { Connector } from '../connectors/types.js';
import { NAMED_ACCOUNT_FIELD, PROTECTED_FIELDS } from './vendorFields.js';

/**
 * The vendor fields the rules' account index reads (registrations/accountIndexFeed.ts) — also what a
 * change stream of the vendor's Account or Opportunity must carry for it (sync/stream.ts), which is
 * why this is a module of its own: the stream producer needs the list, not the feed.
 */
export const INDEX_FIELDS: Readonly<Record<'Account' | 'Opportunity', readonly string[]>> = {
  Account: ['Name', 'Website', 'OwnerId', 'BillingCountry', NAMED_ACCOUNT_FIELD],
  Opportunity: ['Name', 'AccountId', 'IsClosed', 'IsWon', 'StageName', 'Partner_Deal_Id__c', ...PROTECTED_FIELDS],
};

/** The index's fields of `object` that the vendor has (the registration fields appear once a registration link is built). */
export async function indexFieldsOf(vendor: Connector, object: string): Promise<string[]> {
  if (object !== 'Account' && object !== 'Opportunity') return [];
  const schema = await vendor.describe(object);
  return INDEX_FIELDS[object].filter((f) => schema.fields[f]);
}
