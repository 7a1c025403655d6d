import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { personOfTheOrg } from '../../bench/person.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { loadNetwork } from '../../lib/config.js';
import { startLinks } from '../../lib/links.js';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';
import { statusQuery, streamStatusQuery } from '../../workflows/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { sandboxEnv } from '../helpers/network.js';
import { createTestDatabase, dropTestDatabase } from '../helpers/postgres.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { temporalAddress, testClient, uniqueQueue } from '../helpers/temporal.js';
import { eventually } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';
import { copyStockMapping } from '../sync/helpers.js';
import { linkWorkflowId, streamHandle, streamWorkflowId } from '../../lib/workflowClient.js';

/**
 * Salesforce CDC with several worker processes (test/e2e/worker.ts: `cosell worker` on the run's
 * bundle) on one PostgreSQL ledger, the sandbox's Pub/Sub API and the real client, a vendor
 * Opportunity stream in push mode (reconciler every hour: within the test only push moves changes)
 * feeding one partner's HubSpot deals, while a person of the org changes opportunities every 200 ms:
 * 1. two workers: exactly one subscribes (never two open at once, sampled all along); it is SIGKILLed; the other takes the lease over within
 *    ttl + renew and subscribes from the replay id the dead one stored (its stream starts at the first
 *    event after it — not at LATEST);
 * 2. that worker (now the only one) is SIGKILLed too, changes go on while none runs, a new worker
 *    starts and resumes from the stored replay id.
 * After each: every change is in the partner's CRM (one deal per opportunity, final amounts), no
 * value written twice (the audit), every reconciler pass meanwhile and one asked for afterwards
 * found 0 records push missed.
 */
const TTL_S = 5;
const RENEW_S = 1;
const N = 12;
const TOPIC = '/data/OpportunityChangeEvent';
const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const taskQueue = uniqueQueue('cdc-takeover');
const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const vendorId = `vendor-${tag}`;
const linkId = `opps-acme-${tag}`;
const streamId = `${vendorId}:Opportunity`;
const streamWf = streamWorkflowId(streamId);

interface Proc {
  child: ChildProcess;
  holder: string;
}

let sb: TestSandbox;
let client: Client;
let ledger: Ledger;
let dbUrl: string;
let configFile: string;
let person: jsforce.Connection;
let oppIds: string[];
const procs: Proc[] = [];
/** The amount each opportunity was last given (a counter: no value is ever written twice). */
const expected = new Map<string, number>();
const changesPerRecord = new Map<string, number>();
let counter = 0;

const org = () => sb.org('vendor') as SalesforceOrg;
const server = () => org().cdc!.server()!;
const openSubs = () => server().subscriptions().filter((s) => s.open && s.topic === TOPIC);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The most subscriptions of the topic ever open at once (sampled every 50 ms for the whole file): never more than one. */
let mostOpen = 0;
const sampler = setInterval(() => (mostOpen = Math.max(mostOpen, sb ? openSubs().length : 0)), 50);

