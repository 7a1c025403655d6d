import { createHash, createHmac } from 'node:crypto';
import type { FaultInjector } from '../faults.js';
import type { HubspotPortal } from './portal.js';
import { OBJECT_TYPES, type ObjectTypeName } from './meta.js';

/**
 * The portal's webhook deliveries, as a HubSpot app's webhook settings make them: subscriptions per
 * object type and event type (propertyChange per property), events batched into JSON arrays of up to
 * 100, POSTed to the target URL signed with X-HubSpot-Signature-v3 (and the legacy v1 header), at most
 * `maxConcurrentRequests` at a time, retried with back-off on a non-2xx answer, a refused connection or
 * a timeout — HubSpot retries up to 10 times over 24 hours; the schedule here is scaled down and
 * configurable. Faults (FaultConfig webhook*) drop, delay, duplicate and reorder deliveries.
 *
 * The signing below is written out here on purpose, not shared with cosell's receiver: the end-to-end
 * tests then check one implementation against another (and both against HubSpot's own client).
 */

export type WebhookEventType = 'creation' | 'propertyChange' | 'deletion' | 'merge' | 'restore' | 'associationChange';
export type WebhookObjectType = 'contact' | 'company' | 'deal';

/** A committed change in the portal, told to its listeners (portal.onChange). */
export type PortalChange =
  | { kind: 'creation' | 'deletion' | 'restore'; object: ObjectTypeName; id: string; at: number }
  | { kind: 'propertyChange'; object: ObjectTypeName; id: string; at: number; propertyName: string; propertyValue: string }
  | { kind: 'merge'; object: ObjectTypeName; id: string; at: number; mergedIds: string[]; propertiesMoved: number }
  | { kind: 'associationChange'; object: ObjectTypeName; id: string; at: number; to: ObjectTypeName; toId: string; typeIds: number[]; removed: boolean };

export interface WebhookSubscription {
  object: WebhookObjectType;
  event: WebhookEventType;
  /** propertyChange: the property (HubSpot subscribes one property at a time). `*` (sandbox only) = every property. */
  propertyName?: string;
  active?: boolean;
}

export interface WebhookRetry {
  /** Deliveries of one batch in all (HubSpot: 1 + up to 10 retries). Default 10. */
  maxAttempts?: number;
  /** First retry after this many ms (doubling, with ±25% jitter, up to maxDelayMs). Defaults 200 / 5,000. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export interface WebhookSettings {
  /** The app's target URL. */
  targetUrl: string;
  appId?: number;
  /** The app's client secret (signs deliveries). Default: the portal's client secret. */
  clientSecret?: string;
  subscriptions: WebhookSubscription[];
  /** HubSpot's app setting (default 10, at least 5 in HubSpot; any positive number here). */
  maxConcurrentRequests?: number;
  /** Events per request (HubSpot: up to 100). */
  batchSize?: number;
  /** How long events gather before a batch goes out (default 20 ms). */
  batchWindowMs?: number;
  /** A delivery not answered within this is a failure and retried (HubSpot: 5 s). */
  timeoutMs?: number;
  retry?: WebhookRetry;
}

/** One event as HubSpot posts it (fields present depend on the subscription type). */
export interface WebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId?: number;
  changeSource: string;
  propertyName?: string;
  propertyValue?: string;
  mergedObjectIds?: number[];
  primaryObjectId?: number;
  newObjectId?: number;
  numberOfPropertiesMoved?: number;
  associationType?: string;
  fromObjectId?: number;
  toObjectId?: number;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
}

export interface DeliveryRecord {
  /** Real time the request went out. */
  sentAt: number;
  attempt: number;
  /** HTTP status, or 0 when the connection failed / timed out. */
  status: number;
  /** How long the target took to answer (or to fail). */
  ms: number;
  eventIds: number[];
  error?: string;
}

export interface WebhookStats {
  /** Events created from changes and matched to a subscription. */
  emitted: number;
  /** Dropped by the webhookDropRate fault (never sent). */
  dropped: number;
  /** Extra copies queued by the webhookDuplicateRate fault. */
  duplicated: number;
  /** Events in batches answered 2xx (a copy counts again). */
  delivered: number;
  /** Requests sent, and those that failed (non-2xx, refused, timed out). */
  requests: number;
  failedRequests: number;
  /** Events whose batch used up every attempt. */
  abandoned: number;
  /** Queued, in flight or waiting for a retry. */
  pending: number;
}

