import { CosellError } from '../lib/errors.js';
import type { LifecycleSettings } from './policy.js';
import { REQUIRED_FIELD_NAMES } from './types.js';
import type { DecisionFacts, MaterialChange } from './redecision.js';
import type { Decision, Outcome, RuleId } from './types.js';

/**
 * The registration lifecycle as pure state transitions, for the registration workflow to drive:
 *
 *   submitted → checked → auto-approved | pending-review | rejected
 *   pending-review → approved | rejected            (a person decides, or the review SLA times out)
 *   auto-approved | approved → (exclusive until expiresAt, extendable) → won | lost | expired
 *   auto-approved | approved | pending-review → (a material edit, re-decided) → the same, or stricter:
 *                                                 pending-review | rejected
 *
 * Each function takes the current state and returns either `{ ok: true, state, effects }` — the new
 * state and what the caller must do (timers, write-back, vendor pipeline, notifications, audit) — or
 * `{ ok: false, error }` with code COSELL_REGISTRATION_STATE for a transition the state does not allow.
 * No clock, no I/O, no Node built-ins, no imports beyond types and lib/errors: safe inside Temporal
 * workflow code (pass `now` from the workflow's deterministic clock). States and effects are plain
 * JSON, so they can live in workflow history, queries and search attributes.
 */

export type RegistrationStatus =
  | 'submitted'
  | 'checked'
  | 'auto-approved'
  | 'pending-review'
  | 'approved'
  | 'rejected'
  | 'won'
  | 'lost'
  | 'expired';

export const REGISTRATION_STATUSES: readonly RegistrationStatus[] = [
  'submitted', 'checked', 'auto-approved', 'pending-review', 'approved', 'rejected', 'won', 'lost', 'expired',
];

/** Statuses in which the partner holds the customer exclusively. */
export const EXCLUSIVE_STATUSES: readonly RegistrationStatus[] = ['auto-approved', 'approved'];
/** Statuses that end the workflow. */
export const TERMINAL_STATUSES: readonly RegistrationStatus[] = ['rejected', 'won', 'lost', 'expired'];
/** Statuses that still claim the customer in the rules index (ActiveRegistration). */
export const ACTIVE_STATUSES: readonly RegistrationStatus[] = ['submitted', 'checked', 'pending-review', 'auto-approved', 'approved'];

export function isExclusive(s: RegistrationStatus): boolean {
  return EXCLUSIVE_STATUSES.includes(s);
}
export function isTerminal(s: RegistrationStatus): boolean {
  return TERMINAL_STATUSES.includes(s);
}

export interface HistoryEntry {
  at: string;
  from: RegistrationStatus | null;
  to: RegistrationStatus;
  /** "rules", "sla-timeout", "sync", or the person who decided. */
  by: string;
  reason?: string;
}

export interface RegistrationState {
  id: string;
  partnerId: string;
  status: RegistrationStatus;
  submittedAt: string;
  /** The rules engine's verdict (outcome, rule, reason) once checked. */
  check?: { outcome: Outcome; ruleId: RuleId; reason: string; at: string };
  /** When the review SLA runs out (pending-review only). */
  reviewDueAt?: string;
  escalated: boolean;
  decidedAt?: string;
  decidedBy?: string;
  /** The reason shown to the partner (rule reason, or the reviewer's). */
  reason?: string;
  approvedAt?: string;
  /** End of exclusivity (exclusive statuses). */
  expiresAt?: string;
  extensions: number;
  closedAt?: string;
  /** What the latest (re-)decision was made on, once the sync re-decided it (see rules/redecision.ts). */
  decidedOn?: DecisionFacts;
  /** The amount in the policy currency the approval levels are measured on (null: unknown → every level). */
  amount?: number | null;
  /** Approvals recorded while pending review (multi-level approval); cleared when it enters review again. */
  approvals: Approval[];
  /** The approvals still needed, in order (empty unless pending review). What the queue shows. */
  awaiting: AwaitingApproval[];
  /** "Action Required": what a reviewer asked the partner to complete (pending review, SLA paused). */
  infoRequest?: InfoRequest;
  /** The partner asked to extend exclusivity (approved only); open until the vendor approves or denies it. */
  extensionRequest?: ExtensionRequest;
  history: HistoryEntry[];
}

export interface Approval {
  by: string;
  at: string;
  /** The level it counted for: "review" (anyone) or an approval level's name. */
  level: string;
  reason: string;
}

export interface AwaitingApproval {
  level: string;
  /** Only a member of this group may give it (none: anyone). */
  group?: string;
}

export interface InfoRequest {
  /** Registration fields (REQUIRED_FIELD_NAMES) or `fields.<mapped field>`. */
  fields: string[];
  by: string;
  at: string;
  /** The reviewer's note: internal (ledger, audit, console), never written to the partner. */
  reason: string;
}

export interface ExtensionRequest {
  /** "partner" (the field on its own deal) or the person asking on its behalf. */
  by: string;
  at: string;
  /** The partner's words: internal (ledger, audit, console), never written back. */
  reason: string;
}

