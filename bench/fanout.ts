/**
 * `npm run bench:fanout`: what the vendor's CRM pays for N partners — vendor API calls per hour at 1, 10
 * and 100 partners, idle and at 1 change/s, with change streams (one read of vendor.Opportunity for
 * every link) and, in the same run, today's per-link polling (each link reads the vendor itself) as the
 * baseline. Real Temporal dev server, the sandbox CRMs in one child process (a vendor Salesforce org and
 * 100 HubSpot portals), the real `cosell worker` in another (its RSS sampled from /proc), one
 * vendor.Opportunity → partner.deals link per partner on a 10 s schedule (the stream polls as often as
 * its fastest link). Calls are what the vendor sandbox answered (`/__sandbox/stats`), less the bench's
 * own writes; per hour = per second measured × 3,600.
 *
 * Mode `stream-push`: the same stream with push configured (the vendor's Change Data Capture over the
 * sandbox's Pub/Sub API) and the default 15-minute reconciler — the stream is in push mode from the
 * start, so while nothing changes only the reconciler polls. A 60 s window rarely holds a reconciler
 * pass, so its idle figure is measured in two parts, both in this run: the calls of the idle window
 * (push alone) per hour, plus the calls of one reconciler pass (asked for with `streamPollNow`) × the
 * passes an hour at the configured interval. Goal: ≤ 100 calls/hour per org object.
 *
 * Freshness (`BENCH_FANOUT_MEASURE` includes `freshness`): source write → visible in the target under
 * steady change, push (`stream-push`) vs poll (`stream`, polling at the links' 10 s schedule), in the
 * same run: 1 partner, the mapping's filter opened to every opportunity, a person of the vendor org
 * changes one of 10 opportunities' Amount every second for BENCH_FANOUT_FRESHNESS_SECONDS (default 60)
 * while the bench reads those 10 deals from the partner's portal every 100 ms. A change's latency runs
 * from the moment its write was answered to the first read showing it, or a later change of the same
 * record (then it is no longer visible on its own). p50 / p95 / max per mode; goal: push p95 ≤ 2 s.
 *
 * Env: BENCH_FANOUT_PARTNERS (default "1,10,100"), BENCH_FANOUT_SECONDS (each measured phase, default 60),
 * BENCH_FANOUT_SCHEDULE_S (default 10), BENCH_FANOUT_MODES (default "per-link,stream,stream-push"),
 * BENCH_FANOUT_RECONCILE (stream-push's reconciler interval, default 15m), BENCH_FANOUT_MEASURE
 * (default "calls,freshness"; "freshness" alone takes about 4 minutes), BENCH_FANOUT_FRESHNESS_MODES
 * (default "stream,stream-push"), BENCH_FANOUT_FRESHNESS_SECONDS (default 60), BENCH_FANOUT_COALESCE
 * (streams.coalesce of every run; default the network default, 1500ms).
 * Writes bench/results/fanout.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as HubspotClient } from '@hubspot/api-client';
import { Client, Connection } from '@temporalio/client';
import { personOfTheOrg } from './person.js';
import { DEFAULT_COALESCE, loadNetwork } from '../lib/config.js';
import { startDevServer } from '../app/devServer.js';
import { startLinks } from '../lib/links.js';
import { exportSandboxEnv } from '../app/sandboxEnv.js';
import type { Sandbox } from '@cosell/sandbox';
import { statusQuery } from '../workflows/index.js';
import { linkHandle, linkWorkflowId, streamHandle, streamPollNowSignal, streamStatusQuery, streamWorkflowId } from '../lib/workflowClient.js';
import { streamIdOf } from '../ledger/streams.js';

const PARTNERS = (process.env.BENCH_FANOUT_PARTNERS ?? '1,10,100').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_FANOUT_SECONDS ?? 60);
const SCHEDULE_S = Number(process.env.BENCH_FANOUT_SCHEDULE_S ?? 10);
type Mode = 'per-link' | 'stream' | 'stream-push';
const MODES = (process.env.BENCH_FANOUT_MODES ?? 'per-link,stream,stream-push').split(',') as Mode[];
const RECONCILE = process.env.BENCH_FANOUT_RECONCILE ?? '15m';
const MEASURE = (process.env.BENCH_FANOUT_MEASURE ?? 'calls,freshness').split(',');
const FRESH_MODES = (process.env.BENCH_FANOUT_FRESHNESS_MODES ?? 'stream,stream-push').split(',') as Mode[];
const FRESH_SECONDS = Number(process.env.BENCH_FANOUT_FRESHNESS_SECONDS ?? 60);
/** streams.coalesce of the runs (unset: the network default, 1500ms): the push-freshness / read-cost trade-off. */
const COALESCE = process.env.BENCH_FANOUT_COALESCE;
/** Opportunities the freshness run changes in turn (each one every 10 s at 1 change/s). */
const FRESH_RECORDS = 10;
const MAX_PARTNERS = MEASURE.includes('calls') ? Math.max(...PARTNERS) : 1;
const BIG = 1_000_000_000;
const WORKER_NODE_OPTIONS = '--max-semi-space-size=2 --max-old-space-size=256';
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'cosell-bench-fanout-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => Math.round(b / 1024 / 1024);
/** The vendor Opportunity stream every link of the bench reads. */
const VENDOR_OPPORTUNITY_STREAM = streamIdOf('vendor', 'Opportunity');
type Orgs = Sandbox['orgs'];

