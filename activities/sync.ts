import { heartbeat } from '../lib/heartbeat.js';
import { ASSOCIATION_FIELD_PREFIX } from '../connectors/hubspot/associationFields.js';
import { parseDuration, splitEndpoint } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import { observeSyncPage } from '../lib/metrics.js';
import { resyncCursor, resyncFromProblem } from '../sync/resync.js';
import { reconcileAssociations, type AssociationReport } from '../sync/associationDrift.js';
import type { Engine } from '../sync/build.js';
import { AWAITING_PEER_LINKS } from '../registrations/firstToRegister.js';
import { SCOPE_UNSETTLED } from '../sync/partnerScope.js';
import { backfillMappingPage } from '../sync/mappingChange.js';
import { PARKED_PARENT, replayDeadLetters, syncChangesPage, syncDeletionsPage } from '../sync/page.js';
import type { LinkInfo, PageReport } from '../sync/types.js';


/** What a finished page did goes to the worker's metrics (lib/metrics.ts) on its way to the workflow. */
function counted(linkId: string, report: PageReport): PageReport {
  observeSyncPage(linkId, report);
  return report;
}

/**
 * Thin wrappers over the sync engine. Whatever they throw becomes a typed Temporal failure in one
 * place for every activity (lib/failures.ts, installed as a worker interceptor by app/worker.ts).
 */
export function createSyncActivities(engine: Engine) {
  return {
    async describeLink(linkId: string, ask?: { serves: number }): Promise<LinkInfo> {
      const link = engine.network.link(linkId);
      return {
        linkId,
        ...(ask ? { serves: ask.serves } : {}),
        from: link.from,
        to: link.to,
        mapping: link.mapping,
        schedule: link.schedule,
        scheduleMs: parseDuration(link.schedule),
        partner: engine.partnerOf(link),
        object: splitEndpoint(link.from).object,
        // On a change stream the stream runs it (workflows/stream.ts), for every consumer at once.
        associationsMs: link.parent?.sourceField.startsWith(ASSOCIATION_FIELD_PREFIX) && !engine.streamOf(linkId) ? parseDuration(engine.network.network.streams?.reconcile ?? '15m') : undefined,
      };
    },
    async syncPage(linkId: string, ask?: { serves: number }): Promise<PageReport> {
      const rt = await engine.link(linkId);
      // A changed mapping is first re-applied to the existing pairs, a page per call (sync/mappingChange.ts).
      const report = counted(linkId, (await backfillMappingPage(rt)) ?? (await syncChangesPage(rt, heartbeat)));
      return ask ? { ...report, serves: ask.serves } : report;
    },
    async syncDeletions(linkId: string): Promise<PageReport> {
      const rt = await engine.link(linkId);
      const total: PageReport = { counts: {}, caughtUp: true };
      let report: PageReport;
      do {
        report = await syncDeletionsPage(rt);
        total.counts.deleted = (total.counts.deleted ?? 0) + (report.counts.deleted ?? 0);
        heartbeat(report.counts);
      } while (!report.caughtUp);
      return counted(linkId, total);
    },
    /** Records parked because their parent had not synced: retry them now that the parents may have landed. */
    async replayParked(linkId: string): Promise<PageReport> {
      return counted(linkId, await replayDeadLetters(await engine.link(linkId), { codes: [PARKED_PARENT, SCOPE_UNSETTLED, AWAITING_PEER_LINKS], heartbeat }));
    },
    async replayDeadLetters(linkId: string, ids?: number[]): Promise<PageReport> {
      return counted(linkId, await replayDeadLetters(await engine.link(linkId), { ids, heartbeat }));
    },
    /** Deals moved to another company by their association alone: the change feed never sees them. */
    async reconcileAssociations(linkId: string): Promise<AssociationReport> {
      return reconcileAssociations(await engine.link(linkId), heartbeat);
    },
    /** Resync: move the cursor back (to a time or the beginning); the next pages re-apply the mapping to existing records. */
    async resetLinkCursor(linkId: string, from: string | 'full'): Promise<void> {
      const problem = resyncFromProblem(from);
      if (problem) throw new CosellError('COSELL_INPUT_INVALID', problem);
      await engine.ledger.cursors.reset(linkId, 'changes', resyncCursor(from));
      // On a change stream: back to the start of its log (entries modified since `from`, for a time).
      // From configuration, not the built link: a reset needs no CRM (it failed while a token was revoked).
      const stream = engine.streamOf(linkId);
      if (stream) await engine.ledger.streams.reset(stream.id, stream.consumer, from === 'full' ? undefined : from);
    },
  };
}
