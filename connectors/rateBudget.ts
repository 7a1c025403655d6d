import { ConnectorError } from './errors.js';
import type { RateState } from './types.js';

/**
 * The API budget of one org, shared by everything running in one worker process (every connector
 * instance, every activity) — see `rateBudgetFor`. Two kinds of limit:
 *
 * - A daily allocation (Salesforce's rolling 24 h TotalRequests, HubSpot's daily limit). The CRM tells
 *   us the usage in response headers (`Sforce-Limit-Info`, `X-HubSpot-RateLimit-Daily-Remaining`); we
 *   also count our own calls in between so concurrent calls cannot overshoot. Once usage reaches the
 *   pause threshold (default 80 %), `acquire` throws ConnectorError('quota_exhausted', {resetsAt})
 *   instead of calling: the sync pauses until then and never breaches the allocation. Salesforce does
 *   not publish when a rolling window frees up, so `resetsAt` is "check again at": after it, one probe
 *   call is let through and its header decides whether to resume or pause again.
 * - Short sliding windows (HubSpot's 10-second limit, its search limit of ~5/s): `acquire` waits for a
 *   free slot instead of letting the CRM answer 429.
 *
 * Several worker processes: each holds its own budget, so cap the org's calls across workers with
 * Temporal's task-queue activity rate limit (`maxTaskQueueActivitiesPerSecond`) — see connectors/README.md.
 */

export interface WindowLimit {
  name: string;
  limit: number;
  intervalMs: number;
  /** Applies to every call (default) or only to calls that name it (e.g. HubSpot `search`). */
  everyCall?: boolean;
}

export interface RateBudgetOptions {
  /** Pause when daily usage reaches this share of the allocation (0 < x <= 1). Default 0.8. */
  dailyPauseAt?: number;
  /** Known daily allocation before any header was seen (optional). */
  dailyLimit?: number;
  /** While paused, probe again after this long (Salesforce's rolling window has no published reset). Default 15 min. */
  quotaRecheckMs?: number;
  windows?: WindowLimit[];
  /** Clock and sleep, injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface AcquireOptions {
  /** Named windows this call also counts against (in addition to every-call windows), e.g. ['search']. */
  windows?: string[];
}

const DEFAULT_PAUSE_AT = 0.8;
const DEFAULT_RECHECK_MS = 15 * 60_000;
/**
 * A call leaves our count of a sliding window 2 % of the interval later than the window says: the CRM
 * counts a call when it arrives, in coarse time buckets, so a call we count as gone may still be in its
 * window — and the 429 that follows costs far more than the 2 %.
 */
const EDGE_SLACK = 0.02;
const spanOf = (w: WindowLimit): number => w.intervalMs * (1 + EDGE_SLACK);
/** How long a probe call may take before another caller may probe. */
const PROBE_GRACE_MS = 60_000;

