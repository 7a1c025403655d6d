import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineSignal,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  applyCheck,
  close,
  decideExtension,
  decideReview,
  expire,
  extend,
  isExclusive,
  isTerminal,
  provideInfo,
  redecide,
  reinstate,
  requestExtension,
  requestInfo,
  reviewTimeout,
  submit,
  type Effect,
  type InfoProvided,
  type NotifyKind,
  type InfoRequestInput,
  type Redecision,
  type RegistrationState,
  type Transition,
} from '../rules/lifecycle.js';
import type { LifecycleSettings } from '../rules/policy.js';
import type { RegistrationWorkflowInput } from '../registrations/registrationWorkflow.js';
import {
  attributeUpdate,
  decideExtensionUpdate,
  decideUpdate,
  extendUpdate,
  requestExtensionUpdate,
  provideInfoUpdate,
  redecideUpdate,
  registrationStatusQuery,
  requestInfoUpdate,
  supersededSignal,
  vendorClosedSignal,
  type Superseded,
  type VendorClosed,
} from './registrationApi.js';

const { deliverNotification } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  // A channel that is down is retried with backoff for about a day; one that refuses (bad URL) is not.
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 150 },
});

/**
 * Send a transition's notify effects: one activity per (event, channel), started without blocking the
 * lifecycle; the caller awaits `pending` before the workflow ends. Shared with the dispute workflow.
 */
export function notifier(routes: Partial<Record<NotifyKind, string[]>> | undefined, where: { linkId?: string; sourceId?: string }) {
  const pending: Array<Promise<unknown>> = [];
  // Histories from before notifications existed replay without these activities.
  const on = patched('cosell-notifications-1');
  return {
    pending,
    send(registrationId: string, partnerId: string, step: string, effects: ReadonlyArray<{ type: string; kind?: NotifyKind; message?: string }>) {
      if (!on) return;
      effects.forEach((e, i) => {
        if (e.type !== 'notify' || !e.kind) return;
        for (const channelId of routes?.[e.kind] ?? []) {
          pending.push(deliverNotification({ channelId, event: { kind: e.kind, registrationId, partnerId, message: e.message ?? '' }, linkId: where.linkId, sourceId: where.sourceId, eventKey: `${step}:${i}` }));
        }
      });
    },
  };
}

const { registrationSettings, applyRegistrationEffects, setRegistrationAttribution } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // The activities heartbeat while they run: a dead worker's attempt is retried after this, not after 5 minutes.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export {
  attributeUpdate,
  decideExtensionUpdate,
  decideUpdate,
  requestExtensionUpdate,
  extendUpdate,
  provideInfoUpdate,
  redecideUpdate,
  registrationStatusQuery,
  requestInfoUpdate,
  supersededSignal,
  vendorClosedSignal,
} from './registrationApi.js';

/**
 * One workflow per deal registration (id `registration:<partner>:<source-id>`), started by the
 * registration gate with the rules' decision:
 *
 *   submitted → checked → auto-approved | pending-review | rejected
 *   pending-review → approved | rejected   (update `decide`, or the review SLA: escalate / policy default;
 *                                           above an approval level's amount, one more approver per level)
 *   pending-review → (update `requestInfo`: Action Required, SLA paused) → update `provideInfo` from the
 *                    sync when the partner changes a requested field → pending-review | rejected
 *   approved → exclusive until expiry (update `extend`) → won | lost (signal `vendorClosed`) | expired
 *   approved | pending-review → pending-review | rejected   (update `redecide`: a material edit, re-decided)
 *
 * The transitions are rules/lifecycle.ts (pure); every status change runs one activity that updates
 * the ledger, audits, writes the status back onto the partner's deal and pushes / holds the vendor
 * opportunity. Durations come from the policy.
 */
