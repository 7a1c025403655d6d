import type { FastifyInstance, FastifyRequest } from 'fastify';
import { subrequestHeaders } from '../http.js';
import { ApiError } from './errors.js';

/**
 * Composite (`POST /composite`) and Composite Batch (`POST /composite/batch`): several REST calls in one.
 * Each subrequest goes through the org's own routes (`app.inject`, marked as a subrequest: no faults, and
 * for Composite no extra API usage — it is one call; a Batch's subrequests each count), with the caller's
 * session. Composite subrequests run in order, later ones reading earlier results through
 * `@{referenceId.path}` (`.field`, `[index]`) in their url or body; with `allOrNone` they share one
 * transaction that a failure rolls back whole (every other subrequest then answers 400 PROCESSING_HALTED).
 * Without it, a subrequest whose reference cannot be resolved (its parent failed) is not run. Batch
 * subrequests are independent; `haltOnError` answers 412 BATCH_PROCESSING_HALTED after the first failure.
 */

const MAX_SUBREQUESTS = 25;
/** Composite: at most this many of the subrequests may be queries or sObject Collections. */
const MAX_QUERY_OR_COLLECTION = 5;
const METHODS = new Set(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']);
const REFERENCE_ID = /^[A-Za-z0-9][A-Za-z0-9_]*$/;
/** Headers a Composite subrequest inherits from the top-level request and must not set itself. */
const INHERITED = new Set(['accept', 'authorization', 'content-type']);

export interface CompositeDeps {
  versionOf(req: FastifyRequest): string;
  /** Open the one transaction an allOrNone Composite request's subrequests join; returns its id. */
  openTransaction(req: FastifyRequest): Promise<string>;
  /** Commit (ok) or roll back the transaction. */
  closeTransaction(id: string, req: FastifyRequest, ok: boolean): void;
}

interface SubResponse {
  status: number;
  body: unknown;
  location?: string;
}

const badRequest = (message: string, code = 'INVALID_INPUT') => new ApiError(400, code, message);
const apiVersionOf = (v: string) => Number(v.slice(1));

/** Run one subrequest through the org's routes, as the caller. */
async function dispatch(app: FastifyInstance, req: FastifyRequest, method: string, url: string, body: unknown, extraHeaders: Record<string, string>, sub: { countsUsage: boolean; tx?: string }): Promise<SubResponse> {
  const headers: Record<string, string> = { ...extraHeaders, ...subrequestHeaders(sub) };
  for (const h of ['authorization', 'host', 'sforce-call-options', 'sforce-query-options']) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  if (body !== undefined && body !== null) headers['content-type'] = 'application/json';
  const res = await app.inject({ method: method as 'GET', url, headers, ...(body !== undefined && body !== null ? { payload: JSON.stringify(body) } : {}) });
  let parsed: unknown = null;
  if (res.body) {
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = res.body;
    }
  }
  const location = res.headers.location;
  return { status: res.statusCode, body: parsed, ...(typeof location === 'string' ? { location } : {}) };
}

/** A subrequest failed: an HTTP error, or a Collection answered 200 with a record that failed. */
const failed = (r: SubResponse) => r.status >= 400 || (Array.isArray(r.body) && r.body.some((x) => x && typeof x === 'object' && (x as { success?: unknown }).success === false));

class UnresolvedReference extends Error {}

/** `refId.a.b[0].c` against the earlier results; undefined when there is no such value. */
function lookup(results: Map<string, unknown>, expr: string): unknown {
  const m = /^([A-Za-z0-9][A-Za-z0-9_]*)(.*)$/.exec(expr);
  if (!m || !results.has(m[1])) return undefined;
  let v: unknown = results.get(m[1]);
  const path = m[2];
  const step = /\.([^.[\]]+)|\[(\d+)\]/y;
  let i = 0;
  while (i < path.length) {
    step.lastIndex = i;
    const s = step.exec(path);
    if (!s) return undefined;
    i = step.lastIndex;
    if (v === null || typeof v !== 'object') return undefined;
    v = s[1] !== undefined ? (v as Record<string, unknown>)[s[1]] : (v as unknown[])[Number(s[2])];
  }
  return v;
}

const REF = /@\{([^}]*)\}/g;

/** Replace `@{…}` references in a string; a string that is one reference takes the value as it is. */
function resolveString(s: string, results: Map<string, unknown>, inUrl: boolean): unknown {
  const whole = /^@\{([^}]*)\}$/.exec(s);
  const value = (expr: string) => {
    const v = lookup(results, expr);
    if (v === undefined || (v !== null && typeof v === 'object')) {
      const ref = /^[^.[]*/.exec(expr)![0];
      throw new UnresolvedReference(`Invalid reference specified. No value for ${expr} found in ${ref}. Provided referenceId ('${ref}') must match the referenceId of an earlier subrequest that succeeded.`);
    }
    return v;
  };
  if (whole && !inUrl) return value(whole[1]);
  return s.replace(REF, (_all, expr: string) => String(value(expr)));
}

