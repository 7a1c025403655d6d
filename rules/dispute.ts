import type { LifecycleSettings } from './policy.js';
import type { AttributionRole } from './types.js';

/**
 * A partner disputes a registration decision (workflow `dispute:<partner>:<source-id>`), as pure
 * transitions like rules/lifecycle.ts: opened → (SLA runs out: escalated once) → resolved by a
 * person as uphold (the decision stands), overturn (a rejected registration is approved) or split
 * (the customer's holder shares attribution with the disputing partner). Workflow-safe: no clock, no
 * I/O, no Node built-ins; plain JSON states and effects.
 */

export type DisputeStatus = 'open' | 'escalated' | 'upheld' | 'overturned' | 'split';
export type DisputeOutcome = 'uphold' | 'overturn' | 'split';
export const DISPUTE_OUTCOMES: readonly DisputeOutcome[] = ['uphold', 'overturn', 'split'];

export interface DisputeInput {
  /** The disputed registration (`partner:source-id`). */
  registrationId: string;
  partnerId: string;
  /** Who raised it: "partner" (the field on its own deal) or the channel manager acting for it. */
  by: string;
  /** The partner's words: internal (ledger, audit, console), never shown to another partner. */
  reason: string;
  openedAt: string;
}

export interface DisputeState extends DisputeInput {
  status: DisputeStatus;
  dueAt?: string;
  resolution?: DisputeResolution & { at: string };
  history: Array<{ at: string; status: DisputeStatus; by: string; reason?: string }>;
}

export interface DisputeResolution {
  outcome: DisputeOutcome;
  by: string;
  reason: string;
  /** For split: the shares (default: the holder keeps its role, the disputing partner takes its own, policy splits). */
  partners?: Array<{ partnerId: string; role: AttributionRole; split?: number }>;
}

export type DisputeEffect =
  | { type: 'write-back'; status: DisputeStatus }
  | { type: 'notify'; kind: 'dispute' | 'escalated'; to?: string; message: string }
  | { type: 'audit'; event: string; detail: Record<string, unknown> }
  | { type: 'settle'; resolution: DisputeResolution };

export type DisputeTransition = { ok: true; state: DisputeState; effects: DisputeEffect[] } | { ok: false; message: string };

const iso = (ms: number) => new Date(ms).toISOString();
const isOpen = (s: DisputeStatus) => s === 'open' || s === 'escalated';

export function openDispute(input: DisputeInput, settings: Pick<LifecycleSettings, 'disputeSlaMs' | 'disputeEscalateTo'>, now: number): DisputeTransition {
  if (!input.by?.trim()) return { ok: false, message: 'a dispute needs who raised it' };
  if (!input.reason?.trim()) return { ok: false, message: 'a dispute needs a reason' };
  const at = iso(now);
  const dueAt = iso(now + settings.disputeSlaMs);
  const state: DisputeState = { ...input, status: 'open', dueAt, history: [{ at, status: 'open', by: input.by, reason: input.reason }] };
  return {
    ok: true,
    state,
    effects: [
      { type: 'audit', event: 'dispute.opened', detail: { registrationId: input.registrationId, partnerId: input.partnerId, by: input.by, reason: input.reason, dueAt } },
      { type: 'write-back', status: 'open' },
      { type: 'notify', kind: 'dispute', to: settings.disputeEscalateTo, message: `registration ${input.registrationId}: ${input.partnerId} disputes the decision (${input.by}); resolve by ${dueAt}` },
    ],
  };
}

/** The dispute SLA ran out: escalate once; it stays open until a person resolves it. */
export function disputeTimeout(state: DisputeState, settings: Pick<LifecycleSettings, 'disputeEscalateTo'>, now: number): DisputeTransition {
  if (state.status !== 'open') return { ok: false, message: `dispute of ${state.registrationId} is ${state.status}: nothing to escalate` };
  if (state.dueAt && now < Date.parse(state.dueAt)) return { ok: false, message: `the dispute SLA runs until ${state.dueAt}` };
  const at = iso(now);
  return {
    ok: true,
    state: { ...state, status: 'escalated', dueAt: undefined, history: [...state.history, { at, status: 'escalated', by: 'sla-timeout' }] },
    effects: [
      { type: 'audit', event: 'dispute.escalated', detail: { registrationId: state.registrationId, partnerId: state.partnerId, to: settings.disputeEscalateTo ?? null } },
      { type: 'write-back', status: 'escalated' },
      { type: 'notify', kind: 'escalated', to: settings.disputeEscalateTo, message: `the dispute of registration ${state.registrationId} by ${state.partnerId} waited past its SLA` },
    ],
  };
}

const RESOLVED: Record<DisputeOutcome, DisputeStatus> = { uphold: 'upheld', overturn: 'overturned', split: 'split' };

/**
 * A person resolves the dispute. The `settle` effect carries the outcome out (the activity reinstates
 * a rejected registration or shares attribution and may refuse: then the dispute stays open).
 */
export function resolveDispute(state: DisputeState, r: DisputeResolution, now: number): DisputeTransition {
  if (!isOpen(state.status)) return { ok: false, message: `the dispute of ${state.registrationId} is already resolved (${state.status})` };
  if (!DISPUTE_OUTCOMES.includes(r.outcome)) return { ok: false, message: `outcome must be one of ${DISPUTE_OUTCOMES.join(', ')}` };
  if (!r.by?.trim()) return { ok: false, message: 'a resolution needs who resolved it' };
  if (!r.reason?.trim()) return { ok: false, message: 'a resolution needs a reason' };
  if (r.outcome !== 'split' && r.partners?.length) return { ok: false, message: 'partners and splits belong to a split outcome only' };
  const at = iso(now);
  const status = RESOLVED[r.outcome];
  return {
    ok: true,
    state: { ...state, status, dueAt: undefined, resolution: { ...r, at }, history: [...state.history, { at, status, by: r.by, reason: r.reason }] },
    effects: [
      { type: 'settle', resolution: r },
      { type: 'audit', event: 'dispute.resolved', detail: { registrationId: state.registrationId, partnerId: state.partnerId, outcome: r.outcome, by: r.by, reason: r.reason, partners: r.partners ?? null } },
      { type: 'write-back', status },
      { type: 'notify', kind: 'dispute', message: `the dispute of registration ${state.registrationId} was resolved by ${r.by}: ${r.outcome}` },
    ],
  };
}

export function isDisputeOpen(s: DisputeState): boolean {
  return isOpen(s.status);
}
