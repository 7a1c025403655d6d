import { START_CURSOR, type Connector, type CrmRecord, type FeedCursor } from '../connectors/types.js';
import { populationsOf, salesforceOpportunityFacts, type OpportunityFacts } from './populations.js';
import type { Side, SideAccount } from './types.js';
import { writebackTarget } from './writeback.js';

/**
 * Read one side's accounts/companies (and, for Salesforce, the opportunities that make an account a
 * customer or an open opportunity) through the connector interface: a full read of the change feed
 * from the start, page by page. Runs inside that org's boundary; returns SideAccounts.
 */
const READ_FIELDS = {
  salesforce: { account: ['Name', 'Website', 'Type'], opportunity: ['AccountId', 'IsWon', 'IsClosed', 'StageName'] },
  hubspot: { account: ['name', 'domain', 'website', 'lifecyclestage', 'hs_num_open_deals'] },
} as const;

export interface ReadProgress {
  (info: { side: Side; object: string; records: number }): void;
}

/** Page through an object's full change feed (up to now), handing each page to `onPage`. */
export async function forEachFeedPage(connector: Connector, object: string, fields: string[], onPage: (records: CrmRecord[]) => void, pageSize = 2000): Promise<void> {
  let cursor: FeedCursor = START_CURSOR;
  const until = new Date().toISOString();
  for (;;) {
    const page = await connector.changes(object, cursor, { fields, pageSize, until });
    onPage(page.records);
    if (page.caughtUp || page.records.length === 0) break;
    cursor = page.next;
  }
}

/** Only ask for fields the org has (hs_num_open_deals, Type … may be absent in a given org). */
async function existingFields(connector: Connector, object: string, wanted: readonly string[]): Promise<string[]> {
  const schema = await connector.describe(object);
  return wanted.filter((f) => f in schema.fields);
}

/** The fields an overlap pass reads of one object on one side (what a change stream must carry for it). */
export async function overlapReadFields(connector: Connector, side: Side, object: string): Promise<string[]> {
  const target = writebackTarget(side, connector.kind);
  if (connector.kind === 'salesforce') {
    if (object === 'Opportunity') return existingFields(connector, 'Opportunity', READ_FIELDS.salesforce.opportunity);
    return object === target.object ? existingFields(connector, object, [...READ_FIELDS.salesforce.account, target.field]) : [];
  }
  return object === target.object ? existingFields(connector, object, [...READ_FIELDS.hubspot.account, target.field]) : [];
}

/** Where a side's records come from: the CRM's full feed (default) or a change stream's log (overlaps/pass.ts). */
export type RecordSource = (object: string, fields: string[], onPage: (records: CrmRecord[]) => void) => Promise<void>;

export async function readSide(connector: Connector, side: Side, progress?: ReadProgress, source?: RecordSource): Promise<SideAccount[]> {
  const forEachPage = (_c: Connector, object: string, fields: string[], onPage: (records: CrmRecord[]) => void) => (source ? source(object, fields, onPage) : forEachFeedPage(connector, object, fields, onPage));
  const target = writebackTarget(side, connector.kind);
  const object = target.object;
  if (connector.kind === 'salesforce') {
    const accountFields = await existingFields(connector, object, [...READ_FIELDS.salesforce.account, target.field]);
    const oppFields = await existingFields(connector, 'Opportunity', READ_FIELDS.salesforce.opportunity);
    // Opportunities are folded into won/open flags per account page by page, never held in full.
    const facts = new Map<string, OpportunityFacts>();
    let oppCount = 0;
    if (oppFields.includes('AccountId')) {
      await forEachPage(connector, 'Opportunity', oppFields, (records) => {
        for (const [accountId, f] of salesforceOpportunityFacts(records)) {
          const prev = facts.get(accountId);
          facts.set(accountId, prev ? { won: prev.won || f.won, open: prev.open || f.open } : f);
        }
        progress?.({ side, object: 'Opportunity', records: (oppCount += records.length) });
      });
    }
    const accounts = new Map<string, SideAccount>(); // keyed by id: a record delivered twice counts once
    await forEachPage(connector, object, accountFields, (records) => {
      for (const a of records) {
        accounts.set(a.id, { id: a.id, name: str(a.fields.Name), domain: str(a.fields.Website), populations: populationsOf('salesforce', a.fields, facts.get(a.id)), current: str(a.fields[target.field]) });
      }
      progress?.({ side, object, records: accounts.size });
    });
    return [...accounts.values()];
  }
  const fields = await existingFields(connector, object, [...READ_FIELDS.hubspot.account, target.field]);
  const companies = new Map<string, SideAccount>(); // HubSpot's look-back window may deliver a record twice
  await forEachPage(connector, object, fields, (records) => {
    for (const c of records) {
      companies.set(c.id, { id: c.id, name: str(c.fields.name), domain: str(c.fields.domain) ?? str(c.fields.website), populations: populationsOf('hubspot', c.fields), current: str(c.fields[target.field]) });
    }
    progress?.({ side, object, records: companies.size });
  });
  return [...companies.values()];
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
}
