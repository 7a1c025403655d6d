import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CosellError } from './errors.js';
import { log } from './logger.js';
import { METRICS_CONTENT_TYPE, type MetricsSource } from './metrics.js';

/**
 * The worker's operations endpoints, on one port:
 *   GET /metrics  Prometheus text (lib/metrics.ts: cosell's series, the ledger's, the Temporal runtime's)
 *   GET /healthz  200 while the process serves HTTP at all (liveness)
 *   GET /readyz   200 only while the worker can take work: connected to Temporal, ledger open, worker
 *                 running; otherwise 503 with a JSON reason (starting, shutting down, Temporal gone …)
 * It binds the port it is given straight away — no probe first — so nothing can take it in between;
 * port 0 lets the OS pick (tests, the demo) and `url` says which it got.
 */

export interface Readiness {
  ready: boolean;
  /** Why not, for people: the first check that failed. */
  reason?: string;
  /** Each check: `ok`, or what is wrong. */
  checks: Record<string, string>;
}

export interface OpsServerOptions {
  port: number;
  /** Interface to listen on (default 127.0.0.1; 0.0.0.0 for a scraper or a kubelet on another host). */
  host?: string;
  metrics: MetricsSource;
  readiness: () => Promise<Readiness>;
}

export interface OpsServer {
  /** http://host:port (the port actually bound). */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    void handle(req, res, opts).catch((e: unknown) => {
      log.warn({ err: e, path: req.url }, 'ops endpoint failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String((e as Error)?.message ?? e) }));
    });
  });
  // A scraper's keep-alive connection must not hold the process open at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new CosellError('COSELL_PORT_IN_USE', `cannot serve metrics and health on ${host}:${opts.port}: the port is taken`, { cause: e, hint: 'pick another --metrics-port (or $COSELL_METRICS_PORT), 0 for any free one, or stop what listens there' })
          : e,
      ),
    );
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, opts: OpsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'GET only' }));
    return;
  }
  switch (path) {
    case '/metrics': {
      const text = await opts.metrics.text();
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    case '/healthz':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ alive: true }));
      return;
    case '/readyz': {
      const r = await opts.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r));
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no ${path} here: try /metrics, /healthz or /readyz` }));
  }
}
