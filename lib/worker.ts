import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, Runtime, Worker, DefaultLogger, type BundleOptions, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { connectWorkerConnection, TASK_QUEUE } from './client.js';
import { classifyActivityFailures } from './failures.js';
import { log } from './logger.js';
import { ENCODED_FAILURE_CONVERTER_PATH, payloadDataConverter } from './payloadCodec.js';
import { PROJECT_ROOT } from './temporalCli.js';

export const WORKFLOWS_PATH = path.join(PROJECT_ROOT, 'workflows', 'index.ts');

let bundlePromise: Promise<WorkflowBundleWithSourceMap> | undefined;

/**
 * Bundle the workflow code once per process (webpack takes a few seconds). The bundle always carries
 * the encoded failure converter: a failure raised by workflow code is converted inside the workflow
 * sandbox, with the converter compiled into the bundle (the worker's dataConverter never sees it), so
 * without it a workflow's failure message would reach history in plaintext even with a payload key.
 * Without a key the message travels in a json/plain payload that every client and the Web UI decode.
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundlePromise ??= bundleWorkflowCode(workflowBundleOptions());
  return bundlePromise;
}

/** How cosell bundles workflow code (exported so a test can bundle its own workflows the same way). */
export function workflowBundleOptions(workflowsPath = WORKFLOWS_PATH): BundleOptions {
  return { workflowsPath, failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH, logger: new DefaultLogger('WARN') };
}

/**
 * Bundle the workflow code in a short-lived child process and return the bundle's file. webpack needs
 * a few hundred MB while it works, and V8 does not hand that back: a long-running worker that bundled
 * in-process would carry it for its whole life.
 */
export async function workflowBundleFile(): Promise<string> {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cosell-bundle-')), 'workflows.js');
  const code = `const { workflowBundle } = await import(${JSON.stringify(path.join(PROJECT_ROOT, 'lib/worker.ts'))}); const b = await workflowBundle(); (await import('node:fs')).writeFileSync(${JSON.stringify(file)}, b.code);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const exitCode = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('exit', resolve));
  if (exitCode !== 0) throw new Error(`bundling the workflow code failed (exit ${exitCode})`);
  return file;
}

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN', (entry) => log.warn({ sdk: entry.meta }, entry.message)) });
  } catch {
    /* already installed by someone else */
  }
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
}

export async function createWorker(opts: WorkerOptions = {}, connected?: { connection: NativeConnection; namespace: string }): Promise<Worker> {
  quietRuntime();
  // Read the key before connecting: a bad key fails fast with COSELL_PAYLOAD_KEY.
  const dataConverter = payloadDataConverter();
  const { connection, namespace } = connected ?? (await connectWorkerConnection(opts.address));
  const workflowSource = opts.codePath ? { workflowBundle: { codePath: opts.codePath } } : { workflowBundle: await workflowBundle() };
  return Worker.create({
    connection,
    namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: opts.activities ?? createActivities(),
    // Every activity error becomes a failure typed and classified by the error catalogue (lib/failures.ts).
    interceptors: { activity: [classifyActivityFailures] },
    ...(opts.maxTaskQueueActivitiesPerSecond ? { maxTaskQueueActivitiesPerSecond: opts.maxTaskQueueActivitiesPerSecond } : {}),
    ...(dataConverter ? { dataConverter } : {}),
    ...workflowSource,
  });
}

/** Run a worker until SIGINT/SIGTERM, then drain and exit cleanly. */
export async function runWorkerUntilSignal(opts: WorkerOptions = {}): Promise<void> {
  quietRuntime();
  payloadDataConverter(); // a bad key fails before anything connects
  // Connect before bundling: an unreachable Temporal fails in a second, not after webpack.
  const connected = await connectWorkerConnection(opts.address);
  let worker: Worker;
  try {
    const bundled = opts.codePath ? undefined : await workflowBundleFile();
    // The worker reads the bundle once, at creation.
    worker = await createWorker({ ...opts, codePath: opts.codePath ?? bundled }, connected).finally(() => bundled && rmSync(path.dirname(bundled), { recursive: true, force: true }));
  } catch (e) {
    await connected.connection.close().catch(() => undefined);
    throw e;
  }
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log.info({ taskQueue: opts.taskQueue ?? TASK_QUEUE }, 'worker started');
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await worker.connection?.close().catch(() => undefined);
    log.info('worker stopped');
  }
}