function spawnCosell(args: string[], env: NodeJS.ProcessEnv, ready: (output: string) => boolean, log?: string): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/cosell.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  if (log) child.stdout!.pipe(createWriteStream(log, { flags: 'a' }));
  return new Promise((resolve, reject) => {
    let output: string | null = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (output === null) return;
      output += d.toString();
      if (ready(output)) {
        resolve({ child, output });
        output = null;
      }
    });
    child.once('exit', (code) => reject(new Error(`cosell ${args[0]} exited (${code})`)));
  });
}

function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Every API call the vendor org has answered so far (the sandbox counts them). */
async function vendorCalls(orgs: Orgs): Promise<number> {
  const o = orgs.vendor;
  if (o.kind !== 'salesforce') throw new Error('vendor is Salesforce');
  return ((await (await fetch(`${o.instanceUrl}/__sandbox/stats`)).json()) as { requests: number }).requests;
}

interface Measured {
  partners: number;
  mode: Mode;
  idleCallsPerHour: number;
  /** stream-push: the idle window's calls per hour (push alone) and one reconciler pass's calls. */
  idleWindowCallsPerHour?: number;
  reconcilerPassCalls?: number;
  reconcilerPassesPerHour?: number;
  changingCallsPerHour: number;
  changesApplied: number;
  workerRssPeakMb: number;
  workerRssHwmMb: number;
  warmupS: number;
}

interface Run {
  client: Client;
  worker: ChildProcess;
  linkIds: string[];
  warmupS: number;
}

/**
 * One configuration of the bench: the network file, the real `cosell worker`, the links started and
 * caught up once; `body` measures; then the workflows are terminated and the worker stopped.
 * `allOpportunities`: the mapping's filter opened to every vendor opportunity and the link shares
 * them all (`share: all`): freshness needs deals in the target, and the stock filter and the partner
 * scope keep partner-registered ones only.
 */
