import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../app/devServer.js';
import { workflowBundle } from '../app/worker.js';
import { startTestPostgres, type TestPostgres } from './helpers/postgres.js';
import { replayLiveHistories } from './helpers/replay.js';
import { tempDir } from './helpers/tmp.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    /** PostgreSQL for the ledger tests: COSELL_TEST_DATABASE_URL, or a throwaway cluster (test/helpers/postgres.ts). */
    databaseUrl: string;
  }
}

let server: DevServer | undefined;
let postgres: TestPostgres | undefined;
let replayCheck: { address: string; bundlePath: string; dir: string } | undefined;

/**
 * ONE real Temporal dev server per test run, shared by every test file (or the cluster named by
 * TEMPORAL_ADDRESS), and one workflow bundle built once and shared by every test worker.
 */
export async function setup(project: TestProject) {
  let address = process.env.TEMPORAL_ADDRESS;
  const started = !address ? startDevServer({ ui: false }) : undefined;
  const dir = tempDir('cosell-test-');
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  const pgUrl = process.env.COSELL_TEST_DATABASE_URL;
  const [srv, bundle, pgStarted] = await Promise.all([started, workflowBundle(), pgUrl ? undefined : startTestPostgres()]);
  postgres = pgStarted;
  if (srv) {
    server = srv;
    address = srv.address;
  }
  writeFileSync(bundlePath, bundle.code);
  replayCheck = { address: address!, bundlePath, dir: path.join(dir, 'nondeterministic') };
  project.provide('temporalAddress', address!);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('databaseUrl', pgUrl ?? pgStarted!.url);
}

/** The replay workers would log every state change at INFO; their failures are reported below. */
function quietReplayLogs() {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // A runtime already installed in this process keeps its logger.
  }
}

/**
 * Before the dev server goes: every workflow run this test run made is replayed on the bundle
 * (test/helpers/replay.ts replayLiveHistories), so every e2e test is also a determinism test. A
 * throw here would not fail the run (vitest only logs it), so a failure sets the exit code.
 */
export async function teardown() {
  try {
    if (replayCheck && process.env.COSELL_REPLAY_CHECK !== '0') {
      const started = Date.now();
      quietReplayLogs();
      const r = await replayLiveHistories(replayCheck.address, { codePath: replayCheck.bundlePath }, replayCheck.dir);
      const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
      if (r.nondeterministic.length) {
        process.exitCode = 1;
        console.error(`\nDETERMINISM CHECK FAILED: ${r.nondeterministic.length} of ${r.replayed} workflow runs of this test run do not replay on the bundle (${took}):`);
        for (const f of r.nondeterministic) console.error(`- ${f.workflowId} (run ${f.runId}): ${f.error}\n  history: ${f.file}\n  ${f.around.join('\n  ')}`);
        console.error('A workflow decided something its history does not determine: find the decision and make it depend on the history only (gate the change with patched()).');
      } else {
        console.log(`\ndeterminism check: ${r.replayed} workflow runs of this test run replay on the bundle (${r.encrypted} with encrypted payloads not replayed; ${took})`);
      }
    }
  } finally {
    await Promise.all([server?.stop(), postgres?.stop()]);
  }
}
