import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { CosellError, toCosellError } from './errors.js';
import { log } from './logger.js';
import { AesGcmPayloadCodec, payloadKeysFromEnv } from './payloadCodec.js';

/**
 * A codec server (Temporal's remote-codec protocol) so people can read encrypted history in the
 * Temporal Web UI and the `temporal` CLI (`--codec-endpoint`): POST /decode and /encode take
 * `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }` and answer the same shape. It holds the
 * keys, so it listens on loopback only, answers CORS only for the UI origins it is given, and, with a
 * token, only requests carrying `Authorization: Bearer TOKEN` (or the bare token, as `--codec-auth` sends).
 */
export interface CodecServerOptions {
  /** Port on 127.0.0.1 (0: any free one). */
  port?: number;
  /** Web UI origins allowed to call it from a browser, e.g. http://localhost:8233. */
  origins?: string[];
  /** Required credential, when set (e.g. from COSELL_CODEC_TOKEN). */
  token?: string;
  codec?: PayloadCodec;
}

export interface CodecServer {
  url: string;
  port: number;
  /** Allow one more browser origin (e.g. the Web UI's, once its port is known). */
  allow(origin: string): void;
  stop(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024; // history pages of 2 MB payloads, with room

export async function startCodecServer(opts: CodecServerOptions = {}): Promise<CodecServer> {
  const codec = opts.codec ?? codecFromEnv();
  const origins = new Set(opts.origins ?? []);
  const server = http.createServer((req, res) => {
    void handle(req, res, codec, origins, opts.token).catch((e) => {
      log.warn({ err: e }, 'codec server: request failed');
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    allow: (origin) => void origins.add(origin),
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function codecFromEnv(): PayloadCodec {
  const keys = payloadKeysFromEnv();
  if (!keys) throw new CosellError('COSELL_PAYLOAD_KEY', 'the codec server needs the payload keys, and none is set', { hint: 'set COSELL_PAYLOAD_KEY, COSELL_PAYLOAD_KEYS or COSELL_PAYLOAD_KEY_FILE as for the workers' });
  return new AesGcmPayloadCodec(keys);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, codec: PayloadCodec, origins: Set<string>, token?: string): Promise<void> {
  const origin = req.headers.origin;
  if (origin && origins.has(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
  }
  if (req.method === 'OPTIONS') {
    if (!origin || !origins.has(origin)) return reply(res, 403, { error: `origin ${origin ?? '(none)'} is not allowed` });
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
    res.setHeader('Access-Control-Max-Age', '600');
    res.writeHead(204).end();
    return;
  }
  // A browser page of another origin must not use the keys (its request would still be sent).
  if (origin && !origins.has(origin)) return reply(res, 403, { error: `origin ${origin} is not allowed` });
  const op = req.url?.split('?')[0];
  if (req.method !== 'POST' || (op !== '/decode' && op !== '/encode')) return reply(res, 404, { error: 'POST /decode or /encode' });
  if (token && !authorized(req.headers.authorization, token)) return reply(res, 401, { error: 'missing or wrong Authorization token' });

  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch (e) {
    return reply(res, 400, { error: `the body is not JSON: ${(e as Error).message}` });
  }
  let payloads: Payload[];
  try {
    payloads = fromJson(body);
  } catch (e) {
    return reply(res, 400, { error: (e as Error).message });
  }
  try {
    const out = op === '/decode' ? await codec.decode(payloads) : await codec.encode(payloads);
    reply(res, 200, { payloads: out.map(toJson) });
  } catch (e) {
    // e.g. COSELL_PAYLOAD_KEY (a key id this server lacks) or COSELL_PAYLOAD_DECRYPT
    const err = toCosellError(e);
    reply(res, 400, { error: `${err.code}: ${err.message}` });
  }
}

function authorized(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const given = Buffer.from(header.replace(/^Bearer\s+/i, ''));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function b64(v: unknown, where: string): Uint8Array {
  if (typeof v !== 'string' || !BASE64.test(v)) throw new Error(`${where} must be base64 text`);
  return Buffer.from(v, 'base64');
}

/** Proto3 JSON of Payload (bytes as base64), as the Web UI and the temporal CLI send it. */
function fromJson(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new Error('the body must be { "payloads": [...] }');
  return list.map((p, i) => {
    if (p === null || typeof p !== 'object') throw new Error(`payloads[${i}] must be an object`);
    const { metadata = {}, data = '' } = p as { metadata?: unknown; data?: unknown };
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new Error(`payloads[${i}].metadata must be an object`);
    return {
      metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, b64(v, `payloads[${i}].metadata.${k}`)])),
      data: b64(data, `payloads[${i}].data`),
    };
  });
}

function toJson(p: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
