import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { TASK_QUEUE } from '../lib/client.js';
import type { LoadedNetwork } from '../lib/config.js';
import { overlapHandle, overlapStatusQuery, overlapWorkflow, overlapWorkflowId } from '../lib/workflowClient.js';
import type { OverlapStatus } from '../workflows/overlap.js';
import { sharingPartners } from './partnership.js';

/** Start `overlap:<partner>` for every partner with a sharing block; idempotent (running ones are kept). */
export async function startOverlapWorkflows(client: Client, loaded: LoadedNetwork, opts: { taskQueue?: string; only?: string[] } = {}): Promise<string[]> {
  const started: string[] = [];
  for (const partnerId of sharingPartners(loaded)) {
    if (opts.only && !opts.only.includes(partnerId)) continue;
    await client.workflow.start(overlapWorkflow, {
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId: overlapWorkflowId(partnerId),
      args: [{ partnerId }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    started.push(partnerId);
  }
  return started;
}

/** The running workflow's status, or undefined when there is none. */
export async function overlapStatus(client: Client, partnerId: string): Promise<OverlapStatus | undefined> {
  try {
    return await overlapHandle(client, partnerId).query(overlapStatusQuery);
  } catch {
    return undefined;
  }
}
