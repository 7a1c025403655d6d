/**
 * npm run bench:overlaps — the pure overlap engine (normalise, keyed hash, match, classify) on
 * 1,000,000 vendor accounts × 200,000 partner companies of messy synthetic data, with two baselines
 * measured in the same run: the same work unkeyed (plain normalised keys: what HMAC costs) and the same
 * keyed work at 1/10 scale (how it scales). Each variant runs in its own child process so its peak RSS
 * (resourceUsage().maxRSS) is its own. Writes bench/results/overlaps.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeOverlapsAsync } from '../overlaps/engine.js';
import { createKeyHasher, plainHasher } from '../overlaps/hashing.js';
import { POPULATION_BIT, type Sharing, type SideAccount } from '../overlaps/types.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VENDOR = Number(process.env.BENCH_VENDOR ?? 1_000_000);
const PARTNER = Number(process.env.BENCH_PARTNER ?? 200_000);
/** Share of partner companies that are (messy variants of) vendor accounts. */
const OVERLAP_SHARE = 0.3;
// Worst case for the engine: every population shared, so every record is hashed and matched.
const SHARING: Sharing = { vendor: ['customers', 'opportunities', 'prospects'], partner: ['customers', 'opportunities', 'prospects'] };

type Variant = { name: string; keyed: boolean; vendor: number; partner: number };
const VARIANTS: Variant[] = [
  { name: 'keyed-full', keyed: true, vendor: VENDOR, partner: PARTNER },
  { name: 'plain-full', keyed: false, vendor: VENDOR, partner: PARTNER },
  { name: 'keyed-tenth', keyed: true, vendor: Math.round(VENDOR / 10), partner: Math.round(PARTNER / 10) },
];

// ---- deterministic messy data --------------------------------------------------------------------
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}
const SYL = ['ka', 'lo', 'mi', 'ne', 'ro', 'ta', 'vi', 'zu', 'ex', 'on', 'ar', 'el', 'is', 'um', 'ba', 'co', 'da', 'fe', 'gi', 'ho', 'ju', 'ly', 'mo', 'nu', 'pa', 'qui', 're', 'si', 'to', 'va', 'wi', 'xe', 'yo', 'ze', 'tri', 'bel', 'cor', 'dex', 'fin', 'gal'];
const WORDS = ['Systems', 'Labs', 'Logistics', 'Health', 'Energy', 'Foods', 'Capital', 'Analytics', 'Robotics', 'Media'];
const SUFFIXES = ['', ' Inc.', ', Inc', ' Ltd', ' Limited', ' GmbH', ' S.A.', ' LLC', ' Corp.', ' AG', ' B.V.'];
const TLDS = ['com', 'com', 'com', 'io', 'de', 'co.uk', 'fr', 'com.au', 'nl', 'es'];

function baseOf(i: number): { stem: string; word: string; tld: string } {
  let n = i;
  let stem = '';
  for (let k = 0; k < 4; k++) {
    stem += SYL[n % SYL.length];
    n = Math.floor(n / SYL.length);
  }
  stem += SYL[(i * 7) % SYL.length];
  return { stem, word: WORDS[i % WORDS.length], tld: TLDS[(i >>> 3) % TLDS.length] };
}
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

function populations(r: () => number): number {
  const x = r();
  if (x < 0.2) return POPULATION_BIT.customers | (r() < 0.2 ? POPULATION_BIT.opportunities : 0);
  if (x < 0.35) return POPULATION_BIT.opportunities | POPULATION_BIT.prospects;
  return POPULATION_BIT.prospects;
}

