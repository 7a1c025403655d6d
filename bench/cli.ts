/**
 * npm run bench:cli — what the built package saves over running the TypeScript sources through tsx.
 *
 *  1. CLI start: `cosell --version` and `cosell status --help`, BENCH_CLI_RUNS times each (default 10,
 *     alternating), from the checkout (bin/cosell.js → tsx → cli/main.ts: the baseline, how every
 *     `cosell` ran before the package) and from the installed package (test/helpers/installedPackage.ts:
 *     the tarball in a fresh project, bin/cosell.js → dist/). The floor is `node -e 0`: Node's own start,
 *     which no CLI on Node can beat.
 *  2. The worker: `cosell worker --metrics-port 0` (no network file) against a dev server, from each,
 *     BENCH_CLI_WORKER_RUNS times (default 2): seconds until /readyz is 200 (bundling the workflow code
 *     in its child included), and the worker process's resident memory then (VmRSS) and at its peak
 *     (VmHWM), read from /proc after a 3 s settle.
 * Medians (and min / max) per case; ratios are baseline ÷ package. Writes bench/results/cli.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../app/devServer.js';
import { CHECKOUT, installPackage } from '../test/helpers/installedPackage.js';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 10);
const WORKER_RUNS = Number(process.env.BENCH_CLI_WORKER_RUNS ?? 2);

const env = (extra: Record<string, string> = {}) => {
  const e: Record<string, string | undefined> = { ...process.env, COSELL_LOG_FORMAT: 'json', ...extra };
  for (const k of ['COSELL_CONFIG', 'COSELL_METRICS_PORT', 'NODE_OPTIONS']) delete e[k];
  return e;
};
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { median: round(s[Math.floor(s.length / 2)]), min: round(s[0]), max: round(s[s.length - 1]), runs: s.length };
};
const ratio = (base: number, x: number) => Math.round((base / x) * 100) / 100;

console.log('building and installing the package…');
const pkg = installPackage();
const variants = {
  source: { label: 'checkout: tsx + TypeScript sources (baseline)', cmd: [process.execPath, path.join(CHECKOUT, 'bin', 'cosell.js')], cwd: CHECKOUT },
  package: { label: 'installed package: dist/', cmd: [pkg.bin], cwd: pkg.project },
} as const;
type Variant = keyof typeof variants;

function timeRun(cmd: readonly string[], cwd: string): number {
  const t = performance.now();
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd, env: env(), encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

// 1. CLI start.
const cli: Record<string, unknown> = {};
const floorMs = Array.from({ length: RUNS }, () => timeRun([process.execPath, '-e', '0'], CHECKOUT));
cli.floor = { what: 'node -e 0', ms: stats(floorMs) };
for (const args of [['--version'], ['status', '--help']]) {
  const ms: Record<Variant, number[]> = { source: [], package: [] };
  timeRun([...variants.source.cmd, ...args], variants.source.cwd); // warm the file cache for both once
  timeRun([...variants.package.cmd, ...args], variants.package.cwd);
  for (let i = 0; i < RUNS; i++) for (const v of ['source', 'package'] as const) ms[v].push(timeRun([...variants[v].cmd, ...args], variants[v].cwd));
  const source = stats(ms.source);
  const packaged = stats(ms.package);
  cli[`cosell ${args.join(' ')}`] = { sourceMs: source, packageMs: packaged, speedup: ratio(source.median, packaged.median), packageAboveFloorMs: Math.round(packaged.median - stats(floorMs).median) };
  console.log(`cosell ${args.join(' ')}: source ${source.median} ms, package ${packaged.median} ms (×${ratio(source.median, packaged.median)}; floor ${stats(floorMs).median} ms)`);
}

// 2. The worker.
const procStatus = (pid: number) => {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
};
async function workerRun(v: Variant, address: string): Promise<{ readySeconds: number; rssMb: number; peakMb: number }> {
  const { cmd, cwd } = variants[v];
  const started = performance.now();
  const child = spawn(cmd[0], [...cmd.slice(1), 'worker', '--metrics-port', '0', '--task-queue', `bench-cli-${v}-${Date.now()}`], { cwd, env: env({ TEMPORAL_ADDRESS: address }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  try {
    const deadline = Date.now() + 240_000;
    let readySeconds: number | undefined;
    while (readySeconds === undefined) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${v} worker never ready: ${out.slice(-1000)}`);
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"serving \/metrics/.exec(out)?.[1];
      if (url && (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200) readySeconds = Math.round((performance.now() - started) / 100) / 10;
      else await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 3000));
    return { readySeconds, ...procStatus(child.pid!) };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

console.log('starting a dev server for the workers…');
const server = await startDevServer({ ui: false });
const worker: Record<string, unknown> = {};
try {
  const runs: Record<Variant, Array<{ readySeconds: number; rssMb: number; peakMb: number }>> = { source: [], package: [] };
  for (let i = 0; i < WORKER_RUNS; i++) {
    for (const v of ['source', 'package'] as const) {
      runs[v].push(await workerRun(v, server.address));
      console.log(`worker (${v}): ${JSON.stringify(runs[v].at(-1))}`);
    }
  }
  for (const v of ['source', 'package'] as const) {
    worker[v] = { readySeconds: stats(runs[v].map((r) => r.readySeconds)), rssMb: stats(runs[v].map((r) => r.rssMb)), peakMb: stats(runs[v].map((r) => r.peakMb)) };
  }
  const med = (v: Variant, k: 'readySeconds' | 'rssMb' | 'peakMb') => (worker[v] as Record<string, { median: number }>)[k].median;
  worker.ratios = { readySeconds: ratio(med('source', 'readySeconds'), med('package', 'readySeconds')), rssMb: ratio(med('source', 'rssMb'), med('package', 'rssMb')), peakMb: ratio(med('source', 'peakMb'), med('package', 'peakMb')) };
} finally {
  await server.stop();
  rmSync(path.dirname(pkg.project), { recursive: true, force: true });
}

const results = {
  when: new Date().toISOString(),
  machine: { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10) },
  variants: Object.fromEntries(Object.entries(variants).map(([k, v]) => [k, v.label])),
  cli,
  worker,
};
mkdirSync(path.join(CHECKOUT, 'bench', 'results'), { recursive: true });
writeFileSync(path.join(CHECKOUT, 'bench', 'results', 'cli.json'), JSON.stringify(results, null, 2) + '\n');
console.log(JSON.stringify({ cli, worker }, null, 2));