/** What the partner reads about its extension request (fixed sentences: rules/partnerReasons.ts lists them as safe). */
export const PARTNER_EXTENSION_TEXT = {
  requested: 'Extension requested; the vendor is reviewing it.',
  approved: 'Extension approved: exclusivity runs until the date shown.',
  denied: 'Extension not granted: exclusivity ends on the date shown.',
} as const;

export type Timer = 'review-sla' | 'exclusivity';

export type Effect =
  | { type: 'start-timer'; timer: Timer; dueAt: string }
  | { type: 'cancel-timer'; timer: Timer }
  /** Put the registration's status, reason and expiry on the partner's own deal. */
  | { type: 'write-back'; status: RegistrationStatus; reason?: string; expiresAt?: string; actionRequired?: string[] }
  /**
   * What the vendor pipeline should show: `attributed` = create/update the vendor opportunity with
   * partner attribution; `held` = keep it out of the pipeline (pending review); `none` = never create
   * pipeline / remove the registration's hold.
   */
  | { type: 'vendor-pipeline'; mode: 'attributed' | 'held' | 'none'; expiresAt?: string }
  /** Add or drop the registration in the rules index (first-to-register for later registrations). */
  | { type: 'index'; op: 'upsert' | 'remove'; status: RegistrationStatus }
  | { type: 'notify'; kind: NotifyKind; to?: string; message: string }
  | { type: 'audit'; event: string; detail: Record<string, unknown> };

export type NotifyKind = 'review-requested' | 'escalated' | 'decided' | 'expiring' | 'info-requested' | 'dispute';

export interface RegistrationStateError {
  code: 'COSELL_REGISTRATION_STATE';
  message: string;
  status: RegistrationStatus;
  action: string;
}

export type Transition = { ok: true; state: RegistrationState; effects: Effect[] } | { ok: false; error: RegistrationStateError };

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function refuse(state: RegistrationState, action: string, why: string): Transition {
  return { ok: false, error: { code: 'COSELL_REGISTRATION_STATE', message: `registration ${state.id} is ${state.status}: cannot ${action} (${why})`, status: state.status, action } };
}

function move(state: RegistrationState, to: RegistrationStatus, at: string, by: string, reason?: string, patch: Partial<RegistrationState> = {}): RegistrationState {
  const entry: HistoryEntry = { at, from: state.status, to, by, ...(reason === undefined ? {} : { reason }) };
  // Approvals and info requests belong to one stay in review: leaving it ends them.
  const review: Partial<RegistrationState> = to === 'pending-review' ? {} : { approvals: [], awaiting: [], infoRequest: undefined };
  // An extension request belongs to exclusivity: expiry, a close or a re-decision ends it.
  const exclusive: Partial<RegistrationState> = isExclusive(to) ? {} : { extensionRequest: undefined };
  return { ...state, ...review, ...exclusive, ...patch, status: to, history: [...state.history, entry] };
}

/**
 * The approvals a registration pending review needs: one from anyone who reviews, plus one from a
 * member of each approval level's group whose amount it is above (an unknown amount: every level).
 */
export function approvalsNeeded(amount: number | null | undefined, settings: Pick<LifecycleSettings, 'approvalLevels'>): AwaitingApproval[] {
  const levels = (settings.approvalLevels ?? []).filter((l) => amount === null || amount === undefined || amount > l.above);
  return [{ level: 'review' }, ...levels.map((l) => ({ level: l.name, group: l.group }))];
}

/** The identity an approval is counted under (one person, one approval). */
export function approverKey(by: string): string {
  return by.trim().toLowerCase();
}

/** Fresh review bookkeeping when a registration (re-)enters review. */
function reviewStart(amount: number | null | undefined, settings: LifecycleSettings): Pick<RegistrationState, 'approvals' | 'awaiting' | 'infoRequest'> {
  return { approvals: [], awaiting: approvalsNeeded(amount, settings), infoRequest: undefined };
}

/** A CosellError for a refused transition (throw it from activities; update validators can use the message). */
export function transitionError(error: RegistrationStateError): CosellError {
  return new CosellError('COSELL_REGISTRATION_STATE', error.message, { details: { status: error.status, action: error.action } });
}

/** The new state and effects of a successful transition, or throw COSELL_REGISTRATION_STATE. */
export function unwrap(t: Transition): { state: RegistrationState; effects: Effect[] } {
  if (!t.ok) throw transitionError(t.error);
  return { state: t.state, effects: t.effects };
}

/** A new registration (the workflow's initial state). */
export function submit(reg: { id: string; partnerId: string; submittedAt: string; amount?: number | null }, now: number): RegistrationState {
  const at = iso(now);
  return {
    id: reg.id,
    partnerId: reg.partnerId,
    status: 'submitted',
    submittedAt: reg.submittedAt,
    escalated: false,
    extensions: 0,
    amount: reg.amount,
    approvals: [],
    awaiting: [],
    history: [{ at, from: null, to: 'submitted', by: 'sync' }],
  };
}

function approvedEffects(state: RegistrationState, by: string, reason: string | undefined, expiresAt: string): Effect[] {
  return [
    { type: 'start-timer', timer: 'exclusivity', dueAt: expiresAt },
    { type: 'vendor-pipeline', mode: 'attributed', expiresAt },
    { type: 'write-back', status: state.status, reason, expiresAt },
    { type: 'index', op: 'upsert', status: state.status },
    { type: 'audit', event: 'registration.approved', detail: { id: state.id, partnerId: state.partnerId, by, reason, expiresAt } },
  ];
}