function startWorker(): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/e2e/worker.ts')], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), COSELL_CONFIG: configFile, COSELL_TASK_QUEUE: taskQueue, WORKFLOW_BUNDLE: inject('workflowBundlePath'), LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /worker ready \d+ holder (\S+)/.exec(d.toString());
      if (m) {
        const p = { child, holder: m[1] };
        procs.push(p);
        resolve(p);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

async function kill(p: Proc): Promise<void> {
  p.child.removeAllListeners('exit');
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await exited;
}

/** A person changes one opportunity every 200 ms until stopped. */
function changeSteadily(): { stop(): Promise<number> } {
  let running = true;
  let made = 0;
  const loop = (async () => {
    while (running) {
      const id = oppIds[counter % oppIds.length];
      const amount = 10_000 + ++counter;
      await person.sobject('Opportunity').update({ Id: id, Amount: amount });
      expected.set(id, amount);
      changesPerRecord.set(id, (changesPerRecord.get(id) ?? 0) + 1);
      made++;
      await sleep(200);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return made;
    },
  };
}

async function dealsBySource() {
  const deals = await sb.hubspot('acme').crm.deals.getAll(100, undefined, ['cosell_source_id', 'amount']);
  const by = new Map<string, Array<(typeof deals)[number]>>();
  for (const d of deals) by.set(d.properties.cosell_source_id ?? '', [...(by.get(d.properties.cosell_source_id ?? '') ?? []), d]);
  return { deals, by };
}

/** Every change reached the partner once: final amounts, one deal each, no value written twice. */
async function assertLandedOnce(what: string): Promise<void> {
  let wrong: unknown[] = [];
  try {
    await eventually(`${what}: every change in the partner's CRM`, async () => {
      const { by } = await dealsBySource();
      wrong = [...expected].filter(([id, amount]) => Number(by.get(id)?.[0]?.properties.amount) !== amount).map(([id, amount]) => ({ id, amount, got: by.get(id)?.[0]?.properties.amount }));
      return wrong.length === 0;
    }, { timeoutMs: 90_000, intervalMs: 500 });
  } catch (e) {
    const link = await client.workflow.getHandle(linkWorkflowId(linkId)).query(statusQuery).catch((x) => String(x));
    const stream = await streamHandle(client, streamId).query(streamStatusQuery).catch((x) => String(x));
    const d = await streamHandle(client, streamId).describe().catch((x) => String(x));
    const h = await streamHandle(client, streamId).fetchHistory().catch(() => undefined);
    console.log('stream describe', JSON.stringify(typeof d === 'string' ? d : { status: d.status.name, historyLength: d.historyLength, pendingWorkflowTask: d.raw.pendingWorkflowTask, pendingActivities: d.raw.pendingActivities }));
    console.log('stream history tail', JSON.stringify((h?.events ?? []).slice(-12).map((e) => ({ id: String(e.eventId), type: e.eventType, failed: e.workflowTaskFailedEventAttributes?.failure?.message, act: e.activityTaskScheduledEventAttributes?.activityType?.name, actFail: e.activityTaskFailedEventAttributes?.failure?.message }))));
    throw new Error(`${(e as Error).message}; not landed ${JSON.stringify(wrong)}; link ${JSON.stringify(link)}; stream ${JSON.stringify(stream)}; subscriptions ${JSON.stringify(openSubs().map((x) => ({ id: x.id, sent: x.sent.length, requests: x.requests })))}; lease ${JSON.stringify(await ledger.cdcLeases.get(vendorId, TOPIC))}`);
  }
  const { deals, by } = await dealsBySource();
  expect(deals).toHaveLength(N);
  expect([...by.values()].filter((d) => d.length > 1)).toEqual([]);
  const audits = await ledger.db.selectFrom('audit_events').select(['source_id', 'after']).where('link_id', '=', linkId).where('action', '=', 'updated').execute();
  const writes = new Map<string, string[]>();
  for (const a of audits) writes.set(a.source_id!, [...(writes.get(a.source_id!) ?? []), a.after ?? '']);
  for (const [id, afters] of writes) {
    expect(new Set(afters).size, `${id}: a value written twice`).toBe(afters.length);
    expect(afters.length).toBeLessThanOrEqual(changesPerRecord.get(id) ?? 0);
  }
}

/**
 * The reconciler's "records push missed" stays 0: every reconciler pass the stream reports while the
 * test runs (watched every 200 ms), and one asked for at the end, after every change landed.
 */
function watchReconciles(): { stop(): Promise<Array<{ at: string; missed: number }>> } {
  const seen = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const s = await streamHandle(client, streamId).query(streamStatusQuery).catch(() => undefined);
      if (s?.reconciled) seen.set(s.reconciled.at, s.reconciled.missed);
      await sleep(200);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return [...seen].map(([at, missed]) => ({ at, missed }));
    },
  };
}

async function assertPushMissedNothing(watch: ReturnType<typeof watchReconciles>, initial: string | undefined): Promise<void> {
  const stream = streamHandle(client, streamId);
  const before = await stream.query(streamStatusQuery);
  expect(before.mode).toBe('push');
  await stream.signal('streamPollNow');
  const after = await eventually('the reconciler pass', async () => {
    const s = await stream.query(streamStatusQuery);
    return s.reconciled && s.reconciled.at !== before.reconciled?.at && s.state === 'idle' ? s : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200 });
  expect(after.reconciled!.missed).toBe(0);
  const passes = (await watch.stop()).filter((p) => p.at !== initial);
  expect(passes.filter((p) => p.missed !== 0)).toEqual([]);
}

/** The subscription opened after `from` (server side): it must start at the first event after the stored position. */
async function assertResumedAfter(storedAtKill: number, from: number, takenBy: string): Promise<void> {
  const sub = await eventually('a new subscription with events', async () => server().subscriptions().slice(from).find((s) => s.topic === TOPIC && s.sent.length > 0), { timeoutMs: 60_000, intervalMs: 100 });
  const next = org().cdc!.bus.events(TOPIC).find((e) => e.replayId > storedAtKill)!;
  expect(sub.sent[0]).toBe(next.replayId);
  expect((await ledger.cdcLeases.get(vendorId, TOPIC))?.holder).toBe(takenBy);
}

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 4, opportunities: N, owners: 2 }, pubsub: { keepaliveMs: 500 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 2, opportunities: 0, owners: 1 } },
    ],
  });
  const conn = sandboxEnv(sb, 'CDCTAKE');
  dbUrl = await createTestDatabase('cdctake');
  process.env.CDCTAKE_DB = dbUrl;
  const dir = tempDir('cosell-cdc-takeover-');
  const mapping = copyStockMapping(dir, 'salesforce-opportunity-to-hubspot-deal.yaml', [[/^filter: .*$/m, 'filter: not isBlank(Name)']]);
  // Short lease for the test (production default: ttl 15s, renew 5s).
  const vendor = conn.vendor.replace(/ \} \}$/, `, lease: { ttl: ${TTL_S}s, renew: ${RENEW_S}s } } }`);
  expect(vendor).toContain('lease:');
  configFile = path.join(dir, 'cosell.yaml');
  writeFileSync(
    configFile,
    `vendor: { id: ${vendorId}, name: Vendor, kind: salesforce, connection: ${vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
ledger: { url: env:CDCTAKE_DB }
links:
  - { id: ${linkId}, from: ${vendorId}.Opportunity, to: acme.deals, mapping: ${mapping}, schedule: 1h, share: all }
streams: { enabled: true, reconcile: 1h }
`,
  );
  client = await testClient();
  ledger = await openLedger({ url: dbUrl, poolSize: 2 });
  person = await personOfTheOrg(sb.orgs.vendor as Parameters<typeof personOfTheOrg>[0]);
  oppIds = (await person.query<{ Id: string }>('SELECT Id FROM Opportunity')).records.map((r) => r.Id);
}, 120_000);

