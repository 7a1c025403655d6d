import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLinks } from '../../lib/links.js';
import { loadNetwork } from '../../lib/config.js';
import { statusQuery } from '../../workflows/index.js';
import { sandboxEnv } from '../helpers/network.js';
import { reachProgress } from '../helpers/wait.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { temporalAddress, testClient, uniqueQueue } from '../helpers/temporal.js';
import { copyStockMapping } from '../sync/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { linkWorkflowId, linkHandle, streamWorkflowId } from '../../lib/workflowClient.js';

/**
 * Crash test on a change stream: 3,000 vendor opportunities fan out through ONE vendor Opportunity
 * stream to two partners' HubSpot portals while the worker process is killed with SIGKILL three times
 * at random moments of the fan-out (the stream's log fills in a couple of 2,000-record pages, each one
 * transaction with its feed cursor, so the kills land around and after it, while the links read the
 * log), and the CRMs inject 5xx, 429 bursts and timeouts. Afterwards each portal holds exactly the
 * expected deals: 0 missing, 0 duplicates, 0 wrong fields.
 */
const N = 3_000;
const PARTNERS = ['acme', 'globex'] as const;
const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const taskQueue = uniqueQueue('stream-crash');
const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const vendorId = `vendor-${tag}`;
const linkIds = PARTNERS.map((p) => `opps-${p}-${tag}`);
const CHAOS = { errorRate: 0.05, burst429Rate: 0.01, burst429Length: 4, timeoutRate: 0.01, timeoutMs: 1500 };

let sb: TestSandbox;
let client: Client;
let configFile: string;
let ledgerFile: string;
let child: ChildProcess | undefined;

function startWorker(): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/e2e/worker.ts')], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), COSELL_CONFIG: configFile, COSELL_TASK_QUEUE: taskQueue, WORKFLOW_BUNDLE: inject('workflowBundlePath'), LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('worker ready')) resolve(p);
    });
    p.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 200, opportunities: N, owners: 5 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 5, opportunities: 0, owners: 1 } },
      { id: 'globex', kind: 'hubspot', role: 'partner', seed: { accounts: 5, opportunities: 0, owners: 1 } },
    ],
  });
  const conn = sandboxEnv(sb, 'STRCRASH');
  const dir = tempDir('cosell-stream-crash-');
  // Every vendor opportunity goes to the partner (the stock filter keeps only partner-registered ones).
  const mapping = copyStockMapping(dir, 'salesforce-opportunity-to-hubspot-deal.yaml', [[/^filter: .*$/m, 'filter: not isBlank(Name)']]);
  configFile = path.join(dir, 'cosell.yaml');
  ledgerFile = path.join(dir, 'ledger.sqlite');
  writeFileSync(
    configFile,
    `vendor: { id: ${vendorId}, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
  - { id: globex, name: Globex Integrators, kind: hubspot, tier: gold, connection: ${conn.globex} }
ledger: { file: ${ledgerFile} }
links:
${linkIds.map((id, i) => `  - { id: ${id}, from: ${vendorId}.Opportunity, to: ${PARTNERS[i]}.deals, mapping: ${mapping}, schedule: 1h, share: all }`).join('\n')}
streams: { enabled: true, poll: 1s }
`,
  );
  client = await testClient();
}, 120_000);