function rejectedEffects(state: RegistrationState, by: string, reason: string | undefined): Effect[] {
  return [
    { type: 'vendor-pipeline', mode: 'none' },
    { type: 'write-back', status: 'rejected', reason },
    { type: 'index', op: 'remove', status: 'rejected' },
    { type: 'audit', event: 'registration.rejected', detail: { id: state.id, partnerId: state.partnerId, by, reason } },
  ];
}

/** Apply the rules engine's decision: submitted → checked → auto-approved | pending-review | rejected. */
export function applyCheck(state: RegistrationState, decision: Pick<Decision, 'outcome' | 'ruleId' | 'reason'>, settings: LifecycleSettings, now: number): Transition {
  if (state.status !== 'submitted') return refuse(state, 'apply a rules check', 'only a submitted registration is checked');
  const at = iso(now);
  const check = { outcome: decision.outcome, ruleId: decision.ruleId, reason: decision.reason, at };
  const checked = move(state, 'checked', at, 'rules', decision.reason, { check });
  const audit: Effect = { type: 'audit', event: 'registration.checked', detail: { id: state.id, partnerId: state.partnerId, outcome: decision.outcome, ruleId: decision.ruleId, reason: decision.reason } };
  if (decision.outcome === 'approved') {
    const expiresAt = iso(now + settings.exclusivityMs);
    const next = move(checked, 'auto-approved', at, 'rules', decision.reason, { decidedAt: at, decidedBy: 'rules', approvedAt: at, expiresAt, reason: decision.reason });
    return { ok: true, state: next, effects: [audit, ...approvedEffects(next, 'rules', decision.reason, expiresAt)] };
  }
  if (decision.outcome === 'rejected') {
    const next = move(checked, 'rejected', at, 'rules', decision.reason, { decidedAt: at, decidedBy: 'rules', reason: decision.reason });
    return { ok: true, state: next, effects: [audit, ...rejectedEffects(next, 'rules', decision.reason)] };
  }
  const reviewDueAt = iso(now + settings.reviewSlaMs);
  const next = move(checked, 'pending-review', at, 'rules', decision.reason, { reviewDueAt, reason: decision.reason, ...reviewStart(state.amount, settings) });
  return {
    ok: true,
    state: next,
    effects: [
      audit,
      { type: 'start-timer', timer: 'review-sla', dueAt: reviewDueAt },
      { type: 'vendor-pipeline', mode: 'held' },
      { type: 'write-back', status: 'pending-review', reason: decision.reason },
      { type: 'index', op: 'upsert', status: 'pending-review' },
      { type: 'notify', kind: 'review-requested', to: settings.escalateTo, message: `registration ${state.id} by ${state.partnerId} needs review by ${reviewDueAt}: ${decision.reason}` },
    ],
  };
}

export interface HumanDecision {
  action: 'approve' | 'reject';
  /** Who decided (a user name or e-mail); required. */
  by: string;
  reason: string;
}

/**
 * A person approves or rejects a registration pending review (the workflow's `decide` update).
 * Rejection by anyone who reviews ends it. An approval counts towards the first level still awaiting
 * it that the person may give (a group level they are a member of before the open "review" level);
 * the registration is approved when no level awaits any more. One person's approval counts once: a
 * second approval by the same person is refused, whatever level it would fill.
 */
