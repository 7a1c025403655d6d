import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshFacts } from '../../analytics/refresh.js';
import type { OpportunityFact } from '../../analytics/facts.js';
import type { Connector } from '../../connectors/types.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { Engine } from '../../sync/build.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * The fact store follows the vendor's Opportunities through the real Salesforce connector (jsforce
 * against the sandbox), incrementally: from the CRM's own change/deletion feeds, or from the vendor's
 * Opportunity change stream in the ledger. Both give the same facts.
 */

let sb: TestSandbox;
let engine: Engine;
let vendor: Connector;
const ledgers: Ledger[] = [];

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 10, opportunities: 25, owners: 2 } }] });
  const net = testNetwork(`vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${sandboxEnv(sb, 'ANLR').vendor} }\npartners: []\nlinks: []\n`);
  const ledger = await openLedger({ file: tempLedgerFile() });
  ledgers.push(ledger);
  engine = new Engine({ network: net, ledger });
  vendor = await engine.connector('vendor');
  await vendor.ensureFields('Opportunity', [{ name: 'Partner_Attribution__c', label: 'Partner Attribution', type: 'string', length: 255 }]);
});
afterAll(async () => {
  await engine?.close();
  for (const l of ledgers) await l.close();
  await sb?.stop();
});

async function facts(ledger: Ledger): Promise<OpportunityFact[]> {
  const out: OpportunityFact[] = [];
  for await (const page of ledger.facts.all('vendor')) out.push(...page);
  return out;
}

describe('refreshFacts on the sandbox vendor org', () => {
  it('fills from the feed, then takes only what changed; the change stream path gives the same facts', async () => {
    const feedLedger = ledgers[0]!;
    const streamLedger = await openLedger({ file: tempLedgerFile() });
    ledgers.push(streamLedger);
    const first = await refreshFacts(feedLedger, vendor, 'vendor', { currency: 'USD' });
    expect(first).toMatchObject({ source: 'feed', changed: 25, caughtUp: true });
    expect(await feedLedger.facts.count('vendor')).toBe(25);
    expect(await refreshFacts(feedLedger, vendor, 'vendor', { currency: 'USD' })).toMatchObject({ changed: 0 });

    const sf = sb.jsforce('vendor');
    const opps = (await sf.query<{ Id: string }>('SELECT Id FROM Opportunity ORDER BY Id')).records;
    await sf.sobject('Opportunity').update({ Id: opps[0]!.Id, StageName: 'Closed Won', CloseDate: '2026-10-20', Amount: 1234.56, Partner_Attribution__c: 'acme:sourcing:60;globex:influence:40' } as never);
    await sf.sobject('Opportunity').destroy(opps[1]!.Id);
    const second = await refreshFacts(feedLedger, vendor, 'vendor', { currency: 'USD' });
    expect(second).toMatchObject({ changed: 1, deleted: 1 });
    const won = await feedLedger.facts.get('vendor', opps[0]!.Id);
    expect(won).toMatchObject({ status: 'won', amountCents: 123456, closedOn: '2026-10-20', partners: [{ partner: 'acme', role: 'sourcing', split: 60, cents: 74074 }, { partner: 'globex', role: 'influence', split: 40, cents: 49382 }] });
    expect(won!.cycleDays).toBeGreaterThanOrEqual(0);
    expect(await feedLedger.facts.get('vendor', opps[1]!.Id)).toBeUndefined();

    const streamed = await refreshFacts(streamLedger, vendor, 'vendor', { currency: 'USD', streams: true });
    expect(streamed).toMatchObject({ source: 'stream', caughtUp: true });
    expect(await facts(streamLedger)).toEqual(await facts(feedLedger));
    expect(await streamLedger.facts.cells('vendor')).toEqual(expect.arrayContaining(await feedLedger.facts.cells('vendor')));
    expect((await streamLedger.streams.position('vendor:Opportunity', 'analytics:vendor'))?.seq).toBeGreaterThan(0);
    // Nothing new in the log: nothing moves.
    expect(await refreshFacts(streamLedger, vendor, 'vendor', { currency: 'USD', streams: true, maxStalenessMs: 0 })).toMatchObject({ changed: 0 });
  });
});
