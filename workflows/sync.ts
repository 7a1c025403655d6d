import {
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  ActivityFailure,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { LinkStatus, PageReport, SyncCounts } from '../sync/types.js';

const { syncPage, syncDeletions, replayParked, resetLinkCursor, describeLink } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // Short: a page heartbeats every few seconds while it works, and a dead worker's page is retried after this.
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: ['QUOTA_EXHAUSTED', 'COSELL_CONFIG_INVALID', 'COSELL_LINK_UNKNOWN'] },
});

export const syncNowSignal = defineSignal('syncNow');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Resync: re-read the source from a time (ISO) or from the beginning ('full'), re-applying the mapping (back-fill). */
export const resyncUpdate = defineUpdate<LinkStatus, [{ from: string | 'full' }]>('resync');
export const statusQuery = defineQuery<LinkStatus>('status');

export interface LinkSyncInput {
  linkId: string;
  /** Carried across continue-as-new. */
  counts?: SyncCounts;
  paused?: boolean;
}

const ZERO: SyncCounts = { read: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0, deleted: 0, pages: 0 };

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
  let syncNow = false;
  let state: LinkStatus['state'] = paused ? 'paused' : 'running';
  let last: PageReport | undefined;
  let lastError: string | undefined;
  let lastCaughtUpAt: string | undefined;
  let resync: { from: string | 'full' } | undefined;

  const status = (): LinkStatus => ({
    linkId: input.linkId,
    state,
    cursor: last?.cursor,
    lagMs: last?.lagMs,
    counts,
    lastError,
    lastCaughtUpAt,
    quotaResetsAt: state === 'waiting-quota' ? last?.quotaResetsAt : undefined,
  });
  const publish = () => {
    upsertSearchAttributes({ CosellState: [state] });
    upsertMemo({ state, lastError: lastError ?? null, counts });
  };

  // Handlers first, so ops can query and steer the link from its first moment.
  setHandler(statusQuery, status);
  setHandler(syncNowSignal, () => void (syncNow = true));
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  setHandler(resyncUpdate, async (req) => {
    resync = req;
    syncNow = true;
    await condition(() => resync === undefined);
    return status();
  });

  const link = await describeLink(input.linkId);
  upsertSearchAttributes({ CosellKind: ['link'], CosellLink: [input.linkId], CosellPartner: [link.partner], CosellObject: [link.object], CosellState: [state] });
  upsertMemo({ from: link.from, to: link.to, mapping: link.mapping, schedule: link.schedule });

  for (;;) {
    if (paused) {
      state = 'paused';
      publish();
      await condition(() => !paused);
    }
    if (resync) {
      await resetLinkCursor(input.linkId, resync.from);
      resync = undefined;
    }
    state = 'running';
    publish();
    try {
      // Catch up, one page per activity.
      for (;;) {
        last = await syncPage(input.linkId);
        counts = add(counts, last.counts);
        lastError = undefined;
        if (last.caughtUp || paused || resync) break;
        if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof linkSync>({ linkId: input.linkId, counts, paused });
      }
      if (!paused && !resync) {
        const del = await syncDeletions(input.linkId);
        counts = add(counts, del.counts);
        const parked = await replayParked(input.linkId);
        counts = add(counts, parked.counts);
        lastCaughtUpAt = new Date().toISOString();
        state = 'idle';
      }
    } catch (err) {
      const quota = quotaFailure(err);
      if (quota) {
        // Daily quota spent: pause until it resets rather than fail or spin.
        state = 'waiting-quota';
        lastError = quota.message;
        last = { ...(last ?? emptyReport()), quotaResetsAt: quota.resetsAt };
        publish();
        const waitMs = Math.max(1000, Date.parse(quota.resetsAt ?? '') - Date.now() || 60_000);
        await condition(() => syncNow || paused, Math.min(waitMs, 3_600_000));
        syncNow = false;
        continue;
      }
      state = 'error';
      lastError = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      publish();
      await condition(() => syncNow || paused || resync !== undefined, link.scheduleMs);
      syncNow = false;
      continue;
    }
    publish();
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5000) {
      await continueAsNew<typeof linkSync>({ linkId: input.linkId, counts, paused });
    }
    await condition(() => syncNow || paused || resync !== undefined, link.scheduleMs);
    syncNow = false;
  }
}

function emptyReport(): PageReport {
  return { counts: {}, caughtUp: true };
}

function quotaFailure(err: unknown): { message: string; resetsAt?: string } | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'QUOTA_EXHAUSTED') {
    const d = (err.cause.details?.[0] ?? {}) as { resetsAt?: string };
    return { message: err.cause.message, resetsAt: d.resetsAt };
  }
  return undefined;
}

