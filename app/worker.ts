import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { bundleWorkflowCode, Worker, DefaultLogger, type BundleOptions, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { connectWorkerConnection, TASK_QUEUE } from '../lib/client.js';
import { classifyActivityFailures } from '../lib/failures.js';
import type { Ledger } from '../ledger/index.js';
import type { LoadedNetwork } from '../lib/config.js';
import { log } from '../lib/logger.js';
import { metricsSource } from '../lib/metrics.js';
import { startOpsServer, type OpsServer, type Readiness } from '../lib/opsServer.js';
import { ENCODED_FAILURE_CONVERTER_PATH, payloadDataConverter } from '../lib/payloadCodec.js';
import { installRuntime } from '../lib/runtime.js';
import { CHILD_EXEC_ARGV, codePath, FROM_SOURCE, PACKAGE_ROOT } from '../lib/packagePaths.js';
import { TRACED_WORKFLOW_MODULES, type Tracing } from '../lib/tracing.js';

/** The workflows' entry: the TypeScript source in a checkout, its compiled JavaScript in the package. */
export const WORKFLOWS_PATH = codePath('workflows', FROM_SOURCE ? 'index.ts' : 'index.js');

const bundlePromises = new Map<boolean, Promise<WorkflowBundleWithSourceMap>>();

/** `traced`: with the OpenTelemetry workflow interceptors compiled in (lib/tracingWorker.ts); off, the bundle has none. */
export interface BundleVariant {
  traced?: boolean;
}

/**
 * Bundle the workflow code once per process (webpack takes a few seconds). The bundle always carries
 * the encoded failure converter: a failure raised by workflow code is converted inside the workflow
 * sandbox, with the converter compiled into the bundle (the worker's dataConverter never sees it), so
 * without it a workflow's failure message would reach history in plaintext even with a payload key.
 * Without a key the message travels in a json/plain payload that every client and the Web UI decode.
 */
export function workflowBundle(variant: BundleVariant = {}): Promise<WorkflowBundleWithSourceMap> {
  const traced = !!variant.traced;
  let p = bundlePromises.get(traced);
  if (!p) bundlePromises.set(traced, (p = bundleWorkflowCode(workflowBundleOptions(WORKFLOWS_PATH, { traced }))));
  return p;
}

/** How cosell bundles workflow code (exported so a test can bundle its own workflows the same way). */
export function workflowBundleOptions(workflowsPath = WORKFLOWS_PATH, variant: BundleVariant = {}): BundleOptions {
  return {
    workflowsPath,
    failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
    ...(variant.traced ? { workflowInterceptorModules: [...TRACED_WORKFLOW_MODULES] } : {}),
  };
}

/**
 * Bundle the workflow code in a short-lived child process and return the bundle's file. webpack needs
 * a few hundred MB while it works, and V8 does not hand that back: a long-running worker that bundled
 * in-process would carry it for its whole life.
 */
export async function workflowBundleFile(variant: BundleVariant = {}): Promise<string> {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cosell-bundle-')), 'workflows.js');
  const code = `const { workflowBundle } = await import(${JSON.stringify(import.meta.url)}); const b = await workflowBundle(${JSON.stringify({ traced: !!variant.traced })}); (await import('node:fs')).writeFileSync(${JSON.stringify(file)}, b.code);`;
  const child = spawn(process.execPath, [...CHILD_EXEC_ARGV, '--input-type=module', '-e', code], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const exitCode = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('exit', resolve));
  if (exitCode !== 0) throw new Error(`bundling the workflow code failed (exit ${exitCode})`);
  return file;
}

export interface WorkerOptions {
  address?: string;
  taskQueue?: string;
  activities?: Record<string, (...args: any[]) => any>;
  codePath?: string; // a pre-built workflow bundle (tests share one)
  /**
   * Cap on activities per second for the whole task queue, enforced by the Temporal server across
   * every worker polling it: how a CRM's rate budget holds when several workers share it.
   */
  maxTaskQueueActivitiesPerSecond?: number;
  /**
   * Trace workflows and activities (lib/tracing.ts): the traced bundle, the SDK's interceptors and the
   * workflow span sink. With `codePath`, that bundle must be a traced one (workflowBundle({ traced: true })).
   */
  tracing?: Tracing;
  /** The network the activities serve: activity spans name its links, partners and orgs. */
  network?: LoadedNetwork;
}

export async function createWorker(opts: WorkerOptions = {}, connected?: { connection: NativeConnection; namespace: string }): Promise<Worker> {
  await installRuntime();
  // Read the key before connecting: a bad key fails fast with COSELL_PAYLOAD_KEY.
  const dataConverter = payloadDataConverter();
  const { connection, namespace } = connected ?? (await connectWorkerConnection(opts.address));
  const workflowSource = opts.codePath ? { workflowBundle: { codePath: opts.codePath } } : { workflowBundle: await workflowBundle({ traced: !!opts.tracing }) };
  // Loaded only for a traced worker: an untraced one carries no OpenTelemetry.
  const traced = opts.tracing ? (await import('../lib/tracingWorker.js')).tracedWorkerParts(opts.tracing, opts.network) : undefined;
  return Worker.create({
    connection,
    namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: opts.activities ?? createActivities(),
    // Every activity error becomes a failure typed and classified by the error catalogue (lib/failures.ts).
    // Tracing's spans wrap it (outermost first), so a span records the classified failure.
    interceptors: { activity: [...(traced?.activityInterceptors ?? []), classifyActivityFailures] },
    ...(traced ? { sinks: traced.sinks } : {}),
    ...(opts.maxTaskQueueActivitiesPerSecond ? { maxTaskQueueActivitiesPerSecond: opts.maxTaskQueueActivitiesPerSecond } : {}),
    ...(dataConverter ? { dataConverter } : {}),
    ...workflowSource,
  });
}

export interface LaunchOptions extends WorkerOptions {
  /**
   * Serve /metrics, /healthz and /readyz on this port (lib/opsServer.ts; 0: any free port). Absent: no
   * ops server and no Temporal runtime metrics.
   */
  metricsPort?: number;
  /** Interface for the ops server (default 127.0.0.1). */
  metricsHost?: string;
  /** The ledger /readyz checks and the ledger gauges count (the engine's); absent without a network file. */
  ledger?: Ledger;
}

/** A worker created and not yet running, with its ops server (when asked for) already answering. */
export interface LaunchedWorker {
  worker: Worker;
  ops?: OpsServer;
  /** Run until shut down; then the connection closes (the ops server stays: /readyz says why not ready). */
  run(): Promise<void>;
  /** Begin shutting down (from now on /readyz is 503); `run()` resolves once the worker drained. */
  shutdown(): void;
  /** Stop the ops server (after run() resolved). */
  close(): Promise<void>;
}

/** Answer within this long or count as down: a probe must not hang on a dead server. */
const CHECK_TIMEOUT_MS = 2_000;

async function check(what: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([what(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)))]);
    return 'ok';
  } catch (e) {
    return String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connect, bundle and create a worker — with the ops server up from the first moment when
 * `metricsPort` is given, so probes see "starting" rather than a refused connection. `cosell worker`
 * runs it until a signal (runWorkerUntilSignal); a test or the demo run it themselves.
 */
export async function launchWorker(opts: LaunchOptions = {}): Promise<LaunchedWorker> {
  const serveOps = opts.metricsPort !== undefined;
  // The runtime first: its metrics exporter exists only if it is installed before anything native.
  await installRuntime({ metrics: serveOps });
  payloadDataConverter(); // a bad key fails before anything connects
  let phase = 'connecting to Temporal';
  let connected: { connection: NativeConnection; namespace: string } | undefined;
  let worker: Worker | undefined;
  let stopping = false;
  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, string> = {};
    checks.temporal = connected ? await check(() => connected!.connection.workflowService.getSystemInfo({})) : phase;
    if (opts.ledger) checks.ledger = await check(() => sql`select 1`.execute(opts.ledger!.db));
    const state = worker?.getState();
    checks.worker = stopping && state === 'RUNNING' ? 'shutting down' : state === 'RUNNING' ? 'ok' : state === 'INITIALIZED' ? 'created, not running yet' : state ? state.toLowerCase() : phase;
    const failed = Object.entries(checks).find(([, v]) => v !== 'ok');
    return failed ? { ready: false, reason: `${failed[0]}: ${failed[1]}`, checks } : { ready: true, checks };
  };
  const ops = serveOps ? await startOpsServer({ port: opts.metricsPort!, host: opts.metricsHost, metrics: metricsSource({ ledger: opts.ledger }), readiness }) : undefined;
  if (ops) log.info({ url: ops.url }, 'serving /metrics, /healthz and /readyz');
  try {
    // Connect before bundling: an unreachable Temporal fails in a second, not after webpack.
    connected = await connectWorkerConnection(opts.address);
    phase = 'bundling the workflow code';
    const bundled = opts.codePath ? undefined : await workflowBundleFile({ traced: !!opts.tracing });
    phase = 'creating the worker';
    // The worker reads the bundle once, at creation.
    worker = await createWorker({ ...opts, codePath: opts.codePath ?? bundled }, connected).finally(() => bundled && rmSync(path.dirname(bundled), { recursive: true, force: true }));
  } catch (e) {
    await connected?.connection.close().catch(() => undefined);
    await ops?.close();
    throw e;
  }
  const w = worker;
  return {
    worker: w,
    ops,
    async run() {
      try {
        await w.run();
      } finally {
        stopping = true;
        await w.connection?.close().catch(() => undefined);
      }
    },
    shutdown() {
      stopping = true;
      // Ctrl-C reaches the SDK's runtime too, which shuts its workers down by itself: shutting down a
      // worker that is already stopping throws.
      if (w.getState() === 'RUNNING') w.shutdown();
    },
    close: async () => ops?.close(),
  };
}

/** Run a worker until SIGINT/SIGTERM, then drain and exit cleanly (the spans still buffered exported). */
export async function runWorkerUntilSignal(opts: LaunchOptions = {}): Promise<void> {
  const launched = await launchWorker(opts);
  const stop = () => launched.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log.info({ taskQueue: opts.taskQueue ?? TASK_QUEUE }, 'worker started');
  try {
    await launched.run();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await launched.close();
    await opts.tracing?.shutdown();
    log.info('worker stopped');
  }
}
