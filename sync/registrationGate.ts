import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { UpdateDefinition } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { CrmRecord, Fields, FieldSpec } from '../connectors/types.js';
import type { Registration, RegistrationInput as LedgerRegistrationInput } from '../ledger/index.js';
import { customerKey, registrationId } from '../ledger/index.js';
import { CosellError, isCosellError } from '../lib/errors.js';
import { TASK_QUEUE } from '../lib/client.js';
import { resolveSecret } from '../lib/secrets.js';
import { beating, heartbeat } from '../lib/heartbeat.js';
import { log } from '../lib/logger.js';
import { normalizeCompanyName, normalizeDomain } from '../lib/normalize.js';
import {
  bestAccount,
  decide,
  decisionFacts,
  defaultSplits,
  guardStage,
  isExclusive,
  isTerminal,
  materialChanges,
  partnerProfile,
  recordDomains,
  redecidedStatus,
  standing,
  STAGE_DERIVED_FIELDS,
  summarizeAttribution,
  changedRequested,
  requestedValues,
  type Approval,
  type AttributionRole,
  type AwaitingApproval,
  type Decision,
  type InfoRequest,
  type DecisionFacts,
  type FindOptions,
  type Hit,
  type PartnerAttribution,
  type PartnerProfile,
  type Policy,
  type Redecision,
  type RegistrationInput,
  type RegistrationStatus,
  type RuleAction,
  type VendorAccount,
} from '../rules/index.js';
import { linkWorkflowId } from '../lib/links.js';
import { syncNowSignal } from '../workflows/sync.js';
import { sharedAccountIndexFeed, type AccountIndexFeed } from './accountIndexFeed.js';
import { AWAITING_PEER_LINKS, peersBehind } from './firstToRegister.js';
import type { GateDecision, LinkRuntime, RecordGate } from './runtime.js';
import type { OrgConfig } from '../lib/config.js';
import { sourceFieldsOf } from './page.js';
import { disputeWorkflowId, provideInfoUpdate, redecideUpdate, requestExtensionUpdate } from '../workflows/registrationApi.js';

/**
 * The registration gate: on a `registration: true` link every partner deal is a deal registration
 * (id `partner:sourceId`). A new one is decided by the Rules of Engagement against the in-memory
 * vendor-account index, stored in the ledger, audited and handed to its `registration` workflow;
 * an existing one is enforced with its current status:
 *
 *   approved (exclusive)        → written to the vendor with partner attribution (fields below), the
 *                                 partner's stage capped by the policy's stage guard
 *   submitted / pending review → held: not in the vendor pipeline until someone approves it
 *   rejected                   → never created as pipeline
 *   won / lost / expired        → written (attribution kept, status updated) if it was ever approved
 *
 * The decision's attribution goes out as target fields the gate returns directly (not through the
 * mapping's `$registration` context), so the same fields land whatever mapping the link uses.
 */

/** Vendor (Salesforce) Opportunity fields carrying the registration; created on the vendor if missing. */
export const ATTRIBUTION_FIELDS: FieldSpec[] = [
  { name: 'Registered_Partner__c', label: 'Registered Partner', type: 'string', length: 255 },
  { name: 'Registered_Partner_Id__c', label: 'Registered Partner Id', type: 'string', length: 255 },
  { name: 'Registration_Status__c', label: 'Registration Status', type: 'picklist', picklistValues: ['Submitted', 'Pending Review', 'Approved', 'Rejected', 'Expired', 'Won', 'Lost'] },
  { name: 'Registration_Expiry__c', label: 'Registration Expiry', type: 'date' },
  { name: 'Partner_Role__c', label: 'Partner Role', type: 'picklist', picklistValues: ['Sourcing', 'Services', 'Influence', 'Reseller'] },
  { name: 'Partner_Attribution__c', label: 'Partner Attribution', type: 'string', length: 255 },
  { name: 'Partner_Attribution_Type__c', label: 'Partner Attribution Type', type: 'string', length: 40 },
];
/** The field on a partner's own deal where the partner disputes a rejection (its reason, free text). */
export const DISPUTE_INTAKE: Partial<Record<OrgConfig['kind'], FieldSpec>> = {
  hubspot: { name: 'cosell_registration_dispute', label: 'Dispute the registration decision (cosell): your reason', type: 'string', length: 255 },
  salesforce: { name: 'Cosell_Registration_Dispute__c', label: 'Dispute Registration Decision (cosell)', type: 'string', length: 255 },
};
/** The field on a partner's own deal where the partner asks to extend its exclusivity (its reason, free text). */
export const EXTENSION_INTAKE: Partial<Record<OrgConfig['kind'], FieldSpec>> = {
  hubspot: { name: 'cosell_registration_extension', label: 'Request an extension of the registration (cosell): your reason', type: 'string', length: 255 },
  salesforce: { name: 'Cosell_Registration_Extension__c', label: 'Request Registration Extension (cosell)', type: 'string', length: 255 },
};
/** The fields a vendor-side edit may not change during exclusivity (re-asserted, audited). */
export const PROTECTED_FIELDS = ['Registered_Partner__c', 'Registered_Partner_Id__c', 'Registration_Status__c', 'Partner_Role__c', 'Partner_Attribution__c'];

const STATUS_LABEL: Record<RegistrationStatus, string> = {
  submitted: 'Submitted',
  checked: 'Submitted',
  'pending-review': 'Pending Review',
  'auto-approved': 'Approved',
  approved: 'Approved',
  rejected: 'Rejected',
  expired: 'Expired',
  won: 'Won',
  lost: 'Lost',
};
const ROLE_LABEL: Record<AttributionRole, string> = { sourcing: 'Sourcing', services: 'Services', influence: 'Influence', reseller: 'Reseller' };

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

/** The role a partner takes on its own registration: sourcing when allowed, else its first role. */
export function ownRole(networkRoles?: readonly string[]): AttributionRole {
  const roles = (networkRoles ?? []) as AttributionRole[];
  return roles.includes('sourcing') ? 'sourcing' : (roles[0] ?? 'sourcing');
}

export function attributionOf(reg: Registration, policy: Policy, networkRoles?: readonly string[]): PartnerAttribution[] {
  const d = detailsOf(reg);
  if (d.attribution?.length) return d.attribution;
  return defaultSplits([{ partnerId: reg.partner, role: ownRole(networkRoles) }], policy);
}

/** The vendor fields that show a registration natively on the opportunity. */
export function attributionFields(reg: Registration, partnerName: string, policy: Policy, networkRoles?: readonly string[]): Fields {
  const parts = attributionOf(reg, policy, networkRoles);
  const own = parts.find((p) => p.partnerId === reg.partner) ?? parts[0]!;
  const summary = summarizeAttribution(parts, policy);
  return {
    Registered_Partner__c: partnerName,
    Registered_Partner_Id__c: reg.partner,
    Registration_Status__c: STATUS_LABEL[reg.status as RegistrationStatus] ?? 'Submitted',
    Registration_Expiry__c: reg.expiresAt ? reg.expiresAt.slice(0, 10) : null,
    Partner_Role__c: ROLE_LABEL[own.role],
    Partner_Attribution__c: parts.map((p) => `${p.partnerId}:${p.role}:${p.split}`).join(';').slice(0, 255),
    Partner_Attribution_Type__c: summary.type,
  };
}

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