afterAll(async () => {
  clearInterval(sampler);
  for (const id of [linkWorkflowId(linkId), streamWf]) await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  for (const p of procs) p.child.kill('SIGKILL');
  await client?.connection.close();
  await ledger?.close();
  await sb?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
});

describe('CDC across worker processes: one subscription, SIGKILL, takeover from the stored replay id', () => {
  let initialReconcile: string | undefined;

  it('two workers: one subscribes; the holder is SIGKILLed mid-change; the other takes over from the stored replay id; every change lands once', async () => {
    const [a, b] = await Promise.all([startWorker(), startWorker()]);
    await startLinks(client, loadNetwork(configFile), { taskQueue });
    await eventually('the initial load', async () => (await dealsBySource()).deals.length === N, { timeoutMs: 90_000, intervalMs: 500 });
    const initial = await streamHandle(client, streamId).query(streamStatusQuery);
    initialReconcile = initial.reconciled?.at;
    const watch = watchReconciles();
    await eventually('one subscription', async () => openSubs().length === 1 && openSubs()[0].requests.length > 0, { timeoutMs: 60_000, intervalMs: 100 });
    // Several renew intervals later: still exactly one, by the lease holder.
    await sleep(3 * RENEW_S * 1000);
    expect(openSubs()).toHaveLength(1);
    const lease = (await ledger.cdcLeases.get(vendorId, TOPIC))!;
    const holder = [a, b].find((p) => p.holder === lease.holder)!;
    const other = holder === a ? b : a;
    expect(holder).toBeDefined();

    const changes = changeSteadily();
    await sleep(1500);
    const from = server().subscriptions().length;
    const killedAt = Date.now();
    await kill(holder);
    const storedAtKill = Number((await ledger.replayIds.get(vendorId, TOPIC))!.replayId);
    await eventually('the other worker takes the lease', async () => (await ledger.cdcLeases.get(vendorId, TOPIC))?.holder === other.holder, { timeoutMs: 30_000, intervalMs: 100 });
    const tookMs = Date.now() - killedAt;
    await assertResumedAfter(storedAtKill, from, other.holder);
    await sleep(1500);
    const made = await changes.stop();
    const taken = (await ledger.cdcLeases.get(vendorId, TOPIC))!;
    expect(taken.epoch).toBe(lease.epoch + 1);
    console.log(`cdc takeover: lease taken ${tookMs} ms after the SIGKILL (ttl ${TTL_S} s + renew ${RENEW_S} s), ${made} changes`);
    // The lease's bound (ttl + renew) plus the slack of a loaded machine for the kill and the ledger reads.
    expect(tookMs).toBeLessThanOrEqual((TTL_S + RENEW_S) * 1000 + 3000);
    expect(mostOpen).toBe(1);
    // `cosell status` names the worker holding the stream's CDC lease.
    const st = await runCliInProcess(['status', '-c', configFile, '--json'], { TEMPORAL_ADDRESS: temporalAddress() });
    expect(st.code, st.stderr).toBe(0);
    const row = (JSON.parse(st.stdout) as { streams: Array<{ workflowId: string; cdcLease?: { holder: string; epoch: number } }> }).streams.find((r) => r.workflowId === streamWf);
    expect(row?.cdcLease).toMatchObject({ holder: other.holder, epoch: lease.epoch + 1 });
    await assertLandedOnce('after the takeover');
    await assertPushMissedNothing(watch, initialReconcile);
  }, 300_000);

  it('the only worker is SIGKILLed while changes flow; a new worker resumes from the stored replay id; every change lands once', async () => {
    const only = procs.find((p) => p.child.exitCode === null && p.child.signalCode === null)!;
    expect((await ledger.cdcLeases.get(vendorId, TOPIC))?.holder).toBe(only.holder);
    const since = (await streamHandle(client, streamId).query(streamStatusQuery)).reconciled?.at;
    const watch = watchReconciles();
    const changes = changeSteadily();
    await sleep(1500);
    const from = server().subscriptions().length;
    await kill(only);
    const storedAtKill = Number((await ledger.replayIds.get(vendorId, TOPIC))!.replayId);
    await sleep(2000); // changes while no worker runs
    const fresh = await startWorker();
    await assertResumedAfter(storedAtKill, from, fresh.holder);
    await sleep(1500);
    await changes.stop();
    expect(mostOpen).toBe(1);
    await assertLandedOnce('after the restart');
    await assertPushMissedNothing(watch, since);
  }, 300_000);
});