function resolve(v: unknown, results: Map<string, unknown>): unknown {
  if (typeof v === 'string') return resolveString(v, results, false);
  if (Array.isArray(v)) return v.map((x) => resolve(x, results));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, results)]));
  return v;
}

const halted = (message: string) => [{ errorCode: 'PROCESSING_HALTED', message }];
const ROLLED_BACK = 'The transaction was rolled back since another operation in the same transaction failed.';

/** What the URL of a subrequest names: the path after /services/data/vXX.X/, or undefined. */
function resourceOf(url: string): { version: string; path: string } | undefined {
  const m = /^\/services\/data\/(v\d+\.\d)(\/[^?]*)?(?:\?.*)?$/.exec(url);
  return m ? { version: m[1], path: m[2] ?? '' } : undefined;
}

export function registerComposite(app: FastifyInstance, deps: CompositeDeps): void {
  app.get('/services/data/:v/composite', async (req) => {
    const v = deps.versionOf(req);
    const b = `/services/data/${v}/composite`;
    return { tree: `${b}/tree`, batch: `${b}/batch`, sobjects: `${b}/sobjects` };
  });

  app.post('/services/data/:v/composite', async (req) => {
    deps.versionOf(req);
    const body = (req.body ?? {}) as { allOrNone?: unknown; compositeRequest?: unknown };
    const list = body.compositeRequest;
    if (!Array.isArray(list) || list.length === 0) throw badRequest('compositeRequest: a list of subrequests is required', 'JSON_PARSER_ERROR');
    if (list.length > MAX_SUBREQUESTS) throw badRequest(`Limit Exceeded: a composite request can have at most ${MAX_SUBREQUESTS} subrequests (it has ${list.length})`, 'LIMIT_EXCEEDED');
    // The whole request is checked before anything runs: a malformed one runs nothing.
    const seen = new Set<string>();
    let heavy = 0;
    const subs = list.map((raw, i) => {
      const s = (raw ?? {}) as { method?: unknown; url?: unknown; referenceId?: unknown; body?: unknown; httpHeaders?: unknown };
      if (typeof s.method !== 'string' || !METHODS.has(s.method)) throw badRequest(`compositeRequest[${i}].method: one of GET, POST, PATCH, PUT, DELETE (case-sensitive) is required`, 'JSON_PARSER_ERROR');
      if (typeof s.referenceId !== 'string' || !REFERENCE_ID.test(s.referenceId)) {
        throw badRequest(`Invalid reference id: ${String(s.referenceId)}. Reference ids must start with a letter or a number and contain only letters, numbers and underscores ('_').`);
      }
      if (seen.has(s.referenceId)) throw badRequest(`Duplicate ReferenceId provided in the request: ${s.referenceId}`);
      seen.add(s.referenceId);
      if (typeof s.url !== 'string') throw badRequest(`compositeRequest[${i}].url is required`, 'JSON_PARSER_ERROR');
      const res = resourceOf(s.url.replace(REF, 'x'));
      if (!res) throw badRequest(`The url of subrequest ${s.referenceId} must start with /services/data/vXX.X/: ${s.url}`);
      const top = res.path.split('/')[1] ?? '';
      const isCollection = res.path.startsWith('/composite/sobjects');
      if (!['sobjects', 'query', 'queryAll'].includes(top) && !isCollection) {
        throw badRequest(`Subrequest ${s.referenceId}: ${res.path} is not supported in a composite request (sObject resources, query, queryAll and sObject Collections are)`);
      }
      if (top === 'query' || top === 'queryAll' || isCollection) heavy++;
      const headers: Record<string, string> = {};
      for (const [k, hv] of Object.entries((s.httpHeaders ?? {}) as Record<string, unknown>)) {
        if (INHERITED.has(k.toLowerCase())) throw badRequest(`Subrequest ${s.referenceId}: the ${k} header is inherited from the composite request and cannot be set on a subrequest`);
        headers[k.toLowerCase()] = String(hv);
      }
      return { method: s.method, url: s.url, referenceId: s.referenceId, body: s.body, headers };
    });
    if (heavy > MAX_QUERY_OR_COLLECTION) throw badRequest(`Limit Exceeded: at most ${MAX_QUERY_OR_COLLECTION} subrequests of a composite request can be queries or sObject Collections (it has ${heavy})`, 'LIMIT_EXCEEDED');

    const allOrNone = body.allOrNone === true;
    const tx = allOrNone ? await deps.openTransaction(req) : undefined;
    const results = new Map<string, unknown>();
    const out: Array<{ body: unknown; httpHeaders: Record<string, string>; httpStatusCode: number; referenceId: string }> = [];
    let failedAt = -1;
    try {
      for (const [i, s] of subs.entries()) {
        let url: string;
        let subBody: unknown;
        try {
          url = resolveString(s.url, results, true) as string;
          subBody = resolve(s.body, results);
        } catch (e) {
          if (!(e instanceof UnresolvedReference)) throw e;
          out.push({ body: halted(e.message), httpHeaders: {}, httpStatusCode: 400, referenceId: s.referenceId });
          if (allOrNone) {
            failedAt = i;
            break;
          }
          continue;
        }
        const r = await dispatch(app, req, s.method, url, subBody, s.headers, { countsUsage: false, ...(tx ? { tx } : {}) });
        out.push({ body: r.body, httpHeaders: r.location ? { Location: r.location } : {}, httpStatusCode: r.status, referenceId: s.referenceId });
        if (allOrNone && failed(r)) {
          failedAt = i;
          break;
        }
        if (r.status < 400) results.set(s.referenceId, r.body);
      }
    } finally {
      if (tx) deps.closeTransaction(tx, req, failedAt < 0);
    }
    if (failedAt >= 0) {
      // One failed: everything else was rolled back (or never ran) and says so.
      for (const [i, s] of subs.entries()) {
        if (i === failedAt) continue;
        const entry = { body: halted(ROLLED_BACK), httpHeaders: {}, httpStatusCode: 400, referenceId: s.referenceId };
        if (i < out.length) out[i] = entry;
        else out.push(entry);
      }
    }
    return { compositeResponse: out };
  });

  app.post('/services/data/:v/composite/batch', async (req) => {
    const v = deps.versionOf(req);
    const body = (req.body ?? {}) as { haltOnError?: unknown; batchRequests?: unknown };
    const list = body.batchRequests;
    if (!Array.isArray(list) || list.length === 0) throw badRequest('batchRequests: a list of subrequests is required', 'JSON_PARSER_ERROR');
    if (list.length > MAX_SUBREQUESTS) throw badRequest(`Limit Exceeded: a batch request can have at most ${MAX_SUBREQUESTS} subrequests (it has ${list.length})`, 'LIMIT_EXCEEDED');
    const subs = list.map((raw, i) => {
      const s = (raw ?? {}) as { method?: unknown; url?: unknown; richInput?: unknown };
      if (typeof s.method !== 'string' || !METHODS.has(s.method.toUpperCase())) throw badRequest(`batchRequests[${i}].method: one of GET, POST, PATCH, PUT, DELETE is required`, 'JSON_PARSER_ERROR');
      if (typeof s.url !== 'string') throw badRequest(`batchRequests[${i}].url is required`, 'JSON_PARSER_ERROR');
      // Relative to /services/data ("v62.0/sobjects/…"); the full path is taken too.
      const url = s.url.startsWith('/services/data/') ? s.url : `/services/data/${s.url.replace(/^\//, '')}`;
      const res = resourceOf(url);
      if (!res) throw badRequest(`batchRequests[${i}].url must start with vXX.X/: ${s.url}`, 'JSON_PARSER_ERROR');
      // The version of each subrequest: from 34.0 up to the batch's own.
      if (apiVersionOf(res.version) < 34 || apiVersionOf(res.version) > apiVersionOf(v)) throw badRequest(`batchRequests[${i}].url: version ${res.version.slice(1)} is not between 34.0 and the batch's ${v.slice(1)}`, 'INVALID_VERSION');
      if (res.path.startsWith('/composite')) throw badRequest(`batchRequests[${i}].url: composite resources cannot be batched: ${s.url}`);
      return { method: s.method.toUpperCase(), url, body: s.richInput };
    });
    const halt = body.haltOnError === true;
    const results: Array<{ statusCode: number; result: unknown }> = [];
    let halted412 = false;
    for (const s of subs) {
      if (halted412) {
        results.push({ statusCode: 412, result: [{ errorCode: 'BATCH_PROCESSING_HALTED', message: 'Batch processing halted per request' }] });
        continue;
      }
      const r = await dispatch(app, req, s.method, s.url, s.body, {}, { countsUsage: true });
      results.push({ statusCode: r.status, result: r.body });
      if (r.status >= 400 && halt) halted412 = true;
    }
    return { hasErrors: results.some((r) => r.statusCode >= 400), results };
  });
}
