import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../app/devServer.js';
import { workflowBundle } from '../app/worker.js';
import { startTestPostgres, type TestPostgres } from './helpers/postgres.js';
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
  project.provide('temporalAddress', address!);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('databaseUrl', pgUrl ?? pgStarted!.url);
}

export async function teardown() {
  await Promise.all([server?.stop(), postgres?.stop()]);
}
