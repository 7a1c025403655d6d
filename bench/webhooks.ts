/**
 * `npm run bench:webhooks`: HubSpot push latency on the sandbox, through the real pieces — the portal's
 * webhook deliveries (batched, signed), the receiver (signature check, ledger write before 200) on a
 * SQLite ledger (or PostgreSQL with DATABASE_URL), the forwarder and a notifier that records when it
 * was told. Partner writes go through @hubspot/api-client at a steady rate.
 *
 * Figures (p50 / p95 / max, ms): change in the CRM (occurredAt) → stored; stored → notified; change →
 * notified. Baselines in the same run: the same writes with the polling a link does today (a change is
 * seen at the next poll: uniform over the schedule, 10 s in the demo, 30 s by default), and the
 * receiver's answer time (what HubSpot waits for; its timeout is 5 s).
 * Writes bench/results/webhooks.json.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as HubspotClient } from '@hubspot/api-client';
import { openLedger } from '../ledger/index.js';
import { latencySummary as summary } from './stats.js';
import { startHubspotPortal } from '@cosell/sandbox/hubspot/testing';
import { allSubscriptions, RecordingNotifier, startReceiver } from '../test/push/harness.js';

const WRITES = Number(process.env.BENCH_WEBHOOK_WRITES ?? 1000);
const RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 50); // writes per second
const here = path.dirname(fileURLToPath(import.meta.url));


async function main(): Promise<void> {
  const portal = await startHubspotPortal({ id: 'bench-hs', seed: { accounts: 20, opportunities: 50, owners: 1 } });
  const hs = new HubspotClient({ accessToken: portal.accessToken, basePath: portal.basePath });
  const url = process.env.DATABASE_URL;
  const ledger = await openLedger(url ? { url } : { file: path.join(mkdtempSync(path.join(os.tmpdir(), 'cosell-bench-')), 'ledger.sqlite') });
  const notifier = new RecordingNotifier();
  const receiver = await startReceiver({ ledger, notifier, org: 'bench-hs', clientSecret: portal.org.portal.tokens.credentials.clientSecret });
  portal.org.setWebhooks({ targetUrl: receiver.url, subscriptions: allSubscriptions().filter((s) => s.object === 'deal' && s.event === 'propertyChange').map((s) => ({ ...s, propertyName: 'amount' })) });
  const deals = (await hs.crm.deals.basicApi.getPage(50)).results.map((d) => d.id);

  const t0 = Date.now();
  for (let i = 0; i < WRITES; i++) {
    const due = t0 + (i * 1000) / RATE;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    await hs.crm.deals.basicApi.update(deals[i % deals.length]!, { properties: { amount: String(10_000 + i) } });
  }
  await portal.org.webhookDispatcher.idle();
  await receiver.forwarder.idle();
  const elapsed = Date.now() - t0;

  const rows = await ledger.pushEvents.list('bench-hs');
  const notifiedAt = new Map<string, number>(); // deal id → when it was first notified after each change
  const calls = notifier.calls;
  const storedMs: number[] = [];
  const notifyMs: number[] = [];
  const endToEnd: number[] = [];
  for (const r of rows) {
    const occurred = Date.parse(r.occurred_at);
    const received = Date.parse(r.received_at);
    const id = r.targets[0]!.ids[0]!;
    const call = calls.find((c) => c.ids.includes(id) && c.at >= received);
    if (!call) continue;
    notifiedAt.set(r.event_id, call.at);
    storedMs.push(received - occurred);
    notifyMs.push(call.at - received);
    endToEnd.push(call.at - occurred);
  }
  const poll = (scheduleMs: number) => ({ scheduleMs, p50: scheduleMs / 2, p95: scheduleMs * 0.95, max: scheduleMs });
  const result = {
    at: new Date().toISOString(),
    ledger: ledger.location.replace(/\/\/.*@/, '//'),
    writes: WRITES,
    ratePerSecond: RATE,
    elapsedMs: elapsed,
    events: { emitted: portal.org.webhookDispatcher.stats.emitted, stored: rows.length, requests: portal.org.webhookDispatcher.stats.requests, notifyCalls: calls.length },
    latencyMs: { changeToStored: summary(storedMs), storedToNotified: summary(notifyMs), changeToNotified: summary(endToEnd) },
    receiverAnswerMs: summary(portal.org.webhookDispatcher.log.map((d) => d.ms)),
    baselinePollingMs: { demo10s: poll(10_000), default30s: poll(30_000) },
  };
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'webhooks.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await receiver.crash();
  await ledger.close();
  await portal.close();
}

await main();
