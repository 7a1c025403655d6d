import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { LoadedNetwork } from '../../lib/config.js';
import { runOverlapPass } from '../../overlaps/pass.js';
import { sharedAccountIndexFeed } from '../../registrations/accountIndexFeed.js';
import { Engine } from '../../sync/build.js';
import { pumpStream } from '../../sync/stream.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * The rules index and the overlap passes as change-stream consumers, on the sandbox CRMs: they read
 * the vendor's Account / Opportunity streams (and the partner's companies stream) from the ledger —
 * no vendor API call of their own once the stream is current — and the result is the one a direct
 * read gives. Overlap passes are incremental: nothing changed → skipped; a changed record → only its
 * keys hashed again.
 */

let sb: TestSandbox;
const SEED = { accounts: 12, opportunities: 10, owners: 1 };
process.env.STRC_SECRET = 'stream-consumers-partnership-secret-0123';

function network(streams: boolean): LoadedNetwork {
  const conn = sandboxEnv(sb, 'STRC');
  return testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - id: acme
    name: Acme Consulting
    kind: hubspot
    tier: gold
    connection: ${conn.acme}
    sharing: { vendor: [customers, opportunities, prospects], partner: [customers, prospects, opportunities], secret: env:STRC_SECRET }
${streams ? 'streams: { enabled: true }' : ''}
`);
}

const vendorCalls = async () => ((await (await fetch(`${sb.baseUrls.vendor}/__sandbox/stats`)).json()) as { requests: number }).requests;

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: SEED },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: SEED },
    ],
  });
});
afterAll(async () => {
  await sb?.stop();
});

describe('overlap passes on change streams', () => {
  let ledger: Ledger;
  let direct: Engine;
  let streamed: Engine;
  beforeAll(async () => {
    ledger = await openLedger({ file: tempLedgerFile() });
    direct = new Engine({ network: network(false), ledger: await openLedger({ file: tempLedgerFile() }) });
    streamed = new Engine({ network: network(true), ledger });
  });
  afterAll(async () => {
    await direct?.close();
    await direct?.ledger.close();
    await streamed?.close();
    await ledger?.close();
  });

  const key = (o: { vendorId: string; partnerId: string; pair: string }) => `${o.vendorId}|${o.partnerId}|${o.pair}`;

  it('finds what a direct full read finds; a pass with nothing changed is skipped and reads nothing from the vendor', async () => {
    const a = await runOverlapPass(direct, 'acme', { writeBack: false, store: false });
    const b = await runOverlapPass(streamed, 'acme');
    expect(b.summary.skipped).toBeUndefined();
    expect(b.overlaps.map(key).sort()).toEqual(a.overlaps.map(key).sort());
    expect(b.overlaps.length).toBeGreaterThan(0);
    // Its own write-back changed vendor accounts; let the streams take that in, then nothing moves.
    const pumpAll = async () => {
      for (const s of ['vendor:Account', 'vendor:Opportunity', 'acme:companies']) for (let i = 0; !(await pumpStream(streamed, s)).caughtUp; i++) expect(i).toBeLessThan(20);
    };
    await pumpAll();
    const c = await runOverlapPass(streamed, 'acme');
    expect(c.summary.skipped).toBeUndefined(); // the write-back moved the vendor's Account stream
    expect(c.summary.hashedKeys).toBe(0); // …but no key is new
    await pumpAll();
    const before = await vendorCalls();
    const d = await runOverlapPass(streamed, 'acme');
    expect(d.summary.skipped).toBe(true);
    expect(await vendorCalls()).toBe(before);
  });

  it('after one partner company changes, the next pass re-hashes only that record’s keys', async () => {
    const acme = await streamed.connector('acme');
    const companies = (await sb.hubspot('acme').crm.companies.basicApi.getPage(1)).results;
    await sb.hubspot('acme').crm.companies.basicApi.update(companies[0].id, { properties: { name: 'Entirely New Name Holdings', domain: 'entirely-new-name.example' } });
    for (let i = 0; !(await pumpStream(streamed, 'acme:companies')).caughtUp; i++) expect(i).toBeLessThan(20);
    const r = await runOverlapPass(streamed, 'acme');
    expect(r.summary.skipped).toBeUndefined();
    expect(r.summary.hashedKeys).toBeGreaterThan(0);
    expect(r.summary.hashedKeys).toBeLessThanOrEqual(3); // domain, domain label, name — of one record
    expect(acme.kind).toBe('hubspot');
  });
});

describe('the rules index on change streams', () => {
  it('follows the vendor Account stream from the ledger; polls the stream itself only when it is stale', async () => {
    const ledger = await openLedger({ file: tempLedgerFile() });
    const net = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${sandboxEnv(sb, 'STRC').vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${sandboxEnv(sb, 'STRC').acme} }
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true }
streams: { enabled: true }
rules: roe.yaml
`);
    const engine = new Engine({ network: net, ledger });
    try {
      const vendor = await engine.connector('vendor');
      const feed = sharedAccountIndexFeed(ledger, vendor, 'vendor', undefined, { network: net });
      // Never polled: the catch-up polls the stream itself (a decision must not run on a stale index).
      const first = await feed.catchUp();
      expect(first.accounts).toBeGreaterThanOrEqual(SEED.accounts);
      const created = (await sb.jsforce('vendor').sobject('Account').create({ Name: 'Brand New Customer GmbH', Website: 'brand-new-customer.example' })) as { id: string };
      await pumpStream(engine, 'vendor:Account');
      await pumpStream(engine, 'vendor:Opportunity');
      const before = await vendorCalls();
      const second = await feed.catchUp();
      expect(second.accounts).toBe(1);
      expect(feed.index.getAccount(created.id)?.name).toBe('Brand New Customer GmbH');
      expect(await vendorCalls()).toBe(before); // read from the ledger only
    } finally {
      await engine.close();
      await ledger.close();
    }
  });
});

