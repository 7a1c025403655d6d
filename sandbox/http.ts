import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';

/**
 * What every emulated service does to a request before its own routes see it, so that clients other
 * than jsforce and @hubspot/api-client are answered as the real services answer them:
 *
 * - Paths are normalised: doubled slashes collapse and a trailing slash goes (simple-salesforce POSTs to
 *   `/sobjects/Account/` and queries `/query/?q=`; Salesforce and HubSpot accept both). Rewritten before
 *   routing, so the org's hooks (authentication, limits, faults) see the same path the router does — a
 *   `//services/data/...` cannot slip past an `startsWith('/services/data/')` check. Percent-encoded
 *   slashes (`%2F`, part of an external id) are not slashes and stay as they are.
 * - A JSON content type with no body is no body on DELETE/PUT/PATCH (simple-salesforce sends
 *   `Content-Type: application/json` on every DELETE; HubSpot clients on body-less PUTs), where fastify
 *   would answer FST_ERR_CTP_EMPTY_JSON_BODY. A body that is there is parsed by fastify's own parser (prototype
 *   poisoning refused as before).
 */

/** The path part of a request URL with slashes normalised; the query string untouched. */
export function normalisePath(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rest = q < 0 ? '' : url.slice(q);
  let p = path.replace(/\/{2,}/g, '/');
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p === path ? url : p + rest;
}

/** fastify options for an emulated service's instance. */
export const serviceServerOptions: Pick<FastifyServerOptions, 'rewriteUrl'> = {
  rewriteUrl: (req) => normalisePath(req.url ?? '/'),
};

/**
 * Accept an empty body under a JSON content type (as `undefined`) on the methods that may come without
 * one; parse anything else as fastify does. A POST (a create, a search, a batch) still needs its body:
 * empty, it fails as before (each service answers that with its own JSON parse error).
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (req.method !== 'POST' && typeof body === 'string' && body.trim() === '') {
      done(null, undefined);
      return;
    }
    parse(req, body as string, done);
  });
}

/** A boolean query parameter as the services read it: `true` in any letter case (Python clients send `True`). */
export function isTrueParam(v: unknown): boolean {
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.toLowerCase() === 'true';
}

/**
 * Subrequests an emulator dispatches to itself (Salesforce Composite and Composite Batch run each
 * subrequest through the org's own routes with `app.inject`). They carry this header, whose value holds a
 * per-process secret — a client cannot forge it — so the org's hooks can tell them from API calls: they
 * skip fault injection (the enclosing call already passed it) and, when `countsUsage` is false, the daily
 * allocation (a Composite request is one call; a Batch's subrequests each count). `tx` names the enclosing
 * transaction a subrequest joins (Composite with allOrNone).
 */
const SUBREQUEST_HEADER = 'x-sandbox-subrequest';
const SUBREQUEST_SECRET = randomBytes(16).toString('hex');

export interface Subrequest {
  countsUsage: boolean;
  tx?: string;
}

export function subrequestHeaders(sub: Subrequest): Record<string, string> {
  return { [SUBREQUEST_HEADER]: `${SUBREQUEST_SECRET};${sub.countsUsage ? 'usage' : 'free'};${sub.tx ?? ''}` };
}

/** The request's subrequest marker when it is a genuine internal subrequest, else undefined. */
export function subrequestOf(req: { headers: Record<string, string | string[] | undefined> }): Subrequest | undefined {
  const v = req.headers[SUBREQUEST_HEADER];
  if (typeof v !== 'string') return undefined;
  const [secret, usage, tx] = v.split(';');
  if (secret !== SUBREQUEST_SECRET) return undefined;
  return { countsUsage: usage === 'usage', ...(tx ? { tx } : {}) };
}
