import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  ActivityFailure,
  ContinueAsNew,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { FailureDetails } from '../lib/failures.js';
import { resyncFromProblem, widerResync, type ResyncFrom } from '../sync/resync.js';
import type { LinkInfo, LinkStatus, PageReport, SyncCounts } from '../sync/types.js';

const { syncPage, syncDeletions, replayParked, reconcileAssociations, resetLinkCursor, describeLink } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // Short: a page heartbeats every few seconds while it works, and a dead worker's page is retried after this.
  heartbeatTimeout: '15 seconds',
  // Which failures are worth retrying is the error catalogue's call (lib/errors.ts retryOf, applied to
  // every activity by lib/failures.ts): auth, validation, configuration and input fail at once. The rest
  // are retried a bounded number of times (about 3 minutes), then the link shows `error` and tries
  // again later — never a silent, endless retry while the status says running.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export const syncNowSignal = defineSignal('syncNow');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Resync: re-read the source from a time (ISO) or from the beginning ('full'), re-applying the mapping (back-fill). */
export const resyncUpdate = defineUpdate<LinkStatus, [{ from: ResyncFrom }]>('resync');
export const statusQuery = defineQuery<LinkStatus>('status');

export interface LinkSyncInput {
  linkId: string;
  /** Carried across continue-as-new. */
  counts?: SyncCounts;
  paused?: boolean;
  /** Carried across continue-as-new: a syncNow that arrived while the previous run was ending. */
  syncNow?: boolean;
  lastCaughtUpAt?: string;
  /** Continue as new once history is longer than this (default 5,000 events; tests force it small). */
  maxHistoryEvents?: number;
  /** Carried across continue-as-new: the previous run ended after a finished cycle, so this one waits for the schedule before polling. */
  betweenCycles?: boolean;
  /** Carried across continue-as-new: when the association reconciler last ran (epoch ms). */
  associationsAt?: number;
}

const ZERO: SyncCounts = { read: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0, deleted: 0, pages: 0 };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** How soon a link with registrations waiting for the other partners' links polls again. */
const AWAITING_RECHECK_MS = 2_000;

function add(a: SyncCounts, b: Partial<SyncCounts>): SyncCounts {
  const out = { ...a };
  for (const k of Object.keys(b) as Array<keyof SyncCounts>) out[k] += b[k] ?? 0;
  return out;
}

/**
 * One long-running workflow per link (id `sync:<link>`). It loops over activities that each move one
 * page end to end and persist the cursor in the ledger together with the page's writes; only cursors
 * and counts pass through this history, never records.
 */
