import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { Engine } from '../../sync/build.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { drain } from '../helpers/drain.js';

/** Two-way link pair: one real change → exactly one write on the other side, and none back. */
let sb: TestSandbox;
let ledger: Ledger;
let engine: Engine;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'acme', kind: 'hubspot', role: 'partner' }] });
  const conn = sandboxEnv(sb, 'PINGPONG');
  const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: deals-in, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, pairedWith: opps-out }
  - { id: opps-out, from: vendor.Opportunity, to: acme.deals, mapping: $STOCK/salesforce-opportunity-to-hubspot-deal.yaml, pairedWith: deals-in, share: all }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  engine = new Engine({ network, ledger });
  // Settle the pair: back-fill, vendor fields go back once, echoes die out.
  await drain(engine, 'deals-in');
  await drain(engine, 'opps-out');
  await drain(engine, 'deals-in');
  await drain(engine, 'opps-out');
}, 60_000);

afterAll(async () => {
  await engine?.close();
  await ledger?.close();
  await sb?.stop();
});

async function writesSince(auditId: number) {
  const events = await ledger.audit.list({ afterId: auditId, limit: 10_000 });
  return events.filter((e) => e.action === 'created' || e.action === 'updated');
}
async function lastAuditId(): Promise<number> {
  return (await ledger.audit.list({ order: 'desc', limit: 1 }))[0]?.id ?? 0;
}

describe('two-way pair (deals-in ⇄ opps-out)', () => {
  it('is quiet once settled: neither side writes anything', async () => {
    const mark = await lastAuditId();
    const a = await drain(engine, 'deals-in');
    const b = await drain(engine, 'opps-out');
    expect((a.created ?? 0) + (a.updated ?? 0) + (b.created ?? 0) + (b.updated ?? 0)).toBe(0);
    expect(await writesSince(mark)).toEqual([]);
  });

  it('a partner change → exactly one write to Salesforce, no write back', async () => {
    const pair = (await ledger.pairs.list('deals-in'))[0];
    const mark = await lastAuditId();
    await sb.hubspot('acme').crm.deals.basicApi.update(pair.sourceId, { properties: { dealname: 'Ping from partner' } });
    const rounds = [await drain(engine, 'deals-in'), await drain(engine, 'opps-out'), await drain(engine, 'deals-in'), await drain(engine, 'opps-out')];
    expect(rounds.map((r) => (r.created ?? 0) + (r.updated ?? 0))).toEqual([1, 0, 0, 0]);
    const writes = await writesSince(mark);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ linkId: 'deals-in', sourceId: pair.sourceId, targetId: pair.targetId, action: 'updated', after: { Name: 'Ping from partner' } });
    const opp = await sb.jsforce('vendor').query<{ Name: string }>(`SELECT Name FROM Opportunity WHERE Id = '${pair.targetId}'`);
    expect(opp.records[0].Name).toBe('Ping from partner');
  });

  it('a vendor change → exactly one write to HubSpot, no write back', async () => {
    const pair = (await ledger.pairs.list('deals-in'))[1];
    const mark = await lastAuditId();
    await sb.jsforce('vendor').sobject('Opportunity').update({ Id: pair.targetId, StageName: 'Negotiation/Review' });
    const rounds = [await drain(engine, 'opps-out'), await drain(engine, 'deals-in'), await drain(engine, 'opps-out'), await drain(engine, 'deals-in')];
    expect(rounds.map((r) => (r.created ?? 0) + (r.updated ?? 0))).toEqual([1, 0, 0, 0]);
    const writes = await writesSince(mark);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ linkId: 'opps-out', sourceId: pair.targetId, targetId: pair.sourceId, action: 'updated' });
    expect(writes[0].after).toMatchObject({ cosell_vendor_stage: 'Negotiation/Review' });
    const deal = await sb.hubspot('acme').crm.deals.basicApi.getById(pair.sourceId, ['cosell_vendor_stage']);
    expect(deal.properties.cosell_vendor_stage).toBe('Negotiation/Review');
    // Still one Salesforce record per deal, and one deal per record: no copies made by the echo.
    expect(await ledger.pairs.count('deals-in')).toBe(30);
    expect((await sb.jsforce('vendor').query("SELECT COUNT() FROM Opportunity WHERE Registered_Partner_Id__c = 'acme'")).totalSize).toBe(30);
  });
});