describe('waking the consumers of a change stream', () => {
  it('a read that appends nothing still wakes every consumer behind the head (a worker killed between the append and the wake left links idle for good)', async () => {
    const ledger = await openLedger({ file: tempLedgerFile() });
    const conn = sandboxEnv(sb, 'STRC');
    const net = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: opps-to-acme, from: vendor.Opportunity, to: acme.deals, mapping: $STOCK/salesforce-opportunity-to-hubspot-deal.yaml, share: all }
streams: { enabled: true }
`);
    const engine = new Engine({ network: net, ledger });
    const woken = (r: { wake: Array<{ workflowId: string }> }) => r.wake.map((w) => w.workflowId);
    try {
      let first = await pumpStream(engine, 'vendor:Opportunity');
      while (!first.caughtUp) first = await pumpStream(engine, 'vendor:Opportunity');
      expect(first.head).toBeGreaterThanOrEqual(SEED.opportunities);
      // The appending read's wake signals are lost (its worker died): the next read appends nothing…
      const again = await pumpStream(engine, 'vendor:Opportunity');
      expect(again.appended).toBe(0);
      // …and must still wake the link, which has read none of the log.
      expect(woken(again)).toEqual(['sync:opps-to-acme']);
      // Once the link has read up to the head, a read that appends nothing wakes nobody.
      const pos = await ledger.streams.attach('vendor:Opportunity', 'link:opps-to-acme');
      expect(await ledger.streams.advance('vendor:Opportunity', 'link:opps-to-acme', again.head, pos.generation)).toBe(true);
      expect(woken(await pumpStream(engine, 'vendor:Opportunity'))).toEqual([]);
      // A new vendor change wakes it again.
      const acct = (await sb.jsforce('vendor').query<{ Id: string }>('SELECT Id FROM Opportunity LIMIT 1')).records[0]!;
      await sb.jsforce('vendor').sobject('Opportunity').update({ Id: acct.Id, Name: 'Renamed for the wake test' });
      const changed = await pumpStream(engine, 'vendor:Opportunity');
      expect(changed.appended).toBeGreaterThan(0);
      expect(woken(changed)).toEqual(['sync:opps-to-acme']);
    } finally {
      await engine.close();
      await ledger.close();
    }
  });
});