async function withRun<T>(server: { address: string }, conn: Record<string, string>, partners: number, mode: Mode, opts: { tag: string; allOpportunities?: boolean }, body: (run: Run) => Promise<T>): Promise<T> {
  const tag = opts.tag;
  const streams = mode !== 'per-link';
  // The vendor's connection names the sandbox's Pub/Sub endpoint; without push it is left out.
  const vendorConnection = mode === 'stream-push' ? conn.vendor : conn.vendor.replace(/, pubsub: \{(?:[^{}]|\$\{[^}]*\})*\}/, '') // its value holds ${VAR} references;
  const ids = Array.from({ length: partners }, (_, i) => `p${i + 1}`);
  const stock = path.join(root, 'mappings/stock/salesforce-opportunity-to-hubspot-deal.yaml');
  let mapping = stock;
  if (opts.allOpportunities) {
    mapping = path.join(dir, `mapping-${tag}.yaml`);
    const text = readFileSync(stock, 'utf8').replaceAll('../schemas/', `${path.resolve(path.dirname(stock), '../schemas')}/`).replace(/^filter: .*$/m, 'filter: not isBlank(Name)');
    writeFileSync(mapping, text);
  }
  const config = path.join(dir, `cosell-${tag}.yaml`);
  writeFileSync(
    config,
    `vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${vendorConnection} }
partners:
${ids.map((id) => `  - { id: ${id}, name: Partner ${id}, kind: hubspot, tier: gold, connection: ${conn[id].replace(/ }$/, ', tenSecondLimit: 1000000 }')} }`).join('\n')}
ledger: { file: ${path.join(dir, `ledger-${tag}.sqlite`)} }
links:
${ids.map((id) => `  - { id: opps-to-${id}-${tag}, from: vendor.Opportunity, to: ${id}.deals, mapping: ${mapping}, schedule: ${SCHEDULE_S}s${opts.allOpportunities ? ", share: all" : ""} }`).join('\n')}
streams: { enabled: ${streams}${mode === 'stream-push' ? `, reconcile: ${RECONCILE}` : ''}${COALESCE ? `, coalesce: ${COALESCE}` : ''} }
`,
  );
  const taskQueue = `bench-fanout-${tag}-${Date.now().toString(36)}`;
  const { child: worker } = await spawnCosell(
    ['worker', '-c', config, '--task-queue', taskQueue],
    { NODE_OPTIONS: WORKER_NODE_OPTIONS, TEMPORAL_ADDRESS: server.address, LOG_LEVEL: 'info', COSELL_LOG_FORMAT: 'json' },
    (out) => out.includes('worker started'),
    path.join(dir, `worker-${tag}.log`),
  );
  const client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
  const network = loadNetwork(config);
  const linkIds = network.network.links.map((l) => l.id);
  const t0 = performance.now();
  try {
    await startLinks(client, network, { taskQueue });
    // Warm-up: every link has caught up at least once (built, fields ensured, its first read done).
    for (;;) {
      const done = await Promise.all(linkIds.map((id) => linkHandle(client, id).query(statusQuery).then((s) => !!s.lastCaughtUpAt, () => false)));
      const n = done.filter(Boolean).length;
      if (n === linkIds.length) break;
      if (performance.now() - t0 > 15 * 60_000) throw new Error(`${tag}: only ${n}/${linkIds.length} links caught up after 15 min`);
      await sleep(2000);
    }
    const warmupS = Math.round((performance.now() - t0) / 1000);
    await sleep(SCHEDULE_S * 1000); // one full schedule for everything to settle into its rhythm
    return await body({ client, worker, linkIds, warmupS });
  } finally {
    if (streams) {
      const s = await streamHandle(client, VENDOR_OPPORTUNITY_STREAM).query(streamStatusQuery).catch(() => undefined);
      if (s) process.stdout.write(`[stream head ${s.head}, ${s.consumers.length} consumers] `);
    }
    for (const id of [...linkIds.map(linkWorkflowId), streamWorkflowId(VENDOR_OPPORTUNITY_STREAM)]) {
      await client.workflow.getHandle(id).terminate('bench over').catch(() => undefined);
    }
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await client.connection.close();
  }
}

async function runOne(server: { address: string }, orgs: Orgs, conn: Record<string, string>, partners: number, mode: Mode): Promise<Measured> {
  const tag = `${{ 'per-link': 'l', stream: 's', 'stream-push': 'p' }[mode]}${partners}`;
  return withRun(server, conn, partners, mode, { tag }, async ({ client, worker, warmupS }) => {
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, memoryOf(worker.pid!).rss)), 1000);
    try {
      // Idle.
      const i0 = await vendorCalls(orgs);
      const it0 = performance.now();
      await sleep(SECONDS * 1000);
      const idleCalls = (await vendorCalls(orgs)) - i0; // admin routes (/__sandbox/) are not counted
      const idleS = (performance.now() - it0) / 1000;
      let reconciler: { passCalls: number; passesPerHour: number } | undefined;
      if (mode === 'stream-push') {
        // One reconciler pass, asked for: its calls × passes an hour complete the idle figure.
        const stream = streamHandle(client, VENDOR_OPPORTUNITY_STREAM);
        const before = await stream.query(streamStatusQuery);
        if (before.mode !== 'push') throw new Error(`stream-push: the stream says mode ${before.mode}`);
        const r0 = await vendorCalls(orgs);
        await stream.signal(streamPollNowSignal);
        for (let i = 0; ; i++) {
          const s = await stream.query(streamStatusQuery);
          if (s.lastPollAt !== before.lastPollAt && s.state === 'idle') break;
          if (i > 600) throw new Error('stream-push: the reconciler pass did not finish in 60 s');
          await sleep(100);
        }
        reconciler = { passCalls: (await vendorCalls(orgs)) - r0, passesPerHour: 3_600_000 / before.reconcileMs! };
      }
      // 1 change/s: a vendor opportunity changes every second.
      // Made by a person of the org: CDC leaves cosell's own writes unread (bench/person.ts).
      const sf = await personOfTheOrg(orgs.vendor as Parameters<typeof personOfTheOrg>[0]);
      const opps = (await sf.query<{ Id: string }>('SELECT Id FROM Opportunity LIMIT 200')).records.map((r) => r.Id);
      const c0 = await vendorCalls(orgs);
      const ct0 = performance.now();
      let changes = 0;
      while (performance.now() - ct0 < SECONDS * 1000) {
        const next = ct0 + (changes + 1) * 1000;
        await sf.sobject('Opportunity').update({ Id: opps[changes % opps.length], Amount: 1000 + changes });
        changes++;
        await sleep(Math.max(0, next - performance.now()));
      }
      const changingCalls = (await vendorCalls(orgs)) - c0 - changes; // less the bench's own writes
      const changeS = (performance.now() - ct0) / 1000;
      const hwm = memoryOf(worker.pid!).hwm;
      const idleWindowCallsPerHour = Math.round((idleCalls / idleS) * 3600);
      return {
        partners,
        mode,
        idleCallsPerHour: reconciler ? Math.round(idleWindowCallsPerHour + reconciler.passCalls * reconciler.passesPerHour) : idleWindowCallsPerHour,
        ...(reconciler ? { idleWindowCallsPerHour, reconcilerPassCalls: reconciler.passCalls, reconcilerPassesPerHour: reconciler.passesPerHour } : {}),
        changingCallsPerHour: Math.round((changingCalls / changeS) * 3600),
        changesApplied: changes,
        workerRssPeakMb: mb(peak),
        workerRssHwmMb: mb(hwm),
        warmupS,
      };
    } finally {
      clearInterval(sample);
    }
  });
}

