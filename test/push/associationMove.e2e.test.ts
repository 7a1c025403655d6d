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
import { testClient, testWorker, uniqueQueue } from '../helpers/temporal.js';
import { allSubscriptions } from './harness.js';
import { streamStatusQuery, streamHandle, streamPollNowSignal, linkWorkflowId, streamWorkflowId } from '../../lib/workflowClient.js';

/**
 * Issue #12 `moveOnly` (convergence seed 219388616): a HubSpot deal moved to another company by its
 * association ALONE — nothing else of the deal edited, so its hs_lastmodifieddate stays and HubSpot's
 * search (the change feed) never returns it. The vendor Opportunity's AccountId must follow anyway:
 *   - poll only (no push, streams off): the association reconciler of the link finds it
 *     (sync/associationDrift.ts; batch association reads of the paired deals);
 *   - webhooks on a change stream: the associationChange event makes the deal stream re-read the deal
 *     by id (the stream's poll and reconciler are an hour away — the links' 1 s timers read only the
 *     ledger — so only the event can have done it); a second move with
 *     the delivery dropped by the sandbox is then found by the stream's association reconciler.
 * Failed on main before: the opportunity stayed on the old company's Account.
 */
describe.each([
  { mode: 'poll', streams: false, push: false },
  { mode: 'push', streams: true, push: true },
])('a deal moved by its association alone ($mode)', ({ mode, streams, push: withPush }) => {
  let sb: TestSandbox;
  let ledger: Ledger;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  let push: PushReceivers | undefined;
  let engine: Engine;
  const taskQueue = uniqueQueue(`move-${mode}`);
  const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-8);
  const org = `move${mode}-acme`;
  const companiesLink = `companies-${tag}`;
  const dealsLink = `deals-${tag}`;
  const env = `MOVE${mode.toUpperCase()}`;

  beforeAll(async () => {
    sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: org, kind: 'hubspot', role: 'partner', seed: { accounts: 3, opportunities: 3, owners: 1 } }] }, { uniqueIds: true });
    const conn = sandboxEnv(sb, env);
    const pushLine = withPush ? `\n    push: { webhooks: { listen: "127.0.0.1:0", clientSecret: env:${env}_${org.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_CLIENT_SECRET } }` : '';
    const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - id: ${org}
    name: Acme Consulting
    kind: hubspot
    tier: gold
    connection: ${conn[org]}${pushLine}
links:
  - { id: ${companiesLink}, from: ${org}.companies, to: vendor.Account, mapping: $STOCK/hubspot-company-to-salesforce-account.yaml, schedule: 1s }
  - id: ${dealsLink}
    from: ${org}.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
    schedule: 1s
    parent: { link: ${companiesLink}, sourceField: associations.companies, targetField: AccountId }