export const registrationWorkflowId = (id: string) => `registration:${id}`;

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

export interface RegistrationGateOptions {
  policy: Policy;
  /** Starts the registration workflows (default: the running activity's worker client; outside a worker, registrations are decided and enforced but get no workflow). */
  client?: Client;
  /** Task queue for the registration workflows (default: the running activity's, else COSELL_TASK_QUEUE). */
  taskQueue?: string;
}

/** For `EngineDeps.gateFor`: a gate on every registration link. */
export function registrationGateFor(opts: RegistrationGateOptions): (rt: Omit<LinkRuntime, 'gate'>) => Promise<RecordGate> {
  return async (rt) => {
    await rt.target.ensureFields(rt.targetObject, ATTRIBUTION_FIELDS);
    // The partner disputes a rejection on its own deal: the field must exist there before the link reads it.
    const intake = [DISPUTE_INTAKE[rt.sourceOrg.kind], EXTENSION_INTAKE[rt.sourceOrg.kind]].filter((f): f is FieldSpec => !!f);
    if (intake.length) await rt.source.ensureFields(rt.sourceObject, intake);
    const feed = sharedAccountIndexFeed(rt.ledger, rt.target, rt.targetOrg.id, opts.client, { network: rt.network });
    feed.expectedAttribution ??= (reg) => {
      const p = rt.network.partner(reg.partner);
      return attributionFields(reg, p?.name ?? reg.partner, opts.policy, p?.roles);
    };
    return new RegistrationGate(rt, feed, opts);
  };
}

/** The given client, else the running activity's worker client (workers need no extra wiring). */
export function temporalClient(explicit?: Client): Client | undefined {
  if (explicit) return explicit;
  try {
    return Context.current().client;
  } catch {
    return undefined;
  }
}

export function currentTaskQueue(fallback?: string): string {
  try {
    return Context.current().info.taskQueue;
  } catch {
    return fallback ?? TASK_QUEUE;
  }
}

/** How long the gate trusts what it learnt about a registration link's workflow running. */
const LINK_RUNNING_TTL_MS = 10_000;

export class RegistrationGate implements RecordGate {
  private readonly linkRunning = new Map<string, { running: boolean; at: number }>();

  constructor(
    private readonly rt: Omit<LinkRuntime, 'gate'>,
    readonly feed: AccountIndexFeed,
    private readonly opts: RegistrationGateOptions,
  ) {}

  /**
   * Decide the page's new registrations and enforce every registration's status. Fails closed: when
   * the vendor truth (account index) cannot be brought up to date or a deal's customer cannot be read,
   * it throws a retryable COSELL_RULES_DATA_UNAVAILABLE before deciding anything, and the page is
   * retried — a decision is never taken on a stale or absent index.
   */
  async check(records: Array<{ sourceId: string; source: Fields; mapped: Fields }>): Promise<Map<string, GateDecision>> {
    const { rt, opts } = this;
    const { policy } = opts;
    const out = new Map<string, GateDecision>();
    const partner = rt.network.partner(rt.partnerId);
    const partnerName = partner?.name ?? rt.partnerId;
    const existing = new Map<string, Registration>();
    for (const r of records) {
      const reg = await rt.ledger.registrations.get(registrationId(rt.partnerId, r.sourceId));
      if (reg) existing.set(r.sourceId, reg);
    }
    let customers = new Map<string, Customer>();
    if (records.length) {
      try {
        // Every worker decides (and re-decides) on the same vendor truth: the vendor feed and what other workers wrote to the ledger.
        await this.feed.catchUp();
        await this.feed.loadRegistrations();
      } catch (e) {
        throw rulesDataUnavailable(`the vendor account index of ${rt.targetOrg.id} could not be brought up to date`, rt, e);
      }
      // Every record's customer, decided ones too: a deal moved to another company is re-decided (enforce).
      customers = await resolveCustomers(rt, records);
    }
    const profile = partnerProfile(policy, rt.partnerId, partner ? { tier: partner.tier, territories: partner.territories, roles: partner.roles as AttributionRole[] | undefined } : undefined);

    for (const r of records) {
      heartbeat(); // a page of new registrations (decide, ledger, workflow start each) can outlast the heartbeat timeout
      let reg = existing.get(r.sourceId) ?? (await this.decideNew(r, customers.get(r.sourceId), profile));
      if (awaitingPeers(reg)) {
        const settled = await this.settleAwaiting(reg, r, customers.get(r.sourceId), profile);
        if ('behind' in settled) {
          const reason = `registration ${reg.id} would be auto-approved; it waits (first to register) until ${settled.behind.join(', ')} ${settled.behind.length === 1 ? 'has' : 'have'} read past ${detailsOf(reg).awaitingPeers!.since}`;
          out.set(r.sourceId, { action: 'hold', park: AWAITING_PEER_LINKS, reason, decisions: [{ rule: 'first-to-register-wait', status: reg.status, behind: settled.behind, since: detailsOf(reg).awaitingPeers!.since }] });
          continue;
        }
        reg = settled.reg;
      }
      reg = await this.ensureWorkflow(reg);
      await this.intakeDispute(reg, r.source);
      reg = await this.intakeExtension(reg, r.source);
      out.set(r.sourceId, await this.enforce(reg, r, partnerName, customers.get(r.sourceId), profile));
    }
    return out;
  }

  /** Source fields read with every partner deal of the link: the partner's dispute and extension fields. */
  get readFields(): readonly string[] {
    return [DISPUTE_INTAKE[this.rt.sourceOrg.kind]?.name, EXTENSION_INTAKE[this.rt.sourceOrg.kind]?.name].filter((f): f is string => !!f);
  }

  /**
   * The partner asks to extend its exclusivity by writing a reason into the extension field on its own
   * deal: a text not handed over before goes to the workflow's `requestExtension` update (by
   * "partner"). A refusal (no extension left, one already open) is logged; the text is remembered
   * either way, so the same words are not asked again on every sync — new words are a new request.
   */
  private async intakeExtension(reg: Registration, source: Fields): Promise<Registration> {
    const field = EXTENSION_INTAKE[this.rt.sourceOrg.kind]?.name;
    const text = field ? str(source[field])?.slice(0, 1000) : null;
    const client = temporalClient(this.opts.client);
    const d = detailsOf(reg);
    if (!text || !client || !d.workflowStarted || !isExclusive(reg.status as RegistrationStatus) || d.extensionIntake === text) return reg;
    if (runningFor(registrationWorkflowId(reg.id))) return reg; // inside its own workflow's activity: the next poll asks
    try {
      await client.workflow.getHandle(registrationWorkflowId(reg.id)).executeUpdate(requestExtensionUpdate, { args: [{ by: 'partner', reason: text }] });
    } catch (e) {
      if (!isUpdateRefusal(e)) throw e;
      log.info({ registration: reg.id, err: e }, 'extension request refused by the registration workflow');
    }
    const now = (await this.rt.ledger.registrations.get(reg.id)) ?? reg;
    return this.rt.ledger.registrations.update(reg.id, { details: { ...detailsOf(now), extensionIntake: text } as unknown as Record<string, unknown> });
  }

