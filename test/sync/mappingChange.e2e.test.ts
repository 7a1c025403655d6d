import type { Client } from '@temporalio/client';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../../lib/config.js';
import { startLinks } from '../../lib/links.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { LinkStatus } from '../../sync/types.js';
import { sandboxEnv } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { startEngineWorker, waitForLink, type EngineWorker } from '../helpers/linkWorker.js';
import { copyStockMapping } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { syncNowSignal, linkWorkflowId, linkHandle } from '../../lib/workflowClient.js';

/**
 * Users' complaint #9: a changed mapping did not back-fill existing records (0 of 3,000 changed without
 * a manual resync). Black-box: the linkSync workflow on the real dev server syncs the partner's deals,
 * the worker is stopped, the mapping file is edited in place, a new worker starts — and every existing
 * opportunity gets the new mapping's value, with the back-fill audited.
 */
const DEALS = 3000;
let sb: TestSandbox;
let ledger: Ledger;
let client: Client;
let dir: string;
let networkFile: string;
const taskQueue = uniqueQueue('mapping-change');
const linkId = `deals-${taskQueue.replace(/[^a-z0-9]/g, '').slice(-8)}`;
let run: EngineWorker | undefined;

/** A worker process start: the network file (and the mapping it names) read afresh. */
async function startWorker(): Promise<void> {
  run = await startEngineWorker({ network: loadNetwork(networkFile), ledger, taskQueue, pageSize: 1000 });
}
async function stopWorker(): Promise<void> {
  await run?.stop();
  run = undefined;
}

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 5, opportunities: 5, owners: 2 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 50, opportunities: DEALS, owners: 2 } },
    ],
  });
  const conn = sandboxEnv(sb, 'MAPCHANGE');
  dir = tempDir();
  copyStockMapping(dir, 'hubspot-deal-to-salesforce-opportunity.yaml');
  networkFile = path.join(dir, 'cosell.yaml');
  writeFileSync(
    networkFile,
    `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
ledger: { file: ${path.join(dir, 'ledger.sqlite')} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: ${dir}/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`,
  );
  ledger = await openLedger({ file: path.join(dir, 'ledger.sqlite') });
  client = await testClient();
  await startWorker();
  await startLinks(client, loadNetwork(networkFile), { taskQueue });
}, 120_000);

afterAll(async () => {
  await client?.workflow.getHandle(linkWorkflowId(linkId)).terminate('test over').catch(() => undefined);
  await stopWorker();
  await ledger?.close();
  await sb?.stop();
  await client?.connection.close();
});

const waitFor = (pred: (s: LinkStatus) => boolean, timeoutMs = 120_000) => waitForLink(client, linkId, pred, { timeoutMs, intervalMs: 250 });

async function partnerStages(): Promise<string[]> {
  const out: string[] = [];
  let q = await sb.jsforce('vendor').query<{ Partner_Stage__c: string | null }>("SELECT Partner_Stage__c FROM Opportunity WHERE Registered_Partner_Id__c = 'acme'");
  for (;;) {
    out.push(...q.records.map((r) => r.Partner_Stage__c ?? ''));
    if (q.done || !q.nextRecordsUrl) break;
    q = await sb.jsforce('vendor').queryMore(q.nextRecordsUrl);
  }
  return out;
}

describe('a changed mapping re-applies to the existing pairs', () => {
  it(`all ${DEALS} existing opportunities take the new mapping after a worker restart, audited, without a resync`, async () => {
    const first = await waitFor((s) => s.state === 'idle' && s.counts.created === DEALS);
    expect(first.counts.created).toBe(DEALS);
    expect((await partnerStages()).filter((v) => v.startsWith('Partner: '))).toHaveLength(0);

    await stopWorker();
    copyStockMapping(dir, 'hubspot-deal-to-salesforce-opportunity.yaml', [['Partner_Stage__c: stageLabels[dealstage] ?? dealstage', `Partner_Stage__c: '"Partner: " + (stageLabels[dealstage] ?? dealstage)'`]]);
    await startWorker();
    const t0 = performance.now();
    const before = first.counts.updated;
    await linkHandle(client, linkId).signal(syncNowSignal);
    const done = await waitFor((s) => s.state === 'idle' && s.counts.updated >= before + DEALS);
    const seconds = (performance.now() - t0) / 1000;

    expect(done.counts.updated - before).toBe(DEALS);
    expect(done.counts.created).toBe(DEALS); // re-applied, never re-created
    const stages = await partnerStages();
    expect(stages).toHaveLength(DEALS);
    expect(stages.filter((v) => v.startsWith('Partner: '))).toHaveLength(DEALS);

    const [changed] = await ledger.audit.list({ linkId, action: 'mapping-changed' });
    const [applied] = await ledger.audit.list({ linkId, action: 'mapping-applied' });
    expect(changed.details).toMatchObject({ from: expect.any(String), to: expect.any(String), pairs: DEALS });
    expect(changed.details!.from).not.toBe(changed.details!.to);
    expect(applied.details).toMatchObject({ from: changed.details!.from, to: changed.details!.to, pairs: DEALS, updated: DEALS });
    const state = await ledger.linkMappings.get(linkId);
    expect(state).toMatchObject({ fingerprint: changed.details!.to, pendingFingerprint: null });
    console.log(`mapping change back-filled ${DEALS} records in ${seconds.toFixed(1)} s`);

    // Applied once: the next poll re-applies nothing.
    await linkHandle(client, linkId).signal(syncNowSignal);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await waitFor((s) => s.state === 'idle');
    expect(after.counts.updated).toBe(done.counts.updated);
  }, 240_000);
});