streams: { enabled: ${streams}, poll: ${withPush ? '1h' : '1s'}, reconcile: ${withPush ? '1h' : '2s'} }
`);
    ledger = await openLedger({ file: tempLedgerFile() });
    engine = new Engine({ network, ledger });
    client = await testClient();
    worker = await testWorker({ taskQueue, activities: createActivities({ engine }) });
    running = worker.run();
    if (withPush) {
      push = await startPushReceivers({ network, ledger, notifier: defaultNotifier(client, network), forwarder: { pollMs: 300 } });
      (sb.org(org) as HubspotSandboxOrg).setWebhooks({ targetUrl: push!.endpoints[0]!.url, subscriptions: allSubscriptions() });
    }
    await startLinks(client, network, { taskQueue });
  });

  afterAll(async () => {
    await push?.stop();
    for (const id of [linkWorkflowId(companiesLink), linkWorkflowId(dealsLink), streamWorkflowId(`${org}:deals`), streamWorkflowId(`${org}:companies`)]) await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    worker?.shutdown();
    await running;
    await engine?.close();
    await ledger?.close();
    await sb?.stop();
    await client?.connection.close();
  });

  const accountOfDeal = async (dealId: string) => {
    try {
      const r = await sb.jsforce('vendor').query<{ AccountId: string | null }>(`SELECT AccountId FROM Opportunity WHERE Partner_Deal_Id__c = '${org}:${dealId}'`);
      return r.records[0]?.AccountId ?? undefined;
    } catch {
      return undefined; // the custom field does not exist until the first sync created it
    }
  };
  const accountOfCompany = async (companyId: string) => {
    try {
      const r = await sb.jsforce('vendor').query<{ Id: string }>(`SELECT Id FROM Account WHERE Partner_Account_Id__c = '${org}:${companyId}'`);
      return r.records[0]?.Id;
    } catch {
      return undefined;
    }
  };
  const until = async <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what}: timed out; last ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const move = async (dealId: string, name: string, afterCreate: () => Promise<void> = async () => {}) => {
    const hs = sb.hubspot(org);
    const company = await hs.crm.companies.basicApi.create({ properties: { name, domain: `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}.example` } });
    await afterCreate();
    // The company lands first (its creation is a change the companies feed sees), then the deal moves.
    const account = await until('new company synced', () => accountOfCompany(company.id), (a) => !!a, 60_000);
    const before = (await hs.crm.associations.v4.basicApi.getPage('deals', dealId, 'companies')).results.map((r) => String(r.toObjectId));
    for (const c of before) await hs.crm.associations.v4.basicApi.archive('deals', dealId, 'companies', c);
    await hs.crm.associations.v4.basicApi.createDefault('deals', dealId, 'companies', company.id);
    return { companyId: company.id, account: account! };
  };

  it('the vendor opportunity follows the deal to its new company', async () => {
    const hs = sb.hubspot(org);
    const deal = (await hs.crm.deals.basicApi.getPage(10)).results.find((d) => d.properties.dealname)!;
    const first = await until('first sync', () => accountOfDeal(deal.id), (a) => !!a, 90_000);
    const modifiedBefore = (await hs.crm.deals.basicApi.getById(deal.id)).properties.hs_lastmodifieddate;

    const a = await move(deal.id, `Moved Corp ${tag}`);
    expect(a.account).not.toBe(first);
    // The sandbox is faithful: the association change did not bump the deal's modification time.
    expect((await hs.crm.deals.basicApi.getById(deal.id)).properties.hs_lastmodifieddate).toBe(modifiedBefore);
    const t0 = Date.now();
    await until('AccountId follows the move', () => accountOfDeal(deal.id), (x) => x === a.account, 60_000);
    process.stdout.write(`moveOnly (${mode}): AccountId followed an association-only move in ${Date.now() - t0} ms\n`);

    if (withPush) {
      const status = await streamHandle(client, `${org}:deals`).query(streamStatusQuery);
      expect(status.mode).toBe('push');
      // Push found it, not the reconciler (an hour away): nothing missed by push.
      expect(status.associations?.moved ?? 0).toBe(0);

      // Every notification of that move read (a late one, gathered under steady change, would read the next move).
      await until('the deals stream has read every notification', () => streamHandle(client, `${org}:deals`).query(streamStatusQuery), (s) => s.queued === 0 && s.state === 'idle', 30_000);
      // Now drop every delivery: the stream's association reconciler finds the next move.
      await sb.faults(org, { webhookDropRate: 1 });
      // (The company's creation event is dropped too: the companies stream's reconciler finds it.)
      const b = await move(deal.id, `Moved Again ${tag}`, () => streamHandle(client, `${org}:companies`).signal(streamPollNowSignal));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await accountOfDeal(deal.id)).toBe(a.account); // nothing told the stream
      await streamHandle(client, `${org}:deals`).signal(streamPollNowSignal);
      await until('the reconciler finds the dropped move', () => accountOfDeal(deal.id), (x) => x === b.account, 60_000);
      const after = await streamHandle(client, `${org}:deals`).query(streamStatusQuery);
      expect(after.associations?.moved).toBe(1);
      expect(after.reconciled?.missed).toBeGreaterThanOrEqual(1);
    } else {
      // Audited as a sync of the moved deal, naming the reconciler.
      const audits = await ledger.audit.list({ linkId: dealsLink, recordId: deal.id });
      expect(JSON.stringify(audits)).toContain('association reconciler');
    }
  }, 240_000);
});
