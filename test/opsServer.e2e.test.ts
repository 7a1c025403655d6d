import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { createActivities } from '../activities/index.js';
import { openLedger, type Ledger } from '../ledger/index.js';
import type { LoadedNetwork } from '../lib/config.js';
import { startLinks } from '../lib/links.js';
import { launchWorker, type LaunchedWorker } from '../app/worker.js';
import { Engine } from '../sync/build.js';
import { waitForLink } from './helpers/linkWorker.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from './helpers/network.js';
import { parsePrometheus, sampleValue } from './helpers/prometheus.js';
import { startTestSandbox, type TestSandbox } from './helpers/sandbox.js';
import { temporalAddress, testClient, uniqueQueue } from './helpers/temporal.js';
import { eventually } from './helpers/wait.js';
import { linkWorkflowId, linkHandle } from '../lib/workflowClient.js';

/**
 * A worker launched with a metrics port (as `cosell worker --metrics-port` does) on the real dev
 * server: /readyz follows its life (503 before it runs, 200 while it runs, 503 once shutdown begins),
 * and after a real link sync /metrics carries cosell's counters for that link — equal to what the
 * link's own status and the vendor org say was synced — and the Temporal runtime's own series.
 *
 * This file launches its worker before anything else native in the process: the runtime's metrics
 * exporter exists only if the runtime is installed with it (lib/runtime.ts).
 */
const DEALS = 3 + Math.floor(Math.random() * 6);
let sb: TestSandbox;
let ledger: Ledger;
let engine: Engine;
let client: Client;
let launched: LaunchedWorker;
let running: Promise<void> | undefined;
let network: LoadedNetwork;
let taskQueue: string;
const linkId = `ops-deals-${Math.random().toString(36).slice(2, 6)}`;

const get = async (path: string) => {
  const res = await fetch(`${launched.ops!.url}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
};

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 0, opportunities: 0, owners: 1 } }, { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } }] });
  const conn = sandboxEnv(sb, 'OPS');
  network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - id: ${linkId}
    from: acme.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
`);
  const hs = sb.hubspot('acme');
  for (let i = 0; i < DEALS; i++) {
    await hs.crm.deals.basicApi.create({ properties: { dealname: `Ops deal ${i}`, amount: String(1000 * (i + 1)), dealstage: 'appointmentscheduled', pipeline: 'default', closedate: '2027-03-01T00:00:00.000Z' }, associations: [] });
  }
  ledger = await openLedger({ file: tempLedgerFile() });
  engine = new Engine({ network, ledger });
  client = await testClient();
  taskQueue = uniqueQueue('ops');
  launched = await launchWorker({ address: temporalAddress(), taskQueue, codePath: inject('workflowBundlePath'), activities: createActivities({ engine }), ledger, metricsPort: 0 });
}, 120_000);

afterAll(async () => {
  await client?.workflow.getHandle(linkWorkflowId(linkId)).terminate('test over').catch(() => undefined);
  launched?.shutdown();
  await running;
  await launched?.close();
  await engine?.close();
  await ledger?.close();
  await sb?.stop();
  await client?.connection.close();
});

describe('the worker\'s ops server', () => {
  it('serves /healthz, and /readyz is 503 with a reason while the worker is created but not running', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const r = await get('/readyz');
    expect(r.status).toBe(503);
    const body = JSON.parse(r.body) as { ready: boolean; reason: string; checks: Record<string, string> };
    expect(body.ready).toBe(false);
    expect(body.reason).toMatch(/^worker: /);
    expect(body.checks.temporal).toBe('ok');
    expect(body.checks.ledger).toBe('ok');
  });

  it('is ready while the worker runs; after a link sync /metrics counts what the link synced, next to the Temporal runtime\'s series', async () => {
    running = launched.run();
    await eventually('/readyz 200', async () => ((await get('/readyz')).status === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
    await startLinks(client, network, { taskQueue });
    const status = await waitForLink(client, linkId, (s) => s.state === 'idle' && !!s.lastCaughtUpAt && s.counts.read >= DEALS, { timeoutMs: 90_000 });
    const opps = await sb.jsforce('vendor').query<{ Id: string }>("SELECT Id FROM Opportunity WHERE Name LIKE 'Ops deal%'");

    const scrape = await get('/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(scrape.body);
    const read = sampleValue(samples, 'cosell_records_read_total', { link: linkId });
    const written = sampleValue(samples, 'cosell_records_written_total', { link: linkId });
    expect(read).toBeGreaterThan(0);
    expect(written).toBeGreaterThan(0);
    // What the link's workflow counted, what the partner has and what landed in the vendor org.
    expect(read).toBe(status.counts.read);
    expect(read).toBe(DEALS);
    expect(written).toBe(status.counts.created + status.counts.updated);
    expect(written).toBe(opps.totalSize);
    expect(sampleValue(samples, 'cosell_records_failed_total', { link: linkId }) ?? 0).toBe(status.counts.failed);
    expect(sampleValue(samples, 'cosell_link_lag_seconds', { link: linkId })).toBeGreaterThanOrEqual(0);
    // The Temporal runtime's own exporter, merged in: worker and activity series of this process.
    expect(sampleValue(samples, 'cosell_temporal_runtime_metrics_up')).toBe(1);
    const temporal = new Set(samples.filter((s) => s.name.startsWith('temporal_')).map((s) => s.name));
    expect(temporal.size).toBeGreaterThan(0);
    expect([...temporal].some((n) => n.startsWith('temporal_activity_'))).toBe(true);
    // Names must be unique across the merged parts: one # TYPE line per metric.
    const types = scrape.body.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
  }, 120_000);

  it('/readyz is 503 as soon as shutdown begins, and stays so after the worker stopped', async () => {
    await linkHandle(client, linkId).terminate('test over');
    launched.shutdown();
    const during = await get('/readyz');
    expect(during.status).toBe(503);
    expect((JSON.parse(during.body) as { reason: string }).reason).toMatch(/^worker: (shutting down|stopping|draining|drained|stopped)/);
    await running;
    const after = await get('/readyz');
    expect(after.status).toBe(503);
    expect((JSON.parse(after.body) as { reason: string }).reason).toMatch(/stopped|temporal/);
    expect((await get('/healthz')).status).toBe(200); // the process is still alive
  }, 60_000);
});