export async function registration(input: RegistrationWorkflowInput): Promise<RegistrationState> {
  const settings: LifecycleSettings = await registrationSettings();
  let state = submit({ id: input.id, partnerId: input.partnerId, submittedAt: input.submittedAt, amount: input.amount }, Date.now());
  let closeRequest: VendorClosed | undefined;
  let busy: Promise<unknown> = Promise.resolve();

  const publish = () => {
    upsertSearchAttributes({ CosellKind: ['registration'], CosellPartner: [input.partnerId], CosellRegistrationStatus: [state.status] });
    // The Web UI's "current details" of the run: the status now (the static summary names the customer).
    setCurrentDetails(`**Status** ${state.status}${state.escalated ? ' (escalated)' : ''}${state.reviewDueAt ? `, review due ${state.reviewDueAt}` : ''}${state.expiresAt ? `, exclusive until ${state.expiresAt}` : ''}`);
  };
  const notify = notifier(settings.notifyRoutes, { linkId: input.linkId, sourceId: input.sourceId });

  /** Take a transition now (so every waiter sees it) and run its effects in order with the others. */
  const take = async (t: Transition, asFailure: boolean): Promise<RegistrationState> => {
    if (!t.ok) {
      if (asFailure) throw ApplicationFailure.create({ type: t.error.code, message: t.error.message, nonRetryable: true });
      return state;
    }
    state = t.state;
    publish();
    const effects = t.effects.filter((e: Effect) => e.type !== 'start-timer' && e.type !== 'cancel-timer');
    const snapshot = state;
    const run = busy.then(() => applyRegistrationEffects({ linkId: input.linkId, sourceId: input.sourceId, state: snapshot, effects }));
    busy = run.catch(() => undefined);
    await run;
    notify.send(input.id, input.partnerId, `registration:${input.id}:${snapshot.history.length}:${snapshot.status}`, effects);
    return state;
  };

  setHandler(registrationStatusQuery, () => state);
  /** An update that takes a lifecycle transition; the validator refuses it before it enters history. */
  const transitionUpdate = <A>(next: (arg: A) => Transition) => ({
    handler: (arg: A) => take(next(arg), true),
    validator: (arg: A) => {
      const t = next(arg);
      if (!t.ok) throw new Error(t.error.message);
    },
  });
  const decide = transitionUpdate((d: Parameters<typeof decideReview>[1]) => decideReview(state, d, settings, Date.now()));
  setHandler(decideUpdate, decide.handler, { validator: decide.validator });
  const extension = transitionUpdate((req: Parameters<typeof extend>[1]) => extend(state, req, settings, Date.now()));
  setHandler(extendUpdate, extension.handler, { validator: extension.validator });
  const askExtension = transitionUpdate((req: Parameters<typeof requestExtension>[1]) => requestExtension(state, req, settings, Date.now()));
  setHandler(requestExtensionUpdate, askExtension.handler, { validator: askExtension.validator });
  const extensionDecision = transitionUpdate((req: Parameters<typeof decideExtension>[1]) => decideExtension(state, req, settings, Date.now()));
  setHandler(decideExtensionUpdate, extensionDecision.handler, { validator: extensionDecision.validator });
  const redecision = transitionUpdate((req: Redecision) => redecide(state, req, settings, Date.now()));
  setHandler(redecideUpdate, redecision.handler, { validator: redecision.validator });
  const askInfo = transitionUpdate((req: InfoRequestInput) => requestInfo(state, req, Date.now()));
  setHandler(requestInfoUpdate, askInfo.handler, { validator: askInfo.validator });
  const gotInfo = transitionUpdate((req: InfoProvided) => provideInfo(state, req, settings, Date.now()));
  setHandler(provideInfoUpdate, gotInfo.handler, { validator: gotInfo.validator });
  setHandler(
    attributeUpdate,
    async (req) => {
      try {
        await setRegistrationAttribution({ id: input.id, linkId: input.linkId, sourceId: input.sourceId, by: req.by, partners: req.partners });
      } catch (e) {
        // Surface the activity's reason (invalid splits / roles) as the update's own failure.
        const cause = e instanceof ActivityFailure ? e.cause : undefined;
        if (cause instanceof ApplicationFailure) throw ApplicationFailure.create({ type: cause.type ?? 'COSELL_ATTRIBUTION_INVALID', message: cause.message, nonRetryable: true });
        throw e;
      }
      return state;
    },
    {
      validator: (req) => {
        if (!isExclusive(state.status)) throw new Error(`registration ${input.id} is ${state.status}: only an approved registration carries attribution`);
        if (!req.by?.trim()) throw new Error('attribution needs who set it');
      },
    },
  );
  setHandler(vendorClosedSignal, (ev) => void (closeRequest = ev));
  let supersede: Superseded | undefined;
  setHandler(supersededSignal, (ev) => void (supersede = ev));

  publish();
  // A dispute that overturned the rejection starts a new run already approved by the person who resolved it.
  await take(input.reinstated ? reinstate(state, input.reinstated, settings, Date.now()) : applyCheck(state, input.decision, settings, Date.now()), false);

  while (!isTerminal(state.status)) {
    const before = state;
    const dueAt = state.status === 'pending-review' ? state.reviewDueAt : isExclusive(state.status) ? state.expiresAt : undefined;
    const waitMs = dueAt ? Math.max(1, Date.parse(dueAt) - Date.now()) : undefined;
    const changed = () => state !== before || closeRequest !== undefined || (supersede !== undefined && state.status === 'pending-review');
    const woke = waitMs === undefined ? (await condition(changed), true) : await condition(changed, waitMs);
    if (closeRequest) {
      const req = closeRequest;
      closeRequest = undefined;
      await take(close(state, req.outcome, { by: 'vendor', reason: `vendor opportunity ${req.vendorOpportunityId ?? ''} closed ${req.outcome}`.replace('  ', ' ') }, Date.now()), false);
      continue;
    }
    if (supersede && state.status === 'pending-review') {
      const req = supersede;
      supersede = undefined;
      await take(decideReview(state, { action: 'reject', by: req.by, reason: req.reason }, settings, Date.now()), false);
      continue;
    }
    if (woke) continue; // an update changed the state: recompute the timer
    if (state.status === 'pending-review') await take(reviewTimeout(state, settings, Date.now()), false);
    else if (isExclusive(state.status)) await take(expire(state, Date.now()), false);
  }
  await busy;
  await Promise.allSettled(notify.pending);
  return state;
}

const { refreshRulesIndex } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds', // it heartbeats while it reads the vendor's feeds
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
export const refreshRulesIndexSignal = defineSignal('refreshRulesIndex');

/**
 * Keeps the rules' vendor-account index current (id `rules-index:<vendor>`): follows the vendor's
 * Account and Opportunity change feeds every `everyMs`, or at once on `refreshRulesIndex`. It is also
 * what notices closed registration opportunities and vendor-side edits of protected attribution.
 */
export async function rulesIndex(input: { everyMs: number; rounds?: number }): Promise<void> {
  let now = false;
  setHandler(refreshRulesIndexSignal, () => void (now = true));
  upsertSearchAttributes({ CosellKind: ['rules-index'] });
  for (let i = 0; i < (input.rounds ?? 500); i++) {
    await refreshRulesIndex();
    await condition(() => now, input.everyMs);
    now = false;
  }
  await continueAsNew<typeof rulesIndex>(input);
}
