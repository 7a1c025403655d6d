import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { streamSpecs, streamsEnabled } from '../sync/streamPlan.js';
import { changeStream, type StreamStatus } from '../workflows/stream.js';
import { TASK_QUEUE } from './client.js';
import type { LoadedNetwork } from './config.js';
import { streamWorkflowId, streamStatusQuery } from './workflowClient.js';

/**
 * Start the change-stream workflows (`stream:<org>:<object>`) of a network whose `streams.enabled` is
 * on — all of them, or those the given links read; idempotent (a running stream is left as it is).
 */
export async function startStreams(client: Client, loaded: LoadedNetwork, opts: { taskQueue?: string; forLinks?: string[] } = {}): Promise<string[]> {
  if (!streamsEnabled(loaded)) return [];
  const started: string[] = [];
  for (const spec of streamSpecs(loaded)) {
    if (opts.forLinks && !spec.consumers.some((c) => c.kind === 'link' && opts.forLinks!.includes(c.of))) continue;
    await client.workflow.start(changeStream, {
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId: streamWorkflowId(spec.id),
      args: [{ streamId: spec.id }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    started.push(spec.id);
  }
  return started;
}

/** Status of every running stream workflow. */
export async function streamStatuses(client: Client): Promise<Array<{ workflowId: string; status?: StreamStatus; error?: string }>> {
  const out: Array<{ workflowId: string; status?: StreamStatus; error?: string }> = [];
  for await (const wf of client.workflow.list({ query: `CosellKind = 'stream' AND ExecutionStatus = 'Running'` })) {
    try {
      out.push({ workflowId: wf.workflowId, status: await client.workflow.getHandle(wf.workflowId).query(streamStatusQuery) });
    } catch (e) {
      out.push({ workflowId: wf.workflowId, error: (e as Error).message });
    }
  }
  return out.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}
