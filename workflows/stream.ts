import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { StreamActivities } from '../activities/stream.js';

const { describeStream, pumpStream, appendStreamIds, reconcileStreamAssociations, readStream } = proxyActivities<StreamActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** A push source (webhook receiver, CDC subscriber) tells the stream which records changed. */
export const streamNotifySignal = defineSignal<[{ ids: string[] }]>('streamNotify');
/** Poll the feed now (the reconciler, or the whole mechanism without push). */
export const streamPollNowSignal = defineSignal('streamPollNow');
export const streamStatusQuery = defineQuery<StreamStatus>('status');

export interface StreamStatus {
  streamId: string;
  /** `push` when a push source is configured for the org object, or once one has notified the stream (the poll is then the reconciler); else `poll`. */
  mode: 'poll' | 'push';
  state: 'starting' | 'reading' | 'idle' | 'error';
  /** The log's head: the last sequence number appended. */
  head: number;
  /** Now minus the newest modification the last read returned. */
  lagMs?: number;
  appended: number;
  read: number;
  lastPollAt?: string;
  lastEventAt?: string;
  /** What the last poll found that the log did not have (with push on: what push missed — should be 0). */
  reconciled?: { at: string; polled: number; missed: number };
  /** The association reconciler's last run: paired records whose association was read, and those that had moved unseen. */
  associations?: { at: string; checked: number; moved: number };
  consumers: string[];
  /** Pushed ids not read yet (gathered while changes keep coming: see `coalesceMs`). */
  queued?: number;
  pollMs?: number;
  reconcileMs?: number;
  lastError?: string;
}

export interface StreamWorkflowInput {
  streamId: string;
  carried?: Omit<StreamStatus, 'state' | 'consumers'> & { pending?: string[] };
}

const MAX_IDS_PER_READ = 500;
/** About 1,000 history events at a few consumers (a round is ~25 events plus 4 per notification). */
const ROUNDS_PER_RUN = 40;
const HISTORY_BACKSTOP = 10_000;

/**
 * One long-running workflow per change stream (id `stream:<org>:<object>`): it reads the org object's
 * feed ONCE for every consumer and appends to the stream's log in the ledger (activities; records never
 * enter this history), then signals the consumers' workflows to read it. Without push it polls every
 * `pollMs`; a push source signals `streamNotify` with ids, which are read by id (at once after a quiet
 * spell, gathered for up to `coalesceMs` while changes keep coming), and polling becomes the reconciler (every `reconcileMs`, default 15 min) whose findings are what push missed.
 */
