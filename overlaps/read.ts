import { START_CURSOR, type Connector, type CrmRecord, type FeedCursor } from '../connectors/types.js';
import { populationsOf, salesforceOpportunityFacts } from './populations.js';
import type { SideAccount } from './types.js';
import { WRITEBACK_TARGETS } from './writeback.js';
import type { Side } from './types.js';

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

export async function readAll(connector: Connector, object: string, fields: string[], onPage?: (n: number) => void, pageSize = 2000): Promise<CrmRecord[]> {
  const byId = new Map<string, CrmRecord>(); // a look-back window may deliver a record twice: keep the last
  let cursor: FeedCursor = START_CURSOR;
  const until = new Date().toISOString();
  for (;;) {
    const page = await connector.changes(object, cursor, { fields, pageSize, until });
    for (const r of page.records) byId.set(r.id, r);
    onPage?.(byId.size);
    if (page.caughtUp || page.records.length === 0) break;
    cursor = page.next;
  }
  return [...byId.values()];
}

/** Only ask for fields the org has (hs_num_open_deals, Type … may be absent in a given org). */
async function existingFields(connector: Connector, object: string, wanted: readonly string[]): Promise<string[]> {
  const schema = await connector.describe(object);
  return wanted.filter((f) => f in schema.fields);
}

export async function readSide(connector: Connector, side: Side, progress?: ReadProgress): Promise<SideAccount[]> {
  const target = WRITEBACK_TARGETS[side][connector.kind];
  const object = target.object;
  if (connector.kind === 'salesforce') {
    const accountFields = await existingFields(connector, object, [...READ_FIELDS.salesforce.account, target.field]);
    const oppFields = await existingFields(connector, 'Opportunity', READ_FIELDS.salesforce.opportunity);
    const opps = oppFields.includes('AccountId') ? await readAll(connector, 'Opportunity', oppFields, (n) => progress?.({ side, object: 'Opportunity', records: n })) : [];
    const facts = salesforceOpportunityFacts(opps);
    const accounts = await readAll(connector, object, accountFields, (n) => progress?.({ side, object, records: n }));
    return accounts.map((a) => ({
      id: a.id,
      name: str(a.fields.Name),
      domain: str(a.fields.Website),
      populations: populationsOf('salesforce', a.fields, facts.get(a.id)),
      current: str(a.fields[target.field]),
    }));
  }
  const fields = await existingFields(connector, object, [...READ_FIELDS.hubspot.account, target.field]);
  const companies = await readAll(connector, object, fields, (n) => progress?.({ side, object, records: n }));
  return companies.map((c) => ({
    id: c.id,
    name: str(c.fields.name),
    domain: str(c.fields.domain) ?? str(c.fields.website),
    populations: populationsOf('hubspot', c.fields),
    current: str(c.fields[target.field]),
  }));
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
}
