import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { TASK_QUEUE } from '../lib/client.js';
import type { LoadedNetwork } from '../lib/config.js';
import { rulesIndex, rulesIndexWorkflowId } from '../lib/workflowClient.js';

/** Start the `rulesIndex` workflow when the network has registration links (idempotent). */
export async function startRulesIndex(client: Client, network: LoadedNetwork, opts: { taskQueue?: string; everyMs?: number } = {}): Promise<string | undefined> {
  if (!network.network.links.some((l) => l.registration)) return undefined;
  const workflowId = rulesIndexWorkflowId(network.network.vendor.id);
  await client.workflow.start(rulesIndex, {
    workflowId,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    args: [{ everyMs: opts.everyMs ?? 30_000 }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return workflowId;
}
