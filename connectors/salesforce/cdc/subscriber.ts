import tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import { CosellError } from '../../../lib/errors.js';
import { log as rootLog } from '../../../lib/logger.js';
import { resolveSecret } from '../../../lib/secrets.js';
import type { SalesforceConnectorConfig } from '../config.js';
import { classify, type ChangeEventHeader, type Self } from './events.js';
import { TopicLease, type LeaseStore } from './lease.js';
import type { ChangeNotifier, ReconcileReason } from '../../../push/types.js';

/** The push seam (push/types.ts) with `reconcile`, which Change Data Capture cannot do without. */
export type CdcNotifier = ChangeNotifier & Required<Pick<ChangeNotifier, 'reconcile'>>;

/**
 * Salesforce Change Data Capture over the Pub/Sub API, with the unmodified `salesforce-pubsub-api-client`:
 * one subscription per (org, object) topic (/data/OpportunityChangeEvent …), each on its own client.
 *
 * - Flow control: it asks for `batchSize` events (the very first one alone, see `primed`) and asks
 *   again for as many as it has handed on, so never more than `batchSize` events are in flight.
 * - Each batch is sorted by replay id, de-duplicated (a replay id seen before is skipped), classified
 *   (events.ts) and handed to the ChangeNotifier; only then is the batch's last replay id stored in
 *   the ledger (forward-only). A restart resumes after it (CUSTOM replay): nothing handed on twice
 *   on purpose, nothing skipped.
 * - GAP events name their records: re-read them. Overflow (no ids) or an unparseable event: reconcile.
 * - A stored replay id the server refuses (past the 72 h retention) → subscribe LATEST, then reconcile
 *   (poll from the feed cursor): everything before the new subscription is covered by the poll,
 *   everything after by push.
 * - cosell's own writes (commitUser = its integration user, or changeOrigin client=cosell) are not
 *   handed on (echo), but still advance the position.
 * - Stream errors reconnect with backoff from the stored position.
 * - Each subscription's client runs in a worker thread of its own (clientThread.mjs), ended by
 *   terminating the thread: the client cannot cancel a live stream (see connectors/salesforce/README.md).
 *
 * It runs inside the worker process as a long-lived component (app/cdc.ts), not as a Temporal
 * activity: a stream has no end for an activity to return at, and its position lives in the ledger.
 *
 * With `lease` (app/cdc.ts always gives one), several workers run ONE subscription per topic: a topic
 * is subscribed only while this worker holds its lease in the ledger (lease.ts, ledger/leases.ts);
 * the others stand by and take over when it expires (or is released at a graceful stop), resuming
 * from the replay id the holder stored. Positions are then stored fenced by the lease: a holder that
 * lost it learns so at its next write at the latest, drops what it has in hand and stands by.
 */

export interface ReplayPositions {
  get(orgId: string, topic: string): Promise<{ replayId: string } | undefined>;
  advance(orgId: string, topic: string, replayId: string): Promise<boolean>;
}

/** One event as the subscriber saw it (the demo prints these; tests and the bench measure them). */
export interface CdcEventSeen {
  org: string;
  object: string;
  topic: string;
  replayId: number;
  changeType: string;
  recordIds: string[];
  commitUser?: string;
  commitTimestamp?: number;
  transactionKey?: string;
  action: 'notified' | 'echo' | 'reconcile' | 'duplicate';
  at: number;
}

export interface CdcSubscriberOptions {
  /** cosell's id of the org. */
  orgId: string;
  connection: Pick<SalesforceConnectorConfig, 'instanceUrl' | 'loginUrl' | 'auth'>;
  /** Pub/Sub API host:port (api.pubsub.salesforce.com:7443). */
  endpoint: string;
  /** PEM of a private CA the endpoint's certificate must chain to (the sandbox's); public roots otherwise. */
  caPem?: string;
  objects: string[];
  positions: ReplayPositions;
  notifier: CdcNotifier;
  /** Events in flight per topic (1..100, default 100). */
  batchSize?: number;
  /** Who cosell is in this org; `userId` is looked up (OAuth userinfo) when not given. */
  self?: Self;
  reconnect?: { minMs?: number; maxMs?: number };
  onEvent?(e: CdcEventSeen): void;
  /** Called when a subscription is live (after every (re)subscribe). */
  onSubscribed?(topic: string, from: 'stored' | 'latest'): void;
  /** Subscribe a topic only while holding its lease (one subscriber per topic across workers). */
  lease?: { store: LeaseStore; holder: string; ttlMs: number; renewMs: number };
}

