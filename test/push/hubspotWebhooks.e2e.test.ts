import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { HubspotSandboxOrg } from '@cosell/sandbox/hubspot';
import type { WebhookDispatcher, WebhookSettings } from '@cosell/sandbox/hubspot/webhooks';
import { tempLedgerFile } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { allSubscriptions, RecordingNotifier, startReceiver, type RunningReceiver } from './harness.js';

/**
 * The sandbox portal delivers webhooks (signed, batched, retried, with faults) to the real receiver;
 * events land in a real SQLite ledger and reach a recording notifier. Black-box: changes are made
 * with @hubspot/api-client, settings and faults through the sandbox's admin endpoints.
 */
const ORG = 'acme';
let sb: TestSandbox;
let ledger: Ledger;
let ledgerFile: string;
let notifier: RecordingNotifier;
let receiver: RunningReceiver;
let dispatcher: WebhookDispatcher;
let secret: string;

const settings = (over: Partial<WebhookSettings> = {}): WebhookSettings => ({
  targetUrl: receiver.url,
  appId: 4242,
  subscriptions: allSubscriptions(),
  batchWindowMs: 5,
  timeoutMs: 2000,
  retry: { maxAttempts: 8, initialDelayMs: 30, maxDelayMs: 300 },
  ...over,
});

async function admin(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${sb.baseUrls[ORG]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Wait until the portal has nothing left to deliver and the forwarder nothing left to notify. */
async function settle(): Promise<void> {
  await dispatcher.idle();
  await receiver.forwarder.idle();
}

async function stored() {
  return ledger.pushEvents.list(ORG);
}

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: ORG, kind: 'hubspot', role: 'partner', seed: { accounts: 6, opportunities: 6, owners: 1 } }] });
  secret = sb.orgs[ORG]!.kind === 'hubspot' ? (sb.orgs[ORG] as { clientSecret: string }).clientSecret : '';
  ledgerFile = tempLedgerFile();
  ledger = await openLedger({ file: ledgerFile });
  notifier = new RecordingNotifier();
  receiver = await startReceiver({ ledger, notifier, org: ORG, clientSecret: secret });
  dispatcher = (sb.org(ORG) as HubspotSandboxOrg).webhookDispatcher;
});

afterAll(async () => {
  await receiver?.crash();
  await ledger?.close();
  await sb?.stop();
});

beforeEach(async () => {
  await admin('/__sandbox/faults', {});
  await admin('/__sandbox/webhooks', settings());
});

