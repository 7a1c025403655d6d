import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { startLinks } from '../../lib/links.js';
import { defaultNotifier } from '../../push/notifiers.js';
import { startPushReceivers, type PushReceivers } from '../../push/start.js';
import type { HubspotSandboxOrg } from '@cosell/sandbox/hubspot';
import { Engine } from '../../sync/build.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { temporalAddress, testClient, testWorker, uniqueQueue } from '../helpers/temporal.js';
import { allSubscriptions } from './harness.js';
import { streamStatusQuery, streamHandle, streamPollNowSignal, linkWorkflowId, streamWorkflowId } from '../../lib/workflowClient.js';

/**
 * The reconciler recovers what push missed (issue #13): the partner portal's webhook deliveries are
 * dropped by the sandbox's fault injection for some edits, delivered for others. Push brings the
 * delivered ones at once; the dropped ones stay unseen (the stream's poll is an hour away) until the
 * reconciler polls; it finds exactly the records whose events were all dropped, counts them as missed
 * by push, and `cosell status` shows them under "records push missed".
 */
const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;

describe('reconciler after dropped webhooks', () => {
  let sb: TestSandbox;
  let ledger: Ledger;
  let engine: Engine;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  let push: PushReceivers | undefined;
  const taskQueue = uniqueQueue('recover');
  const org = 'recover-acme';
  const linkId = `recover-deals-${taskQueue.replace(/[^a-z0-9]/g, '').slice(-8)}`;

  beforeAll(async () => {
    sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: org, kind: 'hubspot', role: 'partner', seed: { accounts: 4, opportunities: 12, owners: 1 } }] }, { uniqueIds: true });
    const conn = sandboxEnv(sb, 'RECOVER');
    const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - id: ${org}
    name: Acme Consulting
    kind: hubspot
    tier: gold
    connection: ${conn[org]}
    push: { webhooks: { listen: "127.0.0.1:0", clientSecret: env:RECOVER_RECOVER_ACME_CLIENT_SECRET } }
links:
  - { id: ${linkId}, from: ${org}.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1s }
streams: { enabled: true, poll: 1h, reconcile: 1h }
`);
    ledger = await openLedger({ file: tempLedgerFile() });
    engine = new Engine({ network, ledger });
    client = await testClient();
    worker = await testWorker({ taskQueue, activities: createActivities({ engine }) });
    running = worker.run();
    push = await startPushReceivers({ network, ledger, notifier: defaultNotifier(client, network), forwarder: { pollMs: 300 } });
    (sb.org(org) as HubspotSandboxOrg).setWebhooks({ targetUrl: push!.endpoints[0]!.url, subscriptions: allSubscriptions() });
    await startLinks(client, network, { taskQueue });
  });

  afterAll(async () => {
    await push?.stop();
    for (const id of [linkWorkflowId(linkId), streamWorkflowId(`${org}:deals`)]) await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    worker?.shutdown();
    await running;
    await engine?.close();
    await ledger?.close();
    await sb?.stop();
    await client?.connection.close();
  });

  const vendorAmounts = async (): Promise<Map<string, number | null>> => {
    try {
      const r = await sb.jsforce('vendor').query<{ Partner_Deal_Id__c: string; Amount: number | null }>(`SELECT Partner_Deal_Id__c, Amount FROM Opportunity WHERE Partner_Deal_Id__c LIKE '${org}:%'`);
      return new Map(r.records.map((x) => [x.Partner_Deal_Id__c.slice(org.length + 1), x.Amount]));
    } catch {
      return new Map(); // before the first sync created the field
    }
  };
  const until = async <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what}: timed out; last ${JSON.stringify(v instanceof Map ? [...v] : v)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('finds every record whose webhooks were dropped, counts them as missed by push, and cosell status shows it', async () => {
    const hs = sb.hubspot(org);
    const portal = sb.org(org) as HubspotSandboxOrg;
    const deals = (await hs.crm.deals.basicApi.getPage(100)).results.filter((d) => d.properties.dealname);
    await until('first sync', vendorAmounts, (m) => deals.every((d) => m.has(d.id)), 90_000);
    const stream = streamHandle(client, `${org}:deals`);
    expect((await stream.query(streamStatusQuery)).mode).toBe('push');

    const dropped = deals.slice(0, 5);
    const delivered = deals.slice(5, 8);
    const emitted0 = portal.webhooks!().stats;
    await sb.faults(org, { webhookDropRate: 1 });
    for (const [i, d] of dropped.entries()) await hs.crm.deals.basicApi.update(d.id, { properties: { amount: String(71_000 + i) } });
    await until('every event of the dropped edits emitted', async () => portal.webhooks!().stats, (s) => s.dropped - emitted0.dropped >= dropped.length, 20_000);
    const droppedEvents = portal.webhooks!().stats.dropped - emitted0.dropped;
    await sb.faults(org, {});
    for (const [i, d] of delivered.entries()) await hs.crm.deals.basicApi.update(d.id, { properties: { amount: String(72_000 + i) } });
    await until('push brings the delivered edits', vendorAmounts, (m) => delivered.every((d, i) => m.get(d.id) === 72_000 + i), 30_000);
    // Push never told the stream about the dropped ones.
    const before = await vendorAmounts();
    expect(dropped.filter((d, i) => before.get(d.id) === 71_000 + i)).toEqual([]);

    const polled = (await stream.query(streamStatusQuery)).lastPollAt;
    await stream.signal(streamPollNowSignal); // the reconciler's pass (every `reconcile`, default 15 min)
    const status = await until('the reconciler pass', () => stream.query(streamStatusQuery), (s) => s.lastPollAt !== polled && s.state === 'idle', 30_000);
    await until('the reconciler recovers the dropped edits', vendorAmounts, (m) => dropped.every((d, i) => m.get(d.id) === 71_000 + i), 30_000);
    process.stdout.write(`reconciler recovery: ${droppedEvents} webhook events dropped for ${dropped.length} records; the reconciler found ${status.reconciled?.missed} records push missed (${status.reconciled?.polled} read), all ${dropped.length} applied\n`);
    expect(status.reconciled?.missed).toBe(dropped.length);

    // cosell status, as an operator runs it.
    let out = '';
    // The table's first column is the stream (`acme:deals`); cells are padded to their header's column.
    const rowOf = (text: string) => text.split('\n').find((l) => l.startsWith(`${org}:deals `));
    // Visibility is eventually consistent, and a query can time out on a loaded machine: ask again.
    for (let i = 0; i < 30 && !/push/.test(rowOf(out) ?? ''); i++) {
      if (i) await new Promise((res) => setTimeout(res, 500));
      // Not spawnSync: the worker answering the CLI's queries runs in this process.
      out = (await promisify(execFile)(process.execPath, [bin, 'status'], { env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), COSELL_LOG_LEVEL: 'error' }, encoding: 'utf8' })).stdout;
    }
    const header = out.split('\n').find((l) => l.includes('records push missed'));
    expect(header, out).toBeDefined();
    const row = rowOf(out);
    expect(row, out).toMatch(/ push /);
    const at = header!.indexOf('records push missed');
    expect(row!.slice(at).split(/\s+/)[0]).toBe(String(dropped.length));
  }, 240_000);
});
