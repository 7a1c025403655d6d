/**
 * `npm run bench:sync`: the sync engine end to end — real Temporal dev server (app/devServer.ts), the
 * sandbox CRMs in one child process, and the real `cosell worker -c cosell.yaml` in another (so its RSS
 * is the worker's alone: sampled from /proc, peak = the kernel's high-water mark), running the linkSync
 * workflow with the real connectors and a SQLite ledger. CPU seconds per process are reported per phase,
 * so a missed target says where the time went.
 *
 *   1. N opportunities (default 100,000) Salesforce → HubSpot, HubSpot unthrottled: records/s, API calls
 *      per 1,000 records vs the floor set by batch limits (2,000 per SOQL page, 100 per HubSpot batch),
 *      worker RSS (peak, and at half vs all records: flat?).
 *   2. The same into a second portal with HubSpot's limit on (190 requests / 10 s): throughput as a % of
 *      the bound that limit sets (19 req/s × 100 records), failed records.
 *   3. Freshness: single changes in Salesforce while the link runs on its schedule; time until visible
 *      in HubSpot, p50/p95 vs schedule + 5 s.
 * Env: BENCH_SYNC_RECORDS (default 100000), BENCH_SYNC_SCHEDULE_S (default 5), BENCH_SYNC_FRESHNESS (20 changes),
 * BENCH_WORKER_LOG_LEVEL (debug: per-page timings in the worker's log), BENCH_CHILD_NODE_FLAGS (node flags
 * for the sandbox and worker processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_WORKER_NODE_OPTIONS
 * (the worker's NODE_OPTIONS; default: README's recommended heap sizing), BENCH_SYNC_LIMITED=0.
 * Writes bench/results/sync.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { Client as HubspotClient } from '@hubspot/api-client';
import jsforce from 'jsforce';
import { loadNetwork } from '../lib/config.js';
import { startDevServer } from '../app/devServer.js';
import { openEngine } from '../app/engine.js';
import { startLinks } from '../lib/links.js';
import { exportSandboxEnv } from '../app/sandboxEnv.js';
import type { Sandbox } from '@cosell/sandbox';
import type { LinkStatus } from '../sync/types.js';
import { statusQuery } from '../workflows/index.js';
import { linkHandle } from '../lib/workflowClient.js';

const N = Number(process.env.BENCH_SYNC_RECORDS ?? 100_000);
const SCHEDULE_S = Number(process.env.BENCH_SYNC_SCHEDULE_S ?? 5);
const FRESH_CHANGES = Number(process.env.BENCH_SYNC_FRESHNESS ?? 20);
const TEN_SECOND_LIMIT = 190;
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'cosell-bench-sync-'));
/** Extra node flags for the sandbox and worker children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
const CHILD_NODE_FLAGS = (process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/**
 * The worker runs with the heap sizing README recommends for a sync worker ("Running workers"): a small
 * young generation and a capped old one. Without them V8 lets garbage pile up to several hundred MB
 * before collecting, because nothing tells it memory is scarce.
 */
const WORKER_NODE_OPTIONS = process.env.BENCH_WORKER_NODE_OPTIONS ?? '--max-semi-space-size=2 --max-old-space-size=128';
/** BENCH_SYNC_LIMITED=0 skips the rate-limited run and freshness (e.g. for a 1M-record RSS run). */
const RUN_LIMITED = process.env.BENCH_SYNC_LIMITED !== '0';
const BIG = 1_000_000_000; // daily allocations set this high only so the sandboxes count calls

type Orgs = Sandbox['orgs'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => Math.round(b / 1024 / 1024);

async function startSandboxChild(): Promise<{ child: ChildProcess; orgs: Orgs }> {
  const cfg = {
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2000, opportunities: N, owners: 20 }, faults: { dailyLimit: BIG } },
      { id: 'fast', kind: 'hubspot', role: 'partner', seed: { accounts: 1, opportunities: 0, owners: 1 }, faults: { dailyLimit: BIG } },
      { id: 'limited', kind: 'hubspot', role: 'partner', seed: { accounts: 1, opportunities: 0, owners: 1 }, faults: { dailyLimit: BIG, tenSecondLimit: TEN_SECOND_LIMIT } },
    ],
  };
  const file = path.join(dir, 'sandbox.json');
  writeFileSync(file, JSON.stringify(cfg));
  const { child, output } = await spawnCosell(['sandbox', '--config', file, '--json'], { LOG_LEVEL: 'error' }, (out) => out.includes('\n') && out.split('\n').some((l) => l.startsWith('{')));
  return { child, orgs: (JSON.parse(output.split('\n').find((l) => l.startsWith('{'))!) as { orgs: Orgs }).orgs };
}

