import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { connectClient } from '../../lib/client.js';
import { startCodecServer, type CodecServer } from '../../lib/codecServer.js';
import { startDevServer, type DevServer } from '../../app/devServer.js';
import { createWorker } from '../../app/worker.js';
import { helloCosell } from '../../workflows/index.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Ops read encrypted history in the Temporal Web UI: a dev server started with --ui-codec-endpoint
 * pointing at cosell's codec server, a workflow whose input names a customer, and Debian's chromium
 * showing the workflow page — the name in clear on the page, never in Temporal's own storage.
 */
const marker = `Wayne-Enterprises-${randomBytes(4).toString('hex')}`;
const saved = process.env.COSELL_PAYLOAD_KEYS;
let server: DevServer;
let codec: CodecServer;
let browser: BrowserContext;

beforeAll(async () => {
  process.env.COSELL_PAYLOAD_KEYS = `ui:${randomBytes(32).toString('base64')}`;
  codec = await startCodecServer();
  server = await startDevServer({ ui: true, uiCodecEndpoint: codec.url });
  const uiPort = new URL(server.uiUrl!).port;
  for (const host of ['127.0.0.1', 'localhost']) codec.allow(`http://${host}:${uiPort}`);
  const taskQueue = 'codec-ui';
  const worker = await createWorker({ address: server.address, taskQueue, codePath: inject('workflowBundlePath'), activities: createActivities() });
  const client = await connectClient(server.address);
  try {
    await worker.runUntil(client.workflow.execute(helloCosell, { taskQueue, workflowId: 'codec-ui-hello', args: [marker] }));
  } finally {
    await client.connection.close();
  }
  browser = await chromium.launchPersistentContext(tempDir('cosell-chromium-'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await codec?.stop();
  if (saved === undefined) delete process.env.COSELL_PAYLOAD_KEYS;
  else process.env.COSELL_PAYLOAD_KEYS = saved;
});

describe('Temporal Web UI with the codec server', () => {
  it('shows the workflow input and result decoded', async () => {
    const page = await browser.newPage();
    const decodes: number[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${codec.url}/decode`)) decodes.push(r.status());
    });
    await page.goto(`${server.uiUrl}/namespaces/default/workflows/codec-ui-hello`);
    await page.getByText(marker).first().waitFor({ timeout: 45_000 });
    expect(decodes.length).toBeGreaterThan(0);
    expect(decodes.every((s) => s === 200)).toBe(true);
    const shot = path.join(tempDir('cosell-codec-ui-'), 'decoded.png');
    await page.screenshot({ path: shot, fullPage: false });
    console.log(`web UI screenshot: ${shot}`);
  }, 90_000);
});
