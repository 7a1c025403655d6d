/**
 * `npm run bench:console`: how fast the console's pages render with 100,000 registrations in the ledger
 * (BENCH_CONSOLE_REGISTRATIONS), through the whole HTTP path (fastify inject: session, CSRF token,
 * SQL, HTML) on a SQLite ledger (or PostgreSQL with DATABASE_URL) and a real Temporal dev server (the
 * detail and link pages query workflows). Target: p95 ≤ 200 ms per page.
 *
 * Baseline in the same run, labelled naive: the review queue's data the unpaged way — every pending
 * registration loaded (`registrations.list`), then filtered, sorted and sliced in JavaScript — against
 * the paged SQL the console uses (`registrations.page`). Writes bench/results/console.json.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { buildConsole } from '../console/server.js';
import { hashPassword } from '../console/users.js';
import { openLedger } from '../ledger/index.js';
import type { Registration } from '../ledger/types.js';
import { startDevServer } from '../app/devServer.js';
import { offlineNetwork } from '../test/console/network.js';
import { latencySummary as summary } from './stats.js';

const N = Number(process.env.BENCH_CONSOLE_REGISTRATIONS ?? 100_000);
const RUNS = Number(process.env.BENCH_CONSOLE_RUNS ?? 30);
const TARGET_MS = 200;
const here = path.dirname(fileURLToPath(import.meta.url));
const STATUSES = ['pending-review', 'pending-review', 'pending-review', 'approved', 'auto-approved', 'rejected', 'rejected', 'expired', 'won', 'lost'];
const PARTNERS = ['acme', 'globex'];
const WORDS = ['Acme', 'Initrode', 'Globo', 'Hooli', 'Vandelay', 'Umbrella', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne', 'Soylent', 'Massive'];

/** A deterministic pseudo-random sequence (the same ledger every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const ledger = await openLedger(url ? { url } : { file: path.join(mkdtempSync(path.join(os.tmpdir(), 'cosell-bench-console-')), 'ledger.sqlite') });
  const rand = rng(15);
  const t0 = Date.UTC(2026, 0, 1);
  const fill = Date.now();
  const now = new Date().toISOString();
  for (let start = 0; start < N; start += 500) {
    const rows = [];
    for (let i = start; i < Math.min(N, start + 500); i++) {
      const status = STATUSES[Math.floor(rand() * STATUSES.length)];
      const name = `${WORDS[Math.floor(rand() * WORDS.length)]} ${WORDS[Math.floor(rand() * WORDS.length)]} ${i}`;
      const submitted = new Date(t0 + Math.floor(rand() * 300 * 86_400_000)).toISOString();
      const decision = { outcome: status === 'pending-review' ? 'review' : 'approved', ruleId: 'tier-auto-approval', reason: `amount above the tier's auto-approval limit (deal ${i})`, matches: [{ kind: 'vendor-account', id: `001${i}`, name, domain: `d${i}.example`, score: 1, matchedOn: 'domain' }] };
      rows.push({
        id: `${PARTNERS[i % 2]}:${i}`,
        partner: PARTNERS[i % 2],
        source_id: String(i),
        customer_name: name,
        customer_name_norm: name.toLowerCase(),
        customer_domain: `d${i}.example`,
        customer_key: status === 'pending-review' || status === 'approved' || status === 'auto-approved' ? `domain:d${i}.example` : null,
        country: 'US',
        amount: Math.round(rand() * 500_000),
        currency: 'USD',
        status,
        reason: decision.reason,
        decided_by: null,
        decided_at: null,
        submitted_at: submitted,
        expires_at: null,
        review_due_at: status === 'pending-review' ? new Date(Date.parse(submitted) + 4 * 3_600_000).toISOString() : null,
        extensions: 0,
        vendor_opportunity_id: null,
        details: JSON.stringify({ linkId: 'acme-deals', decision }),
        created_at: now,
        updated_at: now,
      });
    }
    await ledger.db.insertInto('registrations').values(rows).execute();
  }
  const fillMs = Date.now() - fill;
  const pending = (await ledger.registrations.page({ status: ['pending-review'], limit: 1 })).total;
  process.stdout.write(`ledger: ${N.toLocaleString('en-US')} registrations (${pending.toLocaleString('en-US')} pending review) written in ${(fillMs / 1000).toFixed(1)} s (${ledger.dialect})\n`);

  const server = await startDevServer();
  const client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: server.namespace });
  const password = 'bench-password';
  const app = await buildConsole({ network: offlineNetwork(), ledger, client, engine: () => Promise.reject(new Error('not in the bench')), users: { sessionSecret: 'bench-session-secret-of-32-characters-or-more', users: [{ name: 'bench', role: 'admin', passwordHash: await hashPassword(password) }] } });
  const cookieOf = (res: { headers: Record<string, unknown> }) => [res.headers['set-cookie']].flat().filter(Boolean).map((c) => String(c).split(';')[0]).join('; ');
  const form = await app.inject({ method: 'GET', url: '/login' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1];
  const signedIn = await app.inject({ method: 'POST', url: '/login', headers: { cookie: cookieOf(form), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ name: 'bench', password, _csrf: csrf }).toString() });
  const cookie = cookieOf(signedIn);

  const pages: Record<string, string> = {
    'review queue (pending, by due time)': '/queue',
    'review queue by amount, desc': '/queue?sort=amount&dir=desc',
    'review queue, page 500': '/queue?page=500',
    'review queue, customer search': '/queue?q=hooli+stark',
    'review queue, one partner by customer': '/queue?partner=globex&sort=customer',
    'all registrations': '/registrations?status=',
    'registration detail': `/registrations/${encodeURIComponent('acme:4242')}`,
    'link health': '/links',
    'dead letters of a link': '/links/acme-deals',
    'queue as JSON (/api/registrations)': '/api/registrations?sort=amount',
  };
  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const figures: Record<string, ReturnType<typeof summary> & { bytes: number; ok: boolean }> = {};
  for (const [label, u] of Object.entries(pages)) {
    let bytes = 0;
    const get = async () => {
      const res = await app.inject({ method: 'GET', url: u, headers: { cookie } });
      if (res.statusCode !== 200) throw new Error(`${u}: HTTP ${res.statusCode} ${res.body.slice(0, 200)}`);
      bytes = res.body.length;
    };
    for (let i = 0; i < 3; i++) await get();
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) xs.push(await time(get));
    const s = summary(xs);
    figures[label] = { ...s, bytes, ok: s.p95 <= TARGET_MS };
    process.stdout.write(`  ${label.padEnd(40)} p50 ${String(s.p50).padStart(6)} ms  p95 ${String(s.p95).padStart(6)} ms  max ${String(s.max).padStart(6)} ms  ${(bytes / 1024).toFixed(0)} KiB  ${s.p95 <= TARGET_MS ? 'ok' : `OVER ${TARGET_MS} ms`}\n`);
  }

  // The queue's data, paged SQL vs the naive unpaged read (all pending rows, then sort and slice in JS).
  const byDue = (a: Registration, b: Registration) => (a.reviewDueAt ?? '\uffff').localeCompare(b.reviewDueAt ?? '\uffff') || a.id.localeCompare(b.id);
  const paged: number[] = [];
  const naive: number[] = [];
  for (let i = 0; i < Math.max(5, Math.floor(RUNS / 3)); i++) {
    paged.push(await time(() => ledger.registrations.page({ status: ['pending-review'], sort: 'due', limit: 50, offset: 0 })));
    naive.push(await time(async () => (await ledger.registrations.list({ status: 'pending-review' })).sort(byDue).slice(0, 50)));
  }
  const p = summary(paged);
  const n = summary(naive);
  const ratio = Math.round((n.p50 / p.p50) * 10) / 10;
  process.stdout.write(`\n  queue data, paged SQL (registrations.page)      p50 ${p.p50} ms  p95 ${p.p95} ms\n  queue data, naive: unpaged list + JS sort/slice  p50 ${n.p50} ms  p95 ${n.p95} ms\n  → paged is ${ratio}× faster than the naive baseline (p50)\n`);
  const worst = Math.max(...Object.values(figures).map((f) => f.p95));
  process.stdout.write(`\n  load average during the run: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores (shared machine)\n`);
  process.stdout.write(`\n  slowest page p95 ${worst} ms: ${worst <= TARGET_MS ? `every page within ${TARGET_MS} ms` : `OVER the ${TARGET_MS} ms target`}\n`);

  const result = { registrations: N, pendingReview: pending, ledger: ledger.dialect, runsPerPage: RUNS, targetMs: TARGET_MS, pages: figures, queueData: { paged: p, naiveUnpaged: n, naiveOverPagedP50: ratio }, slowestP95Ms: worst, machine: { cpus: os.cpus().length, node: process.version, loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10) } };
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'console.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`  wrote bench/results/console.json\n`);
  await app.close();
  await client.connection.close();
  await server.stop();
  await ledger.close();
  if (worst > TARGET_MS) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