function generate(vendorCount: number, partnerCount: number) {
  const r = rng(42);
  const vendor: SideAccount[] = new Array(vendorCount);
  for (let i = 0; i < vendorCount; i++) {
    const b = baseOf(i);
    const name = `${cap(b.stem)} ${b.word}${SUFFIXES[i % SUFFIXES.length]}`;
    const domain = r() < 0.1 ? null : `${r() < 0.5 ? 'https://www.' : ''}${b.stem}${b.word.toLowerCase()}.${b.tld}${r() < 0.2 ? '/contact' : ''}`;
    vendor[i] = { id: `001V${i.toString(36).padStart(8, '0')}`, name, domain, populations: populations(r) };
  }
  const partner: SideAccount[] = new Array(partnerCount);
  const truth = new Map<string, string>(); // partner id → vendor id it was derived from
  for (let j = 0; j < partnerCount; j++) {
    const overlap = r() < OVERLAP_SHARE;
    const i = overlap ? Math.floor(r() * vendorCount) : vendorCount + j;
    const b = baseOf(i);
    // Messy: case, legal suffix, www./subdomain, another country TLD, sometimes no domain at all.
    let name = `${cap(b.stem)} ${b.word}${SUFFIXES[(j * 3) % SUFFIXES.length]}`;
    if (r() < 0.3) name = name.toUpperCase();
    const roll = r();
    const host = `${b.stem}${b.word.toLowerCase()}`;
    const tld = roll < 0.15 ? TLDS[(j + 1) % TLDS.length] : b.tld;
    const domain = roll > 0.92 ? '' : `${roll < 0.4 ? 'WWW.' : roll < 0.5 ? 'eu.' : ''}${host}.${tld}`;
    const id = `p${j}`;
    partner[j] = { id, name, domain, populations: populations(r) };
    if (overlap) truth.set(id, vendor[i].id);
  }
  return { vendor, partner, truth };
}

