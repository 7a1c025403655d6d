import { PartnerCentralSellingClient } from '@aws-sdk/client-partnercentral-selling';
import { resolveSecret, type SecretRef } from '../../lib/secrets.js';
import { ConnectorError } from '../errors.js';
import { rateBudgetFor, type RateBudget } from '../rateBudget.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import type { RateState } from '../types.js';
import { mapAceError } from './errors.js';

/**
 * Every call to Partner Central goes through here: the official SDK client (its own retries off, so
 * the one retry policy of connectors/retry.ts decides), the org's rate budget (reads 10/s and writes
 * 1/s per partner account — AWS's quotas — as named windows) and the 24-hour caps (100,000 reads,
 * 10,000 writes), counted locally over a rolling day because the service sends no usage headers. At
 * `dailyPauseAt` of a cap the call is refused with quota_exhausted (resetsAt: when the oldest counted
 * call leaves the day), so the link sleeps instead of being throttled for the rest of the day.
 */
export interface AceLimits {
  readsPerSecond: number;
  writesPerSecond: number;
  dailyReads: number;
  dailyWrites: number;
  dailyPauseAt: number;
}

export const ACE_DEFAULT_LIMITS: AceLimits = { readsPerSecond: 10, writesPerSecond: 1, dailyReads: 100_000, dailyWrites: 10_000, dailyPauseAt: 0.8 };

export interface AceTransportOptions {
  orgId: string;
  region: string;
  endpoint?: string;
  auth: { accessKeyId: SecretRef; secretAccessKey: SecretRef; sessionToken?: SecretRef };
  limits?: Partial<AceLimits>;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;

/** The calls of one org in the last 24 h, per kind (process-wide, like the rate budget). */
class RollingDay {
  private stamps: number[] = [];
  count(now: number): number {
    while (this.stamps.length && this.stamps[0]! <= now - DAY_MS) this.stamps.shift();
    return this.stamps.length;
  }
  add(now: number): void {
    this.stamps.push(now);
  }
  oldest(): number | undefined {
    return this.stamps[0];
  }
}

const days = new Map<string, { read: RollingDay; write: RollingDay }>();
function dayOf(key: string): { read: RollingDay; write: RollingDay } {
  let d = days.get(key);
  if (!d) days.set(key, (d = { read: new RollingDay(), write: new RollingDay() }));
  return d;
}

/** Tests only: forget the daily counts (as a new worker process would). */
export function resetAceDailyCounts(): void {
  days.clear();
}

export class AceTransport {
  readonly client: PartnerCentralSellingClient;
  readonly budget: RateBudget;
  readonly limits: AceLimits;
  private readonly day: { read: RollingDay; write: RollingDay };
  private readonly now: () => number;

  constructor(private readonly opts: AceTransportOptions) {
    const where = `orgs.${opts.orgId}.connection.auth`;
    const accessKeyId = resolveSecret(opts.auth.accessKeyId, `${where}.accessKeyId`);
    const secretAccessKey = resolveSecret(opts.auth.secretAccessKey, `${where}.secretAccessKey`);
    const sessionToken = opts.auth.sessionToken ? resolveSecret(opts.auth.sessionToken, `${where}.sessionToken`) : undefined;
    this.limits = { ...ACE_DEFAULT_LIMITS, ...opts.limits };
    this.now = opts.now ?? Date.now;
    this.client = new PartnerCentralSellingClient({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
      // One retry policy for every connector (connectors/retry.ts): the SDK's own is off.
      maxAttempts: 1,
      requestHandler: { requestTimeout: opts.requestTimeoutMs ?? 60_000, connectionTimeout: 10_000 },
    });
    const key = `aws-partner-central:${opts.orgId}`;
    this.budget = rateBudgetFor(key, {
      windows: [
        { name: 'read', limit: this.limits.readsPerSecond, intervalMs: 1_000, everyCall: false },
        { name: 'write', limit: this.limits.writesPerSecond, intervalMs: 1_000, everyCall: false },
      ],
    });
    this.day = dayOf(key);
  }

  /** Send one command: budget, daily cap, retries, error mapping. */
  async send<O>(kind: 'read' | 'write', what: string, command: object): Promise<O> {
    return withRetry(
      async () => {
        this.checkDaily(kind);
        await this.budget.acquire({ windows: [kind] });
        this.day[kind].add(this.now());
        try {
          return (await this.client.send(command as never)) as O;
        } catch (e) {
          throw mapAceError(e, `${this.opts.orgId}: ${what}`, this.now());
        }
      },
      { budget: this.budget, policy: this.opts.retry, label: `aws-partner-central:${this.opts.orgId} ${what}` },
    );
  }

  private checkDaily(kind: 'read' | 'write'): void {
    const cap = kind === 'read' ? this.limits.dailyReads : this.limits.dailyWrites;
    const used = this.day[kind].count(this.now());
    if (used + 1 > Math.floor(cap * this.limits.dailyPauseAt)) {
      const resetsAt = new Date((this.day[kind].oldest() ?? this.now()) + DAY_MS).toISOString();
      throw new ConnectorError('quota_exhausted', `${this.opts.orgId}: ${used} of the ${cap} ${kind}s Partner Central allows per 24 hours used (pausing at ${Math.round(this.limits.dailyPauseAt * 100)}%); paused until ${resetsAt}`, { resetsAt });
    }
  }

  rateState(): RateState {
    const now = this.now();
    return { ...this.budget.state(), dailyUsed: this.day.write.count(now), dailyLimit: this.limits.dailyWrites };
  }

  close(): void {
    this.client.destroy();
  }
}
