import { WorkflowIdReusePolicy, type WorkflowIdConflictPolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { RegistrationWorkflowInput } from '../registrations/registrationWorkflow.js';
import { changeStream, dispute, linkSync, overlapWorkflow, registration, rulesIndex, scorecard } from '../workflows/index.js';
import { supersededSignal, type DisputeWorkflowInput, type Superseded } from '../workflows/registrationApi.js';

/**
 * Every workflow cosell runs, seen from a client (CLI, console, activities, the gate, push sources):
 * its id, a typed handle on it, and — for the workflows started from more than one place — the start
 * itself. The messages (signals, queries, updates) are the workflow modules' own `define*`
 * definitions, re-exported here so a caller needs this one module and never names a workflow type,
 * signal or update by string.
 *
 *   workflow type    id                                  started by
 *   linkSync         sync:<link>                         lib/links.ts (startLinks)
 *   changeStream     stream:<org>:<object>               lib/streams.ts (startStreams)
 *   registration     registration:<partner>:<source-id>  the gate (registrations/gate.ts); a dispute's overturn
 *   dispute          dispute:<partner>:<source-id>       the gate (partner's dispute field); the CLI / console
 *   rulesIndex       rules-index:<vendor>                registrations/start.ts
 *   overlapWorkflow  overlap:<partner>                   overlaps/start.ts
 *   scorecard        scorecard:<vendor>                  analytics/start.ts
 */

export { linkSync, changeStream, registration, dispute, rulesIndex, overlapWorkflow, scorecard };
export { syncNowSignal, pauseSignal, resumeSignal, resyncUpdate, statusQuery as linkStatusQuery } from '../workflows/sync.js';
export { streamNotifySignal, streamPollNowSignal, streamStatusQuery } from '../workflows/stream.js';
export { refreshRulesIndexSignal } from '../workflows/registration.js';
export {
  attributeUpdate,
  decideExtensionUpdate,
  decideUpdate,
  disputeStatusQuery,
  extendUpdate,
  provideInfoUpdate,
  redecideUpdate,
  registrationStatusQuery,
  requestExtensionUpdate,
  requestInfoUpdate,
  resolveDisputeUpdate,
  supersededSignal,
  vendorClosedSignal,
} from '../workflows/registrationApi.js';
export { overlapNowSignal, overlapStatusQuery } from '../workflows/overlap.js';
export { scorecardNowSignal, scorecardStatusQuery } from '../workflows/scorecard.js';

// ---- ids: the one definition of each workflow type's id scheme ----
export const linkWorkflowId = (linkId: string) => `sync:${linkId}`;
export const streamWorkflowId = (streamId: string) => `stream:${streamId}`;
export const registrationWorkflowId = (registrationId: string) => `registration:${registrationId}`;
/** One dispute per registration: `dispute:<partner>:<source-id>`. */
export const disputeWorkflowId = (registrationId: string) => `dispute:${registrationId}`;
export const rulesIndexWorkflowId = (vendorId: string) => `rules-index:${vendorId}`;
export const overlapWorkflowId = (partnerId: string) => `overlap:${partnerId}`;
export const scorecardWorkflowId = (vendorId: string) => `scorecard:${vendorId}`;

// ---- typed handles ----
export const linkHandle = (client: Client, linkId: string): WorkflowHandle<typeof linkSync> => client.workflow.getHandle(linkWorkflowId(linkId));
export const streamHandle = (client: Client, streamId: string): WorkflowHandle<typeof changeStream> => client.workflow.getHandle(streamWorkflowId(streamId));
export const registrationHandle = (client: Client, registrationId: string): WorkflowHandle<typeof registration> => client.workflow.getHandle(registrationWorkflowId(registrationId));
export const disputeHandle = (client: Client, registrationId: string): WorkflowHandle<typeof dispute> => client.workflow.getHandle(disputeWorkflowId(registrationId));
export const overlapHandle = (client: Client, partnerId: string): WorkflowHandle<typeof overlapWorkflow> => client.workflow.getHandle(overlapWorkflowId(partnerId));
export const scorecardHandle = (client: Client, vendorId: string): WorkflowHandle<typeof scorecard> => client.workflow.getHandle(scorecardWorkflowId(vendorId));

// ---- starts used from more than one place ----

/** What the Web UI filters registration runs by; the status attribute is the workflow's own from then on. */
const registrationSearchAttributes = (partner: string) => ({ CosellKind: ['registration'], CosellPartner: [partner], CosellRegistrationStatus: ['submitted'] });

export interface RegistrationStart {
  taskQueue: string;
  /** The registering partner (search attribute). */
  partner: string;
  /** Whether an id that already ran may run again: the gate never (REJECT_DUPLICATE), an overturned dispute once more (ALLOW_DUPLICATE). */
  reuse: WorkflowIdReusePolicy;
  /** A running one with the id: USE_EXISTING (idempotent starts) or, when unset, the server's default (fail). */
  conflict?: WorkflowIdConflictPolicy;
  /** The Web UI's summary and details (registrations/registrationWorkflow.ts: registrationWorkflowMetadata). */
  metadata?: { staticSummary: string; staticDetails: string };
}

/** Start a registration's workflow `registration:<id>`. Throws WorkflowExecutionAlreadyStartedError as the policies say. */
export function startRegistration(client: Client, input: RegistrationWorkflowInput, o: RegistrationStart): Promise<WorkflowHandle<typeof registration>> {
  return client.workflow.start(registration, {
    workflowId: registrationWorkflowId(input.id),
    taskQueue: o.taskQueue,
    args: [input],
    workflowIdReusePolicy: o.reuse,
    ...(o.conflict !== undefined ? { workflowIdConflictPolicy: o.conflict } : {}),
    searchAttributes: registrationSearchAttributes(o.partner),
    ...o.metadata,
  });
}

/** Tell a registration's workflow it was superseded, starting it (already told) if it has not started. */
export function supersedeRegistration(client: Client, input: RegistrationWorkflowInput, superseded: Superseded, o: Omit<RegistrationStart, 'conflict'>): Promise<WorkflowHandle<typeof registration>> {
  return client.workflow.signalWithStart(registration, {
    workflowId: registrationWorkflowId(input.id),
    taskQueue: o.taskQueue,
    args: [input],
    signal: supersededSignal,
    signalArgs: [superseded],
    workflowIdReusePolicy: o.reuse,
    searchAttributes: registrationSearchAttributes(o.partner),
    ...o.metadata,
  });
}

/** Open a registration's dispute `dispute:<id>` (once: a second start throws WorkflowExecutionAlreadyStartedError). */
export function startDispute(client: Client, input: DisputeWorkflowInput, o: { taskQueue: string }): Promise<WorkflowHandle<typeof dispute>> {
  return client.workflow.start(dispute, {
    workflowId: disputeWorkflowId(input.registrationId),
    taskQueue: o.taskQueue,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    searchAttributes: { CosellKind: ['dispute'], CosellPartner: [input.partnerId] },
  });
}