afterAll(async () => {
  for (const id of [...linkIds.map(linkWorkflowId), streamWorkflowId(`${vendorId}:Opportunity`)]) await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  child?.kill('SIGKILL');
  await sb?.stop();
  await client?.connection.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Log entries plus records landed so far (ledger), read beside the worker (SQLite WAL allows a reader): 0…3N. */
function progress(): { logged: number; landed: number } {
  if (!existsSync(ledgerFile)) return { logged: 0, landed: 0 };
  const db = new Database(ledgerFile, { readonly: true, fileMustExist: true });
  try {
    const n = (q: string) => (db.prepare(q).get() as { n: number }).n;
    return { logged: n('select count(*) as n from stream_records'), landed: n('select count(*) as n from record_pairs') };
  } catch {
    return { logged: 0, landed: 0 }; // not migrated yet
  } finally {
    db.close();
  }
}
const done = () => {
  const p = progress();
  return p.logged + p.landed;
};

/** Where the fan-out stands, for a failure message: ledger progress and each link's status. */
async function where(): Promise<string> {
  const statuses = await Promise.all(linkIds.map((id) => linkHandle(client, id).query(statusQuery).catch((e) => String(e))));
  return `${JSON.stringify(progress())}; ${JSON.stringify(statuses)}`;
}

describe('crash test on a change stream', () => {
  it('3,000 records fan out to two partners exactly, through 3 SIGKILLs and injected 5xx / 429 / timeouts', async () => {
    // Warm the link up (custom fields on both sides) before the chaos starts, then turn chaos on.
    child = await startWorker();
    await sb.faults('vendor', CHAOS);
    await sb.faults('acme', CHAOS);
    await sb.faults('globex', CHAOS);
    await startLinks(client, loadNetwork(configFile), { taskQueue });
    const started = Date.now();

    // Progress counts log entries (0…N) then landed pairs (N…3N): kill 1 early, kills 2 and 3 while the links read the log.
    for (const [lo, hi] of [[0.1, 0.8], [1.1, 1.9], [2.0, 2.8]] as const) {
      const at = Math.floor(N * (lo + Math.random() * (hi - lo)));
      await reachProgress(done, at, where);
      await sleep(Math.random() * 1000);
      const pid = child.pid!;
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      console.log(`stream crash test: SIGKILL of pid ${pid} at ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(progress())} so far`);
      child = await startWorker();
    }

    let statuses;
    for (;;) {
      statuses = await Promise.all(linkIds.map((id) => linkHandle(client, id).query(statusQuery)));
      // Completion is read from the ledger (the workflows' counts miss pages whose worker died after committing).
      if (statuses.every((s) => s.state === 'idle') && progress().landed >= 2 * N) break;
      if (Date.now() - started > 240_000) throw new Error(`not caught up: ${await where()}`);
      await sleep(1000);
    }
    await sb.faults('vendor', {});
    await sb.faults('acme', {});
    await sb.faults('globex', {});

    // Expected: every vendor opportunity, mapped.
    const sf = sb.jsforce('vendor');
    const opps = (await sf.query<{ Id: string; Name: string; Amount: number | null; StageName: string }>('SELECT Id, Name, Amount, StageName FROM Opportunity', { autoFetch: true, maxFetch: N + 10 })).records;
    expect(opps).toHaveLength(N);
    for (const partner of PARTNERS) {
      const deals = await sb.hubspot(partner).crm.deals.getAll(100, undefined, ['cosell_source_id', 'dealname', 'amount', 'cosell_vendor_stage']);
      const bySource = new Map<string, (typeof deals)[number][]>();
      for (const d of deals) {
        const k = d.properties.cosell_source_id ?? '';
        bySource.set(k, [...(bySource.get(k) ?? []), d]);
      }
      let missing = 0;
      let duplicates = 0;
      let wrong = 0;
      for (const o of opps) {
        const got = bySource.get(o.Id) ?? [];
        if (got.length === 0) missing++;
        if (got.length > 1) duplicates += got.length - 1;
        const d = got[0]?.properties;
        if (d && (d.dealname !== o.Name || Number(d.amount ?? NaN) !== (o.Amount ?? NaN) || d.cosell_vendor_stage !== o.StageName)) {
          if (!(o.Amount === null && (d.amount === null || d.amount === '')) || d.dealname !== o.Name || d.cosell_vendor_stage !== o.StageName) wrong++;
        }
      }
      const extra = deals.length - (opps.length - missing) - duplicates;
      console.log(`stream crash test: ${partner}: ${deals.length} deals for ${N} opportunities in ${((Date.now() - started) / 1000).toFixed(1)} s; missing ${missing}, duplicates ${duplicates}, wrong ${wrong}, extra ${extra}`);
      expect({ partner, missing, duplicates, wrong, extra }).toEqual({ partner, missing: 0, duplicates: 0, wrong: 0, extra: 0 });
    }
  }, 260_000); // ~2 min on a quiet machine; the margin is for a loaded one (a full-suite run under load took >170 s)
});
