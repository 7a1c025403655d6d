import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { TASK_QUEUE } from '../lib/client.js';
import type { LoadedNetwork } from '../lib/config.js';
import { scorecard, scorecardHandle, scorecardStatusQuery, scorecardWorkflowId } from '../lib/workflowClient.js';
import type { ScorecardStatus } from '../workflows/scorecard.js';

/** Start `scorecard:<vendor>` (idempotent: a running one is kept). Salesforce vendors only. */
export async function startScorecard(client: Client, network: LoadedNetwork, opts: { taskQueue?: string; everyMs?: number } = {}): Promise<string | undefined> {
  const vendor = network.network.vendor;
  if (vendor.kind !== 'salesforce') return undefined;
  const workflowId = scorecardWorkflowId(vendor.id);
  await client.workflow.start(scorecard, {
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    workflowId,
    args: [{ vendorId: vendor.id, ...(opts.everyMs ? { everyMs: opts.everyMs } : {}) }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return workflowId;
}

export async function scorecardStatus(client: Client, vendorId: string): Promise<ScorecardStatus | undefined> {
  try {
    return await scorecardHandle(client, vendorId).query(scorecardStatusQuery);
  } catch {
    return undefined;
  }
}