// ---- one variant (child process) -----------------------------------------------------------------
async function runChild(v: Variant) {
  const t0 = performance.now();
  const { vendor, partner, truth } = generate(v.vendor, v.partner);
  const genMs = performance.now() - t0;
  global.gc?.();
  const rssAfterData = process.memoryUsage().rss;
  const hasher = v.keyed ? createKeyHasher('bench-secret-0123456789abcdef', 'acme') : plainHasher;
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
  const cpu0 = process.cpuUsage();
  const t1 = performance.now();
  const phaseAt: Record<string, number> = {};
  const result = await computeOverlapsAsync({ vendor, partner, sharing: SHARING, hasher }, (phase) => (phaseAt[phase] = performance.now()));
  const engineMs = performance.now() - t1;
  const phasesMs = {
    vendorNormaliseHash: Math.round(phaseAt['vendor-hashed'] - t1),
    partnerNormaliseHash: Math.round(phaseAt['partner-hashed'] - phaseAt['vendor-hashed']),
    matchClassifyResolve: Math.round(t1 + engineMs - phaseAt['partner-hashed']),
  };
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  // Quality against the generator's ground truth (overlaps are all shared populations here).
  let truePositives = 0;
  for (const o of result.overlaps) if (truth.get(o.partnerId) === o.vendorId) truePositives++;
  const out = {
    variant: v.name,
    keyed: v.keyed,
    vendorRecords: v.vendor,
    partnerRecords: v.partner,
    generateMs: Math.round(genMs),
    engineMs: Math.round(engineMs),
    engineCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    phasesMs,
    recordsPerSecond: Math.round((v.vendor + v.partner) / (engineMs / 1000)),
    /** Per CPU-second: less sensitive than wall time to other processes sharing the machine. */
    recordsPerCpuSecond: Math.round((v.vendor + v.partner) / ((cpu.user + cpu.system) / 1e6)),
    loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    rssAfterDataMB: Math.round(rssAfterData / 1048576),
    engineRssMB: Math.round(process.resourceUsage().maxRSS / 1024 - rssAfterData / 1048576),
    peakHeapMB: Math.round(peakHeap / 1048576),
    overlaps: result.stats.overlaps,
    keys: { vendor: result.stats.vendorKeys, partner: result.stats.partnerKeys },
    byMatch: result.stats.byMatch,
    byPair: result.stats.byPair,
    recall: Math.round((truePositives / truth.size) * 10000) / 10000,
    precision: Math.round((truePositives / Math.max(1, result.stats.overlaps)) * 10000) / 10000,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// ---- orchestrator ------------------------------------------------------------------------------
async function main() {
  const child = process.argv.indexOf('--child');
  if (child >= 0) {
    const v = VARIANTS.find((x) => x.name === process.argv[child + 1]);
    if (!v) throw new Error(`unknown variant ${process.argv[child + 1]}`);
    await runChild(v);
    return;
  }
  const loadAtStart = os.loadavg().map((x) => Math.round(x * 10) / 10);
  const results: Record<string, any> = {};
  for (const v of VARIANTS) {
    process.stderr.write(`overlaps bench: ${v.name} (${v.vendor.toLocaleString()} × ${v.partner.toLocaleString()}) …\n`);
    const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', path.join(HERE, 'overlaps.ts'), '--child', v.name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`variant ${v.name} failed with status ${r.status}`);
    results[v.name] = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const x = results[v.name];
    process.stderr.write(`  engine ${x.engineMs} ms (phases ${JSON.stringify(x.phasesMs)}; ${x.recordsPerSecond.toLocaleString()} records/s), peak RSS ${x.peakRssMB} MB (data ${x.rssAfterDataMB} MB), overlaps ${x.overlaps.toLocaleString()}, recall ${x.recall}, precision ${x.precision}\n`);
  }
  const full = results['keyed-full'];
  const plain = results['plain-full'];
  const tenth = results['keyed-tenth'];
  const summary = {
    benchmark: 'overlaps',
    at: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverageAtStart: loadAtStart,
    scale: { vendor: VENDOR, partner: PARTNER, overlapShare: OVERLAP_SHARE, sharing: SHARING },
    results,
    ratios: {
      keyedVsPlainTime: round2(full.engineMs / plain.engineMs),
      keyedVsPlainCpu: round2(full.engineCpuMs / plain.engineCpuMs),
      fullVsTenthCpu: round2(full.engineCpuMs / tenth.engineCpuMs),
      keyedVsPlainPeakRss: round2(full.peakRssMB / plain.peakRssMB),
      fullVsTenthTime: round2(full.engineMs / tenth.engineMs),
      fullVsTenthEngineRss: round2(full.engineRssMB / Math.max(1, tenth.engineRssMB)),
    },
  };
  mkdirSync(path.join(HERE, 'results'), { recursive: true });
  writeFileSync(path.join(HERE, 'results', 'overlaps.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`overlaps: ${VENDOR.toLocaleString()} vendor × ${PARTNER.toLocaleString()} partner records`);
  console.log(`  (load average at start ${loadAtStart.join(' ')} on ${os.cpus().length} cores: compare CPU time when the machine is shared)`);
  console.log(`  keyed (HMAC-SHA256)  ${full.engineMs} ms wall, ${full.engineCpuMs} ms CPU   ${full.recordsPerSecond.toLocaleString()} records/s   peak RSS ${full.peakRssMB} MB (input data ${full.rssAfterDataMB} MB)   ${full.overlaps.toLocaleString()} overlaps`);
  console.log(`  plain (baseline)     ${plain.engineMs} ms wall, ${plain.engineCpuMs} ms CPU   ${plain.recordsPerSecond.toLocaleString()} records/s   peak RSS ${plain.peakRssMB} MB`);
  console.log(`  keyed at 1/10 scale  ${tenth.engineMs} ms wall, ${tenth.engineCpuMs} ms CPU   peak RSS ${tenth.peakRssMB} MB`);
  console.log(`  ratios: keyed/plain wall ×${summary.ratios.keyedVsPlainTime}, CPU ×${summary.ratios.keyedVsPlainCpu}, RSS ×${summary.ratios.keyedVsPlainPeakRss}; full/tenth wall ×${summary.ratios.fullVsTenthTime}, CPU ×${summary.ratios.fullVsTenthCpu} (10× the data)`);
  console.log(`  match quality vs generator truth: recall ${full.recall}, precision ${full.precision}`);
  console.log('  wrote bench/results/overlaps.json');
}

function round2(x: number) {
  return Math.round(x * 100) / 100;
}

await main();