const PRIMARY_TYPE_IDS = new Set([1, 2, 5, 6]);
const MAX_LOG = 10_000;

export class WebhookDispatcher {
  private settings: WebhookSettings | undefined;
  private readonly queue: Array<Omit<WebhookEvent, 'attemptNumber'>> = [];
  private inFlight = 0;
  private retrying = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly controllers = new Set<AbortController>();
  private nextEventId: number;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly unsubscribe: () => void;
  readonly log: DeliveryRecord[] = [];
  readonly stats = { emitted: 0, dropped: 0, duplicated: 0, delivered: 0, requests: 0, failedRequests: 0, abandoned: 0 };

  constructor(
    private readonly portal: HubspotPortal,
    private readonly faults: FaultInjector,
    private readonly defaultSecret: string,
    private readonly random: () => number = Math.random,
  ) {
    // Event ids look like HubSpot's (large, per portal) and never repeat within a portal's life.
    this.nextEventId = 1_000_000 + (portal.portalId % 1000) * 1_000_000;
    this.unsubscribe = portal.onChange((c) => this.onChange(c));
  }

  configure(settings: WebhookSettings | undefined): void {
    this.settings = settings ? { ...settings, subscriptions: settings.subscriptions.map((s) => ({ ...s })) } : undefined;
  }

  current(): WebhookSettings | undefined {
    return this.settings;
  }

  snapshotStats(): WebhookStats {
    return { ...this.stats, pending: this.queue.length + this.inFlight + this.retrying };
  }