export async function changeStream(input: StreamWorkflowInput): Promise<void> {
  const c = input.carried;
  const maxHistory = patched('history-1000') ? 1000 : 5000; // why: see linkSync's maxHistory
  const status: StreamStatus = {
    streamId: input.streamId,
    mode: c?.mode ?? 'poll',
    state: 'starting',
    head: c?.head ?? 0,
    lagMs: c?.lagMs,
    appended: c?.appended ?? 0,
    read: c?.read ?? 0,
    lastPollAt: c?.lastPollAt,
    lastEventAt: c?.lastEventAt,
    reconciled: c?.reconciled,
    associations: c?.associations,
    consumers: [],
  };
  const pending: string[] = [...(c?.pending ?? [])];
  let pollNow = false;
  let associationsAsked = false;
  let failures = 0;
  setHandler(streamStatusQuery, () => ({ ...status, queued: pending.length }));
  setHandler(streamNotifySignal, ({ ids }) => {
    pending.push(...ids);
    status.mode = 'push';
    status.lastEventAt = new Date().toISOString();
  });
  let pollsAsked = 0;
  setHandler(streamPollNowSignal, () => {
    pollNow = true;
    pollsAsked++;
  });
  const publish = () => {
    upsertSearchAttributes({ CosellState: [status.state] });
    upsertMemo({ mode: status.mode, head: status.head, lagMs: status.lagMs ?? null, lastPollAt: status.lastPollAt ?? null, lastEventAt: status.lastEventAt ?? null, reconciled: status.reconciled ?? null, associations: status.associations ?? null });
  };

  const desc = await describeStream(input.streamId);
  status.consumers = desc.consumers;
  // Push configured (webhooks / CDC): push mode from the start — the poll is the reconciler, also
  // before the first event (else an idle org was polled every `poll` until something changed).
  if (desc.push) status.mode = 'push';
  status.pollMs = desc.pollMs;
  status.reconcileMs = desc.reconcileMs;
  upsertSearchAttributes({ CosellKind: ['stream'], CosellObject: [desc.object], CosellPartner: [desc.orgId], CosellState: ['starting'] });

  const wake = async (targets: Array<{ workflowId: string; signal: string }>) => {
    // A consumer that is not running (paused link not started, overlap off) simply is not woken.
    await Promise.all(targets.map((t) => getExternalWorkflowHandle(t.workflowId).signal(t.signal).catch(() => undefined)));
  };
  const settled = () => {
    status.state = 'idle';
    status.lastError = undefined;
    failures = 0;
  };
  const failed = (err: unknown) => {
    status.state = 'error';
    status.lastError = describe(err);
    failures++;
  };
  const carryOn = () => {
    const { state: _s, consumers: _c, ...carried } = status;
    return continueAsNew<typeof changeStream>({ streamId: input.streamId, carried: { ...carried, pending } });
  };
  const inError = () => status.state === 'error';
  /** Until the next poll: the back-off after a failure, else the reconciler's interval (push) or the poll's. */
  const nextWaitMs = () => (inError() ? Math.min(3_600_000, 1000 * 2 ** Math.min(failures, 12)) : status.mode === 'push' ? desc.reconcileMs : desc.pollMs);

  /**
   * Split-safe rounds. A worker can see one workflow task's jobs in two activations where a replay
   * sees them in one — recorded after a SIGKILL: the task a dead worker had started held a timer that
   * fired, its signals came later, and the worker that took over acted on the timer alone (most
   * likely it had cached the run while answering a query). So no command here depends on which
   * signals had arrived, nor on the workflow clock, when something resolved:
   * - each round is one readStream (the queued ids and/or the poll — its input, which replay does not
   *   compare), then the consumers' wake-ups and the gather timer, both decided by its result;
   * - the queue and the poll asks are consumed by the counts the result echoes, not by what was
   *   sent, so live and replay hold the same queue after every round;
   * - the wait's eager exit (ids already queued) differs only in a timer started and cancelled
   *   within one task, which is never sent.
   */
  const splitSafeRounds = async () => {
    const coalesceMs = desc.coalesceMs ?? 0;
    let pollsAnswered = 0;
    let windowMs = 0;
    let lastPushAt: number | undefined;
    let dueToPoll = true;
    for (let round = 1; ; round++) {
      // After a failed round the poll alone settles the whole queue (what was pushed is in the feed
      // too), so an id whose read keeps failing cannot hold the stream up.
      const afterFailure = inError();
      const ids = afterFailure ? [] : pending.slice(0, MAX_IDS_PER_READ);
      const poll = dueToPoll || afterFailure || pollsAsked > pollsAnswered;
      status.state = 'reading';
      let more = false;
      let pushedAt: number | undefined;
      try {
        const r = await readStream(input.streamId, { ids, settles: afterFailure ? pending.length : ids.length, poll, associationsAsked: pollsAsked > pollsAnswered, associationsAt: status.associations?.at, pollsAsked });
        pending.splice(0, r.taken);
        pollsAnswered = r.pollsAnswered;
        let missed = 0;
        if (r.pushed) {
          status.appended += r.pushed.appended;
          status.read += r.pushed.read;
          status.lagMs = r.pushed.lagMs ?? status.lagMs;
          pushedAt = Date.parse(r.at);
        }
        if (r.polled) {
          status.appended += r.polled.appended;
          status.read += r.polled.read;
          status.lagMs = r.polled.lagMs;
          missed = r.polled.appended;
          more = !r.polled.caughtUp;
        }
        if (r.associations) {
          status.associations = { at: r.at, checked: r.associations.checked, moved: r.associations.appended };
          missed += r.associations.appended;
          status.appended += r.associations.appended;
          status.read += r.associations.read;
        }
        if (r.head !== undefined) status.head = r.head;
        if (r.polled && !more) {
          status.lastPollAt = r.at;
          status.reconciled = { at: r.at, polled: r.polled.read, missed: status.mode === 'push' ? missed : 0 };
        }
        await wake(r.wake);
        settled();
      } catch (err) {
        failed(err);
      }
      publish();
      // Rounds, not history length, decide continue-as-new: a split activation sees an earlier
      // length. The length is only the backstop for a flood of signals within few rounds.
      if (round >= ROUNDS_PER_RUN || workflowInfo().historyLength > HISTORY_BACKSTOP) {
        await carryOn();
      }
      if (more) {
        dueToPoll = true;
        continue;
      }
      // Push under steady change: one read per notification would cost more calls than polling.
      // After a round that read pushed ids, what arrives next is gathered for a while: 250 ms after
      // a quiet spell (no push read within coalesceMs + the last window), doubling while pushes keep
      // coming, up to coalesceMs; the first change after a quiet spell is still read at once. Timed
      // by the rounds' results (`at`), so the gather is a history fact.
      if (pushedAt !== undefined && coalesceMs > 0) {
        const busy = lastPushAt !== undefined && pushedAt - lastPushAt < coalesceMs + windowMs;
        windowMs = busy ? Math.min(coalesceMs, Math.max(250, windowMs * 2)) : Math.min(coalesceMs, 250);
        lastPushAt = pushedAt;
        await sleep(windowMs);
      }
      dueToPoll = !(await condition(() => pending.length > 0 || pollsAsked > pollsAnswered, nextWaitMs())) || inError();
    }
  };

  if (patched('split-safe-rounds')) {
    await splitSafeRounds();
    return;
  }

  // Push under steady change: one read by id per notification would cost more calls than polling.
  // The first change after a quiet spell is read at once; while changes keep coming, the wait before
  // the next read doubles (250 ms, 500 ms, …) up to `coalesceMs`, gathering what arrives meanwhile.
  // At one change a second that is about one read per coalesceMs instead of one per change.
  const coalesceMs = desc.coalesceMs ?? 0;
  let windowMs = 0;
  let lastPushReadAt: number | undefined;
  const gather = async () => {
    const quiet = lastPushReadAt === undefined || Date.now() - lastPushReadAt >= coalesceMs;
    windowMs = quiet ? 0 : Math.min(coalesceMs, Math.max(250, windowMs * 2));
    if (windowMs > 0) await condition(() => pending.length >= MAX_IDS_PER_READ || pollNow, windowMs);
  };

  let dueToPoll = true;
  for (;;) {
    status.state = 'reading';
    try {
      if (pending.length) {
        if (patched('push-coalesce')) await gather();
        const ids = pending.splice(0, MAX_IDS_PER_READ);
        const r = await appendStreamIds(input.streamId, ids);
        status.appended += r.appended;
        status.read += r.read;
        status.head = r.head;
        status.lagMs = r.lagMs ?? status.lagMs;
        await wake(r.wake);
        lastPushReadAt = Date.now();
        if (pending.length) continue;
      }
      if (dueToPoll || pollNow) {
        // Asked for (`streamPollNow`): the whole reconciler, association pass included.
        if (pollNow) associationsAsked = true;
        pollNow = false;
        const r = await pumpStream(input.streamId);
        const missed = r.appended;
        status.appended += r.appended;
        status.read += r.read;
        status.head = r.head;
        status.lagMs = r.lagMs;
        await wake(r.wake);
        if (!r.caughtUp) continue;
        const at = new Date().toISOString();
        status.lastPollAt = at;
        let associationsMissed = 0;
        // Association-only moves never show in the feed (sync/associationDrift.ts); with push, the
        // associationChange webhooks should have brought them, so what this finds was missed by push too.
        const associationsDue = associationsAsked || Date.now() - Date.parse(status.associations?.at ?? '1970-01-01T00:00:00Z') >= desc.reconcileMs;
        if (desc.associations && associationsDue && patched('association-reconciler')) {
          const a = await reconcileStreamAssociations(input.streamId);
          associationsAsked = false;
          status.associations = { at, checked: a.checked, moved: a.appended };
          associationsMissed = a.appended;
          if (a.appended) {
            status.appended += a.appended;
            status.read += a.read;
            status.head = a.head;
            await wake(a.wake);
          }
        }
        status.reconciled = { at, polled: r.read, missed: status.mode === 'push' ? missed + associationsMissed : 0 };
      }
      settled();
    } catch (err) {
      failed(err);
    }
    publish();
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistory) {
      await carryOn();
    }
    dueToPoll = !(await condition(() => pending.length > 0 || pollNow, nextWaitMs()));
    if (inError()) dueToPoll = true;
  }
}

function describe(e: unknown): string {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