describe('HubSpot webhooks: sandbox portal → receiver → ledger → notifier', () => {
  it('stores valid batches once and notifies every change: creation, propertyChange, deletion, merge, restore', async () => {
    const hs = sb.hubspot(ORG);
    const before = (await stored()).length;
    const created = await hs.crm.deals.batchApi.create({ inputs: [1, 2, 3].map((i) => ({ properties: { dealname: `Webhook deal ${i}`, amount: String(i * 100) }, associations: [] })) });
    const [a, b, c] = created.results.map((r) => r.id);
    await hs.crm.deals.basicApi.update(a!, { properties: { amount: '999' } });
    await hs.crm.deals.basicApi.archive(b!);
    await admin(`/__sandbox/restore/deals/${b}`, {});
    const companies = await hs.crm.companies.basicApi.getPage(2);
    const [keep, gone] = companies.results.map((r) => r.id);
    await hs.crm.companies.basicApi.merge({ primaryObjectId: keep!, objectIdToMerge: gone! });
    await settle();

    const rows = (await stored()).slice(before);
    const types = new Set(rows.map((r) => r.event_type));
    for (const t of ['deal.creation', 'deal.propertyChange', 'deal.deletion', 'deal.restore', 'company.merge']) expect(types).toContain(t);
    // Once each: as many rows as distinct events delivered, none rejected, nothing refused.
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
    expect(rows.every((r) => r.status === 'notified')).toBe(true);
    expect(receiver.stats.unauthorized).toBe(0);
    const amount = rows.find((r) => r.event_type === 'deal.propertyChange' && (r.payload as any).propertyName === 'amount' && (r.payload as any).objectId === Number(a));
    expect(amount?.payload).toMatchObject({ portalId: expect.any(Number), appId: 4242, propertyValue: '999', attemptNumber: 0, changeSource: 'API', subscriptionId: expect.any(Number) });
    const deals = notifier.notified(ORG, 'deals');
    for (const id of [a, b, c]) expect(deals).toContain(id);
    for (const id of [keep, gone]) expect(notifier.notified(ORG, 'companies')).toContain(id);
  });

  it("passes an association change on as a change of the deal AND of both companies (the deal's hs_lastmodifieddate is not bumped)", async () => {
    const hs = sb.hubspot(ORG);
    const page = await hs.crm.deals.basicApi.getPage(10, undefined, ['hs_lastmodifieddate'], undefined, ['companies']);
    const deal = page.results.find((d) => (d.associations?.companies?.results.length ?? 0) > 0)!;
    const from = deal.associations!.companies!.results[0]!.id;
    const to = (await hs.crm.companies.basicApi.getPage(10)).results.map((c) => c.id).find((id) => id !== from)!;
    notifier.calls.length = 0;
    await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', to);
    await hs.crm.associations.v4.basicApi.archive('deals', deal.id, 'companies', from);
    await settle();
    const after = await hs.crm.deals.basicApi.getById(deal.id, ['hs_lastmodifieddate']);
    // What the sandbox does, as we understand HubSpot: an association change is no property change.
    expect(after.properties.hs_lastmodifieddate).toBe(deal.properties.hs_lastmodifieddate);
    expect(notifier.notified(ORG, 'deals')).toContain(deal.id);
    expect(notifier.notified(ORG, 'companies')).toContain(to);
    expect(notifier.notified(ORG, 'companies')).toContain(from);
    const rows = (await stored()).filter((r) => r.event_type === 'deal.associationChange' && (r.payload as any).fromObjectId === Number(deal.id));
    expect(rows.map((r) => (r.payload as any).associationRemoved).sort()).toEqual([false, true]);
    expect(rows[0]!.payload).toMatchObject({ associationType: 'DEAL_TO_COMPANY' });
  });

  it('duplicated and reordered deliveries: every event stored once, every one notified', async () => {
    await admin('/__sandbox/faults', { webhookDuplicateRate: 0.5, webhookReorder: true });
    await admin('/__sandbox/webhooks', settings({ batchSize: 7 }));
    const hs = sb.hubspot(ORG);
    const before = (await stored()).length;
    const stats0 = { ...dispatcher.stats };
    const ids = (await hs.crm.deals.basicApi.getPage(6)).results.map((d) => d.id);
    for (let i = 0; i < 24; i++) await hs.crm.deals.basicApi.update(ids[i % ids.length]!, { properties: { amount: String(1000 + i) } });
    await settle();
    const emitted = dispatcher.stats.emitted - stats0.emitted;
    expect(dispatcher.stats.duplicated - stats0.duplicated).toBeGreaterThan(0);
    const rows = (await stored()).slice(before);
    expect(rows).toHaveLength(emitted);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(emitted);
    expect(rows.every((r) => r.status === 'notified')).toBe(true);
    for (const id of ids) expect(notifier.notified(ORG, 'deals')).toContain(id);
  });

  it('retries after the receiver answers 500: the batch arrives again (attemptNumber counts up) and is stored once', async () => {
    const hs = sb.hubspot(ORG);
    const before = (await stored()).length;
    const log0 = dispatcher.log.length;
    receiver.failNext(3);
    const deal = (await hs.crm.deals.basicApi.getPage(1)).results[0]!;
    await hs.crm.deals.basicApi.update(deal.id, { properties: { dealname: 'Retried rename' } });
    await settle();
    const deliveries = dispatcher.log.slice(log0);
    expect(deliveries.filter((d) => d.status === 500)).toHaveLength(3);
    expect(deliveries.at(-1)).toMatchObject({ status: 200, attempt: 3 });
    const rows = (await stored()).slice(before);
    expect(rows.map((r) => (r.payload as any).propertyName).sort()).toEqual(['dealname', 'hs_lastmodifieddate']);
    expect(rows.every((r) => (r.payload as any).attemptNumber === 3 && r.status === 'notified')).toBe(true);
  });

  it('refuses an expired timestamp with 401 and stores nothing; the retry after the clock is right is accepted', async () => {
    const hs = sb.hubspot(ORG);
    const before = (await stored()).length;
    const unauthorized0 = receiver.stats.unauthorized;
    const log0 = dispatcher.log.length;
    await admin('/__sandbox/webhooks', settings({ retry: { maxAttempts: 8, initialDelayMs: 400, maxDelayMs: 400 } }));
    await admin('/__sandbox/clock', { at: new Date(Date.now() - 6 * 60_000).toISOString() });
    const deal = (await hs.crm.deals.basicApi.getPage(1)).results[0]!;
    await hs.crm.deals.basicApi.update(deal.id, { properties: { dealname: 'Late rename' } });
    await new Promise((r) => setTimeout(r, 150));
    expect(receiver.stats.unauthorized).toBeGreaterThan(unauthorized0);
    expect(receiver.stats.lastUnauthorized).toBe('expired');
    expect((await stored()).length).toBe(before);
    await admin('/__sandbox/clock', { at: new Date().toISOString() });
    await settle();
    const deliveries = dispatcher.log.slice(log0);
    expect(deliveries[0]).toMatchObject({ status: 401, attempt: 0 });
    expect(deliveries.at(-1)!.status).toBe(200);
    expect((await stored()).slice(before).map((r) => (r.payload as any).propertyValue)).toContain('Late rename');
  });

  it('refuses a wrong secret with 401: nothing is stored, the portal gives up after its attempts', async () => {
    await admin('/__sandbox/webhooks', settings({ clientSecret: 'not-the-apps-secret', retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 } }));
    const hs = sb.hubspot(ORG);
    const before = (await stored()).length;
    const abandoned0 = dispatcher.stats.abandoned;
    const unauthorized0 = receiver.stats.unauthorized;
    const deal = (await hs.crm.deals.basicApi.getPage(1)).results[0]!;
    await hs.crm.deals.basicApi.update(deal.id, { properties: { dealname: 'Forged?' } });
    await settle();
    expect(dispatcher.stats.abandoned - abandoned0).toBe(2); // dealname + hs_lastmodifieddate
    expect(receiver.stats.unauthorized - unauthorized0).toBe(3);
    expect(receiver.stats.lastUnauthorized).toBe('bad-signature');
    expect((await stored()).length).toBe(before);
  });

  it('a receiver crash mid-delivery loses nothing it acknowledged; the rest arrives after the restart', async () => {
    await admin('/__sandbox/faults', { webhookDelayMs: 5 });
    await admin('/__sandbox/webhooks', settings({ batchSize: 5, maxConcurrentRequests: 3, retry: { maxAttempts: 10, initialDelayMs: 50, maxDelayMs: 300 } }));
    const hs = sb.hubspot(ORG);
    const before = (await stored()).length;
    const log0 = dispatcher.log.length;
    const emitted0 = dispatcher.stats.emitted;
    const ids = (await hs.crm.deals.basicApi.getPage(6)).results.map((d) => d.id);
    // The process dies while the 4th batch is being written: after it arrived, before it is stored.
    const accept = ledger.pushEvents.accept.bind(ledger.pushEvents);
    let calls = 0;
    let crashed: Promise<unknown> | undefined;
    const dying = receiver;
    const dyingLedger = ledger;
    ledger.pushEvents.accept = async (...args) => {
      if (++calls === 4) crashed = Promise.all([dying.crash(), dyingLedger.close()]);
      await new Promise((r) => setTimeout(r, 5));
      return accept(...args);
    };
    const writes = (async () => {
      for (let i = 0; i < 60; i++) await hs.crm.deals.basicApi.update(ids[i % ids.length]!, { properties: { amount: String(5000 + i) } });
    })();
    while (!crashed) await new Promise((r) => setTimeout(r, 2));
    const port = receiver.port;
    // In-flight requests are cut, the ledger connection goes (writes under way fail).
    await crashed;
    await new Promise((r) => setTimeout(r, 100));
    // "Restart the worker": a new ledger connection on the same file, a new receiver on the same port.
    ledger = await openLedger({ file: ledgerFile });
    receiver = await startReceiver({ ledger, notifier, org: ORG, clientSecret: secret, port });
    await writes;
    await settle();
    const deliveries = dispatcher.log.slice(log0);
    expect(deliveries.some((d) => d.status !== 200)).toBe(true); // the crash did cut deliveries
    const acknowledged = new Set(deliveries.filter((d) => d.status === 200).flatMap((d) => d.eventIds.map(String)));
    const rows = (await stored()).slice(before);
    const byId = new Map(rows.map((r) => [r.event_id, r]));
    for (const id of acknowledged) expect(byId.get(id)?.status).toBe('notified');
    expect(rows).toHaveLength(dispatcher.stats.emitted - emitted0); // and nothing twice
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
  });
});