/** Start `cosell ARGS` as a child and resolve once its output so far satisfies `ready`. */
function spawnCosell(args: string[], env: NodeJS.ProcessEnv, ready: (output: string) => boolean, log?: string): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn(process.execPath, [...CHILD_NODE_FLAGS, path.join(root, 'bin/cosell.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  if (log) child.stdout!.pipe(createWriteStream(log));
  return new Promise((resolve, reject) => {
    let output: string | null = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (output === null) return; // ready already: keep draining the pipe, stop collecting
      output += d.toString();
      if (ready(output)) {
        resolve({ child, output });
        output = null;
      }
    });
    child.once('exit', (code) => reject(new Error(`cosell ${args[0]} exited (${code})`)));
  });
}

/** API calls an org has served so far (the sandboxes count them against the daily allocation). */
async function apiCalls(orgs: Orgs, id: string): Promise<number> {
  const o = orgs[id];
  if (o.kind === 'salesforce') {
    const conn = new jsforce.Connection({ instanceUrl: o.instanceUrl, accessToken: o.accessToken, version: '62.0' });
    const limits = (await conn.request('/services/data/v62.0/limits')) as { DailyApiRequests: { Max: number; Remaining: number } };
    return limits.DailyApiRequests.Max - limits.DailyApiRequests.Remaining - 1; // minus this call
  }
  if (o.kind !== 'hubspot') throw new Error(`bench:sync measures Salesforce and HubSpot orgs, not ${o.kind}`);
  const res = await fetch(`${o.basePath}/crm/v3/objects/deals?limit=1`, { headers: { authorization: `Bearer ${o.accessToken}` } });
  return BIG - Number(res.headers.get('x-hubspot-ratelimit-daily-remaining')) - 1;
}