export const COSELL_CLIENT_NAME = 'cosell';

/** /data/OpportunityChangeEvent; custom objects drop the c: /data/Thing__ChangeEvent. */
export function topicOf(objectName: string): string {
  return `/data/${objectName.endsWith('__c') ? objectName.slice(0, -1) : objectName}ChangeEvent`;
}

interface ParsedEvent {
  replayId: number;
  receivedAt: number;
  header?: ChangeEventHeader;
  /** The client could not parse it: its ids are unknown. */
  unparseable?: boolean;
}

interface TopicState {
  object: string;
  topic: string;
  worker?: Worker;
  /** Bumped on every (re)subscribe: callbacks of an older client are ignored. */
  epoch: number;
  last?: number;
  buffer: ParsedEvent[];
  draining: boolean;
  seen: Set<number>;
  seenOrder: number[];
  startLatest: boolean;
  pendingReconcile?: ReconcileReason;
  failures: number;
  timer?: NodeJS.Timeout;
  subscribed: boolean;
  /**
   * The first event of a subscription is asked for alone: the client fetches the schema while it
   * holds it, and events of later responses could overtake it meanwhile (out of order). Once one is
   * through, the schema is cached and the full batch is asked for.
   */
  primed: boolean;
  /** Subscribed once already: a later LATEST subscription without a position may have missed events. */
  wasSubscribed: boolean;
  counts: { events: number; notified: number; echo: number; duplicates: number; reconciles: number; reconnects: number };
  /** This worker's lease on the topic (with `lease`); the topic is subscribed only while it holds. */
  lease?: TopicLease;
  /** Taken over from another holder: subscribing at LATEST (no stored position) may have missed events. */
  takenOver: boolean;
}