export function decideReview(state: RegistrationState, d: HumanDecision, settings: LifecycleSettings, now: number): Transition {
  const action = d.action === 'approve' ? 'approve' : 'reject';
  if (state.status !== 'pending-review') return refuse(state, action, 'only a registration pending review can be decided');
  if (!d.by?.trim()) return refuse(state, action, 'a decision needs who decided');
  if (!d.reason?.trim()) return refuse(state, action, 'a decision needs a reason');
  const at = iso(now);
  const cancel: Effect = { type: 'cancel-timer', timer: 'review-sla' };
  if (d.action === 'approve') {
    const approvals = state.approvals ?? [];
    const needed = approvalsNeeded(state.amount, settings);
    const me = approverKey(d.by);
    const mine = approvals.find((a) => approverKey(a.by) === me);
    if (mine) return refuse(state, action, `${d.by} already approved it (${mine.level}); one person cannot approve twice`);
    const levels = assignApprovals([...approvals.map((a) => a.by), d.by], needed, settings);
    if (levels.size <= approvals.length) {
      const awaiting = state.awaiting?.length ? state.awaiting : needed;
      return refuse(state, action, `the approval still needed is ${awaiting.map(describeAwaiting).join(', ')}; ${d.by} is not a member`);
    }
    // Levels are re-assigned with every approval (a deal-desk member who approved first may move to
    // the deal-desk level when someone else can take the open one), so the order people approve in
    // never blocks an approval a valid assignment allows.
    const all = [...approvals, { by: d.by, at, level: '', reason: d.reason }].map((a) => ({ ...a, level: levels.get(approverKey(a.by))! }));
    const rest = needed.filter((w) => !all.some((a) => a.level === w.level));
    if (rest.length) {
      const next: RegistrationState = { ...state, approvals: all, awaiting: rest, history: [...state.history, { at, from: state.status, to: state.status, by: d.by, reason: `approved; still needs ${rest.map(describeAwaiting).join(', ')}` }] };
      return {
        ok: true,
        state: next,
        effects: [
          { type: 'audit', event: 'registration.approval-recorded', detail: { id: state.id, partnerId: state.partnerId, by: d.by, reason: d.reason, approvals: all, awaiting: rest } },
          { type: 'notify', kind: 'review-requested', to: rest[0]!.group ?? settings.escalateTo, message: `registration ${state.id} was approved by ${d.by} and still needs ${rest.map(describeAwaiting).join(', ')}` },
        ],
      };
    }
    const expiresAt = iso(now + settings.exclusivityMs);
    const next = move(state, 'approved', at, d.by, d.reason, { decidedAt: at, decidedBy: d.by, approvedAt: at, expiresAt, reason: d.reason, reviewDueAt: undefined, approvals: all, awaiting: [] });
    const notify: Effect = { type: 'notify', kind: 'decided', message: `registration ${state.id} approved by ${all.map((a) => a.by).join(' and ')}: ${d.reason}` };
    return { ok: true, state: next, effects: [cancel, ...approvedEffects(next, d.by, d.reason, expiresAt), notify] };
  }
  const notify: Effect = { type: 'notify', kind: 'decided', message: `registration ${state.id} rejected by ${d.by}: ${d.reason}` };
  const next = move(state, 'rejected', at, d.by, d.reason, { decidedAt: at, decidedBy: d.by, reason: d.reason, reviewDueAt: undefined });
  return { ok: true, state: next, effects: [cancel, ...rejectedEffects(next, d.by, d.reason), notify] };
}

/**
 * Which level each approver fills: a maximum matching of people to the levels they may give (group
 * levels: members only; "review": anyone), one level per person and one person per level (augmenting
 * paths; a handful of levels). Returns approver key → level name for everyone matched.
 */
export function assignApprovals(approvers: readonly string[], needed: readonly AwaitingApproval[], settings: Pick<LifecycleSettings, 'approvalLevels'>): Map<string, string> {
  const people = [...new Set(approvers.map(approverKey))];
  const may = (p: string, w: AwaitingApproval) => w.group === undefined || (settings.approvalLevels.find((l) => l.group === w.group)?.members ?? []).includes(p);
  const holder = new Map<number, string>(); // level index → person
  // Group levels first: what stays open is then the level anyone may give, whenever that is possible.
  const order = needed.map((_, i) => i).sort((a, b) => Number(needed[a]!.group === undefined) - Number(needed[b]!.group === undefined));
  const place = (p: string, seen: Set<number>): boolean => {
    for (const i of order) {
      if (seen.has(i) || !may(p, needed[i]!)) continue;
      seen.add(i);
      const other = holder.get(i);
      if (other === undefined || place(other, seen)) {
        holder.set(i, p);
        return true;
      }
    }
    return false;
  };
  for (const p of people) place(p, new Set());
  return new Map([...holder].map(([i, p]) => [p, needed[i]!.level]));
}

export function describeAwaiting(w: AwaitingApproval): string {
  return w.group ? `one approval from ${w.group}` : 'one approval';
}

/** Fields a reviewer may ask the partner for: the registration's own, or `fields.<a mapped field>`. */
export function isRequestableField(f: string): boolean {
  return (REQUIRED_FIELD_NAMES as readonly string[]).includes(f) || /^fields\.[A-Za-z][A-Za-z0-9_]{0,79}$/.test(f);
}

export interface InfoRequestInput {
  by: string;
  /** What is missing or wrong, as registration fields (see isRequestableField). */
  fields: string[];
  /** The reviewer's note (internal: the partner reads a fixed sentence and the field list). */
  reason: string;
}

/**
 * "Action Required": a reviewer names what is missing. The registration stays pending review, its
 * SLA paused (the partner owes the next step, not the vendor); the partner's deal shows the fields.
 * When the partner changes one of them, the sync re-decides it (`provideInfo`).
 */
export function requestInfo(state: RegistrationState, req: InfoRequestInput, now: number): Transition {
  if (state.status !== 'pending-review') return refuse(state, 'request info', 'only a registration pending review can ask the partner for more');
  if (!req.by?.trim()) return refuse(state, 'request info', 'a request needs who asks');
  if (!req.reason?.trim()) return refuse(state, 'request info', 'a request needs a reason');
  const fields = [...new Set((req.fields ?? []).map((f) => f.trim()).filter(Boolean))];
  if (!fields.length) return refuse(state, 'request info', 'name at least one field the partner must complete');
  const bad = fields.filter((f) => !isRequestableField(f));
  if (bad.length) return refuse(state, 'request info', `${bad.join(', ')}: not a registration field (use ${REQUIRED_FIELD_NAMES.join(', ')} or fields.<mapped field>)`);
  const at = iso(now);
  const infoRequest: InfoRequest = { fields, by: req.by, at, reason: req.reason };
  const next: RegistrationState = { ...state, infoRequest, reviewDueAt: undefined, history: [...state.history, { at, from: state.status, to: state.status, by: req.by, reason: `info requested (${fields.join(', ')}): ${req.reason}` }] };
  return {
    ok: true,
    state: next,
    effects: [
      { type: 'cancel-timer', timer: 'review-sla' },
      { type: 'write-back', status: 'pending-review', actionRequired: fields },
      { type: 'audit', event: 'registration.info-requested', detail: { id: state.id, partnerId: state.partnerId, by: req.by, fields, reason: req.reason } },
      { type: 'notify', kind: 'info-requested', message: `registration ${state.id}: ${req.by} asked the partner for ${fields.join(', ')}` },
    ],
  };
}