/** Resident set and peak (kernel high-water mark) of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

const procs: Record<string, number> = {};
const cpuNow = () => Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid)]));
const cpuSince = (t0: Record<string, number>, seconds: number) =>
  Object.fromEntries(Object.entries(cpuNow()).map(([k, v]) => [k, { cpuSeconds: Math.round((v - t0[k]) * 10) / 10, coresBusy: Math.round(((v - t0[k]) / seconds) * 100) / 100 }]));

let workerPid = 0;
const rssSamples: Array<{ created: number; rss: number }> = [];

async function startWorkerChild(config: string, taskQueue: string, address: string): Promise<ChildProcess> {
  const env = { NODE_OPTIONS: WORKER_NODE_OPTIONS, TEMPORAL_ADDRESS: address, LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL ?? 'info', COSELL_LOG_FORMAT: 'json' };
  // The worker's log (BENCH_WORKER_LOG_LEVEL=debug adds per-page timings) is kept beside the ledger.
  const { child } = await spawnCosell(['worker', '-c', config, '--task-queue', taskQueue], env, (out) => out.includes('worker started'), path.join(dir, 'worker.log'));
  return child;
}

async function runLink(client: Client, linkId: string, config: string, taskQueue: string) {
  await startLinks(client, loadNetwork(config), { taskQueue, only: [linkId] });
  const h = linkHandle(client, linkId);
  const t0 = performance.now();
  let s: LinkStatus;
  let lastLog = 0;
  for (;;) {
    s = await h.query(statusQuery);
    const { rss } = memoryOf(workerPid);
    rssSamples.push({ created: s.counts.created, rss });
    if (s.state === 'idle' && s.counts.read >= N) break;
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      process.stdout.write(`  ${linkId}: ${s.counts.created} created, ${s.state}${s.lastError ? ` (${s.lastError})` : ''}, worker rss ${mb(rss)} MB\n`);
    }
    await sleep(250);
  }
  return { ms: performance.now() - t0, status: s };
}

async function main() {
  console.log(`bench:sync — ${N.toLocaleString()} opportunities Salesforce → HubSpot; ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (shared machine); worker NODE_OPTIONS="${WORKER_NODE_OPTIONS}"`);
  const [server, sandbox] = await Promise.all([startDevServer({ ui: false }), startSandboxChild()]);
  procs.sandbox = sandbox.child.pid!;
  procs.temporal = server.process.pid!;
  const conn = exportSandboxEnv(sandbox.orgs, 'BENCHSYNC');
  const stock = path.join(root, 'mappings/stock/salesforce-opportunity-to-hubspot-deal.yaml');
  const mapping = path.join(dir, 'opps-to-deals.yaml');
  writeFileSync(mapping, readFileSync(stock, 'utf8').replaceAll('../schemas/', `${path.join(root, 'mappings/schemas')}/`).replace(/^filter: .*$/m, 'filter: not isBlank(Name)'));
  // The fast portal announces no rate limit; without being told, cosell would assume HubSpot's usual
  // 10-second limit (180 of 190, with headroom) and the run would measure that limit, not the engine.
  const unlimited = (connection: string) => connection.replace(/ }$/, ', tenSecondLimit: 1000000 }');
  const config = path.join(dir, 'cosell.yaml');
  writeFileSync(
    config,
    `vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: fast, name: Fast partner, kind: hubspot, tier: gold, connection: ${unlimited(conn.fast)} }
  - { id: limited, name: Limited partner, kind: hubspot, tier: gold, connection: ${conn.limited} }
ledger: { file: ${path.join(dir, 'ledger.sqlite')} }
links:
  - { id: opps-to-fast, from: vendor.Opportunity, to: fast.deals, mapping: ${mapping}, schedule: ${SCHEDULE_S}s }
  - { id: opps-to-limited, from: vendor.Opportunity, to: limited.deals, mapping: ${mapping}, schedule: ${SCHEDULE_S}s }
`,
  );
  const engine = await openEngine(loadNetwork(config));
  const client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
  const taskQueue = 'bench-sync';
  const worker = await startWorkerChild(config, taskQueue, server.address);
  workerPid = procs.worker = worker.pid!;
  const baseRss = memoryOf(workerPid).rss;
  const results: Record<string, unknown> = { records: N, workerNodeOptions: WORKER_NODE_OPTIONS, cores: os.cpus().length, loadAvg: os.loadavg(), scheduleS: SCHEDULE_S };
  try {
    // 1. Unthrottled.
    const sf0 = await apiCalls(sandbox.orgs, 'vendor');
    const hs0 = await apiCalls(sandbox.orgs, 'fast');
    const cpu0 = cpuNow();
    const fast = await runLink(client, 'opps-to-fast', config, taskQueue);
    const cpuFast = cpuSince(cpu0, fast.ms / 1000);
    const peakRss = memoryOf(workerPid).hwm;
    const sfCalls = (await apiCalls(sandbox.orgs, 'vendor')) - sf0;
    const hsCalls = (await apiCalls(sandbox.orgs, 'fast')) - hs0;
    const floor = Math.ceil(N / 2000) + Math.ceil(N / 100);
    const perK = ((sfCalls + hsCalls) / N) * 1000;
    const floorPerK = (floor / N) * 1000;
    // Highest RSS seen up to half the records, and over the second half: flat means about equal.
    const rssHalf = Math.max(0, ...rssSamples.filter((x) => x.created <= N / 2).map((x) => x.rss));
    const rssEnd = Math.max(0, ...rssSamples.filter((x) => x.created > N / 2).map((x) => x.rss));
    results.unthrottled = {
      seconds: fast.ms / 1000,
      recordsPerSecond: Math.round(N / (fast.ms / 1000)),
      counts: fast.status.counts,
      apiCalls: { salesforce: sfCalls, hubspot: hsCalls, per1000: perK, floorPer1000: floorPerK, ratioToFloor: perK / floorPerK },
      rssMB: { atStart: mb(baseRss), peak: mb(peakRss), atHalf: mb(rssHalf), atEnd: mb(rssEnd), endOverHalf: rssHalf ? rssEnd / rssHalf : null },
      cpu: cpuFast,
    };
    console.log(`\n1. unthrottled: ${N} records in ${(fast.ms / 1000).toFixed(1)} s = ${Math.round(N / (fast.ms / 1000))} records/s (target ≥ 2,000)`);
    console.log(`   API calls: Salesforce ${sfCalls}, HubSpot ${hsCalls} = ${perK.toFixed(2)} per 1,000 records; floor ${floorPerK.toFixed(2)} → ${(perK / floorPerK).toFixed(3)}× (target ≤ 1.1×)`);
    console.log(`   worker RSS: start ${mb(baseRss)} MB, max up to 50% ${mb(rssHalf)} MB, max over 50–100% ${mb(rssEnd)} MB, peak ${mb(peakRss)} MB (target ≤ 300 MB, flat)`);
    console.log(`   CPU during the run (of ${os.cpus().length} cores): ${Object.entries(cpuFast).map(([k, v]) => `${k} ${v.coresBusy}`).join(', ')}`);
    console.log(`   counts: ${JSON.stringify(fast.status.counts)}`);

    if (RUN_LIMITED) {
      // 2. HubSpot's 10-second limit on.
      const l0 = await apiCalls(sandbox.orgs, 'limited');
      const cpu1 = cpuNow();
      const limited = await runLink(client, 'opps-to-limited', config, taskQueue);
      const cpuLimited = cpuSince(cpu1, limited.ms / 1000);
      const lCalls = (await apiCalls(sandbox.orgs, 'limited')) - l0;
      const boundRps = (TEN_SECOND_LIMIT / 10) * 100;
      const achieved = N / (limited.ms / 1000);
      results.rateLimited = {
        tenSecondLimit: TEN_SECOND_LIMIT,
        seconds: limited.ms / 1000,
        recordsPerSecond: Math.round(achieved),
        boundRecordsPerSecond: boundRps,
        percentOfBound: (achieved / boundRps) * 100,
        hubspotCalls: lCalls,
        failed: limited.status.counts.failed,
        counts: limited.status.counts,
        cpu: cpuLimited,
      };
      console.log(`\n2. HubSpot limit ${TEN_SECOND_LIMIT}/10 s: ${Math.round(achieved)} records/s = ${((achieved / boundRps) * 100).toFixed(1)}% of the ${boundRps} records/s bound (target ≥ 90%), ${limited.status.counts.failed} failed, ${lCalls} HubSpot calls`);

      // 3. Freshness on the unthrottled link (running on its schedule, idle between runs).
      const v = sandbox.orgs.vendor as Extract<Orgs[string], { kind: 'salesforce' }>;
      const sf = new jsforce.Connection({ instanceUrl: v.instanceUrl, accessToken: v.accessToken, version: '62.0' });
      const f = sandbox.orgs.fast as Extract<Orgs[string], { kind: 'hubspot' }>;
      const hs = new HubspotClient({ accessToken: f.accessToken, basePath: f.basePath });
      const some = await sf.query<{ Id: string }>(`SELECT Id FROM Opportunity LIMIT ${FRESH_CHANGES}`);
      const pairs = await engine.ledger.pairs.bySource('opps-to-fast', some.records.map((r) => r.Id));
      const lat: number[] = [];
      for (const [i, r] of some.records.entries()) {
        await sleep(Math.random() * SCHEDULE_S * 1000);
        // Amount → cosell_vendor_amount is source-owned (the deal's own name belongs to the partner).
        const amount = 1_000_000 + i * 1000 + Math.floor(Math.random() * 1000);
        const t0 = Date.now();
        await sf.sobject('Opportunity').update({ Id: r.Id, Amount: amount });
        const dealId = pairs.get(r.Id)!.targetId;
        for (;;) {
          const d = await hs.crm.deals.basicApi.getById(dealId, ['cosell_vendor_amount']);
          if (Number(d.properties.cosell_vendor_amount) === amount) break;
          if (Date.now() - t0 > 120_000) throw new Error('change never arrived');
          await sleep(100);
        }
        lat.push(Date.now() - t0);
      }
      lat.sort((a, b) => a - b);
      const p = (q: number) => lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)];
      results.freshness = { changes: lat.length, p50Ms: p(0.5), p95Ms: p(0.95), maxMs: lat[lat.length - 1], targetMs: SCHEDULE_S * 1000 + 5000 };
      console.log(`\n3. freshness (schedule ${SCHEDULE_S} s): p50 ${(p(0.5) / 1000).toFixed(1)} s, p95 ${(p(0.95) / 1000).toFixed(1)} s, max ${(lat[lat.length - 1] / 1000).toFixed(1)} s (target p95 ≤ ${SCHEDULE_S + 5} s)`);
    }
  } finally {
    for (const id of ['opps-to-fast', 'opps-to-limited']) await linkHandle(client, id).terminate('bench over').catch(() => undefined);
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await engine.close();
    await client.connection.close();
    sandbox.child.kill('SIGTERM');
    await server.stop();
  }
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'sync.json'), JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2) + '\n');
  console.log(`\nwrote bench/results/sync.json; the worker's log is ${path.join(dir, 'worker.log')}`);
  process.exit(0);
}

await main();
