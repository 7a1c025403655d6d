import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../lib/devServer.js';
import { workflowBundle } from '../lib/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

let server: DevServer | undefined;

/**
 * ONE real Temporal dev server per test run, shared by every test file (or the cluster named by
 * TEMPORAL_ADDRESS), and one workflow bundle built once and shared by every test worker.
 */
export async function setup(project: TestProject) {
  let address = process.env.TEMPORAL_ADDRESS;
  const started = !address ? startDevServer({ ui: false }) : undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cosell-test-'));
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  const [srv, bundle] = await Promise.all([started, workflowBundle()]);
  if (srv) {
    server = srv;
    address = srv.address;
  }
  writeFileSync(bundlePath, bundle.code);
  project.provide('temporalAddress', address!);
  project.provide('workflowBundlePath', bundlePath);
}

export async function teardown() {
  await server?.stop();
}