/** The partner changed requested fields: the sync's new decision (the workflow's `provideInfo` update). */
export interface InfoProvided {
  /** The requested fields whose value changed since the request. */
  changed: string[];
  decision: Pick<Decision, 'outcome' | 'ruleId' | 'reason'>;
  after: DecisionFacts;
}

/** What the partner reads once the information it was asked for arrived and the registration is back in review. */
export const PARTNER_SAFE_INFO_RECEIVED = 'The requested information was received; the registration is being reviewed again.';

/**
 * Re-decide after the partner answered an info request. Only a change of a requested field counts
 * (anything else is refused: the request stays open). The rules decide again: a rejection rejects;
 * otherwise it goes back to review with a fresh SLA and approvals (a person asked, a person decides).
 */
export function provideInfo(state: RegistrationState, req: InfoProvided, settings: LifecycleSettings, now: number): Transition {
  const asked = state.infoRequest;
  if (state.status !== 'pending-review' || !asked) return refuse(state, 're-decide on new information', 'no information was requested');
  const changed = [...new Set(req.changed)];
  if (!changed.length) return refuse(state, 're-decide on new information', 'none of the requested fields changed');
  const other = changed.filter((f) => !asked.fields.includes(f));
  if (other.length) return refuse(state, 're-decide on new information', `${other.join(', ')} were not requested (requested: ${asked.fields.join(', ')})`);
  const at = iso(now);
  const check = { outcome: req.decision.outcome, ruleId: req.decision.ruleId, reason: req.decision.reason, at };
  const audit: Effect = { type: 'audit', event: 'registration.info-provided', detail: { id: state.id, partnerId: state.partnerId, changed, requested: asked.fields, outcome: req.decision.outcome, ruleId: req.decision.ruleId, reason: req.decision.reason } };
  const amount = req.after.amount;
  if (req.decision.outcome === 'rejected') {
    const next = move(state, 'rejected', at, 'rules', req.decision.reason, { check, decidedOn: req.after, amount, decidedAt: at, decidedBy: 'rules', reason: req.decision.reason, reviewDueAt: undefined });
    return { ok: true, state: next, effects: [audit, ...rejectedEffects(next, 'rules', req.decision.reason)] };
  }
  const reviewDueAt = iso(now + settings.reviewSlaMs);
  const next = move(state, 'pending-review', at, 'rules', `information provided (${changed.join(', ')}): ${req.decision.reason}`, { check, decidedOn: req.after, amount, reviewDueAt, escalated: false, reason: req.decision.reason, ...reviewStart(amount, settings) });
  return {
    ok: true,
    state: next,
    effects: [
      audit,
      { type: 'start-timer', timer: 'review-sla', dueAt: reviewDueAt },
      { type: 'write-back', status: 'pending-review', reason: PARTNER_SAFE_INFO_RECEIVED },
      { type: 'notify', kind: 'review-requested', to: settings.escalateTo, message: `registration ${state.id}: the partner updated ${changed.join(', ')}; it needs review by ${reviewDueAt}: ${req.decision.reason}` },
    ],
  };
}

/**
 * The review SLA ran out: apply the policy's default (approve / reject), or escalate once (the
 * registration stays pending review, flagged, until a person decides; no new timer).
 */
export function reviewTimeout(state: RegistrationState, settings: LifecycleSettings, now: number): Transition {
  if (state.status !== 'pending-review') return refuse(state, 'time out the review', 'only a registration pending review has a review SLA');
  if (state.reviewDueAt && now < Date.parse(state.reviewDueAt)) return refuse(state, 'time out the review', `the SLA runs until ${state.reviewDueAt}`);
  const at = iso(now);
  const by = 'sla-timeout';
  if (settings.onTimeout === 'escalate') {
    if (state.escalated) return refuse(state, 'escalate', 'it is already escalated');
    const reason = `review SLA ran out at ${state.reviewDueAt ?? at}; escalated`;
    const next: RegistrationState = { ...state, escalated: true, reviewDueAt: undefined, history: [...state.history, { at, from: state.status, to: state.status, by, reason }] };
    return {
      ok: true,
      state: next,
      effects: [
        { type: 'notify', kind: 'escalated', to: settings.escalateTo, message: `registration ${state.id} by ${state.partnerId} waited past its review SLA: ${state.reason ?? ''}`.trim() },
        { type: 'write-back', status: 'pending-review', reason: 'escalated: review overdue' },
        { type: 'audit', event: 'registration.escalated', detail: { id: state.id, partnerId: state.partnerId, to: settings.escalateTo } },
      ],
    };
  }
  const reason = `review SLA ran out; policy default is to ${settings.onTimeout}`;
  if (settings.onTimeout === 'approve') {
    const expiresAt = iso(now + settings.exclusivityMs);
    const next = move(state, 'approved', at, by, reason, { decidedAt: at, decidedBy: by, approvedAt: at, expiresAt, reason, reviewDueAt: undefined });
    return { ok: true, state: next, effects: approvedEffects(next, by, reason, expiresAt) };
  }
  const next = move(state, 'rejected', at, by, reason, { decidedAt: at, decidedBy: by, reason, reviewDueAt: undefined });
  return { ok: true, state: next, effects: rejectedEffects(next, by, reason) };
}

