import { createHash } from 'node:crypto';
import type { UpdateDefinition } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Registration } from '../ledger/index.js';
import { CosellError } from '../lib/errors.js';
import { beating } from '../lib/heartbeat.js';
import { registrationHandle } from '../lib/workflowClient.js';
import type { Decision } from '../rules/index.js';
import { detailsOf } from './details.js';

/**
 * The registration workflow seen from outside it: its id, what it starts from, what the Web UI lists
 * for it, and updates sent to it from a page (with a deadline and a stable update id).
 */

/**
 * What the Temporal Web UI lists for a registration workflow (its static summary and details, user
 * metadata: encrypted like payloads when a key is set, shown by the UI through the codec server), so a
 * list of hundreds of registrations reads as customers, partners and amounts, not ids. The status
 * changes: it is the `CosellRegistrationStatus` search attribute and the workflow's current details.
 */
export function registrationWorkflowMetadata(reg: Pick<Registration, 'id' | 'partner' | 'customerName' | 'customerDomain' | 'amount' | 'currency'>): { staticSummary: string; staticDetails: string } {
  const amount = reg.amount === null ? 'no amount' : `${reg.amount.toLocaleString('en-US', { maximumFractionDigits: 2 })}${reg.currency ? ` ${reg.currency}` : ''}`;
  const customer = reg.customerName ?? reg.customerDomain ?? 'unknown customer';
  return {
    staticSummary: `${customer} · ${reg.partner} · ${amount}`,
    staticDetails: [`**Registration** ${reg.id}`, `**Customer** ${customer}${reg.customerDomain ? ` (${reg.customerDomain})` : ''}`, `**Partner** ${reg.partner}`, `**Amount** ${amount}`].join('\n\n'),
  };
}

/** What the registration workflow starts from (the gate's decision travels with it). */
export interface RegistrationWorkflowInput {
  id: string;
  partnerId: string;
  sourceId: string;
  linkId: string;
  submittedAt: string;
  decision: Pick<Decision, 'outcome' | 'ruleId' | 'reason'>;
  /** The amount in the policy currency the decision was made on (approval levels; null: unknown). */
  amount?: number | null;
  /** A dispute overturned the rejection: this run starts approved (see workflows/dispute.ts). */
  reinstated?: { by: string; reason: string; dispute: string };
}

/** A registration workflow's input from the ledger row: its stored decision, else `fallback` with the row's reason. */
export function workflowInput(reg: Registration, linkId: string, fallback: Pick<Decision, 'outcome' | 'ruleId'>): RegistrationWorkflowInput {
  const decision = detailsOf(reg).decision ?? { ...fallback, reason: reg.reason ?? '' };
  return {
    id: reg.id,
    partnerId: reg.partner,
    sourceId: reg.sourceId,
    linkId,
    submittedAt: reg.submittedAt,
    decision: { outcome: decision.outcome, ruleId: decision.ruleId, reason: decision.reason },
    amount: detailsOf(reg).decidedOn?.amount ?? null,
  };
}

/** How long a page waits for a registration workflow to take an update before it fails and is retried. */
export const REGISTRATION_UPDATE_DEADLINE_MS = 60_000;

/**
 * Send an update to a registration's workflow and wait for its result — heartbeating meanwhile (the
 * workflow may first finish another transition's effects), for at most the deadline. Past it the page
 * fails with COSELL_REGISTRATION_BUSY and is retried: the link shows why instead of sitting `running`.
 * The update id is derived from what is asked of which version of the ledger row (its `updatedAt`:
 * the effects of every transition rewrite it), so a retried page joins the update already in flight
 * (or gets its result) instead of asking the workflow twice — and a later, equal request is new.
 */
export async function updateRegistration<A>(client: Client, id: string, update: UpdateDefinition<unknown, [A]>, arg: A, updateId: string, deadlineMs = REGISTRATION_UPDATE_DEADLINE_MS): Promise<void> {
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(), deadlineMs);
  try {
    await beating(() => client.withAbortSignal(controller.signal, () => registrationHandle(client, id).executeUpdate(update, { args: [arg], updateId })));
  } catch (e) {
    if (!controller.signal.aborted) throw e;
    throw new CosellError('COSELL_REGISTRATION_BUSY', `registration ${id}'s workflow did not take the ${update.name} update within ${deadlineMs / 1000} s (it is still applying an earlier change, or its worker is gone); nothing was written, the page is retried`, { cause: e });
  } finally {
    clearTimeout(deadline);
  }
}

/** A short, stable key of a JSON value (its object keys sorted): the same request gets the same update id. */
export function stableKey(value: unknown): string {
  const canonical = JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

/** A workflow update refused by its validator or handler (vs. a transport / server failure). */
export function isUpdateRefusal(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === 'WorkflowUpdateFailedError' || name === 'WorkflowNotFoundError';
}
