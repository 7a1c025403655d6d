import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { startLinks } from '../../lib/links.js';
import { defaultNotifier, StreamNotifier } from '../../push/notifiers.js';
import { startPushReceivers, type PushReceivers } from '../../push/start.js';
import { SyncNowNotifier } from '../../push/syncNowNotifier.js';
import type { HubspotSandboxOrg } from '@cosell/sandbox/hubspot';
import { Engine } from '../../sync/build.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, testWorker, uniqueQueue } from '../helpers/temporal.js';
import { allSubscriptions } from './harness.js';
import { linkWorkflowId, streamWorkflowId } from '../../lib/workflowClient.js';

/**
 * Push end to end on the real dev server: the partner portal's webhooks reach the worker's endpoint
 * (started from the network's push: section), and a partner edit lands on the vendor opportunity in
 * seconds although nothing polls for an hour — through syncNow to the link (streams off) or through
 * the deal stream's streamNotify (streams on).
 */
// The partner's org id is this file's own: workflow ids stream:<org>:<object> are shared on the one dev server.
describe.each([
  { streams: false, notifier: SyncNowNotifier },
  { streams: true, notifier: StreamNotifier },
])('push with streams $streams', ({ streams, notifier: Notifier }) => {
  let sb: TestSandbox;
  let ledger: Ledger;
  let engine: Engine;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  let push: PushReceivers | undefined;
  const taskQueue = uniqueQueue('push');
  const linkId = `acme-deals-${taskQueue.replace(/[^a-z0-9]/g, '').slice(-8)}`;

  beforeAll(async () => {
    sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'hooks-acme', kind: 'hubspot', role: 'partner', seed: { accounts: 3, opportunities: 4, owners: 1 } }] }, { uniqueIds: true });
    const conn = sandboxEnv(sb, `PUSH${streams ? 'S' : 'L'}`);
    const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - id: hooks-acme
    name: Acme Consulting
    kind: hubspot
    tier: gold
    connection: ${conn['hooks-acme']}
    push: { webhooks: { listen: "127.0.0.1:0", clientSecret: env:PUSH${streams ? 'S' : 'L'}_HOOKS_ACME_CLIENT_SECRET } }
links:
  - { id: ${linkId}, from: hooks-acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
${streams ? 'streams: { enabled: true, poll: 1h, reconcile: 1h }' : ''}
`);
    ledger = await openLedger({ file: tempLedgerFile() });
    engine = new Engine({ network, ledger });
    client = await testClient();
    worker = await testWorker({ taskQueue, activities: createActivities({ engine }) });
    running = worker.run();
    const notifier = defaultNotifier(client, network);
    expect(notifier).toBeInstanceOf(Notifier);
    push = await startPushReceivers({ network, ledger, notifier, forwarder: { pollMs: 500 } });
    (sb.org('hooks-acme') as HubspotSandboxOrg).setWebhooks({ targetUrl: push!.endpoints[0]!.url, subscriptions: allSubscriptions() });
    await startLinks(client, network, { taskQueue });
  });

  afterAll(async () => {
    await push?.stop();
    for (const id of [linkWorkflowId(linkId), streamWorkflowId('hooks-acme:deals')]) await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    worker?.shutdown();
    await running;
    await engine?.close();
    await ledger?.close();
    await sb?.stop();
    await client?.connection.close();
  });

  const vendorAmount = async (dealId: string) => {
    // Until the link's first sync has created the custom field, the query is refused (INVALID_FIELD).
    try {
      const r = await sb.jsforce('vendor').query<{ Amount: number | null }>(`SELECT Amount FROM Opportunity WHERE Partner_Deal_Id__c = 'hooks-acme:${dealId}'`);
      return r.records[0]?.Amount;
    } catch {
      return undefined;
    }
  };
  const until = async <T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`timed out; last ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('a partner edit reaches the vendor in seconds, with nothing polling for an hour', async () => {
    const hs = sb.hubspot('hooks-acme');
    const deal = (await hs.crm.deals.basicApi.getPage(1)).results[0]!;
    await until(() => vendorAmount(deal.id), (a) => a !== undefined, 60_000); // the first sync
    const t0 = Date.now();
    await hs.crm.deals.basicApi.update(deal.id, { properties: { amount: '4321' } });
    await until(() => vendorAmount(deal.id), (a) => a === 4321, 20_000);
    const ms = Date.now() - t0;
    process.stdout.write(`push (streams ${streams ? 'on' : 'off'}): partner edit → vendor opportunity in ${ms} ms\n`);
    expect(ms).toBeLessThan(20_000);
    const counts = await ledger.pushEvents.counts('hooks-acme');
    expect(counts.notified).toBeGreaterThan(0);
    expect(push!.endpoints[0]!.stats.unauthorized).toBe(0);
  });
});
