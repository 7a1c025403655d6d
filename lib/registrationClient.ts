import type { Client } from '@temporalio/client';
import type { HumanDecision, InfoRequestInput, RegistrationState } from '../rules/lifecycle.js';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { DisputeResolution, DisputeState } from '../rules/dispute.js';
import { TASK_QUEUE } from './client.js';
import type { ExtensionDecision } from '../workflows/registrationApi.js';
import { CosellError } from './errors.js';
import {
  decideExtensionUpdate,
  decideUpdate,
  disputeHandle,
  disputeStatusQuery,
  disputeWorkflowId,
  extendUpdate,
  registrationHandle,
  requestExtensionUpdate,
  requestInfoUpdate,
  resolveDisputeUpdate,
  startDispute,
} from './workflowClient.js';

/**
 * The one client-side path for a person's decision on a registration: `cosell registrations
 * approve|reject|request-info|extend` and the console both call these, so both go through the registration
 * workflow's updates (validated there, audited by the workflow's activity with `by` as the actor).
 */

/** `registration:acme:42` and `acme:42` name the same registration. */
export function normaliseRegistrationId(id: string): string {
  return id.replace(/^registration:/, '');
}

/** A refused update carries the lifecycle's reason at the end of its cause chain. */
export function registrationRefusal(e: unknown): CosellError {
  let err = e as (Error & { cause?: unknown }) | undefined;
  const messages: string[] = [];
  while (err) {
    if (err.message) messages.push(err.message);
    err = err.cause as typeof err;
  }
  let reason = messages.at(-1) ?? String(e);
  // A finished workflow (rejected, expired, won, lost) takes no updates: say that, not the SDK's words.
  if (/workflow execution already completed/i.test(reason)) reason = 'its workflow has finished: the registration is closed to decisions';
  if (/workflow not found|not found for ID/i.test(reason)) reason = 'no workflow for this registration (not started yet, or from another Temporal namespace)';
  return new CosellError('COSELL_REGISTRATION_STATE', reason, { hint: 'see its status with `cosell registrations show <id>`' });
}

function requireText(value: string | undefined, what: string): string {
  const v = value?.trim();
  if (!v) throw new CosellError('COSELL_INPUT_INVALID', `${what} is required`);
  return v;
}

/** Approve or reject a registration pending review (the workflow's `decide` update). */
export async function decideRegistration(client: Client, id: string, d: HumanDecision): Promise<RegistrationState> {
  const decision: HumanDecision = { action: d.action, by: requireText(d.by, 'who decides'), reason: requireText(d.reason, 'a reason') };
  return registrationHandle(client, normaliseRegistrationId(id))
    .executeUpdate(decideUpdate, { args: [decision] })
    .catch((e: unknown) => Promise.reject(registrationRefusal(e)));
}

/** Extend an approved registration's exclusivity by the policy's extension period (the `extend` update). */
export async function extendRegistration(client: Client, id: string, req: { by: string; reason?: string }): Promise<RegistrationState> {
  const args = { by: requireText(req.by, 'who asks for it'), ...(req.reason?.trim() ? { reason: req.reason.trim() } : {}) };
  return registrationHandle(client, normaliseRegistrationId(id))
    .executeUpdate(extendUpdate, { args: [args] })
    .catch((e: unknown) => Promise.reject(registrationRefusal(e)));
}

/**
 * Ask for an extension of an approved registration's exclusivity on the partner's behalf (the
 * `requestExtension` update; partners ask through the extension field on their own deal).
 */
export async function requestRegistrationExtension(client: Client, id: string, req: { by: string; reason: string }): Promise<RegistrationState> {
  const args = { by: requireText(req.by, 'who asks'), reason: requireText(req.reason, 'a reason') };
  return registrationHandle(client, normaliseRegistrationId(id))
    .executeUpdate(requestExtensionUpdate, { args: [args] })
    .catch((e: unknown) => Promise.reject(registrationRefusal(e)));
}

/** Approve (one extension period) or deny the registration's open extension request (the `decideExtension` update). */
export async function decideRegistrationExtension(client: Client, id: string, d: ExtensionDecision): Promise<RegistrationState> {
  if (d.action !== 'approve' && d.action !== 'deny') throw new CosellError('COSELL_INPUT_INVALID', `an extension request is approved or denied, not "${String(d.action)}"`);
  const args: ExtensionDecision = { action: d.action, by: requireText(d.by, 'who decides'), reason: requireText(d.reason, 'a reason') };
  return registrationHandle(client, normaliseRegistrationId(id))
    .executeUpdate(decideExtensionUpdate, { args: [args] })
    .catch((e: unknown) => Promise.reject(registrationRefusal(e)));
}

/**
 * "Action Required": ask the partner for fields (the `requestInfo` update). The partner's deal shows
 * them; the sync re-decides the registration when the partner changes one of them.
 */
export async function requestRegistrationInfo(client: Client, id: string, req: InfoRequestInput): Promise<RegistrationState> {
  const args: InfoRequestInput = { by: requireText(req.by, 'who asks'), fields: req.fields.map((f) => f.trim()).filter(Boolean), reason: requireText(req.reason, 'a reason') };
  if (!args.fields.length) throw new CosellError('COSELL_INPUT_INVALID', 'name at least one field the partner must complete', { hint: 'e.g. --fields amount,closeDate' });
  return registrationHandle(client, normaliseRegistrationId(id))
    .executeUpdate(requestInfoUpdate, { args: [args] })
    .catch((e: unknown) => Promise.reject(registrationRefusal(e)));
}

/**
 * Open a dispute of a rejected registration (workflow `dispute:<partner>:<id>`), for the partner or by
 * a channel manager on its behalf. One dispute per registration: a second is refused.
 */
export async function openRegistrationDispute(client: Client, registration: { id: string; partner: string; status: string }, req: { by: string; reason: string }, opts: { taskQueue?: string } = {}): Promise<DisputeState> {
  const id = normaliseRegistrationId(registration.id);
  if (registration.status !== 'rejected') throw new CosellError('COSELL_REGISTRATION_STATE', `registration ${id} is ${registration.status}: only a rejection can be disputed`);
  const input = { registrationId: id, partnerId: registration.partner, by: requireText(req.by, 'who raises it'), reason: requireText(req.reason, 'a reason') };
  // The dispute runs where the registration's workflow runs (its worker has the registration's engine and policy).
  const taskQueue = opts.taskQueue ?? (await registrationHandle(client, id).describe().then((d) => d.taskQueue, () => TASK_QUEUE));
  try {
    const handle = await startDispute(client, input, { taskQueue });
    return await queryWhenStarted(() => handle.query(disputeStatusQuery));
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) throw new CosellError('COSELL_REGISTRATION_STATE', `registration ${id} already has a dispute (${disputeWorkflowId(id)})`, { hint: 'see it with `cosell registrations show`' });
    throw e;
  }
}

/** Resolve an open dispute: uphold | overturn | split (the dispute workflow's `resolveDispute` update). */
export async function resolveRegistrationDispute(client: Client, id: string, r: DisputeResolution): Promise<DisputeState> {
  const args: DisputeResolution = { outcome: r.outcome, by: requireText(r.by, 'who resolves it'), reason: requireText(r.reason, 'a reason'), ...(r.partners?.length ? { partners: r.partners } : {}) };
  return disputeHandle(client, normaliseRegistrationId(id))
    .executeUpdate(resolveDisputeUpdate, { args: [args] })
    .catch((e: unknown) => Promise.reject(registrationRefusal(e)));
}

/** A just-started workflow answers queries once its first task ran. */
async function queryWhenStarted<T>(q: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await q();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
