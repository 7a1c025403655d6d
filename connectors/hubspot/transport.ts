import { Client } from '@hubspot/api-client';
import { log } from '../../lib/logger.js';
import { ConnectorError } from '../errors.js';
import type { RateBudget } from '../rateBudget.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import type { TokenProvider } from './auth.js';
import { header, mapHttpError, mapThrown, type Headers } from './errors.js';
import { nextMidnight } from './time.js';

export type CallKind = 'api' | 'search';

export interface TransportOptions {
  orgId: string;
  basePath?: string;
  tokens: TokenProvider;
  budget: RateBudget;
  retry?: Partial<RetryPolicy>;
  /** Abandon a call that has not answered after this long (treated as transient). Default 60 s. */
  requestTimeoutMs?: number;
  dailyResetTimeZone?: string;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The `_options` argument every generated API method takes last; pass it through unchanged. (Each
 * generated module declares its own structurally identical type, hence the loose typing here.)
 */
export type CallOptions = any;

/** Minimal view of the generated client's response context that our middleware needs. */
interface ResponseCtx {
  httpStatusCode: number;
  headers: Headers;
  body: { text(): Promise<string>; binary(): Promise<Buffer> };
}
interface RequestCtx {
  setHeaderParam(key: string, value: string): void;
}

/**
 * Every HubSpot call goes through `call`: budget (10-second window, search window, daily pause) →
 * the real @hubspot/api-client → our response middleware, which maps any non-2xx answer onto the
 * taxonomy (errors.ts) before the generated code can drop fields such as `policyName` → retry of
 * transient / rate-limited failures with the shared policy → one token refresh on 401 (OAuth).
 * The client's own retry (numberOfApiCallRetries) and limiter stay off: they know nothing of the
 * shared budget and would retry behind our back.
 */
export class HubspotTransport {
  readonly client: Client;
  private readonly o: TransportOptions;
  private readonly callOptions: CallOptions;

  constructor(o: TransportOptions) {
    this.o = o;
    const tokens = o.tokens;
    const mapOpts = () => ({ now: new Date(o.now()), dailyResetTimeZone: o.dailyResetTimeZone });
    const middleware = {
      pre: async (ctx: RequestCtx) => {
        // The bearer token is set per request so that a refreshed OAuth token is used at once.
        ctx.setHeaderParam('Authorization', `Bearer ${await tokens.token()}`);
        return ctx;
      },
      post: async (ctx: ResponseCtx) => {
        this.observe(ctx.headers);
        if (ctx.httpStatusCode >= 200 && ctx.httpStatusCode < 300) return ctx;
        // Read the raw body ourselves: the generated deserialiser keeps only the fields it knows.
        const text = await ctx.body.text().catch(() => '');
        throw mapHttpError(ctx.httpStatusCode, ctx.headers, text, mapOpts());
      },
    };
    // Per-call middleware: @hubspot/api-client 13 ignores `config.middleware` in its generated APIs and
    // applies only what a call passes in its last (`_options`) argument.
    this.callOptions = { middleware: [middleware], middlewareMergeStrategy: 'append' } as unknown as CallOptions;
    this.client = new Client(o.basePath ? { basePath: o.basePath } : {});
  }

  /** One logical call (retried as a whole). `what` names it in logs; never include secrets. */
  async call<T>(kind: CallKind, what: string, fn: (client: Client, options: CallOptions) => Promise<T>): Promise<T> {
    const o = this.o;
    let refreshed = false;
    return withRetry(
      async () => {
        await o.budget.acquire(kind === 'search' ? { windows: ['search'] } : {});
        const used = await o.tokens.token();
        try {
          return await this.withTimeout(fn(this.client, this.callOptions), what);
        } catch (e) {
          const err = mapThrown(e, { now: new Date(o.now()), dailyResetTimeZone: o.dailyResetTimeZone });
          if (err.kind === 'auth' && err.status === 401 && !refreshed && (await o.tokens.refresh(used))) {
            refreshed = true;
            log.info({ org: o.orgId, call: what }, 'hubspot: access token rejected, refreshed it');
            await o.budget.acquire(kind === 'search' ? { windows: ['search'] } : {});
            try {
              return await this.withTimeout(fn(this.client, this.callOptions), what);
            } catch (e2) {
              throw this.onError(mapThrown(e2, { now: new Date(o.now()), dailyResetTimeZone: o.dailyResetTimeZone }), what);
            }
          }
          throw this.onError(err, what);
        }
      },
      { policy: o.retry, budget: o.budget, label: `hubspot:${o.orgId}:${what}`, sleep: o.sleep },
    );
  }

  private onError(err: ConnectorError, what: string): ConnectorError {
    if (err.kind === 'quota_exhausted' && err.resetsAt) {
      // Everyone in this process stops calling the org until the reset; never retried in a loop.
      this.o.budget.pauseDaily(err.resetsAt);
    }
    log.debug({ org: this.o.orgId, call: what, kind: err.kind, status: err.status, crmCode: err.crmCode }, 'hubspot: call failed');
    return err;
  }

  /** Feed the budget with what HubSpot said about its windows (search answers may omit these). */
  private observe(headers: Headers): void {
    const b = this.o.budget;
    const max = Number(header(headers, 'x-hubspot-ratelimit-max'));
    const remaining = Number(header(headers, 'x-hubspot-ratelimit-remaining'));
    const interval = Number(header(headers, 'x-hubspot-ratelimit-interval-milliseconds'));
    if (Number.isFinite(remaining) && header(headers, 'x-hubspot-ratelimit-remaining') !== undefined) {
      b.observeWindow('tenSecondly', remaining, max > 0 ? max : undefined, interval > 0 ? interval : undefined);
    }
    const daily = Number(header(headers, 'x-hubspot-ratelimit-daily'));
    const dailyRemaining = Number(header(headers, 'x-hubspot-ratelimit-daily-remaining'));
    if (daily > 0 && Number.isFinite(dailyRemaining) && header(headers, 'x-hubspot-ratelimit-daily-remaining') !== undefined) {
      // HubSpot's daily allocation resets at the portal's midnight, so a pause lasts until then.
      b.observeDaily(daily - dailyRemaining, daily, nextMidnight(new Date(this.o.now()), this.o.dailyResetTimeZone).toISOString());
    }
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.o.requestTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectorError('transient', `HubSpot did not answer ${what} within ${ms} ms`, { crmCode: 'TIMEOUT' })), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

