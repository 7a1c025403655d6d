import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Client } from '@temporalio/client';
import { CdcSubscriber, type CdcEventSeen, type CdcNotifier } from '../connectors/salesforce/cdc/subscriber.js';
import type { Ledger } from '../ledger/index.js';
import { defaultNotifier } from '../push/notifiers.js';
import { streamSpecs, streamsEnabled } from '../sync/streamPlan.js';
import { parseDuration, type LoadedNetwork } from '../lib/config.js';
import { resolveSecret } from '../lib/secrets.js';

/**
 * Push in the worker process: one CdcSubscriber per Salesforce org whose connection has `pubsub`,
 * for the objects links read from it, its positions in the ledger (connectors/salesforce/cdc/).
 * What it notifies goes through the push seam (push/types.ts ChangeNotifier, push/notifiers.ts), the
 * same as the HubSpot webhooks:
 * - with change streams on (`streams.enabled`), to the stream of the org object
 *   (`stream:<org>:<object>`): `streamNotify` with the ids (the stream reads them by id), `streamPollNow`
 *   for a reconcile;
 * - otherwise to the links reading the object (push/syncNowNotifier.ts): `syncNow` for both, the link
 *   then reads its feed from its own cursor — a notification is only ever "look now".
 */

/** The links (enabled) that read `org.object`. */
export function linksReading(loaded: LoadedNetwork, org: string, object: string): string[] {
  return loaded.network.links.filter((l) => l.enabled && l.from.toLowerCase() === `${org}.${object}`.toLowerCase()).map((l) => l.id);
}

/** The notifier for a network (push/notifiers.ts): its change streams when they are on, the links' syncNow otherwise. */
export function cdcNotifier(client: Client, loaded: LoadedNetwork): CdcNotifier {
  return defaultNotifier(client, loaded);
}

export interface ChangeCapture {
  subscribers: Map<string, CdcSubscriber>;
  /** This process as a CDC lease holder (host:pid:random), what `cosell status` shows. */
  holder: string;
  stop(): Promise<void>;
}

/**
 * The objects to subscribe in a Salesforce org: its `pubsub.objects`; else, with change streams on,
 * every object a stream reads from it (links, the rules index, overlap passes); else every object a
 * link reads from it.
 */
export function cdcObjects(loaded: LoadedNetwork, orgId: string): string[] {
  const org = [loaded.network.vendor, ...loaded.network.partners].find((o) => o.id === orgId);
  if (org?.kind !== 'salesforce' || !org.connection.pubsub) return [];
  if (org.connection.pubsub.objects) return org.connection.pubsub.objects;
  if (streamsEnabled(loaded)) return [...new Set(streamSpecs(loaded).filter((s) => s.orgId === org.id).map((s) => s.object))];
  return [...new Set(loaded.network.links.filter((l) => l.enabled && l.from.split('.')[0] === org.id).map((l) => l.from.split('.')[1]))];
}

/** The Salesforce orgs whose connection turns Change Data Capture on (with something to subscribe). */
export function cdcOrgIds(loaded: LoadedNetwork): string[] {
  return [loaded.network.vendor, ...loaded.network.partners]
    .filter((o) => o.kind === 'salesforce' && o.connection.pubsub && o.connection.pubsub.enabled !== false && cdcObjects(loaded, o.id).length > 0)
    .map((o) => o.id);
}

/** This process as a lease holder: readable in `cosell status`, unique across restarts of one pid. */
export function leaseHolderId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Start push for every org of the network that has `connection.pubsub` (enabled). Each topic is
 * subscribed only while this process holds its lease in the ledger (`pubsub.lease`, default ttl 15s,
 * renewed every 5s): with several workers on one ledger, one subscribes and the others stand by.
 */
export async function startChangeCapture(
  loaded: LoadedNetwork,
  deps: { ledger: Ledger; notifier: CdcNotifier; onEvent?(e: CdcEventSeen): void; batchSize?: number; holder?: string },
): Promise<ChangeCapture> {
  const subscribers = new Map<string, CdcSubscriber>();
  const holder = deps.holder ?? leaseHolderId();
  try {
    for (const org of [loaded.network.vendor, ...loaded.network.partners]) {
      if (org.kind !== 'salesforce' || !org.connection.pubsub || org.connection.pubsub.enabled === false) continue;
      const ps = org.connection.pubsub;
      const objects = cdcObjects(loaded, org.id);
      if (objects.length === 0) continue;
      const sub = new CdcSubscriber({
        orgId: org.id,
        connection: org.connection,
        endpoint: ps.endpoint,
        caPem: ps.ca ? resolveSecret(ps.ca, `${loaded.file}: ${org.id}.connection.pubsub.ca`) : undefined,
        objects,
        positions: deps.ledger.replayIds,
        notifier: deps.notifier,
        batchSize: deps.batchSize ?? ps.batchSize,
        onEvent: deps.onEvent,
        lease: { store: deps.ledger.cdcLeases, holder, ttlMs: parseDuration(ps.lease?.ttl ?? '15s'), renewMs: parseDuration(ps.lease?.renew ?? '5s') },
      });
      subscribers.set(org.id, sub);
      await sub.start();
    }
  } catch (e) {
    await Promise.all([...subscribers.values()].map((s) => s.stop()));
    throw e;
  }
  return {
    subscribers,
    holder,
    stop: async () => {
      await Promise.all([...subscribers.values()].map((s) => s.stop()));
    },
  };
}
