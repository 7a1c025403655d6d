import { Client as HubspotClient } from '@hubspot/api-client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { startHubspotPortal, type RunningPortal } from '@cosell/sandbox/hubspot/testing';
import { tempLedgerFile } from '../helpers/network.js';
import { allSubscriptions, RecordingNotifier, startReceiver, type RunningReceiver } from './harness.js';

/**
 * Randomized: random partner activity (updates, creations, association moves, deletions) while the
 * portal drops, duplicates, delays and reorders deliveries, the receiver restarts mid-delivery and the
 * notifier has outages. Afterwards: no event is stored twice, every acknowledged event is stored and
 * notified at least once (all its records), and with no drops every emitted event arrived.
 */
const ORG = 'hs-prop';
let portal: RunningPortal;
let hs: HubspotClient;
let ledger: Ledger;
let notifier: RecordingNotifier;
let receiver: RunningReceiver;
let deals: string[];
let companies: string[];

beforeAll(async () => {
  portal = await startHubspotPortal({ id: ORG, seed: { accounts: 5, opportunities: 8, owners: 1 } });
  hs = new HubspotClient({ accessToken: portal.accessToken, basePath: portal.basePath });
  ledger = await openLedger({ file: tempLedgerFile() });
  notifier = new RecordingNotifier();
  receiver = await startReceiver({ ledger, notifier, org: ORG, clientSecret: portal.org.portal.tokens.credentials.clientSecret });
  deals = (await hs.crm.deals.basicApi.getPage(8)).results.map((d) => d.id);
  companies = (await hs.crm.companies.basicApi.getPage(5)).results.map((c) => c.id);
});

afterAll(async () => {
  await receiver?.crash();
  await ledger?.close();
  await portal?.close();
});

const op = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('update' as const), deal: fc.nat(7), amount: fc.integer({ min: 1, max: 1e6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('create' as const), amount: fc.integer({ min: 1, max: 1e6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('associate' as const), deal: fc.nat(7), company: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('archive' as const), deal: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restartReceiver' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('notifierOutage' as const), on: fc.boolean() }) },
);

const faults = fc.record({
  webhookDropRate: fc.constantFrom(0, 0, 0.25),
  webhookDuplicateRate: fc.constantFrom(0, 0.3, 0.7),
  webhookReorder: fc.boolean(),
  webhookDelayMs: fc.constantFrom(0, 3),
});

describe('HubSpot webhooks under random faults (fast-check)', () => {
  it('stores no event twice, notifies every acknowledged event at least once, loses none when nothing is dropped', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), faults, fc.integer({ min: 1, max: 20 }), async (ops, f, batchSize) => {
        const org = portal.org;
        const dispatcher = org.webhookDispatcher;
        org.setFaults(f);
        org.setWebhooks({ targetUrl: receiver.url, subscriptions: allSubscriptions(), batchSize, batchWindowMs: 2, timeoutMs: 2000, retry: { maxAttempts: 30, initialDelayMs: 10, maxDelayMs: 100 } });
        const log0 = dispatcher.log.length;
        const stats0 = { ...dispatcher.stats };
        const rows0 = (await ledger.pushEvents.list(ORG)).length;
        const calls0 = notifier.calls.length;
        for (const o of ops) {
          const deal = 'deal' in o ? deals[o.deal]! : '';
          switch (o.kind) {
            case 'update':
              await hs.crm.deals.basicApi.update(deal, { properties: { amount: String(o.amount) } }).catch(() => undefined); // archived: 404
              break;
            case 'create':
              deals.push((await hs.crm.deals.basicApi.create({ properties: { dealname: `p${o.amount}`, amount: String(o.amount) }, associations: [] })).id);
              break;
            case 'associate':
              await hs.crm.associations.v4.basicApi.createDefault('deals', deal, 'companies', companies[o.company]!).catch(() => undefined);
              break;
            case 'archive':
              await hs.crm.deals.basicApi.archive(deal);
              break;
            case 'restartReceiver': {
              const port = receiver.port;
              await receiver.crash();
              receiver = await startReceiver({ ledger, notifier, org: ORG, clientSecret: org.portal.tokens.credentials.clientSecret, port });
              break;
            }
            case 'notifierOutage':
              notifier.failRate = o.on ? 1 : 0;
              break;
          }
        }
        notifier.failRate = 0;
        await dispatcher.idle();
        await receiver.forwarder.idle();

        const deliveries = dispatcher.log.slice(log0);
        const rows = (await ledger.pushEvents.list(ORG)).slice(rows0);
        const storedIds = rows.map((r) => r.event_id);
        // 1. no event stored twice
        expect(new Set(storedIds).size).toBe(storedIds.length);
        // 2. every acknowledged event is stored, and was notified (status and the notifier's own record)
        const acknowledged = new Set(deliveries.filter((d) => d.status === 200).flatMap((d) => d.eventIds.map(String)));
        const stored = new Set(storedIds);
        for (const id of acknowledged) expect(stored.has(id)).toBe(true);
        const calls = notifier.calls.slice(calls0);
        for (const r of rows) {
          expect(r.status).toBe('notified');
          for (const t of r.targets) {
            const seen = new Set(calls.filter((c) => c.object === t.object).flatMap((c) => c.ids));
            for (const id of t.ids) expect(seen.has(id)).toBe(true);
          }
        }
        // 3. nothing was given up on, and without drops every emitted event arrived
        expect(dispatcher.stats.abandoned).toBe(stats0.abandoned);
        const emitted = dispatcher.stats.emitted - stats0.emitted;
        const dropped = dispatcher.stats.dropped - stats0.dropped;
        expect(rows.length).toBe(emitted - dropped);
      }),
      { numRuns: 25 },
    );
  }, 60_000);
});