/**
 * A dispute overturned a rejection: the registration's new run starts approved by the person who
 * resolved the dispute (submitted → approved), exclusive for the policy period from now.
 */
export function reinstate(state: RegistrationState, req: { by: string; reason: string; dispute: string }, settings: LifecycleSettings, now: number): Transition {
  if (state.status !== 'submitted') return refuse(state, 'reinstate', 'only a new run of a registration is reinstated');
  if (!req.by?.trim()) return refuse(state, 'reinstate', 'a reinstatement needs who decided it');
  const at = iso(now);
  const expiresAt = iso(now + settings.exclusivityMs);
  const next = move(state, 'approved', at, req.by, req.reason, { decidedAt: at, decidedBy: req.by, approvedAt: at, expiresAt, reason: req.reason });
  return {
    ok: true,
    state: next,
    effects: [
      { type: 'audit', event: 'registration.reinstated', detail: { id: state.id, partnerId: state.partnerId, by: req.by, reason: req.reason, dispute: req.dispute } },
      ...approvedEffects(next, req.by, req.reason, expiresAt),
    ],
  };
}

/** Extend exclusivity by one extension period (at most `maxExtensions` times). */
export function extend(state: RegistrationState, req: { by: string; reason?: string }, settings: LifecycleSettings, now: number): Transition {
  if (!isExclusive(state.status)) return refuse(state, 'extend', 'only an approved registration has exclusivity to extend');
  if (state.extensions >= settings.maxExtensions) return refuse(state, 'extend', `it already has ${state.extensions} of at most ${settings.maxExtensions} extensions`);
  if (!req.by?.trim()) return refuse(state, 'extend', 'an extension needs who asked for it');
  const at = iso(now);
  // Extend from the current expiry, or from now if a late extension races the timer.
  const base = Math.max(now, state.expiresAt ? Date.parse(state.expiresAt) : now);
  const expiresAt = iso(base + settings.extensionMs);
  const extensions = state.extensions + 1;
  const reason = req.reason ?? `extension ${extensions} of ${settings.maxExtensions}`;
  const next: RegistrationState = { ...state, expiresAt, extensions, history: [...state.history, { at, from: state.status, to: state.status, by: req.by, reason }] };
  return {
    ok: true,
    state: next,
    effects: [
      { type: 'cancel-timer', timer: 'exclusivity' },
      { type: 'start-timer', timer: 'exclusivity', dueAt: expiresAt },
      { type: 'vendor-pipeline', mode: 'attributed', expiresAt },
      { type: 'write-back', status: state.status, reason, expiresAt },
      { type: 'audit', event: 'registration.extended', detail: { id: state.id, partnerId: state.partnerId, by: req.by, extensions, expiresAt } },
    ],
  };
}

/**
 * The partner asks to extend its exclusivity (approved only, one open request at a time, and only while
 * an extension is still allowed). The status does not change; the vendor approves or denies it
 * (`decideExtension`). The partner's deal reads a fixed sentence, the vendor is asked to review.
 */
export function requestExtension(state: RegistrationState, req: { by: string; reason: string }, settings: LifecycleSettings, now: number): Transition {
  if (!isExclusive(state.status)) return refuse(state, 'request an extension', 'only an approved registration has exclusivity to extend');
  if (state.extensionRequest) return refuse(state, 'request an extension', `an extension request is open since ${state.extensionRequest.at}`);
  if (state.extensions >= settings.maxExtensions) return refuse(state, 'request an extension', `it already has ${state.extensions} of at most ${settings.maxExtensions} extensions`);
  if (!req.by?.trim()) return refuse(state, 'request an extension', 'a request needs who asks');
  if (!req.reason?.trim()) return refuse(state, 'request an extension', 'a request needs a reason');
  const at = iso(now);
  const extensionRequest: ExtensionRequest = { by: req.by, at, reason: req.reason.trim() };
  const next: RegistrationState = { ...state, extensionRequest, history: [...state.history, { at, from: state.status, to: state.status, by: req.by, reason: `extension requested: ${extensionRequest.reason}` }] };
  return {
    ok: true,
    state: next,
    effects: [
      { type: 'write-back', status: state.status, reason: PARTNER_EXTENSION_TEXT.requested, ...(state.expiresAt ? { expiresAt: state.expiresAt } : {}) },
      { type: 'notify', kind: 'review-requested', message: `extension of exclusivity requested (ends ${state.expiresAt?.slice(0, 10) ?? 'unknown'}; ${settings.maxExtensions - state.extensions} extension(s) left)` },
      { type: 'audit', event: 'registration.extension-requested', detail: { id: state.id, partnerId: state.partnerId, by: req.by, reason: extensionRequest.reason, expiresAt: state.expiresAt ?? null } },
    ],
  };
}

