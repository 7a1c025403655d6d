import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import { connectClient } from '../lib/client.js';
import { startCodecServer, type CodecServer } from '../lib/codecServer.js';
import { startDevServer } from '../app/devServer.js';
import { findTemporalCli } from '../app/temporalCli.js';
import { helloCosell } from '../workflows/index.js';
import { temporalAddress, testWorker, uniqueQueue } from './helpers/temporal.js';

// The codec server over real HTTP: what the Temporal Web UI and the temporal CLI send it, against
// history a real worker encrypted on the real dev server.
const key = `ops:${randomBytes(32).toString('base64')}`;
const marker = `Umbrella-Customer-${randomBytes(5).toString('hex')}`;
const UI = 'http://localhost:8233';
const TOKEN = `tok-${randomBytes(8).toString('hex')}`;
const saved = process.env.COSELL_PAYLOAD_KEYS;
let codec: CodecServer;
const workflowId = `codec-server-${uniqueQueue('w')}`;

const post = (op: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${codec.url}/${op}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

beforeAll(async () => {
  process.env.COSELL_PAYLOAD_KEYS = key;
  codec = await startCodecServer({ origins: [UI], token: TOKEN });
  // history sealed by a real worker with the same key
  const taskQueue = uniqueQueue('codec-server');
  const worker = await testWorker({ taskQueue, activities: createActivities() });
  const client = await connectClient(temporalAddress());
  try {
    await worker.runUntil(client.workflow.execute(helloCosell, { taskQueue, workflowId, args: [marker] }));
  } finally {
    await client.connection.close();
  }
});
afterAll(async () => {
  await codec?.stop();
  if (saved === undefined) delete process.env.COSELL_PAYLOAD_KEYS;
  else process.env.COSELL_PAYLOAD_KEYS = saved;
});

describe('cosell codec server', () => {
  it('encode then decode round-trips a payload over HTTP, and the encoded one hides the data', async () => {
    const plain = { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(`Account ${marker}`)) };
    const enc = await post('encode', { payloads: [plain] });
    expect(enc.status).toBe(200);
    const { payloads: sealed } = (await enc.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(unb64(sealed[0].metadata.encoding)).toBe('binary/encrypted');
    expect(unb64(sealed[0].metadata['encryption-key-id'])).toBe('ops');
    expect(Buffer.from(sealed[0].data, 'base64').includes(Buffer.from(marker))).toBe(false);
    const dec = await post('decode', { payloads: sealed });
    expect(dec.status).toBe(200);
    expect(await dec.json()).toEqual({ payloads: [plain] });
  });

  it('the temporal CLI reads encrypted history through it (--codec-endpoint, --codec-auth); without it, only ciphertext', async () => {
    const bin = await findTemporalCli({ install: false });
    const show = (extra: string[]) =>
      new Promise<{ status: number | null; out: string }>((resolve) => {
        const child = spawn(bin, ['workflow', 'show', '--address', temporalAddress(), '-w', workflowId, '-o', 'json', ...extra]);
        let out = '';
        child.stdout.on('data', (b) => (out += b));
        child.stderr.on('data', (b) => (out += b));
        child.on('close', (status) => resolve({ status, out }));
      });
    const decoded = await show(['--codec-endpoint', codec.url, '--codec-auth', `Bearer ${TOKEN}`]);
    expect(decoded.status, decoded.out).toBe(0);
    // the workflow's input, decoded: JSON output shows payload bytes as base64
    expect(decoded.out).toContain(b64(JSON.stringify(marker)));
    expect(decoded.out).not.toContain(b64('binary/encrypted'));
    const raw = await show([]);
    expect(raw.status, raw.out).toBe(0);
    expect(raw.out).not.toContain(b64(JSON.stringify(marker)));
    expect(raw.out).toContain(b64('binary/encrypted'));
  });

  it('answers CORS only for the Web UI origin it was given, and refuses other origins', async () => {
    const preflight = await fetch(`${codec.url}/decode`, { method: 'OPTIONS', headers: { Origin: UI, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/i);
    const fromUi = await post('decode', { payloads: [] }, { Origin: UI, 'X-Namespace': 'default' });
    expect(fromUi.status).toBe(200);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI);
    const evil = 'http://evil.example';
    const evilPreflight = await fetch(`${codec.url}/decode`, { method: 'OPTIONS', headers: { Origin: evil, 'Access-Control-Request-Method': 'POST' } });
    expect(evilPreflight.status).toBe(403);
    expect(evilPreflight.headers.get('access-control-allow-origin')).toBeNull();
    const evilPost = await post('decode', { payloads: [] }, { Origin: evil });
    expect(evilPost.status).toBe(403);
  });

  it('with a token, a request without it (or with another) is refused; bad bodies and unknown keys are clear 400s', async () => {
    const sealed = ((await (await post('encode', { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('"x"') }] })).json()) as { payloads: unknown[] }).payloads;
    expect((await post('decode', { payloads: sealed }, { Authorization: '' })).status).toBe(401);
    expect((await post('decode', { payloads: sealed }, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post('decode', { payloads: sealed }, { Authorization: TOKEN })).status).toBe(200); // bare token, as some clients send it
    const notJson = await post('decode', '{"payloads": [');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/not JSON/);
    const badShape = await post('decode', { payloads: [{ data: 42 }] });
    expect(badShape.status).toBe(400);
    expect(((await badShape.json()) as { error: string }).error).toBe('payloads[0].data must be base64 text');
    const other = await startCodecServer({ codec: new (await import('../lib/payloadCodec.js')).AesGcmPayloadCodec([{ id: 'other', key: randomBytes(32) }]) });
    try {
      const r = await fetch(`${other.url}/decode`, { method: 'POST', body: JSON.stringify({ payloads: sealed }) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(/^COSELL_PAYLOAD_KEY: .*key id "ops", which is not configured/);
    } finally {
      await other.stop();
    }
    expect((await fetch(`${codec.url}/elsewhere`, { method: 'POST' })).status).toBe(404);
  });

  it('property: any payloads round-trip through /encode and /decode; any body gets JSON 200 or 400, never a crash', async () => {
    const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a).toString('base64'));
    const payload = fc.record({ metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__'), bytes, { maxKeys: 3 }), data: bytes });
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { maxLength: 4 }), async (payloads) => {
        const enc = await post('encode', { payloads });
        expect(enc.status).toBe(200);
        const dec = await post('decode', await enc.json());
        expect(dec.status).toBe(200);
        expect(((await dec.json()) as { payloads: unknown[] }).payloads).toEqual(payloads);
      }),
      { numRuns: 60 },
    );
    const junk = fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ payloads: v })), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ payloads: [v] })));
    await fc.assert(
      fc.asyncProperty(junk, fc.constantFrom('decode', 'encode'), async (body, op) => {
        const r = await post(op, body);
        expect([200, 400]).toContain(r.status);
        expect(r.headers.get('content-type')).toBe('application/json');
        const parsed = (await r.json()) as { error?: string; payloads?: unknown[] };
        if (r.status === 400) expect(parsed.error).toMatch(/\S/);
        else expect(Array.isArray(parsed.payloads)).toBe(true);
      }),
      { numRuns: 150 },
    );
    // still serving after all that
    expect((await post('decode', { payloads: [] })).status).toBe(200);
  });

  it('`cosell codec-server` serves on 127.0.0.1 with the environment\'s keys and COSELL_CODEC_TOKEN', async () => {
    const child = spawn(process.execPath, [new URL('../bin/cosell.js', import.meta.url).pathname, 'codec-server', '--port', '0', '--ui-origin', UI], { env: { ...process.env, COSELL_PAYLOAD_KEYS: key, COSELL_CODEC_TOKEN: TOKEN } });
    try {
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      while (!/codec server on (http:\/\/127\.0\.0\.1:\d+)/.test(out)) {
        if (child.exitCode !== null) throw new Error(out);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /codec server on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
      const sealed = ((await (await post('encode', { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(marker)) }] })).json()) as { payloads: unknown[] }).payloads;
      const res = await fetch(`${url}/decode`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ payloads: sealed }) });
      expect(res.status).toBe(200);
      expect(unb64(((await res.json()) as { payloads: Array<{ data: string }> }).payloads[0].data)).toBe(JSON.stringify(marker));
      expect((await fetch(`${url}/decode`, { method: 'POST', body: JSON.stringify({ payloads: sealed }) })).status).toBe(401);
      expect(out).not.toContain(TOKEN); // the token is never printed
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
    expect(child.exitCode).toBe(0);
  });

  it('a dev server started with the codec endpoint hands it to its Web UI', async () => {
    const server = await startDevServer({ ui: true, uiCodecEndpoint: codec.url });
    try {
      const settings = (await (await fetch(`${server.uiUrl}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
      expect(settings.Codec?.Endpoint).toBe(codec.url);
    } finally {
      await server.stop();
    }
    expect(spawnSync(await findTemporalCli({ install: false }), ['server', 'start-dev', '--help'], { encoding: 'utf8' }).stdout).toContain('--ui-codec-endpoint');
  });
});
