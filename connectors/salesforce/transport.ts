import { Transport } from 'jsforce/lib/transport.js';
import { StreamPromise } from 'jsforce/lib/util/promise.js';
import type { HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce/lib/types/common.js';
import { ConnectorError } from '../errors.js';
import type { RateBudget } from '../rateBudget.js';
import { mapHttpError, mapThrown } from './errors.js';

/**
 * jsforce's HTTP transport with three changes:
 * - jsforce's own retry is switched off (it never retries POST/PATCH and ignores Retry-After); the
 *   connector retries every call itself with one policy (connectors/retry.ts);
 * - every response's `Sforce-Limit-Info` feeds the org's rate budget;
 * - an error response becomes a ConnectorError here, while its status and headers (Retry-After) are
 *   still known — jsforce's HttpApiError would drop both. A 401 is not left to jsforce's refresh
 *   either: the connector re-authenticates once, explicitly (salesforce/api.ts).
 */
export class SalesforceTransport extends Transport {
  constructor(
    private readonly budget: RateBudget,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}): StreamPromise<HttpResponse> {
    const inner = super.httpRequest(req, { ...options, timeout: this.timeoutMs, retry: { maxRetries: 0, methods: [] } });
    const what = `${req.method} ${pathOf(req.url)}`;
    const promise = inner.then(
      (res) => {
        this.observe(res);
        if (res.statusCode >= 300) throw this.httpError(res, what);
        return res;
      },
      (e: unknown) => {
        throw mapThrown(e, what);
      },
    );
    return StreamPromise.create(() => ({ stream: inner.stream(), promise }));
  }

  private observe(res: HttpResponse): void {
    const info = header(res, 'sforce-limit-info');
    const m = info ? /api-usage=(\d+)\/(\d+)/.exec(info) : null;
    if (m) this.budget.observeDaily(Number(m[1]), Number(m[2]));
  }

  private httpError(res: HttpResponse, what: string): ConnectorError {
    const err = mapHttpError({ status: res.statusCode, headers: res.headers ?? {}, body: res.body, what });
    if (err.kind !== 'quota_exhausted') return err;
    // The org's allocation is spent (by us or anyone else): stop every caller in this process too.
    const resetsAt = this.budget.pauseDaily();
    return new ConnectorError('quota_exhausted', `${err.message}; paused until ${resetsAt}`, { crmCode: err.crmCode, status: err.status, resetsAt });
  }
}

function header(res: HttpResponse, name: string): string | undefined {
  return res.headers?.[name] ?? res.headers?.[name.toLowerCase()];
}

/** The URL's path without query string (queries may carry record values; tokens never travel in URLs). */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0];
  }
}