  /**
   * The partner disputes a rejection by writing its reason into the dispute field on its own deal:
   * open workflow `dispute:<partner>:<id>` (once: one dispute per registration).
   */
  private async intakeDispute(reg: Registration, source: Fields): Promise<void> {
    const field = DISPUTE_INTAKE[this.rt.sourceOrg.kind]?.name;
    const text = field ? str(source[field]) : null;
    const client = temporalClient(this.opts.client);
    if (!text || !client || reg.status !== 'rejected' || detailsOf(reg).dispute) return;
    try {
      await client.workflow.start('dispute', {
        workflowId: disputeWorkflowId(reg.id),
        taskQueue: this.opts.taskQueue ?? currentTaskQueue(),
        args: [{ registrationId: reg.id, partnerId: reg.partner, by: 'partner', reason: text.slice(0, 1000) }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        searchAttributes: { CosellKind: ['dispute'], CosellPartner: [reg.partner] },
      });
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e; // opened before (its first step records it)
    }
  }

  /**
   * Decide one new registration and claim its customer in the ledger. First to register is the deal
   * the partner created first in its own CRM (`createdate` / `CreatedDate`), not the first cosell saw:
   * an earlier-created deal takes the customer over from a pending later one (which is rejected and
   * told so), but never from an approved one (then the earlier deal is the duplicate). See
   * `registrations.claim()` and rules/README.md.
   */
  private async decideNew(r: { sourceId: string; source: Fields; mapped: Fields }, found: Customer | undefined, profile: ReturnType<typeof partnerProfile>): Promise<Registration> {
    const { rt, opts } = this;
    const { policy } = opts;
    const id = registrationId(rt.partnerId, r.sourceId);
    const c = found ?? { name: null, domain: null, country: null, createdAt: null };
    const now = new Date().toISOString();
    const registeredAt = c.createdAt ?? now;
    const input = registrationInput(id, rt.partnerId, r, c, registeredAt);
    const decided = decide(input, this.feed.index, policy, profile);
    let decision: Pick<Decision, 'outcome' | 'ruleId' | 'reason' | 'matches' | 'checks' | 'customer'> = decided;
    const statusOf = (d: typeof decision): RegistrationStatus => (d.outcome === 'approved' ? 'auto-approved' : d.outcome === 'rejected' ? 'rejected' : 'pending-review');
    const customerNameNorm = normalizeCompanyName(input.customerName) || null;
    const customerDomain = normalizeDomain(input.website) ?? null;
    const key = customerKey({ domainNorm: customerDomain, nameNorm: customerNameNorm });
    // An auto-approval waits for the other registration links to read past this moment (sync/firstToRegister.ts).
    const behind = decided.outcome === 'approved' && policy.matching.firstToRegisterWaitMs > 0 ? await this.peersBehind(Date.parse(now)) : [];
    const fields = (d: typeof decision): LedgerRegistrationInput & { submittedAt: string; status: RegistrationStatus } => {
      if (behind.length && d === decided) {
        const details: RegistrationDetails = {
          linkId: rt.link.id,
          decision: { outcome: d.outcome, ruleId: d.ruleId, reason: d.reason, matches: d.matches },
          decidedOn: this.factsOf(input),
          registeredAtSource: c.createdAt ? 'partner-crm' : 'first-seen',
          awaitingPeers: { since: now, links: behind },
        };
        const reason = 'waiting for the other partners\' links to read past this deal (first to register)';
        return { ...registrationRow(), status: 'submitted', reason, decidedBy: null, decidedAt: null, expiresAt: null, details: details as unknown as Record<string, unknown> };
      }
      const status = statusOf(d);
      const details: RegistrationDetails = {
        linkId: rt.link.id,
        decision: { outcome: d.outcome, ruleId: d.ruleId, reason: d.reason, matches: d.matches },
        decidedOn: this.factsOf(input),
        registeredAtSource: c.createdAt ? 'partner-crm' : 'first-seen',
        ...(status === 'auto-approved' ? { approvedAt: now } : {}),
      };
      return {
        ...registrationRow(),
        status,
        reason: d.reason,
        decidedBy: status === 'pending-review' ? null : 'rules',
        decidedAt: status === 'pending-review' ? null : now,
        submittedAt: registeredAt,
        expiresAt: status === 'auto-approved' ? new Date(Date.parse(now) + policy.lifecycle.exclusivityMs).toISOString() : null,
        details: details as unknown as Record<string, unknown>,
      };
    };

    function registrationRow() {
      return {
        partner: rt.partnerId,
        sourceId: r.sourceId,
        customerName: input.customerName,
        customerNameNorm,
        customerDomain,
        customerKey: key,
        country: input.country ?? null,
        amount: input.amount ?? null,
        currency: policy.currency,
        submittedAt: registeredAt,
      };
    }

    let reg: Registration;
    let superseded: Registration | undefined;
    if (decision.outcome === 'rejected') {
      reg = await rt.ledger.registrations.upsert(fields(decision));
    } else {
      const wanted = fields(decision);
      const claim = await rt.ledger.registrations.claim({
        registration: { ...wanted, customerKey: key },
        lost: (holder) => ({ ...fields(duplicateOf(decided, holder, key!)), status: 'rejected' }),
        superseded: (holder, winner) => supersededPatch(holder, winner.id, registeredAt, now),
      });
      if (claim.outcome === 'exists') return claim.registration; // the same deal decided by a duplicated page
      if (claim.outcome === 'lost') decision = duplicateOf(decided, claim.holder!, key!);
      reg = claim.registration;
      superseded = claim.superseded;
    }
    const status = reg.status as RegistrationStatus;
    const waiting = awaitingPeers(reg);
    await rt.ledger.audit.append([
      {
        linkId: rt.link.id,
        sourceId: r.sourceId,
        action: waiting ? 'registration.awaiting-peers' : 'registration.decided',
        decisions: [{ rule: decision.ruleId, outcome: decision.outcome, reason: decision.reason, matches: decision.matches, checks: decision.checks }],
        details: { registrationId: id, status, customer: decision.customer, customerKey: key, registeredAt, ...(waiting ? { awaitingPeers: detailsOf(reg).awaitingPeers } : {}) },
        actor: 'rules',
        eventKey: `registration:${id}:${waiting ? 'awaiting-peers' : 'decided'}`,
      },
      ...(superseded
        ? [
            {
              linkId: detailsOf(superseded).linkId ?? rt.link.id,
              sourceId: superseded.sourceId,
              action: 'registration.superseded',
              decisions: [{ rule: 'first-to-register', outcome: 'rejected', reason: superseded.reason }],
              details: { registrationId: superseded.id, supersededBy: id, customerKey: key },
              actor: 'rules',
              eventKey: `registration:${superseded.id}:superseded`,
            },
          ]
        : []),
    ]);
    if (status !== 'rejected') this.feed.trackRegistration(reg);
    if (superseded) {
      this.feed.trackRegistration(superseded);
      await this.tellSuperseded(superseded);
    }
    return reg;
  }

  /**
   * An auto-approval waiting for the other registration links (sync/firstToRegister.ts): still waiting
   * while one of them has not read past the moment this deal was first seen and the policy's wait has
   * not run out (those links are asked to poll now); otherwise decided again on today's truth — an
   * earlier registration that arrived meanwhile has taken the claim over already, or rejects it now —
   * and the decision stored by compare-and-set on `submitted`, audited with how long it waited.
   */
  private async settleAwaiting(reg: Registration, r: { sourceId: string; source: Fields; mapped: Fields }, found: Customer | undefined, profile: ReturnType<typeof partnerProfile>): Promise<{ reg: Registration } | { behind: string[] }> {
    const { rt, opts } = this;
    const { policy } = opts;
    const d = detailsOf(reg);
    const since = Date.parse(d.awaitingPeers!.since);
    const behind = await this.peersBehind(since);
    const waitedMs = Date.now() - since;
    if (behind.length && waitedMs < policy.matching.firstToRegisterWaitMs) {
      await this.askToPoll(behind);
      return { behind };
    }
    const c = found ?? { name: null, domain: null, country: null, createdAt: null };
    const input = registrationInput(reg.id, rt.partnerId, r, c, reg.submittedAt);
    const decision = decide(input, this.feed.index, policy, profile);
    const status: RegistrationStatus = decision.outcome === 'approved' ? 'auto-approved' : decision.outcome === 'rejected' ? 'rejected' : 'pending-review';
    const now = new Date().toISOString();
    const { awaitingPeers: _waited, ...rest } = d;
    const details: RegistrationDetails = {
      ...rest,
      decision: { outcome: decision.outcome, ruleId: decision.ruleId, reason: decision.reason, matches: decision.matches },
      decidedOn: this.factsOf(input),
      waitedForPeers: { ms: waitedMs, stillBehind: behind },
      ...(status === 'auto-approved' ? { approvedAt: now } : {}),
    };
    let next: Registration;
    try {
      next = await rt.ledger.registrations.update(
        reg.id,
        {
          status,
          reason: decision.reason,
          decidedBy: status === 'pending-review' ? null : 'rules',
          decidedAt: status === 'pending-review' ? null : now,
          expiresAt: status === 'auto-approved' ? new Date(Date.parse(now) + policy.lifecycle.exclusivityMs).toISOString() : null,
          details: details as unknown as Record<string, unknown>,
        },
        { ifStatus: ['submitted'] },
      );
    } catch (e) {
      // Taken over meanwhile by an earlier-created registration (now rejected): that is the decision.
      if (!isCosellError(e, 'COSELL_REGISTRATION_STATE')) throw e;
      return { reg: (await rt.ledger.registrations.get(reg.id)) ?? reg };
    }
    await rt.ledger.audit.append([
      {
        linkId: rt.link.id,
        sourceId: r.sourceId,
        action: 'registration.decided',
        decisions: [{ rule: decision.ruleId, outcome: decision.outcome, reason: decision.reason, matches: decision.matches, checks: decision.checks }],
        details: { registrationId: reg.id, status, customer: decision.customer, customerKey: reg.customerKey, registeredAt: reg.submittedAt, waitedForPeers: details.waitedForPeers },
        actor: 'rules',
        eventKey: `registration:${reg.id}:decided`,
      },
    ]);
    this.feed.trackRegistration(next);
    return { reg: next };
  }

  /** The other running registration links that have not read past `sinceMs` (outside a worker: none runs). */
  private peersBehind(sinceMs: number): Promise<string[]> {
    const client = temporalClient(this.opts.client);
    if (!client) return Promise.resolve([]);
    return peersBehind(this.rt.network, this.rt.ledger, this.rt.link.id, sinceMs, async (id) => {
      const known = this.linkRunning.get(id);
      if (known && Date.now() - known.at < LINK_RUNNING_TTL_MS) return known.running;
      const running = await client.workflow
        .getHandle(linkWorkflowId(id))
        .describe()
        .then((d) => d.status.name === 'RUNNING')
        .catch((e: unknown) => {
          if (e instanceof WorkflowNotFoundError) return false;
          throw e;
        });
      this.linkRunning.set(id, { running, at: Date.now() });
      return running;
    });
  }

  /** Ask links that have not read far enough to poll now (their `syncNow`); outside a worker, nobody to ask. */
  private async askToPoll(linkIds: string[]): Promise<void> {
    const client = temporalClient(this.opts.client);
    if (!client) return;
    await Promise.all(
      linkIds.map((id) =>
        client.workflow
          .getHandle(linkWorkflowId(id))
          .signal(syncNowSignal)
          .catch((e: unknown) => log.debug({ link: id, err: e }, 'could not ask a registration link to poll (not running?)')),
      ),
    );
  }

  /**
   * The demoted registration's workflow learns it lost its customer (signal `superseded`; it rejects
   * itself while pending review, writing the status back to the partner). Signal-with-start: if its
   * workflow was not started yet, it starts already rejected.
   */
  private async tellSuperseded(reg: Registration): Promise<void> {
    const client = temporalClient(this.opts.client);
    if (!client) return;
    const d = detailsOf(reg);
    const input = workflowInput(reg, d.linkId ?? this.rt.link.id, { outcome: 'rejected', ruleId: 'first-to-register' });
    try {
      await client.workflow.signalWithStart('registration', {
        workflowId: registrationWorkflowId(reg.id),
        taskQueue: this.opts.taskQueue ?? currentTaskQueue(),
        args: [input],
        signal: 'superseded',
        signalArgs: [{ by: 'rules', reason: reg.reason ?? 'an earlier-created registration of the same customer arrived' }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        searchAttributes: { CosellKind: ['registration'], CosellPartner: [reg.partner], CosellRegistrationStatus: ['submitted'] },
        ...registrationWorkflowMetadata(reg),
      });
      if (!d.workflowStarted) await this.rt.ledger.registrations.update(reg.id, { details: { ...d, workflowStarted: true } as unknown as Record<string, unknown> });
    } catch (e) {
      // Its workflow already ended (a person decided it meanwhile): nothing left to tell.
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
  }

  /** Start the registration's workflow once (idempotent by id; remembered in the ledger). */
  private async ensureWorkflow(reg: Registration): Promise<Registration> {
    const d = detailsOf(reg);
    const client = temporalClient(this.opts.client);
    if (!client || d.workflowStarted) return reg;
    const input = workflowInput(reg, this.rt.link.id, { outcome: 'review', ruleId: 'tier-auto-approval' });
    try {
      await client.workflow.start('registration', {
        workflowId: registrationWorkflowId(reg.id),
        taskQueue: this.opts.taskQueue ?? currentTaskQueue(),
        args: [input],
        // Running → that run; closed → refused: a crash between the start and the ledger update below
        // must never restart a registration that already ran to its end.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        searchAttributes: { CosellKind: ['registration'], CosellPartner: [reg.partner], CosellRegistrationStatus: ['submitted'] },
        ...registrationWorkflowMetadata(reg),
      });
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e; // already ran: only the record was missing
    }
    // The row as it is now (enforce reads its details: a stale copy would drop workflowStarted).
    return this.rt.ledger.registrations.update(reg.id, { details: { ...d, workflowStarted: true } as unknown as Record<string, unknown> });
  }

  /**
   * Enforce a registration on one partner deal, on every change: first re-decide it when the deal
   * changed materially since its decision (rules/redecision.ts), then apply its status — write with
   * attribution, the vendor Account the customer resolves to and the stage guard; hold; reject.
   */
  private async enforce(reg: Registration, r: { sourceId: string; source: Fields; mapped: Fields }, partnerName: string, customer: Customer | undefined, profile: PartnerProfile & { territoryAction?: RuleAction }): Promise<GateDecision> {
    const { policy } = this.opts;
    const input = registrationInput(reg.id, this.rt.partnerId, r, customer, reg.submittedAt);
    const account = this.vendorAccountOf(input);
    const decisions: unknown[] = [];
    const answered = await this.answerInfoRequest(reg, input, account, profile, decisions);
    const redecided = answered === 'deferred' ? answered : await this.redecideOnMaterialChange(answered, input, account, profile, decisions);
    if (redecided === 'deferred') {
      // Inside the registration's own workflow (its effects re-push the deal): that workflow cannot take
      // an update while it waits for this activity, so nothing is written now; the link's next poll of
      // the edited deal re-decides it.
      return { action: 'hold', reason: `registration ${reg.id} changed materially; re-decided on the next sync`, decisions: [{ rule: 'registration', status: reg.status, action: 'hold' }, ...decisions] };
    }
    reg = redecided;
    const action = gateAction(reg);
    const reason = `registration ${reg.id} is ${reg.status}${reg.reason ? `: ${reg.reason}` : ''}`;
    decisions.unshift({ rule: 'registration', status: reg.status, action });
    if (action !== 'write') {
      // Re-decided after it was in the vendor pipeline: the opportunity exists, so it shows the new
      // status, and nothing else of the partner's edit reaches the vendor until a person approves it —
      // except its parent reference: the customer's company itself merged or moved, and the opportunity
      // must not stay on an account whose company is gone (the merge re-point, `repointChildren`).
      if (await this.wasInPipeline(reg, r.sourceId)) {
        const follows = new Set(['Registration_Status__c', ...(this.rt.parent?.targetField ? [this.rt.parent.targetField] : [])]);
        return { action: 'write', fields: { Registration_Status__c: STATUS_LABEL[reg.status as RegistrationStatus] }, protect: Object.keys(r.mapped).filter((f) => !follows.has(f)), reason, decisions };
      }
      return { action, reason, decisions };
    }
    const partner = this.rt.network.partner(reg.partner);
    const fields = attributionFields(reg, partnerName, policy, partner?.roles);
    const accountId = await this.accountIdFor(input, account, decisions);
    if (accountId) fields.AccountId = accountId;
    const protect: string[] = [];
    // Stage guard: the partner's stage may open/push the vendor stage only as far as the policy allows.
    const partnerStage = str(r.source.dealstage) ?? str(r.source.StageName);
    const proposed = str(r.mapped.StageName);
    if (partnerStage && proposed && policy.stageGuard) {
      const current = await this.currentVendorStage(r.sourceId);
      const g = guardStage(policy, { partnerStage, proposedVendorStage: proposed, currentVendorStage: current });
      if (g.stage === null) protect.push('StageName');
      else fields.StageName = g.stage;
      // Probability and forecast category follow the stage the vendor opportunity really has: when the
      // guard changed or kept the stage, the partner stage's values are not written, so the vendor CRM
      // derives them from its own stage (Salesforce sets both from the stage when they are not given).
      if (g.guarded) protect.push(...STAGE_DERIVED_FIELDS);
      if (g.guarded) decisions.push({ rule: 'stage-guard', partnerStage, proposed, current, written: g.stage, reason: g.reason, notWritten: g.stage === null ? ['StageName', ...STAGE_DERIVED_FIELDS] : [...STAGE_DERIVED_FIELDS] });
    }
    return { action, fields, protect, reason, decisions };
  }

  private findOptions(): FindOptions {
    const m = this.opts.policy.matching;
    return { nameThreshold: m.nameThreshold, requireDomainAgreement: m.requireDomainAgreement, useDomains: m.domain };
  }

  /** The vendor account the deal's customer resolves to — the same match the decision makes. */
  private vendorAccountOf(input: RegistrationInput): Hit<VendorAccount> | undefined {
    const opts = this.findOptions();
    const domains = opts.useDomains ? recordDomains(input.website, input.contactEmail) : [];
    return bestAccount(this.feed.index.findAccounts({ domains, name: normalizeCompanyName(input.customerName) }, opts));
  }

  /** What a decision on `input` is made on (stored as `decidedOn`). */
  factsOf(input: RegistrationInput): DecisionFacts {
    return decisionFacts(input, this.vendorAccountOf(input)?.record.id ?? null, this.opts.policy);
  }

  /**
   * Re-run the decision when the deal changed materially since it was decided (amount class or a raise
   * above the tier limit, customer, vendor account, close date far out). The result goes through the
   * registration's workflow (its one writer; the ledger follows from the workflow's effects), or —
   * without a workflow — a compare-and-set on the ledger row's status. Returns the registration as it
   * stands afterwards.
   */
  private async redecideOnMaterialChange(reg: Registration, input: RegistrationInput, account: Hit<VendorAccount> | undefined, profile: PartnerProfile & { territoryAction?: RuleAction }, decisions: unknown[]): Promise<Registration | 'deferred'> {
    const { policy } = this.opts;
    const d = detailsOf(reg);
    const before = d.decidedOn;
    // Only a decided registration that still runs: approved (exclusive) or pending review.
    if (!before || standing(reg.status as RegistrationStatus) === null || isTerminal(reg.status as RegistrationStatus)) return reg;
    const after = decisionFacts(input, account?.record.id ?? null, policy);
    const changes = materialChanges(before, after, { policy, autoApproveUpTo: policy.tiers.get(profile.tier)?.autoApproveUpTo, submittedAt: reg.submittedAt });
    if (!changes.length) return reg;
    let decision: Pick<Decision, 'outcome' | 'ruleId' | 'reason' | 'matches'> = decide(input, this.feed.index, policy, profile);
    if (changes.includes('customer')) {
      // Another customer: the claim moves with it (one active registration per customer holds for the
      // new customer too); when another registration already holds it, this one is the later one.
      const nameNorm = normalizeCompanyName(input.customerName) || null;
      const domain = normalizeDomain(input.website) ?? null;
      const key = customerKey({ domainNorm: domain, nameNorm });
      if (key !== reg.customerKey) {
        const moved = await this.rt.ledger.registrations.reclaim(reg.id, { customerKey: key, customerName: input.customerName || null, customerNameNorm: nameNorm, customerDomain: domain, country: input.country ?? null });
        if (moved.outcome === 'held') decision = duplicateOf(decision, moved.holder!, key!);
        else this.feed.trackRegistration(moved.registration);
        decisions.push({ rule: 'customer-claim', from: reg.customerKey, to: key, outcome: moved.outcome, holder: moved.holder?.id ?? null });
      }
    }
    const req: Redecision = { decision: { outcome: decision.outcome, ruleId: decision.ruleId, reason: decision.reason }, before, after, changes };
    decisions.push({ rule: 'redecision', changes, outcome: decision.outcome, ruleId: decision.ruleId, reason: decision.reason });
    const client = temporalClient(this.opts.client);
    if (client && d.workflowStarted) {
      if (runningFor(registrationWorkflowId(reg.id))) return 'deferred';
      try {
        await updateRegistration(client, reg.id, redecideUpdate, req, `redecide:${stableKey({ row: reg.updatedAt, req })}`);
      } catch (e) {
        // Refused by the workflow's validator: it moved on meanwhile (expired, closed, decided); the
        // ledger below says where it stands. Anything else (transport) fails the page: it is retried.
        if (!isUpdateRefusal(e)) throw e;
        log.info({ registration: reg.id, err: e }, 're-decision refused by the registration workflow; enforcing its current status');
      }
      return (await this.rt.ledger.registrations.get(reg.id)) ?? reg;
    }
    return this.redecideInLedger(reg, req);
  }

  /**
   * "Action Required": when the partner changed a field a reviewer asked for (against what it held
   * when asked), decide again and hand the decision to the workflow (`provideInfo`). Edits of any
   * other field leave the request open (they may still be material: see redecideOnMaterialChange).
   */
  private async answerInfoRequest(reg: Registration, input: RegistrationInput, account: Hit<VendorAccount> | undefined, profile: PartnerProfile & { territoryAction?: RuleAction }, decisions: unknown[]): Promise<Registration | 'deferred'> {
    const asked = detailsOf(reg).infoRequest;
    if (reg.status !== 'pending-review' || !asked?.values) return reg;
    const changed = changedRequested(asked.values, requestedValues(input, asked.fields));
    if (!changed.length) return reg;
    const { policy } = this.opts;
    const decision = decide(input, this.feed.index, policy, profile);
    const after = decisionFacts(input, account?.record.id ?? null, policy);
    decisions.push({ rule: 'info-provided', changed, outcome: decision.outcome, ruleId: decision.ruleId, reason: decision.reason });
    const client = temporalClient(this.opts.client);
    if (!client || !detailsOf(reg).workflowStarted) return reg; // only a workflow asks for info
    if (runningFor(registrationWorkflowId(reg.id))) return 'deferred';
    try {
      await updateRegistration(client, reg.id, provideInfoUpdate, { changed, decision: { outcome: decision.outcome, ruleId: decision.ruleId, reason: decision.reason }, after }, `provide-info:${stableKey({ row: reg.updatedAt, changed, decision, after })}`);
    } catch (e) {
      if (!isUpdateRefusal(e)) throw e;
      log.info({ registration: reg.id, err: e }, 'new information refused by the registration workflow; enforcing its current status');
    }
    return (await this.rt.ledger.registrations.get(reg.id)) ?? reg;
  }

  /**
   * The registration input of one partner deal as it is in the partner's CRM now (mapped, customer
   * resolved), as a page would see it; undefined when the deal is gone or filtered out.
   */
  async currentInput(registration: string, sourceId: string): Promise<RegistrationInput | undefined> {
    const rt = this.rt;
    const [rec] = await rt.source.readByIds(rt.sourceObject, [sourceId], sourceFieldsOf({ ...rt, gate: this }));
    if (!rec) return undefined;
    const ctx = rt.context();
    if (!rt.mapping.filter(rec.fields, ctx)) return undefined;
    const { fields: mapped } = rt.mapping.apply(rec.fields, ctx);
    const reg = await rt.ledger.registrations.get(registration);
    const customers = await resolveCustomers(rt, [{ sourceId, source: rec.fields }]);
    return registrationInput(registration, rt.partnerId, { source: rec.fields, mapped }, customers.get(sourceId), reg?.submittedAt ?? new Date().toISOString());
  }

  /** No workflow (outside a worker): the gate is the only writer; the status moves by compare-and-set. */
  private async redecideInLedger(reg: Registration, req: Redecision): Promise<Registration> {
    const to = redecidedStatus(reg.status as RegistrationStatus, req.decision.outcome);
    const now = new Date().toISOString();
    const current = (await this.rt.ledger.registrations.get(reg.id)) ?? reg;
    const details: RegistrationDetails = { ...detailsOf(current), decidedOn: req.after };
    const changed = to !== reg.status;
    const next = await this.rt.ledger.registrations.update(
      reg.id,
      {
        details: details as unknown as Record<string, unknown>,
        ...(changed ? { status: to, reason: req.decision.reason, decidedBy: to === 'rejected' ? 'rules' : null, decidedAt: to === 'rejected' ? now : null, expiresAt: null } : {}),
      },
      { ifStatus: [reg.status as RegistrationStatus] },
    );
    await this.rt.ledger.audit.append([
      {
        linkId: this.rt.link.id,
        sourceId: reg.sourceId,
        action: 'registration.redecided',
        decisions: [{ rule: req.decision.ruleId, outcome: req.decision.outcome, reason: req.decision.reason }],
        details: { registrationId: reg.id, from: reg.status, to, changes: req.changes, before: req.before, after: req.after },
        actor: 'rules',
        eventKey: `registration:${reg.id}:redecided:${now}`,
      },
    ]);
    this.feed.trackRegistration(next);
    return next;
  }

  /** Pending review or rejected after having been approved, with its vendor opportunity written. */
  private async wasInPipeline(reg: Registration, sourceId: string): Promise<boolean> {
    if (!detailsOf(reg).approvedAt || (reg.status !== 'pending-review' && reg.status !== 'rejected')) return false;
    const pair = (await this.rt.ledger.pairs.bySource(this.rt.link.id, [sourceId])).get(sourceId);
    return !!pair && !pair.deletedAt;
  }

  /**
   * The vendor Opportunity's AccountId: the vendor account the customer matched; when none matched,
   * a vendor Account created for the customer (keyed by `Cosell_Customer_Key__c` — its domain, else
   * its normalised name — so every worker and retry finds the same one). A partner-sourced opportunity
   * without an account is invisible to account-based views, territory assignment and the rules' own
   * open-opportunity check (a later registration of the same customer would not see it). Without a
   * customer name nothing is created and AccountId stays blank; the audit says which case it was.
   */
  private async accountIdFor(input: RegistrationInput, account: Hit<VendorAccount> | undefined, decisions: unknown[]): Promise<string | null> {
    if (account) {
      decisions.push({ rule: 'vendor-account', accountId: account.record.id, matchedOn: account.matchedOn, score: account.score, created: false });
      return account.record.id;
    }
    const name = input.customerName.trim();
    const domain = recordDomains(input.website, input.contactEmail)[0] ?? null;
    const norm = normalizeCompanyName(name);
    if (!norm || this.rt.targetOrg.kind !== 'salesforce') {
      decisions.push({ rule: 'vendor-account', accountId: null, created: false, reason: norm ? `the vendor CRM (${this.rt.targetOrg.kind}) has no Account to create` : 'no customer name: no vendor account matched or created; AccountId left blank' });
      return null;
    }
    const key = domain ? `domain:${domain}` : `name:${norm}`;
    try {
      this.accountKeyField ??= this.rt.target.ensureFields('Account', [CUSTOMER_KEY_FIELD]).then(() => undefined);
      this.accountKeyField.catch(() => (this.accountKeyField = undefined));
      await this.accountKeyField;
      const [found] = await this.rt.target.readByField('Account', CUSTOMER_KEY_FIELD.name, [key], ['Name']);
      let id = found?.id;
      if (!id) {
        const [res] = await this.rt.target.upsert('Account', CUSTOMER_KEY_FIELD.name, [{ key, fields: { Name: name.slice(0, 255), Website: domain, BillingCountry: input.country ?? null } }]);
        if (!res || res.status === 'failed' || !res.id) throw new Error(res?.error?.message ?? 'no result');
        id = res.id;
      }
      // Visible to the next decision in this worker at once (the index feed confirms it later).
      if (!this.feed.index.getAccount(id)) this.feed.index.upsertAccount({ id, name, domain, country: input.country ?? null, named: false, openOpportunities: [], hasOpenOpportunity: false });
      decisions.push({ rule: 'vendor-account', accountId: id, created: !found, key, reason: found ? 'the vendor account cosell created for this customer' : 'no vendor account matched the customer: created one' });
      return id;
    } catch (e) {
      log.warn({ err: e, link: this.rt.link.id }, 'could not create the vendor account for a partner deal; AccountId left blank');
      decisions.push({ rule: 'vendor-account', accountId: null, created: false, reason: `no vendor account matched and creating one failed: ${e instanceof Error ? e.message : String(e)}` });
      return null;
    }
  }

  private accountKeyField?: Promise<void>;

  private async currentVendorStage(sourceId: string): Promise<string | null> {
    const pair = (await this.rt.ledger.pairs.bySource(this.rt.link.id, [sourceId])).get(sourceId);
    if (!pair || pair.deletedAt) return null;
    const snap = (await this.rt.ledger.snapshots.get(this.rt.targetOrg.id, this.rt.targetObject, [pair.targetId])).get(pair.targetId);
    return str(snap?.fields.StageName);
  }
}

/** What reading a deal's customer needs of a link: the partner org, its connector and object (the preview has no full runtime). */
export type CustomerSource = Pick<LinkRuntime, 'link' | 'sourceOrg' | 'source' | 'sourceObject'>;

export interface Customer {
  name: string | null;
  domain: string | null;
  country: string | null;
  /** When the partner created the deal in its own CRM (HubSpot `createdate`, Salesforce `CreatedDate`). */
  createdAt: string | null;
}

const COUNTRY_NAMES: Record<string, string> = {
  'united states': 'US', usa: 'US', 'united kingdom': 'GB', germany: 'DE', france: 'FR', netherlands: 'NL', japan: 'JP', australia: 'AU',
  canada: 'CA', brazil: 'BR', india: 'IN', sweden: 'SE', spain: 'ES', italy: 'IT', ireland: 'IE', switzerland: 'CH', austria: 'AT',
};

/** ISO alpha-2 from what CRMs hold (codes or English names). */
export function countryCode(v: unknown): string | null {
  const s = str(v);
  if (!s) return null;
  if (/^[A-Za-z]{2,3}$/.test(s)) return s.toUpperCase();
  return COUNTRY_NAMES[s.toLowerCase()] ?? s;
}

/**
 * The end customer of each partner deal — its associated company / account (name, domain, country),
 * read in one batch per page from the partner's own CRM: HubSpot the deal → company association (v4
 * batch read), Salesforce `Opportunity.AccountId` → Account; deals without one fall back to the mapped
 * fields (Customer_Domain__c, the deal name) — and when the partner created the deal there, read from
 * the source record (`createdate` / `CreatedDate`), the time first-to-register compares.
 * A failed read throws COSELL_RULES_DATA_UNAVAILABLE (retryable): deciding on the mapped fields
 * alone would match a different customer key than the company the partner linked.
 */
export async function resolveCustomers(rt: CustomerSource, records: Array<{ sourceId: string; source: Fields }>): Promise<Map<string, Customer>> {
  const out = new Map<string, Customer>();
  const ids = records.map((r) => r.sourceId);
  const created = new Map<string, string>();
  const customer = (id: string): Customer => {
    let c = out.get(id);
    if (!c) out.set(id, (c = { name: null, domain: null, country: null, createdAt: null }));
    return c;
  };
  try {
    if (rt.sourceOrg.kind === 'hubspot') {
      // Search and batch reads always return `createdate`; read it only for records that lack it.
      for (const r of records) if (isoOrNull(r.source.createdate)) created.set(r.sourceId, isoOrNull(r.source.createdate)!);
      const missing = ids.filter((id) => !created.has(id));
      if (missing.length) for (const d of await rt.source.readByIds(rt.sourceObject, missing, ['createdate'])) if (isoOrNull(d.fields.createdate)) created.set(d.id, isoOrNull(d.fields.createdate)!);
      const links = await hubspotDealCompanies(rt, ids);
      const companies = links.size ? await rt.source.readByIds('companies', [...new Set(links.values())], ['name', 'domain', 'website', 'country']) : [];
      const byId = new Map(companies.map((c) => [c.id, c]));
      for (const [deal, company] of links) {
        const c = byId.get(company);
        if (c) Object.assign(customer(deal), { name: str(c.fields.name), domain: str(c.fields.domain) ?? str(c.fields.website), country: countryCode(c.fields.country) });
      }
    } else if (rt.sourceOrg.kind === 'salesforce') {
      const opportunity = rt.sourceObject === 'Opportunity';
      const opps = await rt.source.readByIds(rt.sourceObject, ids, opportunity ? ['CreatedDate', 'AccountId'] : ['CreatedDate']);
      for (const o of opps) if (isoOrNull(o.fields.CreatedDate)) created.set(o.id, isoOrNull(o.fields.CreatedDate)!);
      const accountOf = new Map(opps.filter((o) => opportunity && str(o.fields.AccountId)).map((o) => [o.id, String(o.fields.AccountId)]));
      const accounts: CrmRecord[] = accountOf.size ? await rt.source.readByIds('Account', [...new Set(accountOf.values())], ['Name', 'Website', 'BillingCountry']) : [];
      const byId = new Map(accounts.map((a) => [a.id, a]));
      for (const [opp, acc] of accountOf) {
        const a = byId.get(acc);
        if (a) Object.assign(customer(opp), { name: str(a.fields.Name), domain: str(a.fields.Website), country: countryCode(a.fields.BillingCountry) });
      }
    }
  } catch (e) {
    throw rulesDataUnavailable(`the customers of ${ids.length} partner deal(s) could not be read from ${rt.sourceOrg.id}`, rt, e);
  }
  for (const [id, at] of created) customer(id).createdAt = at;
  return out;
}

/** The retryable error of a decision that cannot see what it needs (fail closed: nothing is decided). */
function rulesDataUnavailable(what: string, rt: Pick<LinkRuntime, 'link'>, cause: unknown): CosellError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  log.warn({ err: cause, link: rt.link.id }, `${what}; nothing decided, the page will be retried`);
  return new CosellError('COSELL_RULES_DATA_UNAVAILABLE', `${what}: ${reason}`, { cause, details: { link: rt.link.id, retryable: true }, hint: 'the page is retried; check the CRM connection if this persists' });
}

/** The registration a lost claim was a duplicate of, as the decision (the rules' own first-to-register wording). */
export function duplicateOf<D extends Pick<Decision, 'outcome' | 'ruleId' | 'reason' | 'matches'>>(d: D, holder: Registration, key: string): D {
  const reason = `"${holder.customerName ?? key}" was registered first by ${holder.partner} at ${holder.submittedAt} (registration ${holder.id}, ${holder.status}; matched on ${key.startsWith('domain:') ? 'domain' : 'name'})`;
  const match = { kind: 'registration' as const, id: holder.id, name: holder.customerName ?? '', domain: holder.customerDomain, score: 1, matchedOn: key.startsWith('domain:') ? ('domain' as const) : ('name' as const), partnerId: holder.partner, registeredAt: holder.submittedAt };
  return { ...d, outcome: 'rejected', ruleId: 'first-to-register', reason, matches: [match, ...d.matches.filter((m) => m.id !== holder.id)] };
}

/** How a pending holder is stored when an earlier-created registration of its customer takes over. */
function supersededPatch(holder: Registration, winnerId: string, winnerRegisteredAt: string, now: string) {
  const reason = `registration ${winnerId} of the same customer was created earlier (${winnerRegisteredAt}, this one ${holder.submittedAt}); first to register wins while no decision is made`;
  const d = detailsOf(holder);
  const details: RegistrationDetails = { ...d, decision: { outcome: 'rejected', ruleId: 'first-to-register', reason, matches: d.decision?.matches ?? [] }, supersededBy: winnerId };
  return { status: 'rejected', reason, decidedBy: 'rules', decidedAt: now, expiresAt: null, details: details as unknown as Record<string, unknown> };
}

function isoOrNull(v: unknown): string | null {
  const s = str(v);
  if (!s) return null;
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

/** deal id → company id through HubSpot's v4 batch association read (token auth only). */
async function hubspotDealCompanies(rt: CustomerSource, dealIds: string[]): Promise<Map<string, string>> {
  const org = rt.sourceOrg;
  const out = new Map<string, string>();
  if (org.kind !== 'hubspot' || !('accessToken' in org.connection.auth)) return out;
  const token = resolveSecret(org.connection.auth.accessToken, `${org.id}.connection.auth.accessToken`);
  const base = (org.connection.basePath ?? 'https://api.hubapi.com').replace(/\/$/, '');
  for (let i = 0; i < dealIds.length; i += 1000) {
    const res = await fetch(`${base}/crm/v4/associations/deals/companies/batch/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: dealIds.slice(i, i + 1000).map((id) => ({ id })) }),
    });
    if (!res.ok && res.status !== 207) throw new Error(`HubSpot associations read: HTTP ${res.status}`);
    const body = (await res.json()) as { results?: Array<{ from: { id: string }; to: Array<{ toObjectId: number | string }> }> };
    for (const r of body.results ?? []) if (r.to[0]) out.set(String(r.from.id), String(r.to[0].toObjectId));
  }
  return out;
}

/** Vendor Account external id for the accounts cosell creates for partner-sourced customers. */
export const CUSTOMER_KEY_FIELD: FieldSpec = { name: 'Cosell_Customer_Key__c', label: 'Customer Key (cosell)', type: 'string', length: 255, externalId: true, unique: true };

/** The registration input of a partner deal (the gate's view: the customer as resolved, mapped fields). */
export function registrationInput(id: string, partnerId: string, r: { source: Fields; mapped: Fields }, c: Customer | undefined, submittedAt: string): RegistrationInput {
  return {
    id,
    partnerId,
    customerName: c?.name ?? str(r.mapped.Name) ?? '',
    website: c?.domain ?? str(r.mapped.Customer_Domain__c),
    country: c?.country ?? null,
    amount: num(r.mapped.Amount) ?? num(r.mapped.Partner_Amount__c),
    closeDate: str(r.mapped.CloseDate),
    stage: str(r.source.dealstage) ?? str(r.source.StageName),
    submittedAt,
    fields: r.mapped,
  };
}

/** True inside an activity of workflow `workflowId`. */
function runningFor(workflowId: string): boolean {
  try {
    return Context.current().info.workflowExecution?.workflowId === workflowId;
  } catch {
    return false;
  }
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
    await beating(() => client.withAbortSignal(controller.signal, () => client.workflow.getHandle(registrationWorkflowId(id)).executeUpdate(update, { args: [arg], updateId })));
  } catch (e) {
    if (!controller.signal.aborted) throw e;
    throw new CosellError('COSELL_REGISTRATION_BUSY', `registration ${id}'s workflow did not take the ${update.name} update within ${deadlineMs / 1000} s (it is still applying an earlier change, or its worker is gone); nothing was written, the page is retried`, { cause: e });
  } finally {
    clearTimeout(deadline);
  }
}

/** A short, stable key of a JSON value (its object keys sorted): the same request gets the same update id. */
function stableKey(value: unknown): string {
  const canonical = JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

/** A workflow update refused by its validator or handler (vs. a transport / server failure). */
function isUpdateRefusal(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === 'WorkflowUpdateFailedError' || name === 'WorkflowNotFoundError';
}

function str(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const s = String(v).trim();
  return s ? s : null;
}

function num(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
