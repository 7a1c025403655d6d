import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import type { LinkStatus } from '../sync/types.js';
import type { LoadedNetwork } from './config.js';
import { TASK_QUEUE } from './client.js';
import { startStreams } from './streams.js';
import { linkStatusQuery, linkSync, linkWorkflowId } from './workflowClient.js';

/** Start every enabled link's workflow; idempotent (an already running link is left as it is). */
export async function startLinks(client: Client, loaded: LoadedNetwork, opts: { taskQueue?: string; only?: string[] } = {}): Promise<string[]> {
  const started: string[] = [];
  for (const link of loaded.network.links) {
    if (!link.enabled || (opts.only && !opts.only.includes(link.id))) continue;
    await client.workflow.start(linkSync, {
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId: linkWorkflowId(link.id),
      args: [{ linkId: link.id }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      // What the Web UI lists for it (among thousands of registration workflows: filter CosellKind='link').
      staticSummary: `link ${link.id}: ${link.from} → ${link.to}${link.registration ? ' (registrations)' : ''}`,
      staticDetails: `**Link** ${link.id}\n\n**From** ${link.from}\n\n**To** ${link.to}\n\n**Schedule** every ${link.schedule}\n\nFind every link: \`CosellKind = 'link'\`; one: \`CosellLink = '${link.id}'\``,
    });
    started.push(link.id);
  }
  // With change streams on, the links read their source objects' streams: start those too.
  await startStreams(client, loaded, { taskQueue: opts.taskQueue, forLinks: opts.only ? started : undefined });
  return started;
}

/** Status of every link workflow the cluster knows (running or not), newest first. */
export async function linkStatuses(client: Client): Promise<Array<{ workflowId: string; running: boolean; status?: LinkStatus; error?: string }>> {
  const out: Array<{ workflowId: string; running: boolean; status?: LinkStatus; error?: string }> = [];
  for await (const wf of client.workflow.list({ query: `CosellKind = 'link' AND ExecutionStatus = 'Running'` })) {
    try {
      const status = await client.workflow.getHandle(wf.workflowId).query(linkStatusQuery);
      out.push({ workflowId: wf.workflowId, running: true, status });
    } catch (e) {
      out.push({ workflowId: wf.workflowId, running: true, error: (e as Error).message });
    }
  }
  return out.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}