const SEEN_KEEP = 10_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class CdcSubscriber {
  private readonly topics = new Map<string, TopicState>();
  private stopped = false;
  private self: Self;
  private readonly batch: number;
  private readonly log;

  constructor(private readonly opts: CdcSubscriberOptions) {
    this.batch = Math.min(100, Math.max(1, opts.batchSize ?? 100));
    this.self = { client: COSELL_CLIENT_NAME, ...opts.self };
    this.log = rootLog.child({ component: 'cdc', org: opts.orgId });
  }

  get orgId(): string {
    return this.opts.orgId;
  }

  /** Subscribe every topic; resolves once each is subscribed (or failed its first try and is retrying). */
  async start(): Promise<void> {
    if (this.self.userId === undefined) this.self.userId = await this.ownUserId().catch((e) => {
      this.log.warn({ err: e }, 'could not look up the integration user: echo is recognised by changeOrigin only');
      return undefined;
    });
    await Promise.all(this.opts.objects.map((object) => {
      const t: TopicState = { object, topic: topicOf(object), epoch: 0, buffer: [], draining: false, seen: new Set(), seenOrder: [], startLatest: false, failures: 0, subscribed: false, wasSubscribed: false, primed: false, takenOver: false, counts: { events: 0, notified: 0, echo: 0, duplicates: 0, reconciles: 0, reconnects: 0 } };
      this.topics.set(t.topic, t);
      if (!this.opts.lease) return this.subscribe(t);
      const l = this.opts.lease;
      t.lease = new TopicLease(l.store, {
        orgId: this.opts.orgId,
        topic: t.topic,
        holder: l.holder,
        ttlMs: l.ttlMs,
        renewMs: l.renewMs,
        onGained: (grant) => {
          t.takenOver = grant.epoch > 1;
          t.failures = 0;
          void this.subscribe(t);
        },
        onLost: () => this.standBy(t),
      });
      // The first tick decides: subscribed (holder) or standing by; later ticks every renewMs.
      t.lease.start();
      return t.lease.tick();
    }));
  }

  /** The lease went to another worker: drop the subscription and what is in hand (the taker re-reads it from the stored position). */
  private standBy(t: TopicState): void {
    t.epoch++;
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    this.closeClient(t);
    t.buffer = [];
    t.last = undefined;
    t.startLatest = false;
    t.pendingReconcile = undefined;
    t.wasSubscribed = false;
  }

  /** Whether this worker may subscribe / hand on / store for the topic now. */
  private mayRun(t: TopicState): boolean {
    return !t.lease || t.lease.held() !== undefined;
  }

  /** Store a position: fenced by the lease when there is one ('lost' then stands by, see TopicLease.write). */
  private async storePosition(t: TopicState, replayId: number): Promise<boolean> {
    if (!t.lease) return this.opts.positions.advance(this.opts.orgId, t.topic, String(replayId));
    return (await t.lease.write(String(replayId))) === 'stored';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.topics.values()) {
      if (t.timer) clearTimeout(t.timer);
      t.epoch++;
      this.closeClient(t);
    }
    // Let a batch being handed on finish (its position is stored after the notifier returns).
    for (let i = 0; i < 100 && [...this.topics.values()].some((t) => t.draining); i++) await sleep(20);
    // Released, not left to expire: a standby takes over at its next tick.
    await Promise.all([...this.topics.values()].map((t) => t.lease?.stop()));
  }

  status(): Array<{ topic: string; object: string; subscribed: boolean; replayId?: number; leaseHolder?: string; leaseHeld?: boolean } & TopicState['counts']> {
    return [...this.topics.values()].map((t) => ({ topic: t.topic, object: t.object, subscribed: t.subscribed, replayId: t.last, ...(t.lease ? { leaseHolder: t.lease.holder, leaseHeld: t.lease.held() !== undefined } : {}), ...t.counts }));
  }

  private closeClient(t: TopicState): void {
    const w = t.worker;
    t.worker = undefined;
    t.subscribed = false;
    void w?.terminate().catch(() => undefined);
  }

  private async subscribe(t: TopicState): Promise<void> {
    if (this.stopped || !this.mayRun(t)) return;
    const epoch = ++t.epoch;
    this.closeClient(t);
    try {
      const stored = t.startLatest ? undefined : await this.opts.positions.get(this.opts.orgId, t.topic);
      if (stored && (t.last === undefined || Number(stored.replayId) > t.last)) t.last = Number(stored.replayId);
      if (t.startLatest) t.last = undefined;
      const config = await this.clientConfig();
      if (this.stopped || epoch !== t.epoch) return;
      const from = t.last === undefined ? 'latest' : 'stored';
      // The stream was lost before any event or keepalive gave a position: what was committed in
      // between is unknown to push — the poll covers it.
      // Likewise after taking over from a holder that never stored a position.
      if (from === 'latest' && (t.wasSubscribed || t.takenOver) && !t.pendingReconcile) t.pendingReconcile = 'resubscribed-without-position';
      const worker = await this.takeThread();
      if (this.stopped || epoch !== t.epoch) return void worker.terminate().catch(() => undefined);
      t.worker = worker;
      worker.on('message', (m: ThreadMessage) => void this.onMessage(t, epoch, m, from));
      worker.on('error', (e) => {
        if (epoch !== t.epoch) return;
        this.log.warn({ err: e, topic: t.topic }, 'change event client failed, reconnecting');
        this.retry(t);
      });
      worker.on('exit', () => {
        if (epoch === t.epoch && !this.stopped) this.retry(t);
      });
      t.primed = false;
      worker.postMessage({ config, topic: t.topic, batch: 1, replayId: t.last ?? null });
    } catch (e) {
      this.log.warn({ err: e, topic: t.topic }, 'change events: subscribe failed, retrying');
      this.retry(t);
    }
  }

  private takeThread(): Promise<Worker> {
    return takeThread();
  }

  private retry(t: TopicState): void {
    if (this.stopped || !this.mayRun(t)) return;
    t.epoch++;
    this.closeClient(t);
    t.failures++;
    t.counts.reconnects++;
    const min = this.opts.reconnect?.minMs ?? 200;
    const max = this.opts.reconnect?.maxMs ?? 30_000;
    const delay = Math.min(max, min * 2 ** Math.min(10, t.failures - 1)) * (0.75 + Math.random() * 0.5);
    if (t.timer) clearTimeout(t.timer);
    t.timer = setTimeout(() => {
      t.timer = undefined;
      void this.subscribe(t);
    }, delay);
  }

  private async onMessage(t: TopicState, epoch: number, m: ThreadMessage, from: 'stored' | 'latest'): Promise<void> {
    if (epoch !== t.epoch || this.stopped) return;
    switch (m.type) {
      case 'subscribed': {
        t.subscribed = true;
        t.wasSubscribed = true;
        t.startLatest = false;
        this.log.info({ topic: t.topic, from, replayId: t.last }, 'change events subscribed');
        this.opts.onSubscribed?.(t.topic, from);
        // Reconcile only once the new subscription is live: the poll then covers everything before it.
        const reason = t.pendingReconcile;
        if (reason) {
          t.pendingReconcile = undefined;
          await this.handOn(() => this.opts.notifier.reconcile(this.opts.orgId, t.object, reason));
          t.counts.reconciles++;
        }
        return;
      }
      case 'event':
        t.failures = 0;
        t.buffer.push({ replayId: m.replayId, receivedAt: Date.now(), header: m.header ?? undefined });
        this.scheduleDrain(t);
        return;
      case 'parseError':
        t.buffer.push({ replayId: m.replayId, receivedAt: Date.now(), unparseable: true });
        this.scheduleDrain(t);
        return;
      case 'error':
        if (isReplayRefused(m)) {
          this.log.warn({ topic: t.topic, replayId: t.last, details: m.details }, 'stored replay id refused (past retention): reconcile by polling, resubscribe at LATEST');
          t.startLatest = true;
          t.pendingReconcile = 'replay-id-expired';
        } else {
          this.log.warn({ topic: t.topic, code: m.code, details: m.details }, 'change event stream failed, reconnecting');
        }
        this.retry(t);
        return;
      case 'connectError':
        this.log.warn({ topic: t.topic, details: m.message }, 'change events: could not connect, retrying');
        this.retry(t);
        return;
      case 'end':
        this.log.info({ topic: t.topic }, 'change event stream ended, reconnecting');
        this.retry(t);
        return;
      case 'keepalive':
        // Idle and nothing in hand: the server's latest replay id is a safe position (everything up to
        // it was delivered and handed on), so a restart does not start over at LATEST.
        if (m.latestReplayId && !t.draining && t.buffer.length === 0 && (t.last === undefined || m.latestReplayId > t.last)) {
          try {
            await this.storePosition(t, m.latestReplayId);
            if (epoch === t.epoch && !t.draining && t.buffer.length === 0 && (t.last === undefined || m.latestReplayId > t.last)) t.last = m.latestReplayId;
          } catch (e) {
            this.log.warn({ err: e, topic: t.topic }, 'could not store the keepalive position');
          }
        }
        return;
      default:
        return;
    }
  }

  private scheduleDrain(t: TopicState): void {
    if (t.draining) return;
    t.draining = true;
    // After the current I/O callbacks: events of one response that the client delivers interleaved land first.
    setImmediate(() => void this.drain(t).finally(() => (t.draining = false)));
  }

  private async drain(t: TopicState): Promise<void> {
    while (t.buffer.length > 0 && !this.stopped) {
      const epoch = t.epoch;
      // Lost the lease (by its clock) since these arrived: the taker reads them from the stored position.
      if (!this.mayRun(t)) {
        this.standBy(t);
        return;
      }
      const batch = t.buffer.splice(0).sort((a, b) => a.replayId - b.replayId);
      const ids = new Set<string>();
      let reconcile: ReconcileReason | undefined;
      let max = t.last;
      const seen: CdcEventSeen[] = [];
      for (const e of batch) {
        const h = e.header;
        const base = { org: this.opts.orgId, object: t.object, topic: t.topic, replayId: e.replayId, changeType: h?.changeType ?? 'UNPARSEABLE', recordIds: h?.recordIds ?? [], commitUser: h?.commitUser, commitTimestamp: h?.commitTimestamp === undefined ? undefined : Number(h.commitTimestamp), transactionKey: h?.transactionKey, at: Date.now() };
        t.counts.events++;
        if (t.seen.has(e.replayId) || batch.indexOf(e) !== batch.findIndex((x) => x.replayId === e.replayId)) {
          t.counts.duplicates++;
          seen.push({ ...base, action: 'duplicate' });
          continue;
        }
        if (max === undefined || e.replayId > max) max = e.replayId;
        if (e.unparseable || !h) {
          reconcile ??= 'unparseable-event';
          seen.push({ ...base, action: 'reconcile' });
          continue;
        }
        const a = classify(h, this.self);
        if (a.kind === 'echo') {
          t.counts.echo++;
          seen.push({ ...base, action: 'echo' });
        } else if (a.kind === 'reconcile') {
          reconcile ??= a.reason;
          seen.push({ ...base, action: 'reconcile' });
        } else {
          for (const id of a.ids) ids.add(id);
          seen.push({ ...base, action: 'notified' });
        }
      }
      if (ids.size > 0) {
        const commits = batch.map((e) => Number(e.header?.commitTimestamp ?? NaN)).filter(Number.isFinite);
        const info = {
          source: 'salesforce-cdc',
          occurredAt: new Date(commits.length ? Math.max(...commits) : Date.now()).toISOString(),
          receivedAt: new Date(Math.min(...batch.map((e) => e.receivedAt))).toISOString(),
          events: batch.length,
        };
        await this.handOn(() => this.opts.notifier.notify(this.opts.orgId, t.object, [...ids], info));
        t.counts.notified += ids.size;
      }
      if (reconcile) {
        const reason = reconcile;
        await this.handOn(() => this.opts.notifier.reconcile(this.opts.orgId, t.object, reason));
        t.counts.reconciles++;
      }
      for (const e of batch) this.remember(t, e.replayId);
      // Handed on: now the position may move. A failed store is retried with the next batch (or the
      // restart re-delivers these events, which the notifier takes twice without harm).
      if (max !== undefined && (t.last === undefined || max > t.last)) {
        try {
          await this.storePosition(t, max);
          if (epoch !== t.epoch) {
            // The lease was lost at this write: standing by (what was handed on stays handed on).
            for (const s of seen) this.opts.onEvent?.(s);
            return;
          }
          t.last = max;
        } catch (e) {
          this.log.warn({ err: e, topic: t.topic }, 'could not store the replay id; will store a later one');
          t.last = max;
        }
      }
      for (const s of seen) this.opts.onEvent?.(s);
      // Room for as many as were handed on: never more than batchSize in flight.
      if (epoch === t.epoch && t.worker && !this.stopped) {
        try {
          t.worker.postMessage({ type: 'request', n: batch.length + (t.primed ? 0 : this.batch - 1) });
          t.primed = true;
        } catch (e) {
          this.log.warn({ err: e, topic: t.topic }, 'could not request more events, resubscribing');
          this.retry(t);
        }
      }
    }
  }

  private remember(t: TopicState, replayId: number): void {
    if (t.seen.has(replayId)) return;
    t.seen.add(replayId);
    t.seenOrder.push(replayId);
    if (t.seenOrder.length > SEEN_KEEP) t.seen.delete(t.seenOrder.shift()!);
  }

  /** Hand on until the notifier takes it (it is idempotent); give up only when stopping. */
  private async handOn(fn: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (this.stopped) throw e;
        this.log.warn({ err: e, attempt }, 'change notifier failed, retrying');
        await sleep(Math.min(10_000, 200 * 2 ** Math.min(6, attempt)));
      }
    }
  }

  /** The client's configuration (secrets resolved here, in the main thread); the endpoint's TLS checked first. */
  private async clientConfig(): Promise<Record<string, unknown>> {
    const { connection, endpoint, caPem } = this.opts;
    if (caPem) await verifyEndpoint(endpoint, caPem);
    const where = `org ${this.opts.orgId} auth`;
    const auth = connection.auth as Record<string, unknown>;
    const loginUrl = (connection.loginUrl ?? connection.instanceUrl).replace(/\/+$/, '');
    // The client checks the server certificate against its bundled public roots only; a private CA
    // (the sandbox's) was verified above, so the client is told not to reject it.
    const common = { pubSubEndpoint: endpoint, rejectUnauthorizedSsl: !caPem };
    let config: Record<string, unknown>;
    if ('privateKey' in auth) {
      config = { authType: 'oauth-jwt-bearer', loginUrl, clientId: resolveSecret(auth.clientId as string, where), username: auth.username, privateKey: resolveSecret(auth.privateKey as string, where), ...common };
    } else if ('clientSecret' in auth && !('refreshToken' in auth && auth.refreshToken) && !('password' in auth)) {
      config = { authType: 'oauth-client-credentials', loginUrl, clientId: resolveSecret(auth.clientId as string, where), clientSecret: resolveSecret(auth.clientSecret as string, where), ...common };
    } else {
      const token = await this.token();
      config = { authType: 'user-supplied', accessToken: token.accessToken, instanceUrl: token.instanceUrl, organizationId: token.organizationId, ...common };
    }
    return config;
  }

  /** A token from the connector's own OAuth code, for flows the client has none for. */
  private async token(): Promise<{ accessToken: string; instanceUrl: string; organizationId?: string }> {
    const { obtainToken } = await import('../auth.js');
    const cfg = { kind: 'salesforce', orgId: this.opts.orgId, ...this.opts.connection } as SalesforceConnectorConfig;
    const t = await obtainToken(cfg, fetchTransport as never);
    const instanceUrl = t.instanceUrl ?? cfg.instanceUrl;
    const info = await userInfo(instanceUrl, t.accessToken).catch(() => undefined);
    return { accessToken: t.accessToken, instanceUrl, organizationId: info?.organization_id };
  }

  private async ownUserId(): Promise<string | undefined> {
    const t = await this.token();
    return (await userInfo(t.instanceUrl, t.accessToken))?.user_id;
  }
}

