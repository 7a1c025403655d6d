import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FaultConfig } from './types.js';

/**
 * Fault injection shared by both emulators. An org owns one FaultInjector; `installFaults` puts it in
 * front of the org's API routes (never in front of `/__sandbox/*`, the admin and web pages). Each
 * emulator supplies the bodies, because Salesforce and HubSpot fail in their own words.
 */

export type FaultDecision =
  | { kind: 'pass' }
  | { kind: 'serverError' }
  | { kind: 'timeout'; ms: number }
  | { kind: 'tooManyRequests' };

const DEFAULT_TOKEN_TTL_MS = 2 * 60 * 60 * 1000;

export class FaultInjector {
  private config: FaultConfig;
  private burstLeft = 0;
  /** Bumped by `expireTokensNow`; tokens issued before the current epoch are invalid. */
  private epoch = 0;
  private readonly random: () => number;

  constructor(initial: FaultConfig = {}, random: () => number = Math.random) {
    this.random = random;
    this.config = {};
    this.set(initial);
  }

  /** Replace the whole fault configuration (`{}` clears every fault). `expireTokensNow` acts once. */
  set(faults: FaultConfig): void {
    const { expireTokensNow, ...rest } = faults;
    if (expireTokensNow) this.epoch++;
    this.config = { ...rest };
    if (!this.config.burst429Rate) this.burstLeft = 0;
  }

  get(): FaultConfig {
    return { ...this.config };
  }

  get tokenEpoch(): number {
    return this.epoch;
  }

  get tokenTtlMs(): number {
    return this.config.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS;
  }

  get latencyMs(): number {
    return this.config.latencyMs ?? 0;
  }

  get dailyLimit(): number | undefined {
    return this.config.dailyLimit;
  }

  get commitLagMs(): number {
    return this.config.commitLagMs ?? 0;
  }

  get searchLagMs(): number {
    return this.config.searchLagMs ?? 0;
  }

  /** Change Data Capture faults (sandbox/salesforce/cdc/). */
  get cdc(): { dropRate: number; delayMs: number; duplicateRate: number; gapRate: number; overflowAfter?: number; retentionMs: number } {
    const c = this.config;
    return {
      dropRate: c.cdcDropRate ?? 0,
      delayMs: c.cdcDelayMs ?? 0,
      duplicateRate: c.cdcDuplicateRate ?? 0,
      gapRate: c.cdcGapRate ?? 0,
      overflowAfter: c.cdcOverflowAfter,
      retentionMs: c.cdcRetentionMs ?? 72 * 60 * 60 * 1000,
    };
  }

  /** A random draw for a fault rate (the injector's own source, so tests can seed it). */
  chance(rate: number): boolean {
    return rate > 0 && this.random() < rate;
  }

  /** Decide what happens to one API request. */
  decide(): FaultDecision {
    const c = this.config;
    if (this.burstLeft > 0) {
      this.burstLeft--;
      return { kind: 'tooManyRequests' };
    }
    if (c.burst429Rate && this.random() < c.burst429Rate) {
      this.burstLeft = Math.max(0, (c.burst429Length ?? 3) - 1);
      return { kind: 'tooManyRequests' };
    }
    if (c.timeoutRate && this.random() < c.timeoutRate) return { kind: 'timeout', ms: c.timeoutMs ?? 30_000 };
    if (c.errorRate && this.random() < c.errorRate) return { kind: 'serverError' };
    return { kind: 'pass' };
  }

  /** Salesforce: should this record in a write fail with UNABLE_TO_LOCK_ROW? */
  lockRow(): boolean {
    const rate = this.config.lockRowRate;
    return !!rate && this.random() < rate;
  }
}

export interface FaultResponders {
  /** Is this an API request faults apply to? (Default: everything outside `/__sandbox`.) */
  applies?(req: FastifyRequest): boolean;
  serverError(reply: FastifyReply): FastifyReply;
  tooManyRequests(reply: FastifyReply): FastifyReply;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function isAdminPath(url: string): boolean {
  return url.startsWith('/__sandbox') || url === '/' || url.startsWith('/favicon');
}

/** Put the injector in front of the org's API routes (an onRequest hook on the org's fastify instance). */
export function installFaults(app: FastifyInstance, faults: FaultInjector, responders: FaultResponders): void {
  const applies = responders.applies ?? ((req: FastifyRequest) => !isAdminPath(req.url));
  app.addHook('onRequest', async (req, reply) => {
    if (!applies(req)) return;
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    const d = faults.decide();
    switch (d.kind) {
      case 'pass':
        return;
      case 'serverError':
        return responders.serverError(reply);
      case 'tooManyRequests':
        return responders.tooManyRequests(reply);
      case 'timeout':
        // Hang, then drop the connection without an answer, as an overloaded proxy does.
        reply.hijack();
        await sleep(d.ms);
        req.raw.socket?.destroy();
        return;
    }
  });
}

/** Counts events in a rolling window (daily allocations, 10-second limits), in O(buckets) memory. */
export class RollingCounter {
  private readonly buckets: Float64Array;
  private readonly bucketMs: number;
  private headIndex = 0;
  private headStart = 0;
  private total = 0;

  constructor(windowMs: number, buckets = 96) {
    this.buckets = new Float64Array(buckets);
    this.bucketMs = Math.max(1, Math.ceil(windowMs / buckets));
  }

  private advance(now: number): void {
    const start = now - (now % this.bucketMs);
    if (this.headStart === 0) {
      this.headStart = start;
      return;
    }
    let steps = Math.floor((start - this.headStart) / this.bucketMs);
    if (steps <= 0) return;
    if (steps > this.buckets.length) steps = this.buckets.length;
    for (let i = 0; i < steps; i++) {
      this.headIndex = (this.headIndex + 1) % this.buckets.length;
      this.total -= this.buckets[this.headIndex];
      this.buckets[this.headIndex] = 0;
    }
    this.headStart = start;
  }

  add(now: number, n = 1): number {
    this.advance(now);
    this.buckets[this.headIndex] += n;
    this.total += n;
    return this.total;
  }

  count(now: number): number {
    this.advance(now);
    return this.total;
  }

  /** ms until the oldest bucket leaves the window (a retry-after hint). */
  msUntilRelease(now: number): number {
    return this.bucketMs - (now % this.bucketMs);
  }
}
