import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLinkHarness, syncRound as syncRoundOf, type LinkHarness } from '../helpers/linkWorker.js';
import { uniqueQueue } from '../helpers/temporal.js';

/**
 * A two-way pair (partner deal ⇄ vendor Opportunity, stock mappings, link workflows on the real dev
 * server) carries round-trip fields (`amount` ⇄ `Amount`, owner newest) AND one-way copies of them
 * (`Partner_Amount__c ← amount` on the Opportunity, `cosell_vendor_amount ← Amount` on the deal).
 * Found by the convergence test (seed 1144309237): after a partner's amount edit reached the
 * Opportunity, the deal's `cosell_vendor_amount` kept the old amount for ever — the reverse link took
 * the Opportunity as last synced (its snapshot, just written by the forward link) for the base of its
 * three-way plan, so `cosell_vendor_amount` "had not changed in the source" although it was never
 * written to the deal. The same held the other way for a vendor edit and `Partner_Amount__c`.
 */
let h: LinkHarness;
const taskQueue = uniqueQueue('oneway');
const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const links = { companies: `companies-${tag}`, deals: `deals-${tag}`, opps: `opps-${tag}` };

beforeAll(async () => {
  h = await startLinkHarness({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 2, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
    ],
    sandbox: { uniqueIds: true },
    envPrefix: `ONEWAY${tag.toUpperCase()}`,
    taskQueue,
    startLinks: true,
    network: (conn) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme${tag}, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${links.companies}, from: acme${tag}.companies, to: vendor.Account, mapping: $STOCK/hubspot-company-to-salesforce-account.yaml, schedule: 1h }
  - id: ${links.deals}
    from: acme${tag}.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
    pairedWith: ${links.opps}
    schedule: 1h
    parent: { link: ${links.companies}, sourceField: associations.companies, targetField: AccountId }
  - { id: ${links.opps}, from: vendor.Opportunity, to: acme${tag}.deals, mapping: $STOCK/salesforce-opportunity-to-hubspot-deal.yaml, pairedWith: ${links.deals}, schedule: 1h }
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
  const r = await sf().query<{ Id: string; Amount: number | null; Partner_Amount__c: number | null }>(`SELECT Id, Amount, Partner_Amount__c, Partner_Deal_Id__c FROM Opportunity WHERE Partner_Deal_Id__c = 'acme${tag}:${dealId}'`);
  return r.records;
}
async function deal(id: string) {
  return (await hs().crm.deals.basicApi.getById(id, ['amount', 'cosell_vendor_amount'])).properties;
}

describe('a two-way pair: one-way copies of a round-trip field follow every edit', () => {
  let dealId: string;
  let oppId: string;

  beforeAll(async () => {
    const company = await hs().crm.companies.basicApi.create({ properties: { name: 'Northwind Traders', domain: 'northwind.example', country: 'US' }, associations: [] });
    const d = await hs().crm.deals.basicApi.create({ properties: { dealname: 'Northwind expansion', amount: '64000', closedate: '2027-03-01T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy' }, associations: [] });
    await hs().crm.associations.v4.basicApi.createDefault('deals', d.id, 'companies', company.id);
    dealId = d.id;
    await settle();
    const opps = await opportunityOf(dealId);
    expect(opps).toHaveLength(1);
    oppId = opps[0]!.Id;
    expect(Number((await deal(dealId)).cosell_vendor_amount)).toBe(64000);
  }, 120_000);

  it("a partner's amount edit reaches the Opportunity AND comes back as the deal's cosell_vendor_amount", async () => {
    await hs().crm.deals.basicApi.update(dealId, { properties: { amount: '15500' } });
    await settle();
    const [opp] = await opportunityOf(dealId);
    expect(opp).toMatchObject({ Id: oppId, Amount: 15500, Partner_Amount__c: 15500 });
    const d = await deal(dealId);
    expect(Number(d.amount)).toBe(15500);
    expect(Number(d.cosell_vendor_amount)).toBe(15500);
  }, 120_000);

  it("a vendor's Amount edit reaches the deal AND comes back as the Opportunity's Partner_Amount__c", async () => {
    await sf().sobject('Opportunity').update({ Id: oppId, Amount: 42000 });
    await settle();
    const d = await deal(dealId);
    expect(Number(d.amount)).toBe(42000);
    expect(Number(d.cosell_vendor_amount)).toBe(42000);
    const [opp] = await opportunityOf(dealId);
    expect(opp).toMatchObject({ Id: oppId, Amount: 42000, Partner_Amount__c: 42000 });
  }, 120_000);

  it('once settled, further polls write nothing (no ping-pong)', async () => {
    const mark = (await h.ledger.audit.list({ order: 'desc', limit: 1 }))[0]!.id;
    await settle();
    const writes = (await h.ledger.audit.list({ afterId: mark, limit: 1000 })).filter((e) => e.action === 'created' || e.action === 'updated');
    expect(writes).toEqual([]);
  }, 120_000);
});