/** The vendor decides an open extension request: approve extends by one period (`extend`), deny keeps the expiry. */
export function decideExtension(state: RegistrationState, req: { action: 'approve' | 'deny'; by: string; reason: string }, settings: LifecycleSettings, now: number): Transition {
  if (!state.extensionRequest) return refuse(state, `${req.action} an extension`, 'there is no open extension request');
  if (req.action !== 'approve' && req.action !== 'deny') return refuse(state, 'decide an extension', `unknown action "${String(req.action)}"`);
  if (!req.by?.trim()) return refuse(state, `${req.action} an extension`, 'a decision needs who decides');
  if (!req.reason?.trim()) return refuse(state, `${req.action} an extension`, 'a decision needs a reason');
  const asked = state.extensionRequest;
  if (req.action === 'approve') {
    const t = extend({ ...state, extensionRequest: undefined }, { by: req.by, reason: req.reason }, settings, now);
    if (!t.ok) return t;
    return {
      ok: true,
      state: t.state,
      effects: [
        ...t.effects.map((e) => (e.type === 'write-back' ? { ...e, reason: PARTNER_EXTENSION_TEXT.approved } : e)),
        { type: 'notify', kind: 'decided', message: `extension approved: exclusivity until ${t.state.expiresAt?.slice(0, 10)}` },
        { type: 'audit', event: 'registration.extension-approved', detail: { id: state.id, partnerId: state.partnerId, by: req.by, reason: req.reason, requestedBy: asked.by, requestedAt: asked.at, expiresAt: t.state.expiresAt } },
      ],
    };
  }
  const at = iso(now);
  const next: RegistrationState = { ...state, extensionRequest: undefined, history: [...state.history, { at, from: state.status, to: state.status, by: req.by, reason: `extension denied: ${req.reason}` }] };
  return {
    ok: true,
    state: next,
    effects: [
      { type: 'write-back', status: state.status, reason: PARTNER_EXTENSION_TEXT.denied, ...(state.expiresAt ? { expiresAt: state.expiresAt } : {}) },
      { type: 'notify', kind: 'decided', message: `extension not granted: exclusivity ends ${state.expiresAt?.slice(0, 10) ?? 'as planned'}` },
      { type: 'audit', event: 'registration.extension-denied', detail: { id: state.id, partnerId: state.partnerId, by: req.by, reason: req.reason, requestedBy: asked.by, requestedAt: asked.at, expiresAt: state.expiresAt ?? null } },
    ],
  };
}

/** The exclusivity timer fired: approved → expired (refused if an extension moved the expiry later). */
export function expire(state: RegistrationState, now: number): Transition {
  if (!isExclusive(state.status)) return refuse(state, 'expire', 'only an approved registration expires');
  if (state.expiresAt && now < Date.parse(state.expiresAt)) return refuse(state, 'expire', `exclusivity runs until ${state.expiresAt}`);
  const at = iso(now);
  const reason = `exclusivity ended at ${state.expiresAt ?? at}`;
  const next = move(state, 'expired', at, 'exclusivity-timer', reason, { closedAt: at, reason });
  return {
    ok: true,
    state: next,
    effects: [
      { type: 'write-back', status: 'expired', reason, expiresAt: state.expiresAt },
      { type: 'index', op: 'remove', status: 'expired' },
      { type: 'audit', event: 'registration.expired', detail: { id: state.id, partnerId: state.partnerId, expiresAt: state.expiresAt } },
    ],
  };
}

/**
 * The deal closed (seen by the sync on either side): → won | lost. Allowed while exclusive, and while
 * pending review (a deal can close before anyone reviews it; the review ends with it).
 */
export function close(state: RegistrationState, outcome: 'won' | 'lost', req: { by?: string; reason?: string }, now: number): Transition {
  if (!isExclusive(state.status) && state.status !== 'pending-review') return refuse(state, `mark it ${outcome}`, 'only a pending or approved registration can close');
  const at = iso(now);
  const by = req.by ?? 'sync';
  const reason = req.reason ?? `deal ${outcome}`;
  const next = move(state, outcome, at, by, reason, { closedAt: at, reviewDueAt: undefined });
  const effects: Effect[] = [];
  if (state.status === 'pending-review') effects.push({ type: 'cancel-timer', timer: 'review-sla' });
  else effects.push({ type: 'cancel-timer', timer: 'exclusivity' });
  effects.push(
    { type: 'write-back', status: outcome, reason },
    { type: 'index', op: 'remove', status: outcome },
    { type: 'audit', event: `registration.${outcome}`, detail: { id: state.id, partnerId: state.partnerId, by } },
  );
  return { ok: true, state: next, effects };
}

/** How strict an outcome is: a re-decision may only keep or tighten a registration's standing. */
export const OUTCOME_RANK: Record<Outcome, number> = { approved: 0, review: 1, rejected: 2 };

