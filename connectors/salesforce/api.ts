import { Connection } from 'jsforce';
import type { HttpMethods } from 'jsforce/lib/types/common.js';
import { log } from '../../lib/logger.js';
import { ConnectorError } from '../errors.js';
import type { RateBudget } from '../rateBudget.js';
import { withRetry } from '../retry.js';
import { canReauthenticate, obtainToken } from './auth.js';
import { DEFAULT_API_VERSION, type SalesforceConnectorConfig } from './config.js';
import { mapThrown } from './errors.js';
import { SalesforceTransport } from './transport.js';

export interface ApiRequest {
  method: HttpMethods;
  /** Relative to the versioned base (`/query?q=…`), to the instance (`/services/…`), or absolute. */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Every Salesforce call goes through `request`: one HTTP request per attempt, gated by the org's rate
 * budget, retried with the shared policy, and re-authenticated once on 401 INVALID_SESSION_ID.
 */
export class SalesforceApi {
  readonly conn: Connection;
  private readonly transport: SalesforceTransport;
  private authenticated = false;
  private authInFlight?: Promise<void>;

  constructor(
    private readonly cfg: SalesforceConnectorConfig,
    private readonly budget: RateBudget,
  ) {
    this.transport = new SalesforceTransport(budget, cfg.requestTimeoutMs ?? 120_000);
    this.conn = new Connection({ instanceUrl: cfg.instanceUrl.replace(/\/+$/, ''), version: cfg.apiVersion ?? DEFAULT_API_VERSION });
    // All HTTP through our transport (no jsforce retries; errors mapped with status and headers).
    (this.conn as unknown as { _transport: SalesforceTransport })._transport = this.transport;
  }

  async request<T>(label: string, req: ApiRequest): Promise<T> {
    return withRetry(
      async () => {
        await this.budget.acquire();
        await this.ensureAuth();
        try {
          return await this.send<T>(req);
        } catch (e) {
          const err = mapThrown(e, label);
          if (err.kind === 'auth' && err.status === 401 && canReauthenticate(this.cfg.auth)) {
            // Expired / revoked session: mint a new token once and replay (the call never reached the data).
            log.info({ org: this.cfg.orgId, label }, 'salesforce: session expired, re-authenticating');
            await this.reauthenticate();
            try {
              return await this.send<T>(req);
            } catch (e2) {
              throw mapThrown(e2, label);
            }
          }
          throw err;
        }
      },
      { policy: this.cfg.retry, budget: this.budget, label: `${this.cfg.orgId} ${label}`, sleep: this.cfg.sleep },
    );
  }

  private async send<T>(req: ApiRequest): Promise<T> {
    const headers: Record<string, string> = { ...req.headers };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    return (await this.conn.request({ method: req.method, url: req.url, headers, body })) as T;
  }

  private async ensureAuth(): Promise<void> {
    if (!this.authenticated) await this.reauthenticate();
  }

  /** Single-flight: concurrent callers that see an expired session share one token request. */
  private reauthenticate(): Promise<void> {
    this.authInFlight ??= (async () => {
      try {
        const token = await obtainToken(this.cfg, this.transport);
        this.conn.accessToken = token.accessToken;
        if (token.instanceUrl) this.conn.instanceUrl = token.instanceUrl.replace(/\/+$/, '');
        this.authenticated = true;
      } catch (e) {
        this.authenticated = false;
        throw e instanceof ConnectorError ? e : mapThrown(e, 'authenticate');
      } finally {
        this.authInFlight = undefined;
      }
    })();
    return this.authInFlight;
  }
}
