import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createWorker, type WorkerOptions } from '../../app/worker.js';

/** The shared real dev server started by test/globalSetup.ts. */
export function temporalAddress(): string {
  return inject('temporalAddress');
}

export async function testClient(): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return new Client({ connection, namespace: 'default' });
}

/**
 * A worker on its own task queue (so test files never steal each other's tasks), using the shared
 * bundle — or, traced, the traced bundle this process builds once (app/worker.ts workflowBundle).
 */
export async function testWorker(opts: Omit<WorkerOptions, 'address' | 'codePath'> & { taskQueue: string }): Promise<Worker> {
  return createWorker({ ...opts, address: temporalAddress(), ...(opts.tracing ? {} : { codePath: inject('workflowBundlePath') }) });
}

export function uniqueQueue(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
