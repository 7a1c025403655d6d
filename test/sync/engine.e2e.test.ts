import { drain as drainLink } from '../helpers/drain.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { Engine } from '../../sync/build.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

let sb: TestSandbox;
let ledger: Ledger;
let engine: Engine;

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor' },
      { id: 'acme', kind: 'hubspot', role: 'partner' },
    ],
  });
  const conn = sandboxEnv(sb, 'E2E');
  const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml }
  - { id: vendor-opps-to-acme, from: vendor.Opportunity, to: acme.deals, mapping: $STOCK/salesforce-opportunity-to-hubspot-deal.yaml, pairedWith: acme-deals, share: all }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  engine = new Engine({ network, ledger });
});

afterAll(async () => {
  await engine?.close();
  await ledger?.close();
  await sb?.stop();
});

const drain = (linkId: string) => drainLink(engine, linkId);

describe('sync engine on the sandbox (HubSpot → Salesforce → HubSpot)', () => {
  it('creates a vendor opportunity for every partner deal, then nothing on a second pass', async () => {
    const first = await drain('acme-deals');
    expect(first.created).toBeGreaterThan(0);
    const conn = sb.jsforce('vendor');
    const opps = await conn.query<{ Partner_Deal_Id__c: string; Registered_Partner_Id__c: string }>("SELECT Id, Partner_Deal_Id__c, Registered_Partner_Id__c FROM Opportunity WHERE Registered_Partner_Id__c = 'acme'");
    expect(opps.totalSize).toBe(first.created);
    expect(opps.records.every((r) => r.Partner_Deal_Id__c.startsWith('acme:'))).toBe(true);
    const again = await drain('acme-deals');
    expect(again.created ?? 0).toBe(0);
    expect(again.updated ?? 0).toBe(0);
  });

  it('two-way: vendor progress reaches the partner once, and its echo causes no write back', async () => {
    const back = await drain('vendor-opps-to-acme');
    expect(back.created ?? 0).toBe(0); // each opportunity goes back onto the deal it came from
    expect(back.updated).toBeGreaterThan(0); // with the vendor's fields (cosell_vendor_stage…)
    const echo = await drain('acme-deals');
    expect(echo.updated ?? 0).toBe(0);
    expect(echo.created ?? 0).toBe(0);
  });
});
