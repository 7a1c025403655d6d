import type { Registration } from '../ledger/index.js';
import { isExclusive, type RegistrationStatus } from '../rules/index.js';
import type { Approval, AwaitingApproval, Decision, DecisionFacts, InfoRequest, PartnerAttribution } from '../rules/index.js';
import type { GateDecision } from '../sync/runtime.js';

/**
 * A registration as the ledger row holds it: what its `details` JSON carries, which statuses still
 * claim the customer, and how a status is enforced on the vendor pipeline.
 */

/** What the ledger row's `details` JSON holds for a registration. */
export interface RegistrationDetails {
  linkId: string;
  decision?: Pick<Decision, 'outcome' | 'ruleId' | 'reason' | 'matches'>;
  approvedAt?: string;
  attribution?: PartnerAttribution[];
  attributionType?: 'sourced' | 'influenced';
  workflowStarted?: boolean;
  escalated?: boolean;
  /** What the (latest) decision was made on: a material difference from it re-runs the decision. */
  decidedOn?: DecisionFacts;
  /** Where `submittedAt` came from: the partner's own create time, or (unknown there) when cosell first saw the deal. */
  registeredAtSource?: 'partner-crm' | 'first-seen';
  /** Set when an earlier-created registration of the same customer took it over while this one was pending. */
  supersededBy?: string;
  /** Multi-level approval, mirrored from the workflow for the review queue. */
  approvals?: Approval[];
  awaiting?: AwaitingApproval[];
  /** "Action Required": the open request, with what the requested fields held when it was made. */
  infoRequest?: InfoRequest & { values?: Record<string, string> };
  /** An auto-approval waiting (claim held as `submitted`) for these other registration links to read past `since`. */
  awaitingPeers?: { since: string; links: string[] };
  /** How long the auto-approval waited for the other links, and which were still behind when it stopped waiting. */
  waitedForPeers?: { ms: number; stillBehind: string[] };
  /** The registration's dispute (workflow dispute:<id>), once one was opened. */
  dispute?: { status: string; by: string; openedAt: string; outcome?: string };
  /** The open extension request, mirrored from the workflow for the queue. */
  extensionRequest?: { by: string; at: string; reason: string };
  /** The text of the partner's extension field last handed to the workflow (a new text is a new request). */
  extensionIntake?: string;
}

export function detailsOf(reg: Registration): RegistrationDetails {
  return (reg.details ?? {}) as unknown as RegistrationDetails;
}

/** A claim held as `submitted` while its auto-approval waits for the other registration links. */
export const awaitingPeers = (reg: Registration) => reg.status === 'submitted' && !!detailsOf(reg).awaitingPeers;

/** Statuses in which a registration still claims its customer (also: the workflow is running). */
export const ACTIVE_LEDGER_STATUSES = ['submitted', 'checked', 'pending-review', 'auto-approved', 'approved'];

/** How a status is enforced on the vendor pipeline. */
export function gateAction(reg: Registration): GateDecision['action'] {
  const status = reg.status as RegistrationStatus;
  if (isExclusive(status)) return 'write';
  if (status === 'rejected') return 'reject';
  if ((status === 'won' || status === 'lost' || status === 'expired') && detailsOf(reg).approvedAt) return 'write';
  return status === 'won' || status === 'lost' || status === 'expired' ? 'reject' : 'hold';
}
