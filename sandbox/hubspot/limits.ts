import { RollingCounter } from '../faults.js';
import type { FaultConfig } from '../types.js';

/**
 * HubSpot's request limits: a rolling 10-second burst limit and a daily allocation (both announced in
 * X-HubSpot-RateLimit-* headers), plus the separate per-second limit of the search endpoints (whose
 * responses carry no rate-limit headers). Limits are read from the live FaultConfig on every request, so
 * the admin endpoint can change them at runtime.
 */
export type LimitVerdict =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; policy: 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY'; headers: Record<string, string> };

const DAY_MS = 86_400_000;

export class RateLimiter {
  private readonly tenSecond = new RollingCounter(10_000, 100);
  private readonly search = new RollingCounter(1_000, 20);
  private day = -1;
  private dailyUsed = 0;

  constructor(private readonly config: () => FaultConfig) {}

  /** Count one API request (not the OAuth endpoint) and decide whether it may run. */
  admit(now: number, isSearch: boolean): LimitVerdict {
    const c = this.config();
    const day = Math.floor(now / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.dailyUsed = 0;
    }
    const daily = c.dailyLimit && c.dailyLimit > 0 ? c.dailyLimit : undefined;
    const ten = c.tenSecondLimit && c.tenSecondLimit > 0 ? c.tenSecondLimit : undefined;
    const perSec = c.searchPerSecond && c.searchPerSecond > 0 ? c.searchPerSecond : undefined;

    const headers = (tenUsed: number): Record<string, string> => {
      if (isSearch) return {};
      const h: Record<string, string> = {};
      if (daily !== undefined) {
        h['x-hubspot-ratelimit-daily'] = String(daily);
        h['x-hubspot-ratelimit-daily-remaining'] = String(Math.max(0, daily - this.dailyUsed));
      }
      if (ten !== undefined) {
        h['x-hubspot-ratelimit-interval-milliseconds'] = '10000';
        h['x-hubspot-ratelimit-max'] = String(ten);
        h['x-hubspot-ratelimit-remaining'] = String(Math.max(0, ten - tenUsed));
      }
      return h;
    };

    if (daily !== undefined && this.dailyUsed >= daily) return { ok: false, policy: 'DAILY', headers: headers(this.tenSecond.count(now)) };
    if (isSearch) {
      if (perSec !== undefined && this.search.count(now) >= perSec) return { ok: false, policy: 'SECONDLY', headers: {} };
      this.search.add(now);
      this.dailyUsed++;
      return { ok: true, headers: {} };
    }
    const used = this.tenSecond.count(now);
    if (ten !== undefined && used >= ten) return { ok: false, policy: 'TEN_SECONDLY_ROLLING', headers: headers(used) };
    const after = this.tenSecond.add(now);
    this.dailyUsed++;
    return { ok: true, headers: headers(after) };
  }

  /** Daily usage so far (for the web page and tests). */
  usage(): { daily: number } {
    return { daily: this.dailyUsed };
  }
}

/** The real 429 bodies, per policy. */
export function rateLimitBody(policy: 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY', correlationId: string): Record<string, unknown> {
  const message =
    policy === 'DAILY'
      ? 'You have reached your daily limit.'
      : policy === 'SECONDLY'
        ? 'You have reached your secondly limit.'
        : 'You have reached your ten_secondly_rolling limit.';
  return { status: 'error', message, errorType: 'RATE_LIMIT', correlationId, policyName: policy, requestId: correlationId.replace(/-/g, '') };
}
