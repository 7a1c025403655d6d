import type { FencedWrite, LeaseGrant } from '../../../ledger/leases.js';
import { log as rootLog } from '../../../lib/logger.js';

/** The ledger's lease statements (ledger/leases.ts CdcLeases), as the keeper needs them. */
export interface LeaseStore {
  acquire(orgId: string, topic: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined>;
  renew(orgId: string, topic: string, grant: LeaseGrant, ttlMs: number): Promise<LeaseGrant | undefined>;
  release(orgId: string, topic: string, grant: LeaseGrant): Promise<boolean>;
  advanceReplayId(orgId: string, topic: string, grant: LeaseGrant, replayId: string): Promise<FencedWrite>;
}

export type LeaseLoss = 'renew-refused' | 'expired' | 'write-refused';

export interface TopicLeaseOptions {
  orgId: string;
  topic: string;
  /** This worker process (host:pid:random): what `cosell status` shows as the holder. */
  holder: string;
  /** How long a grant lasts without renewal (default 15 s). */
  ttlMs: number;
  /** How often the holder renews and a standby tries to take over (default 5 s; below ttlMs). */
  renewMs: number;
  /** The same clock the store uses (tests: a fake one). */
  clock?: () => number;
  onGained(grant: LeaseGrant): void;
  onLost(reason: LeaseLoss): void;
}

/**
 * One worker's side of one (org, topic) lease: every `renewMs` the holder renews and a standby tries
 * to acquire, so a dead holder's lease is taken within ttl + renewMs. The holder believes it holds
 * the lease until the expiry the ledger stored (computed from the clock read BEFORE the statement, so
 * never later than the row's): belief intervals of two holders never overlap. A holder learns of a
 * loss by a refused renew, by its own clock passing the expiry (checked before every write and by a
 * timer), or at the latest by its next write, which the ledger fences by (holder, epoch).
 */
export class TopicLease {
  private grant?: LeaseGrant;
  private timer?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  private readonly clock: () => number;
  private readonly log;

  constructor(
    private readonly store: LeaseStore,
    private readonly o: TopicLeaseOptions,
  ) {
    this.clock = o.clock ?? Date.now;
    this.log = rootLog.child({ component: 'cdc-lease', org: o.orgId, topic: o.topic, holder: o.holder });
  }

  get holder(): string {
    return this.o.holder;
  }

  /** The grant as last known, its expiry not checked (what this keeper believes; status and tests). */
  peek(): LeaseGrant | undefined {
    return this.grant;
  }

  /** The grant while it is live by this holder's clock (an expired one is dropped here, and reported lost). */
  held(): LeaseGrant | undefined {
    if (this.grant && this.grant.expiresAt <= this.clock()) this.lose('expired');
    return this.grant;
  }

  /** Renew (holder) or try to acquire (standby) once; one at a time. */
  tick(): Promise<void> {
    return (this.ticking ??= this.once().finally(() => (this.ticking = undefined)));
  }

  private async once(): Promise<void> {
    if (this.stopped) return;
    try {
      const g = this.held();
      if (g) {
        const renewed = await this.store.renew(this.o.orgId, this.o.topic, g, this.o.ttlMs);
        if (this.grant !== g) return; // lost meanwhile (expired or a refused write)
        if (!renewed) return this.lose('renew-refused');
        this.set(renewed);
      } else {
        const taken = await this.store.acquire(this.o.orgId, this.o.topic, this.o.holder, this.o.ttlMs);
        if (!taken || this.stopped) {
          // Stopped while acquiring: give it straight back rather than leave it to expire.
          if (taken) await this.store.release(this.o.orgId, this.o.topic, taken).catch(() => false);
          return;
        }
        this.set(taken);
        this.log.info({ epoch: taken.epoch }, 'CDC lease acquired: this worker subscribes');
        this.o.onGained(taken);
      }
    } catch (e) {
      // The ledger unreachable: keep the grant until its expiry (held() drops it), try again next tick.
      this.log.warn({ err: e }, 'CDC lease: could not reach the ledger');
    }
  }

  /** Store a replay id under this lease; 'lost' (and onLost) when the lease is no longer this holder's. */
  async write(replayId: string): Promise<FencedWrite> {
    const g = this.held();
    if (!g) return 'lost';
    const r = await this.store.advanceReplayId(this.o.orgId, this.o.topic, g, replayId);
    if (r === 'lost' && this.grant === g) this.lose('write-refused');
    return r;
  }

  /** Tick now and every renewMs until stop(). */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      void this.tick().finally(() => {
        if (!this.stopped) (this.timer = setTimeout(loop, this.o.renewMs)).unref();
      });
    };
    loop();
  }

  /** Stop ticking and release a held lease, so a standby takes over at its next tick instead of after expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    await this.ticking;
    const g = this.grant;
    this.grant = undefined;
    if (g) await this.store.release(this.o.orgId, this.o.topic, g).catch((e) => this.log.warn({ err: e }, 'CDC lease: could not release (it expires instead)'));
  }

  private set(g: LeaseGrant): void {
    this.grant = g;
    clearTimeout(this.deadline);
    // Not renewed by its expiry (the ledger slow or gone): stop subscribing on our own clock.
    this.deadline = setTimeout(() => this.held(), Math.max(0, g.expiresAt - this.clock()));
    this.deadline.unref();
  }

  private lose(reason: LeaseLoss): void {
    this.grant = undefined;
    clearTimeout(this.deadline);
    this.log.warn({ reason }, 'CDC lease lost: this worker stops subscribing and stands by');
    this.o.onLost(reason);
  }
}
