import { DEFAULT_COALESCE, parseDuration, splitEndpoint, type LoadedNetwork } from '../lib/config.js';
import { streamIdOf } from '../ledger/streams.js';
import type { CrmKind } from '../connectors/types.js';
import { writebackTarget } from '../overlaps/writeback.js';
import { linkWorkflowId, refreshRulesIndexSignal, rulesIndexWorkflowId, syncNowSignal } from '../lib/workflowClient.js';

/**
 * Which change streams a network has and who consumes each — a pure function of the network file, so
 * every worker and the CLI agree. One stream per (org, object) that anything reads: every enabled link
 * reads its source object; the rules index reads the vendor's Account and Opportunity when there are
 * registration links; each partnership's overlap pass reads both sides' account objects (and the
 * Salesforce side's Opportunity, which makes an account a customer or an open opportunity).
 */

export type ConsumerKind = 'link' | 'rules-index' | 'overlap';

export interface StreamConsumerSpec {
  /** Its name in `stream_consumers`: `link:<id>`, `rules-index:<vendor>`, `overlap:<partner>`. */
  id: string;
  kind: ConsumerKind;
  /** The link id / vendor org id / partner id. */
  of: string;
  /** The workflow to signal when the stream appends (overlap passes keep their own schedule). */
  wake?: { workflowId: string; signal: string };
}

export interface StreamSpec {
  id: string;
  orgId: string;
  object: string;
  consumers: StreamConsumerSpec[];
  /** Poll interval when no push source is configured. */
  pollMs: number;
  /** Reconciler interval once push is on. */
  reconcileMs: number;
  /** With push: the longest wait that gathers notifications arriving together into one read by id. */
  coalesceMs: number;
  /**
   * The push source configured for this org object — HubSpot webhooks (`push.webhooks`) or Salesforce
   * Change Data Capture (`connection.pubsub`, this object subscribed) — if any. With one, the stream
   * starts in push mode: it polls only as the reconciler, also while nothing has changed yet.
   */
  push?: 'webhooks' | 'cdc';
}

export const linkConsumerId = (linkId: string) => `link:${linkId}`;
export const rulesIndexConsumerId = (vendorId: string) => `rules-index:${vendorId}`;
export const overlapConsumerId = (partnerId: string) => `overlap:${partnerId}`;

const DEFAULT_POLL_MS = 30_000;

export function streamsEnabled(network: LoadedNetwork): boolean {
  return network.network.streams?.enabled === true;
}

/** The account objects an overlap pass reads on one side of a CRM kind. */
export function overlapObjects(kind: CrmKind, side: 'vendor' | 'partner'): string[] {
  if (kind === 'aws-partner-central') return []; // no accounts to map
  const account = writebackTarget(side, kind).object;
  return kind === 'salesforce' ? [account, 'Opportunity'] : [account];
}

export function streamSpecs(network: LoadedNetwork): StreamSpec[] {
  const n = network.network;
  const specs = new Map<string, StreamSpec & { schedules: number[] }>();
  const cfg = n.streams;
  const reconcileMs = parseDuration(cfg?.reconcile ?? '15m');
  const coalesceMs = parseDuration(cfg?.coalesce ?? DEFAULT_COALESCE);
  const add = (orgId: string, object: string, c: StreamConsumerSpec, scheduleMs?: number) => {
    const id = streamIdOf(orgId, object);
    let s = specs.get(id);
    if (!s) specs.set(id, (s = { id, orgId, object, consumers: [], pollMs: 0, reconcileMs, coalesceMs, schedules: [] }));
    if (!s.consumers.some((x) => x.id === c.id)) s.consumers.push(c);
    if (scheduleMs !== undefined) s.schedules.push(scheduleMs);
  };
  for (const l of n.links) {
    if (l.enabled === false) continue;
    const { org, object } = splitEndpoint(l.from);
    add(org, object, { id: linkConsumerId(l.id), kind: 'link', of: l.id, wake: { workflowId: linkWorkflowId(l.id), signal: syncNowSignal.name } }, parseDuration(l.schedule));
  }
  if (n.links.some((l) => l.registration && l.enabled !== false)) {
    for (const object of ['Account', 'Opportunity']) {
      add(n.vendor.id, object, { id: rulesIndexConsumerId(n.vendor.id), kind: 'rules-index', of: n.vendor.id, wake: { workflowId: rulesIndexWorkflowId(n.vendor.id), signal: refreshRulesIndexSignal.name } });
    }
  }
  for (const p of n.partners) {
    if (!p.sharing) continue;
    const c = { id: overlapConsumerId(p.id), kind: 'overlap' as const, of: p.id };
    for (const object of overlapObjects(n.vendor.kind, 'vendor')) add(n.vendor.id, object, c);
    for (const object of overlapObjects(p.kind, 'partner')) add(p.id, object, c);
  }
  const poll = cfg?.poll ? parseDuration(cfg.poll) : undefined;
  return [...specs.values()].map(({ schedules, ...s }) => {
    const push = pushSourceOf(network, s.orgId, s.object);
    return { ...s, pollMs: poll ?? (schedules.length ? Math.min(...schedules) : DEFAULT_POLL_MS), ...(push ? { push } : {}) };
  });
}

/** Which push source tells a stream of this org object about changes (see StreamSpec.push). */
export function pushSourceOf(network: LoadedNetwork, orgId: string, object: string): StreamSpec['push'] {
  const org = [network.network.vendor, ...network.network.partners].find((o) => o.id === orgId);
  if (org?.kind === 'hubspot' && org.push?.webhooks) return 'webhooks';
  if (org?.kind === 'salesforce' && org.connection.pubsub && org.connection.pubsub.enabled !== false && (!org.connection.pubsub.objects || org.connection.pubsub.objects.includes(object))) return 'cdc';
  return undefined;
}

export function streamSpec(network: LoadedNetwork, streamId: string): StreamSpec | undefined {
  return streamSpecs(network).find((s) => s.id === streamId);
}
