import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Fields, FieldSpec } from '../connectors/types.js';
import type { Registration, RegistrationInput as LedgerRegistrationInput } from '../ledger/index.js';
import { customerKey, registrationId } from '../ledger/index.js';
import { currentTaskQueue, runningFor, temporalClient } from '../lib/activityContext.js';
import { isCosellError } from '../lib/errors.js';
import { heartbeat } from '../lib/heartbeat.js';
import { log } from '../lib/logger.js';
import { normalizeCompanyName, normalizeDomain } from '../lib/normalize.js';
import {
  bestAccount,
  decide,
  decisionFacts,
  guardStage,
  isExclusive,
  isTerminal,
  materialChanges,
  partnerProfile,
  recordDomains,
  redecidedStatus,
  standing,
  STAGE_DERIVED_FIELDS,
  changedRequested,
  requestedValues,
  type AttributionRole,
  type Decision,
  type DecisionFacts,
  type FindOptions,
  type Hit,
  type PartnerProfile,
  type Policy,
  type Redecision,
  type RegistrationInput,
  type RegistrationStatus,
  type RuleAction,
  type VendorAccount,
} from '../rules/index.js';
import { sourceFieldsOf } from '../sync/page.js';
import type { GateDecision, LinkRuntime, RecordGate } from '../sync/runtime.js';
import { registrationIndexFeed, type AccountIndexFeed } from './accountIndexFeed.js';
import { attributionFields } from './attribution.js';
import { duplicateOf, supersededPatch } from './claims.js';
import { resolveCustomers, rulesDataUnavailable, type Customer } from './customers.js';
import { awaitingPeers, detailsOf, gateAction, type RegistrationDetails } from './details.js';
import { str } from './fieldValues.js';
import { AWAITING_PEER_LINKS, peersBehind } from './firstToRegister.js';
import { registrationInput } from './input.js';
import { DISPUTE_INTAKE, EXTENSION_INTAKE } from './partnerFields.js';
import { isUpdateRefusal, registrationWorkflowMetadata, stableKey, updateRegistration, workflowInput } from './registrationWorkflow.js';
import { ATTRIBUTION_FIELDS, CUSTOMER_KEY_FIELD, VENDOR_STATUS_LABEL } from './vendorFields.js';
import { linkHandle, provideInfoUpdate, redecideUpdate, registrationHandle, registrationWorkflowId, requestExtensionUpdate, startDispute, startRegistration, supersedeRegistration, syncNowSignal } from '../lib/workflowClient.js';

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
    const feed = registrationIndexFeed(rt.ledger, rt.target, rt.targetOrg.id, rt.network, () => opts.policy, opts.client);
    return new RegistrationGate(rt, feed, opts);
  };
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
      await registrationHandle(client, reg.id).executeUpdate(requestExtensionUpdate, { args: [{ by: 'partner', reason: text }] });
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
      await startDispute(client, { registrationId: reg.id, partnerId: reg.partner, by: 'partner', reason: text.slice(0, 1000) }, { taskQueue: this.opts.taskQueue ?? currentTaskQueue() });
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
    // An auto-approval waits for the other registration links to read past this moment (registrations/firstToRegister.ts).
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
   * An auto-approval waiting for the other registration links (registrations/firstToRegister.ts): still waiting
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
      const running = await linkHandle(client, id)
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
        linkHandle(client, id)
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
      await supersedeRegistration(client, input, { by: 'rules', reason: reg.reason ?? 'an earlier-created registration of the same customer arrived' }, {
        taskQueue: this.opts.taskQueue ?? currentTaskQueue(),
        partner: reg.partner,
        reuse: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        metadata: registrationWorkflowMetadata(reg),
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
      await startRegistration(client, input, {
        taskQueue: this.opts.taskQueue ?? currentTaskQueue(),
        partner: reg.partner,
        // Running → that run; closed → refused: a crash between the start and the ledger update below
        // must never restart a registration that already ran to its end.
        conflict: WorkflowIdConflictPolicy.USE_EXISTING,
        reuse: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        metadata: registrationWorkflowMetadata(reg),
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
        return { action: 'write', fields: { Registration_Status__c: VENDOR_STATUS_LABEL[reg.status as RegistrationStatus] }, protect: Object.keys(r.mapped).filter((f) => !follows.has(f)), reason, decisions };
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
