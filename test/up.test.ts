import { spawn } from 'node:child_process';
import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { payloadDataConverter } from '../lib/payloadCodec.js';
import { statePath } from '../lib/packagePaths.js';
import { linkHandle, scorecardHandle, streamHandle } from '../lib/workflowClient.js';

const bin = new URL('../bin/cosell.js', import.meta.url).pathname;

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('npm start (cosell up)', () => {
  it('brings up the Web UI with a completed workflow and running links, and Ctrl-C leaves nothing behind', async () => {
    const child = spawn('node', [bin, 'up', '--ui-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COSELL_LOG_LEVEL: 'warn' }, cwd: await import('node:os').then((os) => os.tmpdir()) });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 200_000;
    while (!out.includes('Press Ctrl-C')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`cosell up did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const ui = /Temporal Web UI\s+(\S+)/.exec(out)![1];
    const grpc = /Temporal gRPC\s+(\S+)/.exec(out)![1];
    const pages = [...out.matchAll(/(http:\/\/127\.0\.0\.1:\d+\/__sandbox\/ui)/g)].map((m) => m[1]);
    expect((await fetch(ui)).status).toBe(200);
    expect(pages).toHaveLength(5); // vendor, acme, globex, initech and the AWS Partner Central account
    for (const p of pages) expect((await fetch(p)).status).toBe(200);
    // Registration notifications land in the sandbox's Slack/Teams inbox (sandbox/inbox.ts).
    const inbox = await fetch(/Notifications\s+(\S+)/.exec(out)![1]);
    expect(inbox.status).toBe(200);
    expect(await inbox.text()).toContain('Notifications inbox');
    expect(out).toMatch(/Links syncing\s+acme-deals, vendor-opps-to-acme/);
    expect(out).toMatch(/History\s+encrypted \(AES-256-GCM/);
    // The worker's ops server: Prometheus text with cosell's and the Temporal runtime's series, and ready.
    const metricsUrl = /Metrics\s+(http:\/\/127\.0\.0\.1:\d+\/metrics)\s/.exec(out)?.[1];
    expect(metricsUrl, out.slice(-3000)).toBeDefined();
    const metrics = await fetch(metricsUrl!);
    expect(metrics.status).toBe(200);
    const metricsText = await metrics.text();
    expect(metricsText).toMatch(/^cosell_temporal_runtime_metrics_up 1$/m);
    expect(metricsText).toMatch(/^temporal_\w+/m);
    expect(metricsText).toMatch(/^# TYPE cosell_records_read_total counter$/m);
    expect((await fetch(metricsUrl!.replace(/\/metrics$/, '/readyz'))).status).toBe(200);
    expect(out).toMatch(/Codec server\s+http:\/\/127\.0\.0\.1:\d+\s+\(the Web UI decodes history through it/);
    // With push on (the vendor's CDC, the partners' webhooks) the streams say so (they once said "mode poll").
    expect(out).toMatch(/Change streams\s+.*stream:vendor:Opportunity \(mode push: cdc\)/);
    expect(out).toMatch(/stream:acme:deals \(mode push: webhooks\)/);
    // Only initech (a Salesforce partner without pubsub) and AWS Partner Central have no push source.
    const polling = new Set([...out.matchAll(/stream:(\w+):\w+ \(mode poll\)/g)].map((m) => m[1]));
    expect([...polling].filter((org) => org !== 'initech' && org !== 'aws')).toEqual([]);
    expect(polling.has('initech')).toBe(true);
    expect(out).toMatch(/Analytics\s+scorecard:vendor: fact store/);
    expect(out).toMatch(/npx cosell report --html report\.html/);
    // Push: the HubSpot partners' portals deliver signed webhooks to the worker's endpoints.
    const hooks = Object.fromEntries([...out.matchAll(/(acme|globex) → (http:\/\/127\.0\.0\.1:\d+\/hubspot\/\w+\/webhooks)/g)].map((m) => [m[1], m[2]]));
    expect(Object.keys(hooks).sort()).toEqual(['acme', 'globex']);
    const unsigned = await fetch(hooks.acme!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(unsigned.status).toBe(401);
    const portals = await Promise.all(pages.map(async (p) => (await fetch(p.replace('/__sandbox/ui', '/__sandbox/webhooks'), { signal: AbortSignal.timeout(10_000) }).catch(() => undefined))?.json().catch(() => undefined) as Promise<{ settings?: { targetUrl: string } } | undefined>));
    const targets = portals.flatMap((w) => (w?.settings ? [w.settings.targetUrl] : [])).sort();
    expect(targets).toEqual([hooks.acme, hooks.globex].sort());

    // The channel console: login first, then the review queue with the printed admin password.
    const consoleUrl = /Channel console\s+(\S+)/.exec(out)![1];
    const admin = /sign in as\s+admin \/ (\S+) \(admin\)/.exec(out)![1];
    const gate = await fetch(`${consoleUrl}/queue`, { redirect: 'manual' });
    expect(gate.status).toBe(302);
    const loginPage = await fetch(`${consoleUrl}/login`);
    const jar = (loginPage.headers.get('set-cookie') ?? '').split(';')[0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())![1];
    const signedIn = await fetch(`${consoleUrl}/login`, { method: 'POST', redirect: 'manual', headers: { cookie: jar, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ name: 'admin', password: admin, _csrf: csrf }) });
    expect(signedIn.status).toBe(303);
    const queue = await fetch(`${consoleUrl}/queue`, { headers: { cookie: (signedIn.headers.get('set-cookie') ?? '').split(';')[0] } });
    expect(queue.status).toBe(200);
    expect(await queue.text()).toContain('Review queue');

    const connection = await Connection.connect({ address: grpc });
    let codecUrl = '';
    // The demo encrypts history with the key it wrote into .cosell/: read it the way the CLI does (demo.env).
    const client = new Client({ connection, dataConverter: payloadDataConverter({ COSELL_PAYLOAD_KEY_FILE: statePath('.cosell', 'payload.key') }) });
    expect((await client.workflow.getHandle('hello-cosell').describe()).status.name).toBe('COMPLETED');
    expect((await linkHandle(client, 'acme-deals').describe()).status.name).toBe('RUNNING');
    expect((await streamHandle(client, 'vendor:Opportunity').describe()).status.name).toBe('RUNNING');
    // Analytics: the scorecard workflow (fact store + partner scorecards; its rounds are tested in test/analytics/scorecard.e2e.test.ts).
    expect((await scorecardHandle(client, 'vendor').describe()).status.name).toBe('RUNNING');
    // …and so does the stream itself (cosell status, the Web UI memo), before any event arrived.
    // (The memo the Web UI shows; no query — on a loaded machine the worker may answer late.)
    let memoMode: unknown;
    for (let i = 0; i < 120 && memoMode === undefined; i++) {
      if (i) await new Promise((r) => setTimeout(r, 500)); // the memo is written after the stream's first read
      memoMode = (await streamHandle(client, 'acme:deals').describe()).memo?.mode;
    }
    expect(memoMode).toBe('push');
    // The Web UI reads history through the demo's codec server: its settings name it, and it decodes
    // the hello workflow's encrypted input for a request from the UI's origin.
    codecUrl = /Codec server\s+(\S+)/.exec(out)![1];
    const uiOrigin = new URL(ui).origin;
    expect(((await (await fetch(`${uiOrigin}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } }).Codec?.Endpoint).toBe(codecUrl);
    const history = await connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: 'hello-cosell' } });
    const input = history.history!.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
    expect(Buffer.from(input.metadata!.encoding!).toString()).toBe('binary/encrypted');
    const sealed = { metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(input.data!).toString('base64') };
    const decoded = await fetch(`${codecUrl}/decode`, { method: 'POST', headers: { Origin: uiOrigin, 'Content-Type': 'application/json', 'X-Namespace': 'default' }, body: JSON.stringify({ payloads: [sealed] }) });
    expect(decoded.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(Buffer.from(((await decoded.json()) as { payloads: Array<{ data: string }> }).payloads[0].data, 'base64').toString()).toBe('"ops"');
    await connection.close();

    // Ctrl-C ends everything, also the demo seeds still waiting for the first sync (one kept the process
    // alive for 15 minutes): bounded, so a stall fails here with what the demo printed, not at the test timeout.
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 30 s after Ctrl-C'), 30_000))]);
    if (code !== 0) child.kill('SIGKILL');
    expect(code, out.slice(-3000)).toBe(0);
    const grpcPort = Number(grpc.split(':')[1]);
    const uiPort = Number(new URL(ui).port);
    expect(await portOpen(grpcPort)).toBe(false);
    expect(await portOpen(uiPort)).toBe(false);
    expect(await portOpen(Number(new URL(codecUrl).port))).toBe(false);
    expect(await portOpen(Number(new URL(metricsUrl!).port))).toBe(false);
  }, 300_000); // the demo now also seeds 8 quarters of history, AWS and the console: margin for a busy CI machine
});
