import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createActivities, type Activities, type ActivityDeps } from '../../activities/index.js';
import { resetRateBudgets } from '../../connectors/rateBudget.js';
import type { Ledger } from '../../ledger/index.js';
import type { LoadedNetwork } from '../../lib/config.js';
import type { Tracing } from '../../lib/tracing.js';
import { openLedger } from '../../ledger/index.js';
import { startLinks } from '../../lib/links.js';
import { Engine, type EngineDeps } from '../../sync/build.js';
import type { LinkStatus } from '../../sync/types.js';
import { statusQuery } from '../../workflows/index.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from './network.js';
import { startTestSandbox, type TestSandbox } from './sandbox.js';
import { testClient, testWorker } from './temporal.js';
import { eventually } from './wait.js';
import { linkWorkflowId, syncNowSignal, linkHandle } from '../../lib/workflowClient.js';

/** One worker process's worth of cosell in a test: an engine over the network and ledger, and a worker running its activities. */
export interface EngineWorker {
  engine: Engine;
  worker: Worker;
  activities: Activities;
  /** Shut the worker down (waiting for it) and close the engine's connectors; the ledger stays open. */
  stop(): Promise<void>;
}

export interface EngineWorkerOptions extends Omit<EngineDeps, 'network' | 'ledger'> {
  network: LoadedNetwork;
  ledger: Ledger;
  taskQueue: string;
  /** Policy / client for the registration activities (see ActivityDeps). */
  activityDeps?: Omit<ActivityDeps, 'engine'>;
  /** Wrap the activities the worker registers (count calls, inject failures); the engine is the same. */
  wrap?: (acts: Activities) => Record<string, (...args: any[]) => any>;
  /** A traced worker (lib/tracing.ts): the traced bundle, the interceptors, spans naming the network's links. */
  tracing?: Tracing;
}

/** Start an engine and a worker on `taskQueue` (the shared test dev server and workflow bundle). */
export async function startEngineWorker(opts: EngineWorkerOptions): Promise<EngineWorker> {
  const { network, ledger, taskQueue, activityDeps, wrap, tracing, ...deps } = opts;
  const engine = new Engine({ network, ledger, ...deps });
  const activities = createActivities({ engine, ...activityDeps });
  const worker = await testWorker({ taskQueue, activities: wrap ? wrap(activities) : activities, ...(tracing ? { tracing, network } : {}) });
  const running = worker.run();
  let stopped: Promise<void> | undefined;
  return {
    engine,
    worker,
    activities,
    stop: () =>
      (stopped ??= (async () => {
        worker.shutdown();
        await running;
        await engine.close();
      })()),
  };
}

/** Poll a link's status query until `pred` holds (the last status is in the timeout error). */
export async function waitForLink(client: Client, linkId: string, pred: (s: LinkStatus) => boolean | Promise<boolean>, opts: { what?: string; timeoutMs?: number; intervalMs?: number } = {}): Promise<LinkStatus> {
  const handle = linkHandle(client, linkId);
  let last: LinkStatus | undefined;
  try {
    return await eventually(opts.what ?? `link ${linkId}`, async () => {
      last = await handle.query(statusQuery);
      return (await pred(last)) ? last : undefined;
    }, { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: opts.intervalMs ?? 200 });
  } catch (e) {
    throw new Error(`${(e as Error).message}; last status ${JSON.stringify(last)}`);
  }
}

/** Terminate the given workflows (those already closed or never started are skipped). */
/** Every given link polls and catches up once more (what `cosell sync now` does for each). */
export async function syncRound(client: Client, linkIds: string[], timeoutMs = 60_000): Promise<void> {
  const mark = new Date().toISOString();
  for (const id of linkIds) await linkHandle(client, id).signal(syncNowSignal);
  await eventually('every link to catch up', async () => {
    const s = await Promise.all(linkIds.map((id) => linkHandle(client, id).query(statusQuery)));
    return s.every((x) => x.state === 'idle' && (x.lastCaughtUpAt ?? '') > mark);
  }, { timeoutMs, intervalMs: 200 });
}

export async function terminateWorkflows(client: Client | undefined, workflowIds: string[]): Promise<void> {
  for (const id of workflowIds) await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
}

