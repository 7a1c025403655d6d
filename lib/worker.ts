import path from 'node:path';
import { bundleWorkflowCode, Runtime, Worker, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { connectWorkerConnection, TASK_QUEUE } from './client.js';
import { log } from './logger.js';
import { PROJECT_ROOT } from './temporalCli.js';

export const WORKFLOWS_PATH = path.join(PROJECT_ROOT, 'workflows', 'index.ts');

let bundlePromise: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundle the workflow code once per process (webpack takes a few seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return bundlePromise;
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

export async function createWorker(opts: WorkerOptions = {}): Promise<Worker> {
  quietRuntime();
  const { connection, namespace } = await connectWorkerConnection(opts.address);
  const workflowSource = opts.codePath ? { workflowBundle: { codePath: opts.codePath } } : { workflowBundle: await workflowBundle() };
  return Worker.create({
    connection,
    namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: opts.activities ?? createActivities(),
    ...(opts.maxTaskQueueActivitiesPerSecond ? { maxTaskQueueActivitiesPerSecond: opts.maxTaskQueueActivitiesPerSecond } : {}),
    ...workflowSource,
  });
}

/** Run a worker until SIGINT/SIGTERM, then drain and exit cleanly. */
export async function runWorkerUntilSignal(opts: WorkerOptions = {}): Promise<void> {
  const worker = await createWorker(opts);
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
