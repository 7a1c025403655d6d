import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { startDevServer, type DevServer } from '../../app/devServer.js';
import { startLinks } from '../../lib/links.js';
import { createWorker } from '../../app/worker.js';
import { Engine } from '../../sync/build.js';
import { statusQuery } from '../../workflows/index.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { tempDir } from '../helpers/tmp.js';
import { linkWorkflowId, linkHandle } from '../../lib/workflowClient.js';

/**
 * The Temporal Web UI lists the link workflows and filters them by the CosellLink search attribute.
 * This file starts its own dev server WITH the UI (the shared one is headless, so every other test file
 * pays nothing for a UI it does not use), runs two links on it, and drives Debian's chromium.
 */
const LINKS = ['ui-acme-deals', 'ui-acme-companies'];
const taskQueue = 'webui-links';

let server: DevServer;
let sb: TestSandbox;
let ledger: Ledger;
let engine: Engine;
let client: Client;
let worker: Worker;
let running: Promise<void>;
let browser: BrowserContext;

beforeAll(async () => {
  [server, sb] = await Promise.all([
    startDevServer({ ui: true }),
    startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'acme', kind: 'hubspot', role: 'partner' }] }),
  ]);
  const conn = sandboxEnv(sb, 'WEBUI');
  const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ui-acme-companies, from: acme.companies, to: vendor.Account, mapping: $STOCK/hubspot-company-to-salesforce-account.yaml, schedule: 1h }
  - { id: ui-acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  engine = new Engine({ network, ledger });
  client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
  worker = await createWorker({ address: server.address, taskQueue, codePath: inject('workflowBundlePath'), activities: createActivities({ engine }) });
  running = worker.run();
  await startLinks(client, network, { taskQueue });
  // A fresh profile (--user-data-dir) through playwright's persistent context.
  browser = await chromium.launchPersistentContext(tempDir('cosell-chromium-'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const id of LINKS) await client?.workflow.getHandle(linkWorkflowId(id)).terminate('test over').catch(() => undefined);
  worker?.shutdown();
  await running;
  await engine?.close();
  await ledger?.close();
  await client?.connection.close();
  await sb?.stop();
  await server?.stop();
});

describe('Temporal Web UI', () => {
  it('lists the link workflows and filters them by CosellLink', async () => {
    // Wait until both links caught up (search attributes set, CosellState idle).
    for (const id of LINKS) {
      const h = linkHandle(client, id);
      for (let i = 0; (await h.query(statusQuery)).state !== 'idle'; i++) {
        if (i > 150) throw new Error(`${id} never went idle`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const page = await browser.newPage();
    const base = `${server.uiUrl}/namespaces/default/workflows`;

    await page.goto(`${base}?query=${encodeURIComponent("CosellKind = 'link'")}`);
    await page.getByText('sync:ui-acme-deals').first().waitFor({ timeout: 30_000 });
    await page.getByText('sync:ui-acme-companies').first().waitFor({ timeout: 10_000 });

    await page.goto(`${base}?query=${encodeURIComponent('CosellLink="ui-acme-deals"')}`);
    await page.getByText('sync:ui-acme-deals').first().waitFor({ timeout: 30_000 });
    expect(await page.getByText('sync:ui-acme-companies').count()).toBe(0);

    const shot = path.join(tempDir('cosell-webui-'), 'links-filtered.png');
    await page.screenshot({ path: shot, fullPage: false });
    console.log(`web UI screenshot: ${shot}`);
  }, 90_000);
});