/** Terminate every running workflow of a task queue (as visibility lists them). */
export async function terminateTaskQueue(client: Client | undefined, taskQueue: string): Promise<void> {
  if (!client) return;
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    await client.workflow.getHandle(wf.workflowId).terminate('test over').catch(() => undefined);
  }
}

/**
 * The usual set-up of a link e2e test file: a test sandbox, a network file over it, a SQLite ledger,
 * a client and one engine worker on its own task queue (links started when asked). `close()` undoes
 * all of it, terminating the network's link workflows first.
 */
export interface LinkHarness {
  sb: TestSandbox;
  network: LoadedNetwork;
  ledger: Ledger;
  client: Client;
  taskQueue: string;
  /** The current worker (replaced by `restart`). */
  run: EngineWorker;
  readonly engine: Engine;
  /** Stop the worker and start a fresh one (new engine: connectors and secrets read again), as a process restart does. */
  restart(): Promise<EngineWorker>;
  close(): Promise<void>;
}

export interface LinkHarnessOptions extends Omit<EngineWorkerOptions, 'network' | 'ledger' | 'taskQueue'> {
  orgs: Parameters<typeof startTestSandbox>[0]['orgs'];
  sandbox?: Parameters<typeof startTestSandbox>[1];
  /** Env var prefix for the sandbox's connection details (sandboxEnv). */
  envPrefix: string;
  /** The network file's text, given each org's `connection:` YAML. */
  network: (conn: Record<string, string>) => string;
  taskQueue: string;
  /** Start every enabled link's workflow once the worker runs. */
  startLinks?: boolean;
}

export async function startLinkHarness(opts: LinkHarnessOptions): Promise<LinkHarness> {
  const { orgs, sandbox, envPrefix, network: text, taskQueue, startLinks: start, ...workerOpts } = opts;
  const sb = await startTestSandbox({ orgs }, sandbox);
  const network = testNetwork(text(sandboxEnv(sb, envPrefix)));
  const ledger = await openLedger({ file: tempLedgerFile() });
  const client = await testClient();
  const begin = () => startEngineWorker({ ...workerOpts, network, ledger, taskQueue });
  const h: LinkHarness = {
    sb,
    network,
    ledger,
    client,
    taskQueue,
    run: await begin(),
    get engine() {
      return h.run.engine;
    },
    async restart() {
      await h.run.stop();
      // A new process starts with empty rate budgets (they are process-wide, connectors/rateBudget.ts);
      // keeping them made an in-process "restart" still wait out a spent quota's reset.
      resetRateBudgets();
      return (h.run = await begin());
    },
    async close() {
      await terminateWorkflows(client, network.network.links.map((l) => linkWorkflowId(l.id)));
      await h.run.stop();
      await ledger.close();
      await sb.stop();
      await client.connection.close();
    },
  };
  if (start) await startLinks(client, network, { taskQueue });
  return h;
}

/**
 * `n` engine workers on one task queue, each with its own connection to ONE PostgreSQL ledger (as `n`
 * worker processes sharing a ledger). `wrap(acts, i)` wraps worker i's activities. `stop()` stops the
 * workers and closes their ledger connections.
 */
export async function startWorkersOnOneLedger(
  n: number,
  opts: Omit<EngineWorkerOptions, 'ledger' | 'wrap'> & { url: string; wrap?: (acts: Activities, i: number) => ReturnType<NonNullable<EngineWorkerOptions['wrap']>> },
): Promise<{ ledgers: Ledger[]; runs: EngineWorker[]; stop(): Promise<void> }> {
  const { url, wrap, ...rest } = opts;
  const ledgers: Ledger[] = [];
  const runs: EngineWorker[] = [];
  for (let i = 0; i < n; i++) {
    const ledger = await openLedger({ url });
    ledgers.push(ledger);
    runs.push(await startEngineWorker({ ...rest, ledger, ...(wrap ? { wrap: (acts: Activities) => wrap(acts, i) } : {}) }));
  }
  return {
    ledgers,
    runs,
    async stop() {
      await Promise.all(runs.map((r) => r.stop()));
      for (const l of ledgers) await l.close();
    },
  };
}