interface Freshness {
  mode: Mode;
  changes: number;
  /** Changes seen in the target (or superseded by a later one of the same record seen there). */
  seen: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  meanMs: number;
  warmupS: number;
}

/** Source write → visible in the target, at 1 change/s for FRESH_SECONDS (see the header). */
async function runFreshness(server: { address: string }, orgs: Orgs, conn: Record<string, string>, mode: Mode): Promise<Freshness> {
  const tag = `f${{ 'per-link': 'l', stream: 's', 'stream-push': 'p' }[mode]}`;
  return withRun(server, conn, 1, mode, { tag, allOpportunities: true }, async ({ warmupS }) => {
    const p1 = orgs.p1;
    if (p1.kind !== 'hubspot') throw new Error('p1 is HubSpot');
    const hs = new HubspotClient({ basePath: p1.basePath, accessToken: p1.accessToken, numberOfApiCallRetries: 2 });
    const sf = await personOfTheOrg(orgs.vendor as Parameters<typeof personOfTheOrg>[0]);
    const opps = (await sf.query<{ Id: string }>(`SELECT Id FROM Opportunity ORDER BY Id LIMIT ${FRESH_RECORDS}`)).records.map((r) => r.Id);
    // The link's first catch-up may have been an empty log: wait for the measured records' deals.
    const dealOf = new Map<string, string>();
    for (let t = performance.now(); ; await sleep(1000)) {
      for (const d of await hs.crm.deals.getAll(100, undefined, ['cosell_source_id'])) if (d.properties.cosell_source_id) dealOf.set(d.properties.cosell_source_id, d.id);
      const missing = opps.filter((o) => !dealOf.has(o));
      if (missing.length === 0) break;
      if (performance.now() - t > 300_000) throw new Error(`freshness ${mode}: no deal for ${missing.join(', ')} 5 min after the warm-up`);
    }
    const oppOfDeal = new Map(opps.map((o) => [dealOf.get(o)!, o]));
    // Per record, the changes not seen yet: amount → when its write was answered.
    const pending = new Map<string, Array<{ amount: number; at: number }>>(opps.map((o) => [o, []]));
    const latencies: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const t = performance.now();
        const res = await hs.crm.deals.batchApi.read({ inputs: [...dealOf.values()].filter((d) => oppOfDeal.has(d)).map((id) => ({ id })), properties: ['amount'], propertiesWithHistory: [] });
        const now = performance.now();
        for (const d of res.results) {
          const list = pending.get(oppOfDeal.get(d.id)!)!;
          const shown = Number(d.properties.amount);
          const i = list.findIndex((c) => c.amount === shown);
          // This change and any earlier one of the record (superseded) are visible now.
          if (i >= 0) for (const c of list.splice(0, i + 1)) latencies.push(now - c.at);
        }
        await sleep(Math.max(0, 100 - (performance.now() - t)));
      }
    })();
    const start = performance.now();
    let changes = 0;
    while (performance.now() - start < FRESH_SECONDS * 1000) {
      const next = start + (changes + 1) * 1000;
      const opp = opps[changes % opps.length];
      const amount = 2_000_000 + changes; // never shown before: its appearance is this change
      await sf.sobject('Opportunity').update({ Id: opp, Amount: amount });
      pending.get(opp)!.push({ amount, at: performance.now() });
      changes++;
      await sleep(Math.max(0, next - performance.now()));
    }
    // The last changes get up to three poll schedules to show.
    const tail = performance.now();
    while ([...pending.values()].some((l) => l.length) && performance.now() - tail < 3 * SCHEDULE_S * 1000) await sleep(100);
    watching = false;
    await watcher;
    const sorted = [...latencies].sort((a, b) => a - b);
    const q = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN);
    return { mode, changes, seen: latencies.length, p50Ms: q(0.5), p95Ms: q(0.95), maxMs: Math.round(sorted.at(-1) ?? NaN), meanMs: Math.round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)), warmupS };
  });
}

