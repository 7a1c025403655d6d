import type { ClaimedPushEvent, Ledger } from '../ledger/index.js';
import { log as rootLog } from '../lib/logger.js';
import type { ChangeNotifier } from './types.js';

/**
 * Hands stored push events to the change notifier: claims due `pending` events (a short lease, so
 * several workers can forward from one PostgreSQL ledger), groups them by (org, object) into one
 * notify call each with the distinct ids, and marks them `notified` only after the call resolved. A
 * failed call leaves its events pending with a growing back-off (never lost); a crash between the
 * call and the mark repeats the call (at least once). Kicked by every stored batch; also wakes for
 * retries that fall due and polls now and then for events another process stored.
 */
export interface ForwarderOptions {
  ledger: Ledger;
  notifier: ChangeNotifier;
  /** Events claimed per pass (default 1,000). */
  batch?: number;
  /** How long a claim holds (default 30 s). */
  leaseMs?: number;
  /** Back-off of a failed notify: first retry after initialMs, doubling up to maxMs (defaults 500 ms / 60 s). */
  retry?: { initialMs?: number; maxMs?: number };
  /** Look for due events at least this often (default 5 s). */
  pollMs?: number;
  /** Forget notified events older than this (default 48 h; HubSpot redelivers for 24 h). */
  keepMs?: number;
}

export interface ForwarderStats {
  passes: number;
  notifyCalls: number;
  notifyFailures: number;
  eventsNotified: number;
  lastError?: string;
  /** Received → notified, ms, of the last 10,000 events (for figures). */
  latenciesMs: number[];
}

export class PushForwarder {
  private readonly log = rootLog.child({ component: 'push-forwarder' });
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private idleWaiters: Array<() => void> = [];
  readonly stats: ForwarderStats = { passes: 0, notifyCalls: 0, notifyFailures: 0, eventsNotified: 0, latenciesMs: [] };

  constructor(private readonly opts: ForwarderOptions) {}

  start(): this {
    this.kick();
    return this;
  }

  /** Look for work now (coalesced: at most one pass runs, and one more is queued). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      } else this.wakeIdle();
    });
  }

  /** Resolves once no event is pending any more (tests, benchmarks); never while the notifier keeps failing. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.running) {
        await new Promise<void>((r) => this.idleWaiters.push(r));
        continue;
      }
      if ((await this.opts.ledger.pushEvents.counts()).pending === 0 && !this.running) return;
      const due = await this.opts.ledger.pushEvents.nextDueAt();
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, (due?.getTime() ?? Date.now()) - Date.now())) + 5));
      if (!this.running && !this.stopped) this.kick();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private async loop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    try {
      for (;;) {
        this.again = false;
        const claimed = await this.opts.ledger.pushEvents.claimDue(this.opts.batch ?? 1000, this.opts.leaseMs ?? 30_000);
        if (claimed.length === 0 || this.stopped) break;
        this.stats.passes++;
        await this.forward(claimed);
      }
      await this.prune();
    } catch (e) {
      // The ledger itself failed: nothing was lost (events stay pending); try again on the next wake.
      this.stats.lastError = (e as Error).message;
      this.log.warn({ err: e }, 'forwarding push events failed; will retry');
    } finally {
      await this.schedule();
    }
  }

  private async forward(events: ClaimedPushEvent[]): Promise<void> {
    // (org, object) → ids and the events that need them; an event is done once all its groups are.
    const groups = new Map<string, { org: string; object: string; ids: Set<string>; events: ClaimedPushEvent[] }>();
    for (const e of events) {
      for (const t of e.targets) {
        const k = `${e.orgId}\u0000${t.object}`;
        let g = groups.get(k);
        if (!g) groups.set(k, (g = { org: e.orgId, object: t.object, ids: new Set(), events: [] }));
        for (const id of t.ids) g.ids.add(id);
        g.events.push(e);
      }
    }
    const failed = new Map<number, string>();
    await Promise.all(
      [...groups.values()].map(async (g) => {
        const occurredAt = g.events.reduce((m, e) => (e.occurredAt > m ? e.occurredAt : m), '');
        const receivedAt = g.events.reduce((m, e) => (e.receivedAt < m ? e.receivedAt : m), g.events[0]!.receivedAt);
        this.stats.notifyCalls++;
        try {
          await this.opts.notifier.notify(g.org, g.object, [...g.ids], { source: 'hubspot-webhook', occurredAt, receivedAt, events: g.events.length });
        } catch (e) {
          this.stats.notifyFailures++;
          this.stats.lastError = (e as Error).message;
          this.log.warn({ err: e, org: g.org, object: g.object, ids: g.ids.size }, 'change notification failed; the events stay pending and are retried');
          for (const ev of g.events) failed.set(ev.id, (e as Error).message ?? String(e));
        }
      }),
    );
    const done = events.filter((e) => !failed.has(e.id));
    if (done.length > 0) {
      await this.opts.ledger.pushEvents.markNotified(done.map((e) => e.id));
      this.stats.eventsNotified += done.length;
      const now = Date.now();
      for (const e of done) this.stats.latenciesMs.push(now - Date.parse(e.receivedAt));
      if (this.stats.latenciesMs.length > 10_000) this.stats.latenciesMs.splice(0, this.stats.latenciesMs.length - 10_000);
    }
    // Each failed event backs off by its own attempts.
    const byDelay = new Map<number, number[]>();
    for (const e of events) {
      if (!failed.has(e.id)) continue;
      const delay = Math.min(this.opts.retry?.maxMs ?? 60_000, (this.opts.retry?.initialMs ?? 500) * 2 ** Math.min(e.attempts, 20));
      byDelay.set(delay, [...(byDelay.get(delay) ?? []), e.id]);
    }
    for (const [delay, ids] of byDelay) await this.opts.ledger.pushEvents.markFailed(ids, failed.get(ids[0]!)!, new Date(Date.now() + delay));
  }

  private async prune(): Promise<void> {
    if (Date.now() - this.lastPrune < 10 * 60_000) return;
    this.lastPrune = Date.now();
    await this.opts.ledger.pushEvents.prune(new Date(Date.now() - (this.opts.keepMs ?? 48 * 3_600_000)));
  }

  /** Sleep until the next retry falls due, or the poll interval, whichever is first. */
  private async schedule(): Promise<void> {
    if (this.stopped) return;
    const poll = this.opts.pollMs ?? 5000;
    let wait = poll;
    try {
      const due = await this.opts.ledger.pushEvents.nextDueAt();
      if (due) wait = Math.max(5, Math.min(poll, due.getTime() - Date.now() + 5));
    } catch {
      /* the ledger is down: poll */
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => this.kick(), wait);
    this.timer.unref?.();
  }
}
