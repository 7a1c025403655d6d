import { ActivityFailure, ApplicationFailure, condition, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { disputeTimeout, isDisputeOpen, openDispute, resolveDispute, type DisputeEffect, type DisputeResolution, type DisputeState, type DisputeTransition } from '../rules/dispute.js';
import type { LifecycleSettings } from '../rules/policy.js';
import { disputeStatusQuery, resolveDisputeUpdate, type DisputeWorkflowInput } from './registrationApi.js';
import { notifier } from './registration.js';

const { registrationSettings, applyDisputeEffects, settleDispute } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds', // a dead worker's attempt is retried after this (the activities heartbeat)
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One dispute of a registration decision (id `dispute:<partner>:<source-id>`), opened by the partner
 * (the dispute field on its own deal, seen by the sync gate) or by a channel manager on its behalf
 * (`cosell registrations dispute`). Transitions are rules/dispute.ts: open → escalated when the
 * policy's `disputes.sla` runs out → resolved (update `resolveDispute`: uphold | overturn | split).
 * The resolution is carried out first (`settleDispute`: reinstate the registration, or share
 * attribution with the customer's holder); if that is refused the update fails and the dispute stays
 * open. Each step is audited and written back onto the partner's deal in partner-safe words.
 */
export async function dispute(input: DisputeWorkflowInput): Promise<DisputeState> {
  const settings: LifecycleSettings = await registrationSettings();
  const opened = openDispute({ ...input, openedAt: new Date(Date.now()).toISOString() }, settings, Date.now());
  if (!opened.ok) throw ApplicationFailure.create({ type: 'COSELL_INPUT_INVALID', message: opened.message, nonRetryable: true });
  let state = opened.state;
  let busy: Promise<unknown> = Promise.resolve();
  const publish = () => upsertSearchAttributes({ CosellKind: ['dispute'], CosellPartner: [input.partnerId], CosellRegistrationStatus: [`dispute-${state.status}`] });
  const notify = notifier(settings.notifyRoutes, {});
  const run = async (effects: DisputeEffect[]) => {
    const snapshot = state;
    const p = busy.then(() => applyDisputeEffects({ state: snapshot, effects: effects.filter((e) => e.type !== 'settle') }));
    busy = p.catch(() => undefined);
    await p;
    notify.send(input.registrationId, input.partnerId, `dispute:${input.registrationId}:${snapshot.history.length}:${snapshot.status}`, effects);
  };
  const take = async (t: DisputeTransition) => {
    if (!t.ok) return;
    state = t.state;
    publish();
    await run(t.effects);
  };

  setHandler(disputeStatusQuery, () => state);
  let resolving = false;
  setHandler(
    resolveDisputeUpdate,
    async (r: DisputeResolution) => {
      const t = resolveDispute(state, r, Date.now());
      if (!t.ok) throw ApplicationFailure.create({ type: 'COSELL_REGISTRATION_STATE', message: t.message, nonRetryable: true });
      resolving = true;
      try {
        await settleDispute({ dispute: state, resolution: r });
      } catch (e) {
        // The outcome could not be carried out (the customer is held by another registration, bad splits): stay open, say why.
        const cause = e instanceof ActivityFailure ? e.cause : undefined;
        if (cause instanceof ApplicationFailure) throw ApplicationFailure.create({ type: cause.type ?? 'COSELL_REGISTRATION_STATE', message: cause.message, nonRetryable: true });
        throw e;
      } finally {
        resolving = false;
      }
      await take(resolveDispute(state, r, Date.now()));
      return state;
    },
    {
      validator: (r: DisputeResolution) => {
        if (resolving) throw new Error('a resolution of this dispute is being carried out');
        const t = resolveDispute(state, r, Date.now());
        if (!t.ok) throw new Error(t.message);
      },
    },
  );

  publish();
  await run(opened.effects);
  while (isDisputeOpen(state)) {
    if (resolving) {
      await condition(() => !resolving); // a resolution is being carried out: no escalation meanwhile
      continue;
    }
    const before = state;
    const waitMs = state.status === 'open' && state.dueAt ? Math.max(1, Date.parse(state.dueAt) - Date.now()) : undefined;
    const woke = waitMs === undefined ? (await condition(() => state !== before), true) : await condition(() => state !== before, waitMs);
    if (!woke && !resolving) await take(disputeTimeout(state, settings, Date.now()));
  }
  await busy;
  await Promise.allSettled(notify.pending);
  return state;
}