/**
 * One loaded spare client thread per process (unref'd: it never keeps the process alive): a
 * (re)subscribe takes it and a new one starts loading, so reconnects skip the library's load time.
 */
let spare: Promise<Worker> | undefined;

function loadThread(): Promise<Worker> {
  return new Promise<Worker>((resolve, reject) => {
    const w = new Worker(new URL('./clientThread.mjs', import.meta.url), { execArgv: [] });
    w.unref();
    w.once('message', (m: { type?: string }) => (m?.type === 'ready' ? resolve(w) : reject(new Error(`client thread: ${JSON.stringify(m)}`))));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`client thread exited (${code}) before it was ready`)));
  });
}

function takeThread(): Promise<Worker> {
  const next = spare ?? loadThread();
  spare = loadThread();
  spare.catch(() => (spare = undefined));
  return next.then((w) => {
    w.ref();
    return w;
  });
}

/** The connector's token code speaks through a jsforce transport; for a token alone, fetch is enough. */
const fetchTransport = {
  async httpRequest(req: { method: string; url: string; body?: string; headers?: Record<string, string> }) {
    const res = await fetch(req.url, { method: req.method, body: req.body, headers: req.headers });
    const body = await res.text();
    if (res.status >= 400) throw new CosellError('COSELL_CRM_AUTH', `token endpoint answered HTTP ${res.status}`, { hint: 'check the org connection auth' });
    return { statusCode: res.status, headers: {}, body };
  },
};

