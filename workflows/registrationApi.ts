import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DisputeResolution, DisputeState } from '../rules/dispute.js';
import type { HumanDecision, InfoProvided, InfoRequestInput, Redecision, RegistrationState } from '../rules/lifecycle.js';
import type { AttributionRole } from '../rules/types.js';

/**
 * Every message a registration workflow (`registration:<partner>:<source-id>`) takes, typed, in one
 * place: the CLI (cli/registrations.ts), the console and the sync gate call these definitions, so
 * there is one code path for an action whoever takes it. Updates return the registration's state
 * after the action; a refused one fails with the lifecycle's reason (rules/lifecycle.ts) before it
 * enters history.
 */

/** Anyone may import these names without the workflow module (e.g. a client in another language). */
export const REGISTRATION_MESSAGES = {
  decide: 'decide',
  requestInfo: 'requestInfo',
  provideInfo: 'provideInfo',
  extend: 'extend',
  attribute: 'attribute',
  redecide: 'redecide',
  vendorClosed: 'vendorClosed',
  superseded: 'superseded',
  status: 'status',
  resolveDispute: 'resolveDispute',
  requestExtension: 'requestExtension',
  decideExtension: 'decideExtension',
  disputeStatus: 'disputeStatus',
} as const;

export type ExtendRequest = { by: string; reason?: string };
export type ExtensionRequestInput = { by: string; reason: string };
export type ExtensionDecision = { action: 'approve' | 'deny'; by: string; reason: string };
export type AttributeRequest = { by: string; partners: Array<{ partnerId: string; role: AttributionRole; split?: number }> };
export type VendorClosed = { outcome: 'won' | 'lost'; vendorOpportunityId?: string };
export type Superseded = { by: string; reason: string };

/**
 * A person approves or rejects a registration pending review. Multi-level approval: an approval
 * counts once per person and fills one level (`state.awaiting` says what is still needed); the
 * registration is approved when nothing awaits.
 */
export const decideUpdate = defineUpdate<RegistrationState, [HumanDecision]>(REGISTRATION_MESSAGES.decide);
/** "Action Required": a reviewer names the fields the partner must complete; the partner's deal shows them. */
export const requestInfoUpdate = defineUpdate<RegistrationState, [InfoRequestInput]>(REGISTRATION_MESSAGES.requestInfo);
/** Sent by the sync gate when the partner changed requested fields: the rules' new decision. */
export const provideInfoUpdate = defineUpdate<RegistrationState, [InfoProvided]>(REGISTRATION_MESSAGES.provideInfo);
/** Extend exclusivity by the policy's extension period (at most `maxExtensions` times). */
export const extendUpdate = defineUpdate<RegistrationState, [ExtendRequest]>(REGISTRATION_MESSAGES.extend);
/**
 * The partner asks to extend exclusivity (its deal's extension field, read by the sync gate, or a person
 * on its behalf): the request waits for `decideExtension`; the status does not change.
 */
export const requestExtensionUpdate = defineUpdate<RegistrationState, [ExtensionRequestInput]>(REGISTRATION_MESSAGES.requestExtension);
/** The vendor approves (one extension period, as `extend`) or denies the open extension request. */
export const decideExtensionUpdate = defineUpdate<RegistrationState, [ExtensionDecision]>(REGISTRATION_MESSAGES.decideExtension);
/** Several partners on one deal: roles and splits (default splits from the policy when omitted). */
export const attributeUpdate = defineUpdate<RegistrationState, [AttributeRequest]>(REGISTRATION_MESSAGES.attribute);
/**
 * The partner's deal changed materially after the decision (registrations/gate.ts): the rules'
 * new decision, applied here so the workflow stays the registration's one writer.
 */
export const redecideUpdate = defineUpdate<RegistrationState, [Redecision]>(REGISTRATION_MESSAGES.redecide);
/** The vendor opportunity closed (seen by the vendor-account index feed). */
export const vendorClosedSignal = defineSignal<[VendorClosed]>(REGISTRATION_MESSAGES.vendorClosed);
/**
 * An earlier-created registration of the same customer took the customer over while this one was
 * pending (the ledger already says rejected): reject it, telling the partner. Sent by the gate.
 */
export const supersededSignal = defineSignal<[Superseded]>(REGISTRATION_MESSAGES.superseded);
export const registrationStatusQuery = defineQuery<RegistrationState>(REGISTRATION_MESSAGES.status);

/** What starts workflow `dispute` (type name `dispute`): the disputed registration and who raised it. */
export interface DisputeWorkflowInput {
  registrationId: string;
  partnerId: string;
  /** "partner" (the dispute field on its own deal) or the channel manager acting for it. */
  by: string;
  reason: string;
}

/** A person resolves a dispute: uphold | overturn | split (with optional shares). Returns the dispute's state. */
export const resolveDisputeUpdate = defineUpdate<DisputeState, [DisputeResolution]>(REGISTRATION_MESSAGES.resolveDispute);
export const disputeStatusQuery = defineQuery<DisputeState>(REGISTRATION_MESSAGES.disputeStatus);