export async function linkSync(input: LinkSyncInput): Promise<void> {
  let counts = input.counts ?? { ...ZERO };
  let paused = input.paused ?? false;
  let syncNow = input.syncNow ?? false;
  let state: LinkStatus['state'] = paused ? 'paused' : 'running';
  let last: PageReport | undefined;
  let lastError: string | undefined;
  let errorCode: string | undefined;
  let lastCaughtUpAt = input.lastCaughtUpAt;
  let awaiting = false;
  let associationsAt = input.associationsAt ?? 0;
  // Resyncs not served yet, merged into the one that re-reads the most (a later, narrower request
  // must never shrink an accepted wider one). Requests are numbered; a reset serves every request
  // numbered up to the count taken when it started, and only those (one arriving meanwhile waits
  // for the next reset).
  let resync: { from: ResyncFrom } | undefined;
  let resyncRequested = 0;
  let resyncServed = 0;
  let resyncFailure: { after: number; upTo: number; code: string; message: string } | undefined;
  let link: LinkInfo | undefined;
  let failures = 0; // consecutive failed cycles: how long to wait before the next try
  // Every event of a run is replayed by a worker that picks the link up cold (a restart, a lost sticky
  // cache): ~0.45 ms of CPU each (measured on the demo), and every link replays at once after a restart.
  // 1,000 events bound that to ~0.5 s per link; runs started before this change keep 5,000 (patched).
  const maxHistory = input.maxHistoryEvents ?? (patched('history-1000') ? 1000 : 5000);
  // Sync-now asks are counted, and a cycle serves the count its first page's result echoes — not a
  // flag cleared when the cycle starts. A worker can see a task's signals in a later activation than
  // a replay does (after a worker died mid-task: workflows/stream.ts, "split-safe rounds"); a flag
  // cleared at a timer's firing then left a later cycle running live that replay never starts.
  const counted = patched('sync-now-counted');
  let asked = syncNow ? 1 : 0;
  let served = 0;

  const status = (): LinkStatus => ({
    linkId: input.linkId,
    state,
    cursor: last?.cursor,
    lagMs: last?.lagMs,
    counts,
    lastError,
    errorCode,
    lastCaughtUpAt,
    quotaResetsAt: state === 'waiting-quota' ? last?.quotaResetsAt : undefined,
  });
  const publish = () => {
    upsertSearchAttributes({ CosellState: [state] });
    upsertMemo({ state, lastError: lastError ?? null, counts });
  };
  const steered = () => (counted ? asked > served : syncNow) || paused || resync !== undefined;

  // Handlers first, so ops can query and steer the link from its first moment.
  setHandler(statusQuery, status);
  setHandler(syncNowSignal, () => void ((syncNow = true), asked++));
  setHandler(pauseSignal, () => void (paused = true));
  // Resume also re-tries a link in `error` (after the credentials or configuration were fixed).
  setHandler(resumeSignal, () => void ((paused = false), (syncNow = true), asked++));
  setHandler(
    resyncUpdate,
    async (req) => {
      resync = { from: widerResync(resync?.from, req.from) };
      const mine = ++resyncRequested;
      syncNow = true;
      asked++;
      await condition(() => resyncServed >= mine);
      const failure = resyncFailure && mine > resyncFailure.after && mine <= resyncFailure.upTo ? resyncFailure : undefined;
      if (failure) throw ApplicationFailure.create({ type: failure.code, message: `resync failed: ${failure.message}`, nonRetryable: true });
      return status();
    },
    {
      // Rejected before it enters history: nothing changes, and the caller sees why.
      validator: (req) => {
        const problem = resyncFromProblem(req?.from);
        if (problem) throw ApplicationFailure.create({ type: 'COSELL_INPUT_INVALID', message: problem, nonRetryable: true });
      },
    },
  );

  /**
   * A cycle that failed served no page, so its asks still count as waiting and would end the back-off
   * at once: settle them through a result (a cheap describeLink echoing the count), so only asks that
   * arrive after it end the wait early.
   */
  const settleAsks = async () => {
    if (!counted) return;
    try {
      served = Math.max(served, (await describeLink(input.linkId, { serves: asked })).serves ?? served);
    } catch {
      // The link cannot even be described: the back-off starts without it.
    }
  };

  /** Show a failed cycle as state `error` with its reason, then wait for a steer or a back-off that grows with each failure. */
  const failed = async (err: unknown) => {
    const f = failureOf(err);
    state = 'error';
    errorCode = f.code;
    lastError = `${f.code}: ${f.message}`;
    publish();
    failures++;
    await settleAsks();
    await condition(steered, Math.min(HOUR, Math.max(link?.scheduleMs ?? MINUTE, MINUTE) * 2 ** Math.min(failures - 1, 6)));
    syncNow = false;
  };

  /**
   * Continue as new only when no handler is in flight: a resync waits for this loop to reset the
   * cursor, so continuing now would drop it. Returns false (carry on, the loop serves it first) when
   * one is pending.
   */
  const continueAsNewWhenIdle = async (betweenCycles: boolean): Promise<boolean> => {
    await condition(() => allHandlersFinished() || resync !== undefined);
    if (resync !== undefined) return false;
    return continueAsNew<typeof linkSync>({ linkId: input.linkId, counts, paused, syncNow: counted ? asked > served : syncNow, lastCaughtUpAt, maxHistoryEvents: input.maxHistoryEvents, betweenCycles, associationsAt });
  };
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistory;

  while (!link) {
    try {
      link = await describeLink(input.linkId);
    } catch (err) {
      await failed(err);
    }
  }
  upsertSearchAttributes({ CosellKind: ['link'], CosellLink: [input.linkId], CosellPartner: [link.partner], CosellObject: [link.object], CosellState: [state] });
  upsertMemo({ from: link.from, to: link.to, mapping: link.mapping, schedule: link.schedule });

  // Continued as new after a finished cycle: that run just polled, so this one waits out the rest of
  // the schedule (polling at once made every continue-as-new an extra poll — a busy loop when
  // history fills every cycle).
  if (input.betweenCycles && !steered()) {
    state = 'idle';
    publish();
    const sinceMs = lastCaughtUpAt ? Date.now() - Date.parse(lastCaughtUpAt) : 0;
    const waitMs = link.scheduleMs - sinceMs;
    if (waitMs > 0) await condition(steered, waitMs);
    syncNow = false;
  }

  for (;;) {
    if (paused) {
      state = 'paused';
      publish();
      await condition(() => !paused);
    }
    state = 'running';
    // This cycle serves every syncNow sent before it started (one sent during it asks for another).
    // Left set, it was carried into each continued run, which then polled at once and carried it
    // again: a busy loop.
    syncNow = false;
    publish();
    try {
      if (resync) {
        const serving = resync;
        const after = resyncServed;
        const upTo = resyncRequested;
        resync = undefined; // a resync arriving during the reset is kept for the next one
        try {
          await resetLinkCursor(input.linkId, serving.from);
        } catch (err) {
          resyncFailure = { after, upTo, ...failureOf(err) }; // those resync updates fail with this reason
          throw err;
        } finally {
          resyncServed = upTo;
        }
      }
      // Catch up, one page per activity; the first serves the asks made so far (`counted`).
      for (let page = 0; ; page++) {
        last = await syncPage(input.linkId, ...(counted && page === 0 ? [{ serves: asked }] : []));
        if (last.serves !== undefined) served = Math.max(served, last.serves);
        counts = add(counts, last.counts);
        if (last.caughtUp || paused || resync) break;
        // false: a resync arrived while waiting for handlers — the loop serves it first.
        if (historyFull() && !(await continueAsNewWhenIdle(false))) break;
      }
      if (!paused && !resync) {
        const del = await syncDeletions(input.linkId);
        counts = add(counts, del.counts);
        const parked = await replayParked(input.linkId);
        counts = add(counts, parked.counts);
        awaiting = (parked.awaiting ?? 0) > 0;
        // Deals moved by their association alone never show in the feed: on the reconciler's schedule
        // the associations of the paired records are read and compared (sync/associationDrift.ts).
        if (link.associationsMs !== undefined && Date.now() - associationsAt >= link.associationsMs && patched('association-reconciler')) {
          const moved = await reconcileAssociations(input.linkId);
          counts = add(counts, moved.counts);
          associationsAt = Date.now();
        }
        lastCaughtUpAt = new Date().toISOString();
        state = 'idle';
      }
      lastError = undefined;
      errorCode = undefined;
      failures = 0;
    } catch (err) {
      // Continuing as new between pages is how this run ends, not a failed cycle (it once showed as
      // `error: COSELL_UNKNOWN: Workflow continued as new`, and the link never moved on).
      if (err instanceof ContinueAsNew) throw err;
      const quota = quotaFailure(err);
      if (quota) {
        // Daily quota spent: pause until it resets rather than fail or spin.
        state = 'waiting-quota';
        errorCode = 'COSELL_CRM_QUOTA_EXHAUSTED';
        lastError = quota.message;
        last = { ...(last ?? emptyReport()), quotaResetsAt: quota.resetsAt };
        publish();
        await settleAsks();
        const waitMs = Math.max(1000, Date.parse(quota.resetsAt ?? '') - Date.now() || MINUTE);
        await condition(steered, Math.min(waitMs, HOUR));
        syncNow = false;
        continue;
      }
      await failed(err);
      continue;
    }
    publish();
    if (historyFull() && (await continueAsNewWhenIdle(true))) return;
    if (resync) continue;
    // A registration waiting for the other partners' links (first to register) is re-checked soon,
    // not a whole schedule later: those links were asked to poll now.
    await condition(steered, awaiting ? Math.min(link.scheduleMs, AWAITING_RECHECK_MS) : link.scheduleMs);
    syncNow = false;
  }
}

function emptyReport(): PageReport {
  return { counts: {}, caughtUp: true };
}

/** The catalogue code and message (with its hint) of a failed activity (lib/failures.ts shaped it). */
function failureOf(err: unknown): { code: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const d = (cause.details?.[0] ?? {}) as Partial<FailureDetails>;
    return { code: d.code ?? cause.type ?? 'COSELL_UNKNOWN', message: cause.message };
  }
  if (cause instanceof Error) return { code: 'COSELL_UNKNOWN', message: cause.message };
  return { code: 'COSELL_UNKNOWN', message: String(cause) };
}

function quotaFailure(err: unknown): { message: string; resetsAt?: string } | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const d = (err.cause.details?.[0] ?? {}) as Partial<FailureDetails>;
    if (d.retry === 'wait' || err.cause.type === 'COSELL_CRM_QUOTA_EXHAUSTED') return { message: err.cause.message, resetsAt: d.resetsAt };
  }
  return undefined;
}
