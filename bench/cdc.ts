/**
 * `npm run bench:cdc`: Salesforce push latency on the sandbox, through the real pieces — the org's
 * Pub/Sub API (gRPC + TLS), the unmodified salesforce-pubsub-api-client in cosell's CdcSubscriber,
 * replay ids in a SQLite ledger (or PostgreSQL with DATABASE_URL), and a notifier that records when it
 * was told. A person's writes (an owner of the org, password grant) go through jsforce at a steady rate.
 *
 * Figures (p50 / p95 / max, ms): commit (the write's response) → notified; the event's own
 * commitTimestamp → notified. Baseline in the same run: the polling a link does today (a change is
 * seen at the next poll: uniform over the schedule, 10 s in the demo, 30 s by default).
 * Writes bench/results/cdc.json.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CdcSubscriber, type CdcNotifier } from '../connectors/salesforce/cdc/subscriber.js';
import { openLedger } from '../ledger/index.js';
import { latencySummary as summary } from './stats.js';
import { startSandbox } from '@cosell/sandbox';
import { personOfTheOrg } from './person.js';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';

const WRITES = Number(process.env.BENCH_CDC_WRITES ?? 300);
const RATE = Number(process.env.BENCH_CDC_RATE ?? 20); // writes per second
const here = path.dirname(fileURLToPath(import.meta.url));


async function main(): Promise<void> {
  const sb = await startSandbox({ config: { orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 20, opportunities: 50, owners: 2 }, pubsub: {} }] } });
  const info = sb.orgs.vendor as Extract<(typeof sb.orgs)[string], { kind: 'salesforce' }>;
  const org = sb.org('vendor') as SalesforceOrg;
  const person = await personOfTheOrg(info);
  const opps = (await person.query<{ Id: string }>('SELECT Id FROM Opportunity LIMIT 50')).records.map((r) => r.Id);

  const url = process.env.DATABASE_URL;
  const ledger = await openLedger(url ? { url } : { file: path.join(mkdtempSync(path.join(os.tmpdir(), 'cosell-bench-')), 'ledger.sqlite') });
  const notifiedAt = new Map<string, number[]>();
  const notifier: CdcNotifier = {
    async notify(_org, _object, ids) {
      const now = Date.now();
      for (const id of ids) notifiedAt.set(id, [...(notifiedAt.get(id) ?? []), now]);
    },
    async reconcile() {},
  };
  const commitTs = new Map<number, number>();
  process.env.BENCH_CDC_CLIENT_ID = info.clientId;
  process.env.BENCH_CDC_CLIENT_SECRET = info.clientSecret;
  const sub = new CdcSubscriber({
    orgId: 'vendor',
    connection: { instanceUrl: info.instanceUrl, loginUrl: info.loginUrl, auth: { clientId: 'env:BENCH_CDC_CLIENT_ID', clientSecret: 'env:BENCH_CDC_CLIENT_SECRET' } },
    endpoint: info.pubsub!.endpoint,
    caPem: info.pubsub!.caPem,
    objects: ['Opportunity'],
    positions: ledger.replayIds,
    notifier,
    onEvent: (e) => e.commitTimestamp && commitTs.set(e.replayId, e.at - e.commitTimestamp),
  });
  await sub.start();
  const server = org.cdc!.server()!;
  const deadline = Date.now() + 30_000;
  while (!server.subscriptions().some((s) => s.open && s.requests.length > 0)) {
    if (Date.now() > deadline) throw new Error('the subscription did not start');
    await new Promise((r) => setTimeout(r, 20));
  }

  // Each write updates a different record than the last few, so a notification is matched to its write.
  const writes: Array<{ id: string; committedAt: number; seenBefore: number }> = [];
  const start = Date.now();
  for (let i = 0; i < WRITES; i++) {
    const due = start + (i * 1000) / RATE;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const id = opps[i % opps.length]!;
    const seenBefore = notifiedAt.get(id)?.length ?? 0;
    await person.sobject('Opportunity').update({ Id: id, Amount: 1000 + i });
    writes.push({ id, committedAt: Date.now(), seenBefore });
  }
  const end = Date.now() + 15_000;
  while (writes.some((w) => (notifiedAt.get(w.id)?.length ?? 0) <= w.seenBefore) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const latencies = writes.flatMap((w) => {
    const t = notifiedAt.get(w.id)?.[w.seenBefore];
    return t === undefined ? [] : [Math.max(0, t - w.committedAt)];
  });
  const missing = writes.length - latencies.length;
  const schedule = 10_000;
  const pollBaseline = Array.from({ length: WRITES }, (_, i) => ((i * 7919) % schedule) + 0.5);
  const result = {
    bench: 'cdc',
    writes: WRITES,
    ratePerSecond: RATE,
    ledger: url ? 'postgres' : 'sqlite',
    commitToNotifiedMs: summary(latencies),
    commitTimestampToNotifiedMs: summary([...commitTs.values()]),
    missing,
    baselinePoll10sMs: summary(pollBaseline),
    subscriber: sub.status()[0],
    server: server.subscriptions().map((s) => ({ requested: s.requested, delivered: s.delivered, maxCredit: s.maxCredit })),
  };
  await sub.stop();
  await ledger.close();
  await sb.stop();
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'cdc.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`push (CDC): commit → notified p50 ${result.commitToNotifiedMs.p50} ms, p95 ${result.commitToNotifiedMs.p95} ms, max ${result.commitToNotifiedMs.max} ms over ${latencies.length} writes (${missing} missing); poll every 10 s: p50 ${result.baselinePoll10sMs.p50} ms, p95 ${result.baselinePoll10sMs.p95} ms\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
