import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLinkHarness, syncRound as syncRoundOf, type LinkHarness } from '../helpers/linkWorker.js';
import { uniqueQueue } from '../helpers/temporal.js';

/**
 * A deleted record of a two-way pair comes back (partner deal ⇄ vendor Opportunity, `deletes: flag`,
 * link workflows on the real dev server): the partner restores its deal from HubSpot's recycle bin, the
 * vendor undeletes the Opportunity from Salesforce's Recycle Bin — same id, modification time bumped
 * (sandbox `POST /__sandbox/restore/{type}/{id}`). What a user expects: the pair carries on — re-linked,
 * the deletion flag on the other side cleared, edits made meanwhile and afterwards syncing both ways,
 * audited `restored`. Before, the restored record stayed flagged deleted on the other side, and the
 * reverse link kept its "target deleted, leave it" mark for good: no vendor edit reached a restored deal.
 */
let h: LinkHarness;
const taskQueue = uniqueQueue('restore');
const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const links = { companies: `companies-${tag}`, deals: `deals-${tag}`, opps: `opps-${tag}` };

beforeAll(async () => {
  h = await startLinkHarness({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 2, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
    ],
    sandbox: { uniqueIds: true },
    envPrefix: `RESTORE${tag.toUpperCase()}`,
    taskQueue,
    startLinks: true,
    network: (conn) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme${tag}, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${links.companies}, from: acme${tag}.companies, to: vendor.Account, mapping: $STOCK/hubspot-company-to-salesforce-account.yaml, schedule: 1h, deletes: flag }
  - id: ${links.deals}
    from: acme${tag}.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
    pairedWith: ${links.opps}
    schedule: 1h
    deletes: flag
    parent: { link: ${links.companies}, sourceField: associations.companies, targetField: AccountId }
  - { id: ${links.opps}, from: vendor.Opportunity, to: acme${tag}.deals, mapping: $STOCK/salesforce-opportunity-to-hubspot-deal.yaml, pairedWith: ${links.deals}, schedule: 1h, deletes: flag }
`,
  });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

const syncRound = () => syncRoundOf(h.client, Object.values(links));

/** Sync rounds until the pair has settled (echoes included). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await syncRound();
}

const hs = () => h.sb.hubspot('acme');
const sf = () => h.sb.jsforce('vendor');

async function opportunityOf(dealId: string) {
  const r = await sf().query<{ Id: string; Name: string; Amount: number | null; Cosell_Source_Deleted__c: boolean | null }>(`SELECT Id, Name, Amount, Cosell_Source_Deleted__c FROM Opportunity WHERE Partner_Deal_Id__c = 'acme${tag}:${dealId}'`);
  return r.records;
}
async function deal(id: string) {
  return (await hs().crm.deals.basicApi.getById(id, ['dealname', 'amount', 'cosell_vendor_amount', 'cosell_source_deleted'])).properties;
}
async function restore(org: string, type: string, id: string): Promise<void> {
  const res = await fetch(`${h.sb.baseUrls[org]}/__sandbox/restore/${type}/${id}`, { method: 'POST' });
  expect(res.status, await res.text()).toBe(200);
}
async function restoredAudits(ids: string[]) {
  const events = await h.ledger.audit.list({ limit: 10_000 });
  return events.filter((e) => e.action === 'restored' && (ids.includes(e.sourceId ?? '') || ids.includes(e.targetId ?? '')));
}

describe('a deleted record of a two-way pair is restored in its CRM', () => {
  let dealId: string;
  let oppId: string;

  beforeAll(async () => {
    const company = await hs().crm.companies.basicApi.create({ properties: { name: 'Contoso Foods', domain: 'contoso-foods.example', country: 'US' }, associations: [] });
    const d = await hs().crm.deals.basicApi.create({ properties: { dealname: 'Contoso rollout', amount: '30000', closedate: '2027-03-01T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy' }, associations: [] });
    await hs().crm.associations.v4.basicApi.createDefault('deals', d.id, 'companies', company.id);
    dealId = d.id;
    await settle();
    const opps = await opportunityOf(dealId);
    expect(opps).toHaveLength(1);
    oppId = opps[0]!.Id;
  }, 120_000);

  it('the partner restores its deleted deal: the Opportunity is re-linked (flag cleared), edits flow both ways again, audited', async () => {
    await hs().crm.deals.basicApi.archive(dealId);
    await settle();
    expect((await opportunityOf(dealId))[0]).toMatchObject({ Id: oppId, Cosell_Source_Deleted__c: true });

    await restore('acme', 'deals', dealId);
    await hs().crm.deals.basicApi.update(dealId, { properties: { dealname: 'Contoso rollout (back)' } });
    await settle();
    expect((await opportunityOf(dealId))[0]).toMatchObject({ Id: oppId, Name: 'Contoso rollout (back)', Cosell_Source_Deleted__c: false });
    expect(await restoredAudits([dealId, oppId])).toEqual([expect.objectContaining({ linkId: links.deals, sourceId: dealId, targetId: oppId, details: expect.objectContaining({ restored: 'source' }) })]);

    await sf().sobject('Opportunity').update({ Id: oppId, Amount: 31000 }); // the vendor side reaches the restored deal too
    await settle();
    expect(Number((await deal(dealId)).amount)).toBe(31000);
    expect(await opportunityOf(dealId)).toHaveLength(1);
  }, 180_000);

  it('deleted and restored a second time: the flag is set and cleared again (the soak found it kept `true`)', async () => {
    for (const round of [1, 2]) {
      await hs().crm.deals.basicApi.archive(dealId);
      await settle();
      expect((await opportunityOf(dealId))[0], `deletion ${round}`).toMatchObject({ Id: oppId, Cosell_Source_Deleted__c: true });
      const deletions = (await h.ledger.audit.list({ limit: 10_000 })).filter((e) => e.action === 'flagged-deleted' && e.sourceId === dealId);
      expect(deletions, 'each deletion is audited (not only the first)').toHaveLength(round + 1);
      await restore('acme', 'deals', dealId);
      await settle();
      expect((await opportunityOf(dealId))[0], `restore ${round}`).toMatchObject({ Id: oppId, Cosell_Source_Deleted__c: false });
    }
  }, 180_000);

  it('the vendor undeletes its Opportunity: the deal is re-linked (flag cleared), the rename made meanwhile arrives, audited', async () => {
    await sf().sobject('Opportunity').destroy(oppId);
    await settle();
    expect((await deal(dealId)).cosell_source_deleted).toBe('true');
    await hs().crm.deals.basicApi.update(dealId, { properties: { dealname: 'Renamed while the opportunity was deleted' } });
    await settle();
    expect(await opportunityOf(dealId)).toEqual([]); // targetDeletes: leave — not re-created

    await restore('vendor', 'Opportunity', oppId);
    await settle();
    expect((await deal(dealId)).cosell_source_deleted).toBe('false');
    expect((await opportunityOf(dealId))[0]).toMatchObject({ Id: oppId, Name: 'Renamed while the opportunity was deleted' });
    expect((await restoredAudits([dealId, oppId])).map((e) => [e.linkId, e.details?.restored])).toEqual(
      expect.arrayContaining([[links.opps, 'source'], [links.deals, 'target']]),
    );

    await sf().sobject('Opportunity').update({ Id: oppId, Amount: 45000 });
    await hs().crm.deals.basicApi.update(dealId, { properties: { closedate: '2027-05-05T00:00:00.000Z' } });
    await settle();
    expect(Number((await deal(dealId)).amount)).toBe(45000);
    expect(Number((await deal(dealId)).cosell_vendor_amount)).toBe(45000);
  }, 180_000);

  it('once settled, further polls write nothing (no ping-pong)', async () => {
    const mark = (await h.ledger.audit.list({ order: 'desc', limit: 1 }))[0]!.id;
    await settle();
    const writes = (await h.ledger.audit.list({ afterId: mark, limit: 1000 })).filter((e) => ['created', 'updated', 'restored'].includes(e.action));
    expect(writes).toEqual([]);
  }, 120_000);
});