async function userInfo(instanceUrl: string, accessToken: string): Promise<{ user_id?: string; organization_id?: string } | undefined> {
  const res = await fetch(`${instanceUrl.replace(/\/+$/, '')}/services/oauth2/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  if (!res.ok) return undefined;
  return (await res.json()) as { user_id?: string; organization_id?: string };
}

/** Salesforce refuses a replay id it no longer has (or never issued) with INVALID_ARGUMENT and a replayid error code. */
export function isReplayRefused(err: { code?: number; details?: string; errorCodes?: string[] }): boolean {
  if ((err.errorCodes ?? []).some((c) => /replayid/i.test(c))) return true;
  return err.code === 3 && /replay id/i.test(err.details ?? '');
}

/** What a client thread (clientThread.mjs) reports. */
type ThreadMessage =
  | { type: 'subscribed' }
  | { type: 'event'; replayId: number; header: ChangeEventHeader | null }
  | { type: 'parseError'; replayId: number }
  | { type: 'error'; code?: number; details?: string; errorCodes?: string[] }
  | { type: 'connectError'; message: string }
  | { type: 'end' }
  | { type: 'keepalive'; latestReplayId: number | null };

/** TLS to the endpoint must verify against the given CA (and the endpoint's host name) before the client may connect. */
export async function verifyEndpoint(endpoint: string, caPem: string): Promise<void> {
  const i = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, i);
  const port = Number(endpoint.slice(i + 1));
  await new Promise<void>((resolve, reject) => {
    const socket = tls.connect({ host, port, ca: caPem, servername: host, ALPNProtocols: ['h2'] }, () => {
      socket.end();
      resolve();
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no TLS handshake with ${endpoint} within 10 s`)));
    socket.once('error', (e) =>
      reject(new CosellError('COSELL_CRM_AUTH', `Pub/Sub endpoint ${endpoint}: its certificate does not verify against the configured CA: ${e.message}`, { cause: e, hint: 'check connection.pubsub.ca and endpoint' })),
    );
  });
}
