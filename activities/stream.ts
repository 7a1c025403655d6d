import { heartbeat } from '../lib/heartbeat.js';
import { ASSOCIATION_FIELD_PREFIX } from '../connectors/hubspot/associationFields.js';
import { reconcileStreamAssociations } from '../sync/associationDrift.js';
import type { Engine } from '../sync/build.js';
import { appendByIds, pumpStream, specOf, type PumpReport } from '../sync/stream.js';


/** What the stream workflow needs to know about its stream (from the network file). */
export interface StreamDescription {
  streamId: string;
  orgId: string;
  object: string;
  pollMs: number;
  reconcileMs: number;
  /** Push under steady change: notifications are gathered for up to this long (see workflows/stream.ts). */
  coalesceMs?: number;
  consumers: string[];
  /** Push configured for this org object: the stream is in push mode from the start. */
  push?: 'webhooks' | 'cdc';
  /** Some consumer's parent lives in an association the feed cannot see change: run the association reconciler every reconcileMs. */
  associations: boolean;
}

/** What one round of the stream workflow asks for (see `readStream`). */
export interface StreamReadRequest {
  /** Pushed ids to read by id. */
  ids: string[];
  /** How many entries of the workflow's queue this round settles (echoed back as `taken`): the ids, or after a failed round the whole queue, which the poll covers. */
  settles: number;
  /** Poll the feeds too (the reconciler, or the whole mechanism without push). */
  poll: boolean;
  /** Asked for (`streamPollNow`): the association pass as well, due or not. */
  associationsAsked: boolean;
  /** When the association pass last ran (it runs with a caught-up poll once `reconcileMs` has passed). */
  associationsAt?: string;
  /** How many `streamPollNow` asks this round answers (echoed back as `pollsAnswered`). */
  pollsAsked: number;
}

/** One round's reads: each part present when it ran; `wake` is every consumer any of them must wake. */
export interface StreamRead {
  pushed?: PumpReport;
  polled?: PumpReport;
  associations?: PumpReport & { checked: number; moved: number };
  head?: number;
  wake: Array<{ workflowId: string; signal: string }>;
  /** When the round finished (the activity's clock: the workflow's own clock is not a history fact in every activation). */
  at: string;
  /**
   * The request's own counts, echoed: how many queued ids it settled and how many poll asks it
   * answered. The workflow consumes its queue by these, never by what it sent — on replay the
   * result is the recorded one, so the queue comes out the same as it did live.
   */
  taken: number;
  pollsAnswered: number;
}

/** Thin wrappers over sync/stream.ts for `stream:<org>:<object>`; counts only, never records. */
export function createStreamActivities(engine: Engine) {
  return {
    async describeStream(streamId: string): Promise<StreamDescription> {
      const s = specOf(engine, streamId);
      const associations = hasAssociationConsumers(engine, streamId);
      return { streamId, orgId: s.orgId, object: s.object, pollMs: s.pollMs, reconcileMs: s.reconcileMs, coalesceMs: s.coalesceMs, consumers: s.consumers.map((c) => c.id), associations, ...(s.push ? { push: s.push } : {}) };
    },
    /** Poll the org object's feeds (changes, then deletions) and append to the stream's log. */
    async pumpStream(streamId: string): Promise<PumpReport> {
      return pumpStream(engine, streamId, { heartbeat });
    },
    /** The association reconciler: records of its consumer links whose association moved, re-read and appended. */
    async reconcileStreamAssociations(streamId: string): Promise<PumpReport & { checked: number; moved: number }> {
      return reconcileStreamAssociations(engine, streamId, heartbeat);
    },
    /** Push: read the notified ids and append them. */
    async appendStreamIds(streamId: string, ids: string[]): Promise<PumpReport> {
      return appendByIds(engine, streamId, ids);
    },
    /**
     * One round of the stream workflow: the pushed ids, then the poll and the association pass when
     * asked or due — one activity whatever the round holds, so the workflow's commands never depend
     * on which signals it had seen when a timer fired (see workflows/stream.ts, "split-safe rounds").
     */
    async readStream(streamId: string, req: StreamReadRequest): Promise<StreamRead> {
      const out: StreamRead = { wake: [], at: '', taken: req.settles, pollsAnswered: req.pollsAsked };
      const woken = new Map<string, { workflowId: string; signal: string }>();
      const took = (r: PumpReport) => {
        out.head = r.head;
        for (const w of r.wake) woken.set(`${w.workflowId}\u0000${w.signal}`, w);
      };
      if (req.ids.length) took((out.pushed = await appendByIds(engine, streamId, req.ids)));
      if (req.poll) {
        took((out.polled = await pumpStream(engine, streamId, { heartbeat })));
        const due = req.associationsAsked || Date.now() - Date.parse(req.associationsAt ?? '1970-01-01T00:00:00Z') >= specOf(engine, streamId).reconcileMs;
        if (out.polled.caughtUp && hasAssociationConsumers(engine, streamId) && due) took((out.associations = await reconcileStreamAssociations(engine, streamId, heartbeat)));
      }
      out.wake = [...woken.values()];
      out.at = new Date().toISOString();
      return out;
    },
  };
}

/** Some consumer's parent lives in an association, which the feed cannot see change. */
function hasAssociationConsumers(engine: Engine, streamId: string): boolean {
  return specOf(engine, streamId).consumers.some((c) => c.kind === 'link' && !!engine.network.link(c.of).parent?.sourceField.startsWith(ASSOCIATION_FIELD_PREFIX));
}

export type StreamActivities = ReturnType<typeof createStreamActivities>;
