import type { Client } from '@temporalio/client';
import type { Fields } from '../connectors/types.js';
import type { Registration } from '../ledger/index.js';
import { CosellError } from '../lib/errors.js';
import { withHeartbeats } from '../lib/heartbeat.js';
import {
  DISPUTE_TEXT,
  actionRequiredReason,
  type DisputeEffect,
  type DisputeResolution,
  type DisputeState,
  defaultSplits,
  fieldLabel,
  namesOtherPartner,
  requestedValues,
  loadPolicy,
  partnerProfile,
  partnerSafeReason,
  summarizeAttribution,
  validateAttribution,
  type AttributionRole,
  type Effect,
  type LifecycleSettings,
  type PartnerAttribution,
  type Policy,
  type RegistrationState,
} from '../rules/index.js';
import { registrationIndexFeed, type AccountIndexFeed } from '../registrations/accountIndexFeed.js';
import type { Engine } from '../sync/build.js';
import { outcomeWrites, processRecords, sourceFieldsOf } from '../sync/page.js';
import { NOTIFICATION_KINDS } from '../notify/render.js';
import { PARTNER_WRITE_BACK, partnerStatus, type PartnerWriteBack } from '../registrations/partnerFields.js';
import { temporalClient, currentTaskQueue } from '../lib/activityContext.js';
import { ownRole } from '../registrations/attribution.js';
import { ACTIVE_LEDGER_STATUSES, detailsOf, gateAction, type RegistrationDetails } from '../registrations/details.js';
import { RegistrationGate } from '../registrations/gate.js';
import { workflowInput } from '../registrations/registrationWorkflow.js';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import { attributeUpdate, disputeWorkflowId, registrationHandle, startRegistration } from '../lib/workflowClient.js';

export interface RegistrationActivityDeps {
  engine: Engine;
  /** The Rules of Engagement policy (default: the network file's `rules:`). */
  policy?: Policy;
  /** For signals from the vendor-account feed (closed opportunities). */
  client?: Client;
}

