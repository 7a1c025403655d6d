import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { TASK_QUEUE } from './client.js';

/**
 * What code that runs inside an activity (or outside any worker: the CLI, tests) learns of the
 * activity it runs in: its worker's Temporal client, its task queue, its workflow. Outside an
 * activity each answers with its fallback.
 */

/** The given client, else the running activity's worker client (workers need no extra wiring). */
export function temporalClient(explicit?: Client): Client | undefined {
  if (explicit) return explicit;
  try {
    return Context.current().client;
  } catch {
    return undefined;
  }
}

export function currentTaskQueue(fallback?: string): string {
  try {
    return Context.current().info.taskQueue;
  } catch {
    return fallback ?? TASK_QUEUE;
  }
}

/** True inside an activity of workflow `workflowId`. */
export function runningFor(workflowId: string): boolean {
  try {
    return Context.current().info.workflowExecution?.workflowId === workflowId;
  } catch {
    return false;
  }
}
