import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLinks } from '../../lib/links.js';
import { loadNetwork } from '../../lib/config.js';
import { statusQuery } from '../../workflows/index.js';
import { reachProgress } from '../helpers/wait.js';
import { sandboxEnv } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { temporalAddress, testClient, uniqueQueue } from '../helpers/temporal.js';
import { copyStockMapping } from '../sync/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { linkWorkflowId, linkHandle } from '../../lib/workflowClient.js';

/**
 * Crash test: back-fill 10,000 opportunities Salesforce → HubSpot while the worker process is killed
 * with SIGKILL three times at random moments and both CRMs inject 5% 5xx, 429 bursts and 1% timeouts.
 * Afterwards HubSpot holds exactly the expected deals: 0 missing, 0 duplicates, 0 wrong fields.
 */
const N = 10_000;
const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const taskQueue = uniqueQueue('crash');
const linkId = `opps-crash-${taskQueue.slice(-6)}`;
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
    ],
  });
  const conn = sandboxEnv(sb, 'CRASH');
  const dir = tempDir('cosell-crash-');
  // Every vendor opportunity goes to the partner (the stock filter keeps only partner-registered ones).
  const mapping = copyStockMapping(dir, 'salesforce-opportunity-to-hubspot-deal.yaml', [[/^filter: .*$/m, 'filter: not isBlank(Name)']]);
  configFile = path.join(dir, 'cosell.yaml');
  ledgerFile = path.join(dir, 'ledger.sqlite');
  writeFileSync(
    configFile,
    `vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
ledger: { file: ${ledgerFile} }
links:
  - { id: ${linkId}, from: vendor.Opportunity, to: acme.deals, mapping: ${mapping}, schedule: 1h, share: all }
`,
  );
  client = await testClient();
}, 120_000);

afterAll(async () => {
  await client?.workflow.getHandle(linkWorkflowId(linkId)).terminate('test over').catch(() => undefined);
  child?.kill('SIGKILL');
  await sb?.stop();
  await client?.connection.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records landed so far (ledger pairs), read beside the worker (SQLite WAL allows a reader). */
function landed(): number {
  if (!existsSync(ledgerFile)) return 0;
  const db = new Database(ledgerFile, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select count(*) as n from record_pairs').get() as { n: number }).n;
  } catch {
    return 0; // not migrated yet
  } finally {
    db.close();
  }
}

describe('crash test', () => {
  it('10,000 records land exactly, through 3 SIGKILLs and injected 5xx / 429 / timeouts', async () => {
    // Warm the link up (custom fields on both sides) before the chaos starts, then turn chaos on.
    child = await startWorker();
    await sb.faults('vendor', CHAOS);
    await sb.faults('acme', CHAOS);
    await startLinks(client, loadNetwork(configFile), { taskQueue });
    const handle = linkHandle(client, linkId);
    const started = Date.now();

    for (let kill = 0; kill < 3; kill++) {
      // A random moment inside the back-fill: once a random number of records in this third has landed.
      const at = Math.floor(N * (kill / 3.5) + Math.random() * (N / 4));
      await reachProgress(landed, at, async () => `${landed()} landed; ${JSON.stringify(await handle.query(statusQuery).catch(String))}`);
      await sleep(Math.random() * 1000);
      const pid = child.pid!;
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      console.log(`crash test: SIGKILL ${kill + 1} of pid ${pid} at ${((Date.now() - started) / 1000).toFixed(1)} s, ${landed()} records landed so far`);
      child = await startWorker();
    }

    let status;
    for (;;) {
      status = await handle.query(statusQuery);
      // The workflow's counts miss pages whose worker died after committing them (the activity result
      // was lost; the retry moved on from the committed cursor), so completion is read from the ledger.
      if (status.state === 'idle' && landed() >= N) break;
      if (Date.now() - started > 170_000) throw new Error(`not caught up: ${landed()} landed; ${JSON.stringify(status)}`);
      await sleep(1000);
    }
    await sb.faults('vendor', {});
    await sb.faults('acme', {});

    // Expected: every vendor opportunity, mapped.
    const sf = sb.jsforce('vendor');
    const opps = (await sf.query<{ Id: string; Name: string; Amount: number | null; StageName: string }>('SELECT Id, Name, Amount, StageName FROM Opportunity', { autoFetch: true, maxFetch: N + 10 })).records;
    expect(opps).toHaveLength(N);
    const deals = await sb.hubspot('acme').crm.deals.getAll(100, undefined, ['cosell_source_id', 'dealname', 'amount', 'cosell_vendor_stage']);
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
    console.log(`crash test: ${deals.length} deals for ${N} opportunities in ${((Date.now() - started) / 1000).toFixed(1)} s; missing ${missing}, duplicates ${duplicates}, wrong ${wrong}, extra ${extra}; counts ${JSON.stringify(status.counts)}`);
    expect({ missing, duplicates, wrong, extra }).toEqual({ missing: 0, duplicates: 0, wrong: 0, extra: 0 });
  }, 230_000);
});