async function main() {
  const what = [MEASURE.includes('calls') ? `vendor API calls per hour for 1…${MAX_PARTNERS} partners, per-link polling (today) vs one change stream, ${SECONDS} s per phase` : '', MEASURE.includes('freshness') ? `freshness at 1 change/s for ${FRESH_SECONDS} s, ${FRESH_MODES.join(' vs ')}` : ''].filter(Boolean).join('; ');
  console.log(`bench:fanout — ${what}; links every ${SCHEDULE_S} s; streams.coalesce ${COALESCE ?? `${DEFAULT_COALESCE} (default)`}; ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const cfg = {
    orgs: [
      // pubsub: the sandbox's Pub/Sub API (CDC), used by the stream-push runs only.
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 100, opportunities: 300, owners: 5 }, faults: { dailyLimit: BIG }, pubsub: {} },
      ...Array.from({ length: MAX_PARTNERS }, (_, i) => ({ id: `p${i + 1}`, kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 }, faults: { dailyLimit: BIG } })),
    ],
  };
  const sandboxFile = path.join(dir, 'sandbox.json');
  writeFileSync(sandboxFile, JSON.stringify(cfg));
  const [server, sandbox] = await Promise.all([
    startDevServer({ ui: false }),
    spawnCosell(['sandbox', '--config', sandboxFile, '--json'], { LOG_LEVEL: 'error' }, (out) => out.split('\n').some((l) => l.startsWith('{'))),
  ]);
  const orgs = (JSON.parse(sandbox.output.split('\n').find((l) => l.startsWith('{'))!) as { orgs: Orgs }).orgs;
  const conn = exportSandboxEnv(orgs, 'BENCHFAN');
  const results: Measured[] = [];
  const freshness: Freshness[] = [];
  try {
    for (const n of MEASURE.includes('calls') ? PARTNERS : []) {
      for (const mode of MODES) {
        process.stdout.write(`  ${n} partner(s), ${mode}: `);
        const r = await runOne(server, orgs, conn, n, mode);
        results.push(r);
        const parts = r.reconcilerPassCalls !== undefined ? ` (push idle ${r.idleWindowCallsPerHour} calls/h + reconciler ${r.reconcilerPassCalls} calls/pass × ${r.reconcilerPassesPerHour}/h)` : '';
        console.log(`idle ${r.idleCallsPerHour.toLocaleString()} calls/h${parts}, at 1 change/s ${r.changingCallsPerHour.toLocaleString()} calls/h, worker RSS peak ${r.workerRssPeakMb} MB (warm-up ${r.warmupS} s)`);
      }
    }
    for (const mode of MEASURE.includes('freshness') ? FRESH_MODES : []) {
      process.stdout.write(`  freshness, 1 partner, ${mode}: `);
      const f = await runFreshness(server, orgs, conn, mode);
      freshness.push(f);
      console.log(`p50 ${f.p50Ms} ms, p95 ${f.p95Ms} ms, max ${f.maxMs} ms (${f.seen}/${f.changes} changes seen; warm-up ${f.warmupS} s)`);
    }
  } finally {
    sandbox.child.kill('SIGTERM');
    await server.stop();
  }
  const at = (n: number, mode: string) => results.find((r) => r.partners === n && r.mode === mode);
  const lo = Math.min(...PARTNERS);
  const hi = Math.max(...PARTNERS);
  const ratios = Object.fromEntries(
    MODES.map((mode) => {
      const a = at(lo, mode);
      const b = at(hi, mode);
      return [mode, a && b ? { idle: round2(b.idleCallsPerHour / a.idleCallsPerHour), changing: round2(b.changingCallsPerHour / a.changingCallsPerHour) } : null];
    }),
  );
  console.log('');
  if (results.length) console.table(results.map((r) => ({ partners: r.partners, mode: r.mode, 'idle calls/h': r.idleCallsPerHour, '1 change/s calls/h': r.changingCallsPerHour, 'worker RSS peak MB': r.workerRssPeakMb })));
  for (const [mode, r] of Object.entries(ratios)) if (r) console.log(`  ${mode}: ${hi} vs ${lo} partner(s) = ${r.idle}× idle, ${r.changing}× at 1 change/s${mode !== 'per-link' ? `  (goal ≤ 1.1×: ${r.idle <= 1.1 && r.changing <= 1.1 ? 'met' : 'NOT met'})` : ''}`);
  // Idle with push against the same run's baselines (one org object: vendor.Opportunity).
  const idleGoal: Record<string, unknown> = {};
  for (const n of PARTNERS) {
    const p = at(n, 'stream-push');
    if (!p) continue;
    const vs = (m: Mode) => (at(n, m) ? ` = ${round2(p.idleCallsPerHour / Math.max(1, at(n, m)!.idleCallsPerHour))}× ${m}${m === 'per-link' ? ' (naive per-link polling)' : ' (stream, poll mode)'} ${at(n, m)!.idleCallsPerHour}` : '');
    console.log(`  idle with push, ${n} partner(s): ${p.idleCallsPerHour} calls/h per org object (goal ≤ 100: ${p.idleCallsPerHour <= 100 ? 'met' : 'NOT met'})${vs('stream')}${vs('per-link')}`);
    idleGoal[n] = { callsPerHour: p.idleCallsPerHour, met: p.idleCallsPerHour <= 100, vsStream: at(n, 'stream') ? round2(p.idleCallsPerHour / Math.max(1, at(n, 'stream')!.idleCallsPerHour)) : null, vsPerLink: at(n, 'per-link') ? round2(p.idleCallsPerHour / Math.max(1, at(n, 'per-link')!.idleCallsPerHour)) : null };
  }
  const fresh = (m: Mode) => freshness.find((f) => f.mode === m);
  const push = fresh('stream-push');
  const poll = fresh('stream');
  const freshnessGoal = push ? { pushP95Ms: push.p95Ms, goalMs: 2000, met: push.p95Ms <= 2000, pushVsPollP95: poll ? round2(push.p95Ms / poll.p95Ms) : null } : null;
  if (freshness.length) {
    console.table(freshness.map((f) => ({ mode: f.mode === 'stream-push' ? 'push (CDC)' : f.mode === 'stream' ? `poll (${SCHEDULE_S} s)` : f.mode, 'p50 ms': f.p50Ms, 'p95 ms': f.p95Ms, 'max ms': f.maxMs, 'mean ms': f.meanMs, seen: `${f.seen}/${f.changes}` })));
    if (freshnessGoal) console.log(`  freshness with push: p95 ${freshnessGoal.pushP95Ms} ms (goal ≤ 2,000 ms: ${freshnessGoal.met ? 'met' : 'NOT met'})${poll ? `; push/poll p95 = ${freshnessGoal.pushVsPollP95}× (poll p95 ${poll.p95Ms} ms)` : ''}`);
  }
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    path.join(root, 'bench/results/fanout.json'),
    JSON.stringify({ at: new Date().toISOString(), secondsPerPhase: SECONDS, scheduleS: SCHEDULE_S, cores: os.cpus().length, loadAvg: os.loadavg(), results, ratios, idleWithPush: { reconcile: RECONCILE, byPartners: idleGoal }, freshness: { secondsOfChange: FRESH_SECONDS, changesPerSecond: 1, coalesce: COALESCE ?? '2s', records: FRESH_RECORDS, readEveryMs: 100, byMode: freshness, goal: freshnessGoal }, goal: { flatRatio: 1.1, idleWithPushPerOrgObject: 100, freshnessPushP95Ms: 2000 } }, null, 2) + '\n',
  );
  console.log('wrote bench/results/fanout.json');
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

await main();
process.exit(0);
