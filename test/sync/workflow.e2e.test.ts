import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { linkStatuses, startLinks } from '../../lib/links.js';
import { Engine } from '../../sync/build.js';
import type { LinkStatus } from '../../sync/types.js';
import { pauseSignal, resumeSignal, resyncUpdate, statusQuery, syncNowSignal } from '../../workflows/index.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, testWorker, uniqueQueue } from '../helpers/temporal.js';

let sb: TestSandbox;
let ledger: Ledger;
let engine: Engine;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const taskQueue = uniqueQueue('link-wf');
const prefix = taskQueue.replace(/[^a-z0-9]/g, '').slice(-8);
const linkId = `acme-deals-${prefix}`;

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor' },
      { id: 'acme', kind: 'hubspot', role: 'partner' },
    ],
  });
  const conn = sandboxEnv(sb, 'WF');
  const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  engine = new Engine({ network, ledger });
  client = await testClient();
  worker = await testWorker({ taskQueue, activities: createActivities({ engine }) });
  running = worker.run();
  await startLinks(client, network, { taskQueue });
});

afterAll(async () => {
  await client?.workflow.getHandle(`sync:${linkId}`).terminate('test over').catch(() => undefined);
  worker?.shutdown();
  await running;
  await engine?.close();
  await ledger?.close();
  await sb?.stop();
  await client?.connection.close();
});

async function waitFor(pred: (s: LinkStatus) => boolean, timeoutMs = 30_000): Promise<LinkStatus> {
  const handle = client.workflow.getHandle(`sync:${linkId}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await handle.query(statusQuery);
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out; last status ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('linkSync workflow on the real dev server', () => {
  it('catches up, goes idle, and shows its state in search attributes and the status query', async () => {
    const s = await waitFor((x) => x.state === 'idle');
    expect(s.counts.created).toBe(30);
    expect(s.cursor?.modifiedAt).toMatch(/^\d{4}-/);
    const desc = await client.workflow.getHandle(`sync:${linkId}`).describe();
    expect(desc.searchAttributes).toMatchObject({ CosellKind: ['link'], CosellLink: [linkId], CosellPartner: ['acme'], CosellObject: ['deals'], CosellState: ['idle'] });
    const listed = await linkStatuses(client);
    expect(listed.find((r) => r.workflowId === `sync:${linkId}`)?.status?.state).toBe('idle');
  });

  it('a change in the partner CRM lands on syncNow; pause holds it, resume releases it', async () => {
    const hs = sb.hubspot('acme');
    const deals = await hs.crm.deals.basicApi.getPage(1, undefined, ['dealname']);
    const deal = deals.results[0];
    const handle = client.workflow.getHandle(`sync:${linkId}`);
    await handle.signal(pauseSignal);
    await waitFor((x) => x.state === 'paused');
    await hs.crm.deals.basicApi.update(deal.id, { properties: { dealname: 'Renamed by partner rep' } });
    await handle.signal(syncNowSignal);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await handle.query(statusQuery)).state).toBe('paused');
    await handle.signal(resumeSignal);
    const s = await waitFor((x) => x.state === 'idle' && x.counts.updated >= 1);
    expect(s.counts.updated).toBe(1);
    const opp = await sb.jsforce('vendor').query<{ Name: string }>(`SELECT Name FROM Opportunity WHERE Partner_Deal_Id__c = 'acme:${deal.id}'`);
    expect(opp.records[0].Name).toBe('Renamed by partner rep');
  });

  it('resync re-applies the mapping to every record (back-fill) without duplicates', async () => {
    const handle = client.workflow.getHandle(`sync:${linkId}`);
    const before = (await handle.query(statusQuery)).counts;
    await handle.executeUpdate(resyncUpdate, { args: [{ from: 'full' }] });
    const s = await waitFor((x) => x.state === 'idle' && x.counts.read >= before.read + 30);
    expect(s.counts.created).toBe(before.created); // nothing new: upserts by match key
    const count = await sb.jsforce('vendor').query("SELECT COUNT() FROM Opportunity WHERE Registered_Partner_Id__c = 'acme'");
    expect(count.totalSize).toBe(30);
  });
});
