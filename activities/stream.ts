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

/** Thin wrappers over sync/stream.ts for `stream:<org>:<object>`; counts only, never records. */
export function createStreamActivities(engine: Engine) {
  return {
    async describeStream(streamId: string): Promise<StreamDescription> {
      const s = specOf(engine, streamId);
      const associations = s.consumers.some((c) => c.kind === 'link' && !!engine.network.link(c.of).parent?.sourceField.startsWith(ASSOCIATION_FIELD_PREFIX));
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
  };
}

export type StreamActivities = ReturnType<typeof createStreamActivities>;
