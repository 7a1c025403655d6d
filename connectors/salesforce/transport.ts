import http from 'node:http';
import https from 'node:https';
import { PassThrough } from 'node:stream';
import { Transport } from 'jsforce/lib/transport.js';
import { StreamPromise } from 'jsforce/lib/util/promise.js';
import type { HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce/lib/types/common.js';
import { ConnectorError } from '../errors.js';
import type { RateBudget } from '../rateBudget.js';
import { mapHttpError, mapThrown } from './errors.js';

/**
 * jsforce's Connection talks through this transport (jsforce's own extension point). jsforce still
 * builds every request (auth header, URLs, JSON) and parses every answer; this class only carries
 * the bytes, with node:http(s), and:
 * - does not retry (jsforce's transport never retries POST/PATCH and ignores Retry-After): the
 *   connector retries every call itself with one policy (connectors/retry.ts);
 * - puts one deadline over the whole exchange, headers and body;
 * - feeds every response's `Sforce-Limit-Info` to the org's rate budget;
 * - turns an error response into a ConnectorError while its status and headers (Retry-After) are
 *   still known — jsforce's HttpApiError would drop both. A 401 is not left to jsforce's session
 *   refresh either: the connector re-authenticates once, explicitly (salesforce/api.ts).
 */
export class SalesforceTransport extends Transport {
  constructor(
    private readonly budget: RateBudget,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  override httpRequest(req: HttpRequest, _options: HttpRequestOptions = {}): StreamPromise<HttpResponse> {
    const promise = this.exchange(req);
    // Streaming consumers (bulk, record streams) are not used by the connector: no stream to offer.
    return StreamPromise.create(() => ({ stream: new PassThrough(), promise }));
  }

  private async exchange(req: HttpRequest): Promise<HttpResponse> {
    const what = `${req.method} ${pathOf(req.url)}`;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) if (k.toLowerCase() !== 'content-length') headers[k] = v;
    // Names cosell as the API client: Change Data Capture reports it in changeOrigin (client=cosell),
    // so the push subscriber recognises cosell's own writes even when a person shares the integration user.
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'sforce-call-options')) headers['Sforce-Call-Options'] = 'client=cosell';
    let response: HttpResponse;
    try {
      response = await send(req.url, req.method, headers, typeof req.body === 'string' ? req.body : undefined, this.timeoutMs);
    } catch (e) {
      if (e instanceof DeadlineError) throw new ConnectorError('transient', `${what}: no answer within ${this.timeoutMs} ms`, { crmCode: 'TIMEOUT', cause: e });
      throw mapThrown(e, what);
    }
    this.observe(response);
    if (response.statusCode >= 300) throw this.httpError(response, what);
    return response;
  }

  private observe(res: HttpResponse): void {
    const info = res.headers['sforce-limit-info'];
    const m = info ? /api-usage=(\d+)\/(\d+)/.exec(info) : null;
    if (m) this.budget.observeDaily(Number(m[1]), Number(m[2]));
  }

  private httpError(res: HttpResponse, what: string): ConnectorError {
    const err = mapHttpError({ status: res.statusCode, headers: res.headers, body: res.body, what });
    if (err.kind !== 'quota_exhausted') return err;
    // The org's allocation is spent (by us or anyone else): stop every caller in this process too.
    const resetsAt = this.budget.pauseDaily();
    return new ConnectorError('quota_exhausted', `${err.message}; paused until ${resetsAt}`, { crmCode: err.crmCode, status: err.status, resetsAt });
  }
}

class DeadlineError extends Error {}

/** One HTTP exchange, body buffered, under one deadline (headers and body). */
function send(url: string, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'http:' ? http : https;
    const req = mod.request(u, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ statusCode: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const timer = setTimeout(() => req.destroy(new DeadlineError('deadline')), timeoutMs);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}

/** The URL's path without query string (queries may carry record values; tokens never travel in URLs). */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0];
  }
}
