import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { CosellError } from '../lib/errors.js';
import { log } from '../lib/logger.js';
import { freePort, waitForPort } from '../lib/ports.js';
import { searchAttributeArgs } from '../lib/searchAttributes.js';
import { findTemporalCli } from './temporalCli.js';

export interface DevServer {
  address: string; // host:port for gRPC
  namespace: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  ui?: boolean; // start the Web UI (default false: headless for tests)
  uiPort?: number; // preferred UI port (any free port when absent)
  dbFile?: string; // persist to a SQLite file instead of memory
  namespace?: string;
  /** The Web UI decodes payloads through this codec server (`--ui-codec-endpoint`, lib/codecServer.ts). */
  uiCodecEndpoint?: string;
  log?: (line: string) => void;
}

/**
 * Start the real `temporal server start-dev` on free ports, with cosell's custom search attributes
 * registered, and wait until its frontend answers. The child is in its own process group so that
 * stop() (and a crash of ours) never leaves it behind.
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  // freePort() only probes: another process (a test's sandbox, an outgoing connection) can take the
  // port before the server binds it. That shows as "address already in use"; pick new ports and retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(opts);
    } catch (e) {
      if (attempt >= 3 || !(e instanceof CosellError && /address already in use/.test(e.message))) throw e;
      log.warn(`temporal server start-dev: a port was taken before it bound (attempt ${attempt}); retrying on new ports`);
    }
  }
}

async function startOnFreePorts(opts: DevServerOptions): Promise<DevServer> {
  const bin = await findTemporalCli();
  const namespace = opts.namespace ?? 'default';
  const port = await freePort();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, '--log-level', 'error', ...searchAttributeArgs()];
  let uiPort: number | undefined;
  if (opts.ui) {
    uiPort = await freePort(opts.uiPort);
    if (opts.uiPort && uiPort !== opts.uiPort) log.warn(`port ${opts.uiPort} is taken: the Temporal Web UI uses ${uiPort} instead`);
    args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
    if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  } else {
    args.push('--headless');
  }
  // The dev server also opens an HTTP API and a metrics port; let it pick free ones.
  args.push('--http-port', String(await freePort()), '--metrics-port', String(await freePort()));
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);

  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
    opts.log?.(b.toString());
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };

  const address = `127.0.0.1:${port}`;
  try {
    await Promise.race([
      (async () => {
        await waitForPort(port, '127.0.0.1', 60_000);
        // The port opens before the namespace is ready; wait for a real RPC to succeed.
        const conn = await Connection.connect({ address });
        try {
          for (let i = 0; ; i++) {
            try {
              await conn.workflowService.describeNamespace({ namespace });
              break;
            } catch (e) {
              if (i > 300) throw e;
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        } finally {
          await conn.close();
        }
      })(),
      exited.then((code) => {
        throw new CosellError('COSELL_TEMPORAL_SERVER_START', `temporal server start-dev exited with code ${code}: ${output.trim()}`);
      }),
    ]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { address, namespace, uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined, process: child, stop };
}