/** The outcome a registration's current status stands for (null: not decided, or over). */
export function standing(status: RegistrationStatus): Outcome | null {
  if (isExclusive(status)) return 'approved';
  if (status === 'pending-review') return 'review';
  if (status === 'rejected') return 'rejected';
  return null;
}

/**
 * What the partner reads on its own deal after a re-decision. Fixed and neutral on purpose: the full
 * reason (which may name another partner's registration, a vendor opportunity or a named account) is
 * internal — it is in the ledger and the audit, never written back.
 */
export const PARTNER_SAFE_REDECISION_REASON: Record<'review' | 'rejected', string> = {
  review: 'The deal changed after approval; the registration is being reviewed again.',
  rejected: 'The deal changed after approval; the registration no longer qualifies.',
};

/** A material edit of a decided registration, decided again by the rules (the workflow's `redecide` update). */
export interface Redecision {
  decision: Pick<Decision, 'outcome' | 'ruleId' | 'reason'>;
  /** What the previous decision was made on, and what this one is made on. */
  before: DecisionFacts | null;
  after: DecisionFacts;
  changes: MaterialChange[];
}

/** The status after a re-decision: the rules' new outcome when it is stricter, else the status unchanged. */
export function redecidedStatus(status: RegistrationStatus, outcome: Outcome): RegistrationStatus {
  const now = standing(status);
  if (now === null || OUTCOME_RANK[outcome] <= OUTCOME_RANK[now]) return status;
  return outcome === 'rejected' ? 'rejected' : 'pending-review';
}

/**
 * Take the decision again after a material edit. Never loosens: an approved registration whose deal
 * now needs review goes back to review (held out of the vendor pipeline until a person decides), one
 * that no longer qualifies is rejected; an outcome as loose or looser than the current standing only
 * records the new facts (a person's approval of a pending one is still needed). Audited as
 * `registration.redecided` with the facts before and after and the rule; the partner is told with a
 * fixed neutral reason.
 */
export function redecide(state: RegistrationState, req: Redecision, settings: LifecycleSettings, now: number): Transition {
  const from = standing(state.status);
  if (from === null || isTerminal(state.status)) return refuse(state, 're-decide', 'only a decided, active registration is re-decided');
  const at = iso(now);
  const to = redecidedStatus(state.status, req.decision.outcome);
  const audit: Effect = {
    type: 'audit',
    event: 'registration.redecided',
    detail: { id: state.id, partnerId: state.partnerId, from: state.status, to, changes: req.changes, before: req.before, after: req.after, outcome: req.decision.outcome, ruleId: req.decision.ruleId, reason: req.decision.reason },
  };
  const check = { outcome: req.decision.outcome, ruleId: req.decision.ruleId, reason: req.decision.reason, at };
  if (to === state.status) {
    // Still in review after a material edit: approvals given on the old facts no longer count.
    const review = state.status === 'pending-review' ? { amount: req.after.amount, approvals: [], awaiting: approvalsNeeded(req.after.amount, settings) } : {};
    const next: RegistrationState = { ...state, ...review, check, decidedOn: req.after, history: [...state.history, { at, from: state.status, to, by: 'rules', reason: `re-decided (${req.changes.join(', ')}): ${req.decision.outcome}` }] };
    return { ok: true, state: next, effects: [audit] };
  }
  const cancel: Effect = { type: 'cancel-timer', timer: from === 'approved' ? 'exclusivity' : 'review-sla' };
  if (to === 'rejected') {
    const next = move(state, 'rejected', at, 'rules', req.decision.reason, { check, decidedOn: req.after, decidedAt: at, decidedBy: 'rules', reason: req.decision.reason, reviewDueAt: undefined, expiresAt: undefined });
    const effects = rejectedEffects(next, 'rules', PARTNER_SAFE_REDECISION_REASON.rejected).map((e) => (e.type === 'audit' ? { ...e, detail: { ...e.detail, reason: req.decision.reason } } : e));
    return { ok: true, state: next, effects: [cancel, audit, ...effects] };
  }
  const reviewDueAt = iso(now + settings.reviewSlaMs);
  const next = move(state, 'pending-review', at, 'rules', req.decision.reason, { check, decidedOn: req.after, amount: req.after.amount, reviewDueAt, escalated: false, reason: req.decision.reason, expiresAt: undefined, decidedAt: undefined, decidedBy: undefined, ...reviewStart(req.after.amount, settings) });
  return {
    ok: true,
    state: next,
    effects: [
      cancel,
      audit,
      { type: 'start-timer', timer: 'review-sla', dueAt: reviewDueAt },
      { type: 'vendor-pipeline', mode: 'held' },
      { type: 'write-back', status: 'pending-review', reason: PARTNER_SAFE_REDECISION_REASON.review },
      { type: 'index', op: 'upsert', status: 'pending-review' },
      { type: 'notify', kind: 'review-requested', to: settings.escalateTo, message: `registration ${state.id} by ${state.partnerId} changed after approval (${req.changes.join(', ')}) and needs review by ${reviewDueAt}: ${req.decision.reason}` },
    ],
  };
}