export function createRegistrationActivities(deps: RegistrationActivityDeps) {
  const { engine } = deps;
  let loaded: Policy | undefined;
  const policy = (): Policy => {
    if (deps.policy) return deps.policy;
    const rules = engine.network.network.rules;
    if (!rules) throw new CosellError('COSELL_CONFIG_INVALID', 'the network file has no `rules:` policy; registrations need one');
    return (loaded ??= loadPolicy(engine.network.resolve(rules)));
  };
  const ensured = new Map<string, Promise<unknown>>();
  const partnersOf = () => engine.network.network.partners.map((p) => ({ id: p.id, name: p.name }));

  /** What the registration's requested fields hold on the partner's deal now (read from its CRM). */
  async function requestedNow(linkId: string, sourceId: string, registration: string, fields: string[]): Promise<Record<string, string>> {
    const rt = await engine.link(linkId);
    if (!(rt.gate instanceof RegistrationGate)) throw new CosellError('COSELL_CONFIG_INVALID', `link ${linkId} is not a registration link`);
    const input = await rt.gate.currentInput(registration, sourceId);
    // A deal deleted meanwhile has nothing to answer with: an empty baseline, any later value is an answer.
    return input ? requestedValues(input, fields) : Object.fromEntries(fields.map((f) => [f, '']));
  }

  async function feed(): Promise<AccountIndexFeed> {
    const vendorId = engine.network.network.vendor.id;
    return registrationIndexFeed(engine.ledger, await engine.connector(vendorId), vendorId, engine.network, policy, deps.client);
  }

  /** Write cosell's fields onto the partner's own deal in the partner's CRM (creating them once per object). */
  async function writePartnerDeal(linkId: string, sourceId: string, fields: (spec: PartnerWriteBack) => Fields): Promise<void> {
    const rt = await engine.link(linkId);
    if (rt.source.kind === 'aws-partner-central') throw new CosellError('COSELL_CONFIG_INVALID', `link ${linkId}: registrations come from partner deals in Salesforce or HubSpot; AWS's review of an opportunity is its own lifecycle`);
    const spec = PARTNER_WRITE_BACK[rt.source.kind];
    const key = `${rt.sourceOrg.id}/${rt.sourceObject}`;
    let ensure = ensured.get(key);
    if (!ensure) {
      ensure = rt.source.ensureFields(rt.sourceObject, spec.specs);
      ensure.catch(() => ensured.delete(key));
      ensured.set(key, ensure);
    }
    await ensure;
    const [res] = await rt.source.update(rt.sourceObject, [{ id: sourceId, fields: fields(spec) }]);
    if (res?.status === 'failed') {
      if (res.error?.kind === 'not_found') return; // the partner deleted its deal: nothing to show it on
      throw new Error(`write-back to ${rt.sourceOrg.id} ${rt.sourceObject} ${sourceId}: ${res.error?.message}`);
    }
  }

  /** Put status, a partner-safe reason (rules/partnerReasons.ts) and expiry on the partner's own deal. */
  async function writeBack(linkId: string, sourceId: string, e: Extract<Effect, { type: 'write-back' }>, state: RegistrationState): Promise<void> {
    // Never the internal reason: it can name another partner, the vendor's accounts or people.
    let reason = e.actionRequired?.length ? actionRequiredReason(e.actionRequired) : partnerSafeReason(e.status, { ruleId: state.check?.ruleId, decidedBy: state.decidedBy, reason: e.reason });
    let action = e.actionRequired?.length ? e.actionRequired.map(fieldLabel).join(', ') : null;
    if (namesOtherPartner(`${reason} ${action ?? ''}`, state.partnerId, partnersOf())) {
      reason = partnerSafeReason(e.status);
      action = action === null ? null : 'see the vendor';
    }
    await writePartnerDeal(linkId, sourceId, (spec) => ({
      [spec.status]: partnerStatus(e.status),
      [spec.reason]: reason,
      [spec.expiry]: e.expiresAt ? e.expiresAt.slice(0, 10) : null,
      [spec.action]: action,
    }));
  }

  const client = () => {
    const c = temporalClient(deps.client);
    if (!c) throw new CosellError('COSELL_CONFIG_INVALID', 'no Temporal client for registration workflows');
    return c;
  };
  const refused = (message: string) => new CosellError('COSELL_REGISTRATION_STATE', message);

  /** The other partner's registration that holds `reg`'s customer now (active), if any. */
  async function holderOf(reg: Registration): Promise<Registration | undefined> {
    if (!reg.customerKey) return undefined;
    const active = await engine.ledger.registrations.list({ status: ACTIVE_LEDGER_STATUSES });
    return active.find((r) => r.customerKey === reg.customerKey && r.id !== reg.id);
  }

  /** Re-process the partner's deal through its link now (as dead-letter replay does), without a cursor. */
  async function pushToVendor(linkId: string, sourceId: string): Promise<string | undefined> {
    const rt = await engine.link(linkId);
    const fields = sourceFieldsOf(rt);
    const records = await rt.source.readByIds(rt.sourceObject, [sourceId], fields);
    if (!records.length) return undefined;
    const outcome = await processRecords(rt, records, { replay: true });
    await engine.ledger.commitPage({
      linkId,
      feed: 'changes',
      ...outcomeWrites(outcome),
    });
    return outcome.pairs[0]?.targetId ?? (await engine.ledger.pairs.bySource(linkId, [sourceId])).get(sourceId)?.targetId;
  }

  // Every one heartbeats: their proxies' short heartbeatTimeout retries a dead worker's attempt in
  // seconds, where the startToCloseTimeout would leave the registration (and a page waiting on it) minutes.
  return withHeartbeats({
    async registrationSettings(): Promise<LifecycleSettings> {
      const channels = engine.network.network.notifications?.channels ?? [];
      const notifyRoutes = Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, channels.filter((c) => !c.events || c.events.includes(k)).map((c) => c.id)]));
      return { ...policy().lifecycle, notifyRoutes };
    },

    /** One status change of a registration workflow: ledger, audit, write-back, vendor pipeline, rules index. */
    async applyRegistrationEffects(req: { linkId: string; sourceId: string; state: RegistrationState; effects: Effect[] }): Promise<void> {
      const { state, effects, linkId, sourceId } = req;
      const current = await engine.ledger.registrations.get(state.id);
      if (current?.status === 'rejected' && detailsOf(current).supersededBy && state.status !== 'rejected') {
        // An earlier-created registration took this one's customer while it was pending (see the gate):
        // the ledger's rejection stands; the workflow's `superseded` signal rejects it there too.
        return;
      }
      const details: RegistrationDetails = {
        ...(current ? detailsOf(current) : { linkId }),
        linkId,
        escalated: state.escalated,
        ...(state.approvedAt ? { approvedAt: state.approvedAt } : {}),
        // A re-decision's facts replace the gate's first ones (the next material edit is measured from them).
        ...(state.decidedOn ? { decidedOn: state.decidedOn } : {}),
        // The review queue reads these from the ledger: who approved, what approval is still needed.
        approvals: state.approvals ?? [],
        awaiting: state.status === 'pending-review' ? (state.awaiting ?? []) : [],
      };
      // The queue's extension requests read this (approved registrations with an open request).
      if (state.extensionRequest) details.extensionRequest = state.extensionRequest;
      else delete details.extensionRequest;
      const prior = current ? detailsOf(current).infoRequest : undefined;
      if (!state.infoRequest) delete details.infoRequest;
      else if (prior?.at === state.infoRequest.at && prior.values) details.infoRequest = prior;
      else details.infoRequest = { ...state.infoRequest, values: await requestedNow(linkId, sourceId, state.id, state.infoRequest.fields) };
      const reg: Registration = await engine.ledger.registrations.upsert({
        partner: state.partnerId,
        sourceId,
        status: state.status,
        reason: state.reason ?? null,
        decidedBy: state.decidedBy ?? null,
        decidedAt: state.decidedAt ?? null,
        expiresAt: state.expiresAt ?? null,
        reviewDueAt: state.status === 'pending-review' ? (state.reviewDueAt ?? null) : null,
        extensions: state.extensions,
        details: details as unknown as Record<string, unknown>,
      });
      const step = state.history.length;
      const by = state.history[step - 1]?.by ?? 'cosell';
      await engine.ledger.audit.append(
        effects
          .filter((e): e is Extract<Effect, { type: 'audit' | 'notify' }> => e.type === 'audit' || e.type === 'notify')
          .map((e, i) => ({
            linkId,
            sourceId,
            action: e.type === 'audit' ? e.event : `registration.notify.${e.kind}`,
            details: e.type === 'audit' ? e.detail : { to: e.to ?? null, message: e.message, registrationId: state.id },
            actor: by,
            eventKey: `registration:${state.id}:${step}:${state.status}:${i}:${e.type}`,
          })),
      );
      for (const e of effects) if (e.type === 'write-back') await writeBack(linkId, sourceId, e, state);
      const f = await feed();
      if (effects.some((e) => e.type === 'index')) f.trackRegistration(reg);
      const attributed = effects.some((e) => e.type === 'vendor-pipeline' && e.mode === 'attributed');
      const closedOut = ['won', 'lost', 'expired'].includes(state.status);
      if (gateAction(reg) === 'write' && (attributed || closedOut)) {
        const vendorOpportunityId = await pushToVendor(linkId, sourceId);
        if (vendorOpportunityId && vendorOpportunityId !== reg.vendorOpportunityId) await engine.ledger.registrations.update(reg.id, { vendorOpportunityId });
      }
    },

    /** Several partners on one registered deal: validate roles and splits (sum 100%), store, audit, push. */
    async setRegistrationAttribution(req: { id: string; linkId: string; sourceId: string; by: string; partners: Array<{ partnerId: string; role: AttributionRole; split?: number }> }): Promise<PartnerAttribution[]> {
      const p = policy();
      const reg = await engine.ledger.registrations.get(req.id);
      if (!reg) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${req.id}`);
      const parts: PartnerAttribution[] = req.partners.some((x) => x.split === undefined) ? defaultSplits(req.partners, p) : req.partners.map((x) => ({ partnerId: x.partnerId, role: x.role, split: x.split! }));
      const profiles = parts.map((x) => {
        const n = engine.network.partner(x.partnerId);
        try {
          return partnerProfile(p, x.partnerId, n ? { tier: n.tier, territories: n.territories, roles: n.roles as AttributionRole[] | undefined } : undefined);
        } catch {
          return { id: x.partnerId, tier: '', roles: [] };
        }
      });
      const problems = validateAttribution(parts, { policy: p, partners: profiles });
      for (const x of parts) if (!engine.network.partner(x.partnerId)) problems.push(`${x.partnerId} is not a partner in the network`);
      if (!parts.some((x) => x.partnerId === reg.partner)) problems.push(`the registering partner ${reg.partner} must keep a share of its own registration`);
      if (problems.length) throw new CosellError('COSELL_ATTRIBUTION_INVALID', problems.join('; '));
      const summary = summarizeAttribution(parts, p);
      await engine.ledger.registrations.update(reg.id, { details: { ...detailsOf(reg), attribution: parts, attributionType: summary.type } as unknown as Record<string, unknown> });
      await engine.ledger.audit.append([
        { linkId: req.linkId, sourceId: req.sourceId, action: 'registration.attributed', details: { registrationId: reg.id, parts, summary }, actor: req.by, eventKey: `registration:${reg.id}:attributed:${JSON.stringify(parts)}` },
      ]);
      await pushToVendor(req.linkId, req.sourceId);
      return parts;
    },

    /** One step of a dispute: ledger details, audit, the partner-safe dispute status on the partner's deal. */
    async applyDisputeEffects(req: { state: DisputeState; effects: DisputeEffect[] }): Promise<void> {
      const { state, effects } = req;
      const reg = await engine.ledger.registrations.get(state.registrationId);
      if (!reg) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${state.registrationId}`);
      const linkId = detailsOf(reg).linkId;
      const dispute = { status: state.status, by: state.by, openedAt: state.openedAt, ...(state.resolution ? { outcome: state.resolution.outcome } : {}) };
      await engine.ledger.registrations.update(reg.id, { details: { ...detailsOf(reg), dispute } as unknown as Record<string, unknown> });
      const step = state.history.length;
      await engine.ledger.audit.append(
        effects
          .filter((e): e is Extract<DisputeEffect, { type: 'audit' | 'notify' }> => e.type === 'audit' || e.type === 'notify')
          .map((e, i) => ({
            linkId,
            sourceId: reg.sourceId,
            action: e.type === 'audit' ? e.event : `dispute.notify.${e.kind}`,
            details: e.type === 'audit' ? e.detail : { to: e.to ?? null, message: e.message, registrationId: reg.id },
            actor: state.history[step - 1]?.by ?? 'cosell',
            eventKey: `${disputeWorkflowId(reg.id)}:${step}:${state.status}:${i}:${e.type}`,
          })),
      );
      for (const e of effects) if (e.type === 'write-back') await writePartnerDeal(linkId, reg.sourceId, (spec) => ({ [spec.dispute]: DISPUTE_TEXT[e.status] }));
    },

    /**
     * Carry out a dispute's resolution before it is recorded. Overturn: the rejected registration gets
     * a new workflow run that starts approved (refused while another registration holds the customer).
     * Split: the customer's holder (another partner's approved registration) shares attribution with the
     * disputing partner through the holder's own `attribute` update. Uphold: nothing to do.
     */
    async settleDispute(req: { dispute: DisputeState; resolution: DisputeResolution }): Promise<void> {
      const { dispute: d, resolution: r } = req;
      const reg = await engine.ledger.registrations.get(d.registrationId);
      if (!reg) throw new CosellError('COSELL_REGISTRATION_UNKNOWN', `no registration ${d.registrationId}`);
      if (r.outcome === 'uphold') return;
      const holder = await holderOf(reg);
      if (r.outcome === 'overturn') {
        if (reg.status !== 'rejected') throw refused(`registration ${reg.id} is ${reg.status}: only a rejection can be overturned`);
        if (holder) throw refused(`registration ${holder.id} (${holder.status}) holds the customer: overturning would give it two registrations; uphold, split attribution, or reject that one first`);
        const details = detailsOf(reg);
        const { supersededBy: _superseded, ...rest } = details;
        await engine.ledger.registrations.update(reg.id, { details: { ...rest, workflowStarted: true } as unknown as Record<string, unknown> });
        const input = { ...workflowInput(reg, details.linkId, { outcome: 'rejected', ruleId: 'first-to-register' }), reinstated: { by: r.by, reason: r.reason, dispute: disputeWorkflowId(reg.id) } };
        try {
          await startRegistration(client(), input, {
            taskQueue: currentTaskQueue(),
            partner: reg.partner,
            // The rejected run is closed; this is the one deliberate second run (a retry finds it running: fine).
            reuse: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
            conflict: WorkflowIdConflictPolicy.USE_EXISTING,
          });
        } catch (e) {
          if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
        }
        return;
      }
      if (!holder || holder.partner === reg.partner || !['auto-approved', 'approved'].includes(holder.status)) throw refused(`no other partner's approved registration holds the customer of ${reg.id}: there is no credit to share`);
      const p = policy();
      const role = (id: string, avoid?: AttributionRole) => {
        const allowed = (engine.network.partner(id)?.roles ?? []) as AttributionRole[];
        const own = ownRole(allowed);
        return own === avoid && p.attribution.singleSourcing ? (allowed.find((x) => x !== avoid) ?? 'influence') : own;
      };
      const holderRole = role(holder.partner);
      const partners = r.partners?.length ? r.partners : [{ partnerId: holder.partner, role: holderRole }, { partnerId: reg.partner, role: role(reg.partner, holderRole) }];
      try {
        await registrationHandle(client(), holder.id).executeUpdate(attributeUpdate, { args: [{ by: r.by, partners }] });
      } catch (e) {
        let err = e as (Error & { cause?: unknown }) | undefined;
        let message = '';
        while (err) {
          message = err.message || message;
          err = err.cause as typeof err;
        }
        throw new CosellError('COSELL_ATTRIBUTION_INVALID', `sharing attribution on ${holder.id}: ${message}`);
      }
    },

    /** Catch the rules' vendor-account index up with the vendor CRM (and protect / close registrations). */
    async refreshRulesIndex(): Promise<{ accounts: number; opportunities: number; closed: number; protected: number }> {
      const r = await (await feed()).catchUp();
      return { accounts: r.accounts, opportunities: r.opportunities, closed: r.closed.length, protected: r.protected };
    },
  });
}
