import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { isConnectorError } from '../connectors/errors.js';
import { START_CURSOR } from '../connectors/types.js';
import { parseDuration, splitEndpoint } from '../lib/config.js';
import { isCosellError } from '../lib/errors.js';
import type { Engine } from '../sync/build.js';
import { SCOPE_UNSETTLED } from '../sync/partnerScope.js';
import { backfillMappingPage } from '../sync/mappingChange.js';
import { PARKED_PARENT, replayDeadLetters, syncChangesPage, syncDeletionsPage } from '../sync/page.js';
import type { LinkInfo, PageReport } from '../sync/types.js';

/** Turn the errors a workflow must treat specially into typed Temporal failures, in one place. */
function toFailure(e: unknown): unknown {
  if (isConnectorError(e, 'quota_exhausted')) {
    return ApplicationFailure.create({ type: 'QUOTA_EXHAUSTED', message: e.message, nonRetryable: true, details: [{ resetsAt: e.resetsAt }] });
  }
  // COSELL_FEED_STALLED: the feed would re-read the same page for ever; retrying cannot help, the link shows `error`.
  if (isCosellError(e) && (e.code === 'COSELL_CONFIG_INVALID' || e.code === 'COSELL_MAPPING_INVALID' || e.code === 'COSELL_LINK_UNKNOWN' || e.code === 'COSELL_FEED_STALLED')) {
    return ApplicationFailure.create({ type: e.code === 'COSELL_MAPPING_INVALID' ? 'COSELL_CONFIG_INVALID' : e.code, message: e.message, nonRetryable: true });
  }
  return e;
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toFailure(e);
  }
}

function heartbeat(details: unknown) {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* called outside an activity (CLI --once) */
  }
}

export function createSyncActivities(engine: Engine) {
  return {
    async describeLink(linkId: string): Promise<LinkInfo> {
      return guarded(async () => {
        const link = engine.network.link(linkId);
        return {
          linkId,
          from: link.from,
          to: link.to,
          mapping: link.mapping,
          schedule: link.schedule,
          scheduleMs: parseDuration(link.schedule),
          partner: engine.partnerOf(link),
          object: splitEndpoint(link.from).object,
        };
      });
    },
    async syncPage(linkId: string): Promise<PageReport> {
      return guarded(async () => {
        const rt = await engine.link(linkId);
        // A changed mapping is first re-applied to the existing pairs, a page per call (sync/mappingChange.ts).
        return (await backfillMappingPage(rt)) ?? syncChangesPage(rt, heartbeat);
      });
    },
    async syncDeletions(linkId: string): Promise<PageReport> {
      return guarded(async () => {
        const rt = await engine.link(linkId);
        let report: PageReport;
        const total: PageReport = { counts: {}, caughtUp: true };
        do {
          report = await syncDeletionsPage(rt);
          total.counts.deleted = (total.counts.deleted ?? 0) + (report.counts.deleted ?? 0);
          heartbeat(report.counts);
        } while (!report.caughtUp);
        return total;
      });
    },
    /** Records parked because their parent had not synced: retry them now that the parents may have landed. */
    async replayParked(linkId: string): Promise<PageReport> {
      return guarded(async () => replayDeadLetters(await engine.link(linkId), { codes: [PARKED_PARENT, SCOPE_UNSETTLED], heartbeat }));
    },
    async replayDeadLetters(linkId: string, ids?: number[]): Promise<PageReport> {
      return guarded(async () => replayDeadLetters(await engine.link(linkId), { ids, heartbeat }));
    },
    /** Resync: move the cursor back (to a time or the beginning); the next pages re-apply the mapping to existing records. */
    async resetLinkCursor(linkId: string, from: string | 'full'): Promise<void> {
      return guarded(async () => {
        const cursor = from === 'full' ? START_CURSOR : { modifiedAt: new Date(from).toISOString(), id: '' };
        await engine.ledger.cursors.reset(linkId, 'changes', cursor);
      });
    },
  };
}