interface WindowState extends WindowLimit {
  stamps: number[];
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class RateBudget {
  readonly key: string;
  private pauseAt = DEFAULT_PAUSE_AT;
  private recheckMs = DEFAULT_RECHECK_MS;
  private dailyUsed?: number;
  private dailyLimit?: number;
  /** ms epoch until which calls are refused for the daily quota. */
  private pausedUntil?: number;
  /** When the daily allocation resets, if the CRM says (see knownReset). */
  private dailyResetsAt?: string;
  /** ms epoch before which no call starts (set by a 429's Retry-After, shared by all callers). */
  private notBefore = 0;
  private readonly windows = new Map<string, WindowState>();
  private now: () => number = Date.now;
  private sleep: (ms: number) => Promise<void> = realSleep;

  constructor(key: string, opts: RateBudgetOptions = {}) {
    this.key = key;
    this.configure(opts);
  }

  /** Update thresholds / windows (later connectors for the same org may refine them). */
  configure(opts: RateBudgetOptions): void {
    if (opts.dailyPauseAt !== undefined) {
      if (!(opts.dailyPauseAt > 0 && opts.dailyPauseAt <= 1)) throw new RangeError('dailyPauseAt must be in (0, 1]');
      this.pauseAt = opts.dailyPauseAt;
    }
    if (opts.quotaRecheckMs !== undefined) this.recheckMs = opts.quotaRecheckMs;
    if (opts.dailyLimit !== undefined && this.dailyLimit === undefined) this.dailyLimit = opts.dailyLimit;
    if (opts.now) this.now = opts.now;
    if (opts.sleep) this.sleep = opts.sleep;
    for (const w of opts.windows ?? []) {
      const existing = this.windows.get(w.name);
      this.windows.set(w.name, { everyCall: true, ...w, stamps: existing?.stamps ?? [] });
    }
  }

  /**
   * Call before every API request. Throws quota_exhausted while paused for the daily allocation;
   * waits for a free slot in the short windows and for any shared back-off.
   */
  async acquire(opts: AcquireOptions = {}): Promise<void> {
    this.checkDaily();
    for (;;) {
      const now = this.now();
      let waitMs = Math.max(0, this.notBefore - now);
      if (waitMs === 0) {
        for (const w of this.windowsFor(opts)) {
          const span = spanOf(w);
          w.stamps = w.stamps.filter((t) => t > now - span);
          if (w.stamps.length >= w.limit) waitMs = Math.max(waitMs, Math.ceil(w.stamps[0] + span - now));
        }
      }
      if (waitMs <= 0) break;
      await this.sleep(waitMs);
      this.checkDaily();
    }
    const now = this.now();
    for (const w of this.windowsFor(opts)) w.stamps.push(now);
    if (this.dailyUsed !== undefined) this.dailyUsed += 1;
  }

  /** Record the daily usage a response reported (the header is the truth; it includes other clients). */
  observeDaily(used: number, limit: number, resetsAt?: string): void {
    if (!(limit > 0) || !(used >= 0)) return;
    this.dailyUsed = used;
    this.dailyLimit = limit;
    this.dailyResetsAt = resetsAt;
    if (used >= this.threshold()) {
      this.pauseDaily(this.knownReset());
    } else if (this.pausedUntil !== undefined) {
      this.pausedUntil = undefined; // the probe found room again: resume
    }
  }

  /** Record what a response said about a short window (e.g. HubSpot X-HubSpot-RateLimit-Remaining). */
  observeWindow(name: string, remaining: number, limit?: number, intervalMs?: number): void {
    const w = this.windows.get(name);
    if (!w) return;
    if (limit && limit > 0) w.limit = limit;
    if (intervalMs && intervalMs > 0) w.intervalMs = intervalMs;
    // The CRM's count includes calls this process did not make (other workers on the same app). Count
    // those as made just now, so acquire waits for them too; our own calls already make it wait until
    // the oldest ages out. (Pausing the whole interval here would throw away most of a full window.)
    const now = this.now();
    w.stamps = w.stamps.filter((t) => t > now - spanOf(w));
    const unseen = w.limit - Math.max(0, remaining) - w.stamps.length;
    for (let i = 0; i < unseen; i++) w.stamps.push(now);
  }

  /** Nobody in this process starts a call for `ms` (a 429 with Retry-After). */
  backoff(ms: number): void {
    this.notBefore = Math.max(this.notBefore, this.now() + ms);
  }

  /**
   * The CRM said the daily allocation is spent (or we crossed the threshold): refuse calls until
   * `untilIso` (default: now + the re-check interval). Returns the time calls resume (ISO).
   */
  pauseDaily(untilIso?: string): string {
    const until = untilIso ? Date.parse(untilIso) : Number.NaN;
    this.pausedUntil = Math.max(this.pausedUntil ?? 0, Number.isNaN(until) ? this.now() + this.recheckMs : until);
    return new Date(this.pausedUntil).toISOString();
  }

  state(): RateState {
    const every = [...this.windows.values()].find((w) => w.everyCall !== false);
    const now = this.now();
    return {
      windowLimit: every?.limit,
      windowRemaining: every ? Math.max(0, every.limit - every.stamps.filter((t) => t > now - every.intervalMs).length) : undefined,
      dailyUsed: this.dailyUsed,
      dailyLimit: this.dailyLimit,
      pausedUntil: this.pausedUntil !== undefined && this.pausedUntil > now ? new Date(this.pausedUntil).toISOString() : undefined,
    };
  }

  /**
   * A CRM whose allocation resets at a known instant (HubSpot: the portal's midnight) pauses until
   * then, also when that is sooner than the re-check interval (it once paused past midnight);
   * without one (or once it has passed) the pause lasts the re-check interval.
   */
  private knownReset(): string | undefined {
    return this.dailyResetsAt && Date.parse(this.dailyResetsAt) > this.now() ? this.dailyResetsAt : undefined;
  }

  private threshold(): number {
    return this.dailyLimit === undefined ? Number.POSITIVE_INFINITY : Math.floor(this.dailyLimit * this.pauseAt);
  }

  private checkDaily(): void {
    const now = this.now();
    if (this.pausedUntil !== undefined) {
      if (now < this.pausedUntil) throw this.quotaError(this.pausedUntil);
      // Past the re-check time: let exactly this call through as a probe; its response header decides.
      // Everyone else keeps waiting until the probe answers (or its grace period passes).
      this.pausedUntil = now + PROBE_GRACE_MS;
      this.dailyUsed = undefined;
      return;
    }
    if (this.dailyUsed !== undefined && this.dailyUsed + 1 > this.threshold()) {
      this.pauseDaily(this.knownReset());
      throw this.quotaError(this.pausedUntil!);
    }
  }

  private quotaError(until: number): ConnectorError {
    const resetsAt = new Date(until).toISOString();
    const usage = this.dailyLimit ? ` (${this.dailyUsed ?? '?'}/${this.dailyLimit} used, pausing at ${Math.round(this.pauseAt * 100)}%)` : '';
    return new ConnectorError('quota_exhausted', `${this.key}: daily API allocation reserved${usage}; paused until ${resetsAt}`, { resetsAt });
  }

  private windowsFor(opts: AcquireOptions): WindowState[] {
    return [...this.windows.values()].filter((w) => w.everyCall !== false || opts.windows?.includes(w.name));
  }
}

const budgets = new Map<string, RateBudget>();

/**
 * The process-wide budget of one org (key it `kind:orgId`). Every connector instance for that org in
 * this process gets the same object, so they share one allocation.
 */
export function rateBudgetFor(key: string, opts: RateBudgetOptions = {}): RateBudget {
  let b = budgets.get(key);
  if (!b) {
    b = new RateBudget(key, opts);
    budgets.set(key, b);
  } else {
    b.configure(opts);
  }
  return b;
}

/** Every org budget of this process, by key (`kind:orgId`): what the worker's quota metrics report. */
export function rateBudgets(): ReadonlyMap<string, RateBudget> {
  return budgets;
}

/** Tests only: forget every budget. */
export function resetRateBudgets(): void {
  budgets.clear();
}