  /** Resolves once nothing is queued, in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const t of this.timers) clearTimeout(t);
    for (const c of this.controllers) c.abort();
    this.timers.clear();
    this.queue.length = 0;
    this.retrying = 0;
    this.wakeIdle();
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0 && this.retrying === 0;
  }

  private wakeIdle(): void {
    if (!this.isIdle() && !this.closed) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // ---------- events ----------

  private onChange(c: PortalChange): void {
    const s = this.settings;
    if (!s || this.closed) return;
    const singular = OBJECT_TYPES[c.object].singular;
    s.subscriptions.forEach((sub, i) => {
      if (sub.active === false || sub.object !== singular || sub.event !== c.kind) return;
      if (c.kind === 'propertyChange' && sub.propertyName !== '*' && sub.propertyName !== c.propertyName) return;
      this.enqueue(this.event(c, s, 1000 + i));
    });
  }

  private event(c: PortalChange, s: WebhookSettings, subscriptionId: number): Omit<WebhookEvent, 'attemptNumber'> {
    const base = {
      eventId: this.nextEventId++,
      subscriptionId,
      portalId: this.portal.portalId,
      appId: s.appId ?? 0,
      occurredAt: c.at,
      subscriptionType: `${OBJECT_TYPES[c.object].singular}.${c.kind}`,
      changeSource: 'API',
    };
    switch (c.kind) {
      case 'propertyChange':
        return { ...base, objectId: Number(c.id), propertyName: c.propertyName, propertyValue: c.propertyValue };
      case 'merge':
        return { ...base, objectId: Number(c.id), primaryObjectId: Number(c.id), newObjectId: Number(c.id), mergedObjectIds: c.mergedIds.map(Number), numberOfPropertiesMoved: c.propertiesMoved };
      case 'associationChange':
        return {
          ...base,
          associationType: `${OBJECT_TYPES[c.object].singular.toUpperCase()}_TO_${OBJECT_TYPES[c.to].singular.toUpperCase()}`,
          fromObjectId: Number(c.id),
          toObjectId: Number(c.toId),
          associationRemoved: c.removed,
          isPrimaryAssociation: c.typeIds.some((t) => PRIMARY_TYPE_IDS.has(t)),
        };
      default:
        return { ...base, objectId: Number(c.id) };
    }
  }

  private enqueue(ev: Omit<WebhookEvent, 'attemptNumber'>): void {
    this.stats.emitted++;
    const f = this.faults.get();
    if (f.webhookDropRate && this.random() < f.webhookDropRate) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(ev);
    if (f.webhookDuplicateRate && this.random() < f.webhookDuplicateRate) {
      // The copy travels on its own, in a later batch (as a redelivery would).
      this.stats.duplicated++;
      this.retrying++;
      this.later(() => {
        this.retrying--;
        this.queue.push({ ...ev });
        this.scheduleFlush();
      }, this.random() * ((f.webhookDelayMs ?? 0) + 50));
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, this.settings?.batchWindowMs ?? 20);
    this.flushTimer.unref?.();
  }

  private flush(): void {
    const s = this.settings;
    if (!s || this.closed) return;
    const max = Math.max(1, s.maxConcurrentRequests ?? 10);
    const size = Math.min(100, Math.max(1, s.batchSize ?? 100));
    const reorder = !!this.faults.get().webhookReorder;
    while (this.queue.length > 0 && this.inFlight < max) {
      const batch = reorder ? this.takeRandom(size) : this.queue.splice(0, size);
      this.send(batch, 0);
    }
    if (this.queue.length > 0) this.scheduleFlush();
  }

  private takeRandom(n: number): Array<Omit<WebhookEvent, 'attemptNumber'>> {
    const out: Array<Omit<WebhookEvent, 'attemptNumber'>> = [];
    while (out.length < n && this.queue.length > 0) out.push(this.queue.splice(Math.floor(this.random() * this.queue.length), 1)[0]!);
    return out;
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
  }

  // ---------- delivery ----------

  private send(batch: Array<Omit<WebhookEvent, 'attemptNumber'>>, attempt: number): void {
    this.inFlight++;
    void this.deliver(batch, attempt).then((ok) => {
      this.inFlight--;
      if (!ok && !this.closed) {
        const s = this.settings;
        const maxAttempts = s?.retry?.maxAttempts ?? 10;
        if (s && attempt + 1 < maxAttempts) {
          const initial = s.retry?.initialDelayMs ?? 200;
          const delay = Math.min(s.retry?.maxDelayMs ?? 5000, initial * 2 ** attempt) * (0.75 + this.random() * 0.5);
          this.retrying++;
          this.later(() => {
            this.retrying--;
            this.send(batch, attempt + 1);
          }, delay);
        } else {
          this.stats.abandoned += batch.length;
        }
      }
      if (this.queue.length > 0) this.scheduleFlush();
      this.wakeIdle();
    });
  }

  /** One POST of one batch; true when answered 2xx. */
  private async deliver(batch: Array<Omit<WebhookEvent, 'attemptNumber'>>, attempt: number): Promise<boolean> {
    const s = this.settings;
    if (!s) return false;
    const f = this.faults.get();
    const extra = (f.webhookDelayMs ?? 0) + (f.webhookReorder ? this.random() * 50 : 0);
    if (extra > 0) await new Promise((r) => setTimeout(r, extra));
    if (this.closed) return true;
    const body = JSON.stringify(batch.map((e) => ({ ...e, attemptNumber: attempt })));
    const secret = s.clientSecret ?? this.defaultSecret;
    const timestamp = String(this.portal.now());
    const v3 = createHmac('sha256', secret).update(`POST${signedUri(s.targetUrl)}${body}${timestamp}`, 'utf8').digest('base64');
    const v1 = createHash('sha256').update(secret + body, 'utf8').digest('hex');
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), s.timeoutMs ?? 5000);
    const record: DeliveryRecord = { sentAt: Date.now(), attempt, status: 0, ms: 0, eventIds: batch.map((e) => e.eventId) };
    this.stats.requests++;
    try {
      const res = await fetch(s.targetUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/) (namespace: webhooks-nio-http-client) - WebhooksExecutorDaemon-executor',
          'x-hubspot-signature-v3': v3,
          'x-hubspot-request-timestamp': timestamp,
          'x-hubspot-signature': v1,
          'x-hubspot-signature-version': 'v1',
        },
        body,
        signal: controller.signal,
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      const ok = res.status >= 200 && res.status < 300;
      if (ok) this.stats.delivered += batch.length;
      else this.stats.failedRequests++;
      return ok;
    } catch (e) {
      record.error = (e as Error).message;
      this.stats.failedRequests++;
      return false;
    } finally {
      clearTimeout(timer);
      record.ms = Date.now() - record.sentAt;
      this.controllers.delete(controller);
      if (this.log.length >= MAX_LOG) this.log.shift();
      this.log.push(record);
    }
  }
}

/** HubSpot signs the target URL with these URL-encoded characters decoded (its docs list exactly these). */
function signedUri(url: string): string {
  const table: Record<string, string> = { '3A': ':', '2F': '/', '3F': '?', '40': '@', '21': '!', '24': '$', '27': "'", '28': '(', '29': ')', '2A': '*', '2C': ',', '3B': ';' };
  return url.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => table[hex.toUpperCase()] ?? m);
}
