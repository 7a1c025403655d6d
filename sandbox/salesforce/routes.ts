import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTrueParam, subrequestOf } from '../http.js';
import { registerBulk2 } from './bulk2.js';
import { registerComposite } from './composite.js';
import { ApiError, RecordFailure, type RecordError } from './errors.js';
import { MultipleMatches, Undo, type SalesforceData, type SaveResult, type WriteContext } from './data.js';
import { orgLimits } from './limits.js';
import { parseSearchExpression, parseSosl, runSearch } from './sosl.js';
import { saveTree } from './tree.js';
import { describeGlobalEntry, describeObject, MASTER_RECORD_TYPE_ID, SchemaError, type CustomFieldMetadata } from './schema.js';
import { describeLayout, describeLayouts } from './layouts.js';
import { normalizeId } from './ids.js';
import { compileQuery, formatDatetime, outputValue, recordUrl, type CompiledQuery } from './soql.js';
import type { Rec } from './store.js';

/**
 * The REST API under /services/data/vXX.X: versions, limits, describe, SOQL with query locators,
 * sObject CRUD, upsert by external id, sObject Collections, getUpdated/getDeleted and the Tooling API
 * endpoints the connector uses to create custom fields.
 */

export interface RouteDeps {
  data: SalesforceData;
  now(): number;
  /** The user of the request's session (set by the auth hook). */
  userOf(req: FastifyRequest): string;
  lockRow(): boolean;
  /** Fault `commitLagMs`: how long a write transaction stays open after taking its timestamp. */
  commitLagMs?(): number;
  /** The identity URL (`{loginUrl}/id/{orgId}/{userId}`) of the request's session. */
  identityUrl(req: FastifyRequest): string;
  /**
   * Change Data Capture: called once a write transaction has committed, with the changes it made
   * (none when it was rolled back), in commit order.
   */
  committed?(ctx: WriteContext, req: FastifyRequest): void;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_COLLECTION = 200;
const CURSOR_TTL_MS = 15 * 60 * 1000;
const MAX_CURSORS = 200;

export const API_VERSIONS = Array.from({ length: 66 - 20 + 1 }, (_, i) => `${20 + i}.0`);

export function sendError(reply: FastifyReply, e: ApiError): FastifyReply {
  return reply.code(e.status).header('content-type', JSON_TYPE).send(e.body());
}

interface Cursor {
  query: CompiledQuery;
  rows: Rec[];
  touched: number;
}

function batchSizeOf(req: FastifyRequest): number {
  const h = String(req.headers['sforce-query-options'] ?? '');
  const m = /batchSize\s*=\s*(\d+)/i.exec(h);
  if (!m) return 2000;
  return Math.min(2000, Math.max(200, Number(m[1])));
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { data } = deps;
  const cursors = new Map<string, Cursor>();

  /**
   * Open a write transaction: it takes its timestamp (SystemModstamp of all its records) now, and —
   * with the `commitLagMs` fault — commits that much later, as a long-running transaction does: its
   * records then appear with a SystemModstamp older than records other calls committed meanwhile
   * (what a change feed that reads "up to now" loses). Open transactions hold getUpdated's
   * latestDateCovered back, as Salesforce's does. The write itself runs synchronously right after.
   */
  const open = new Map<number, number>();
  /** Composite requests with allOrNone: one transaction their subrequests join (by the subrequest marker's `tx`). */
  const shared = new Map<string, WriteContext>();
  const sharedOf = (req: FastifyRequest) => {
    const tx = subrequestOf(req)?.tx;
    return tx ? shared.get(tx) : undefined;
  };
  const begin = async (req: FastifyRequest): Promise<WriteContext> => {
    const joined = sharedOf(req);
    if (joined) return joined;
    const ctx: WriteContext = { now: deps.now(), userId: deps.userOf(req), lockRow: deps.lockRow, ...(deps.committed ? { changes: [] } : {}) };
    const lag = deps.commitLagMs?.() ?? 0;
    if (lag > 0) {
      open.set(ctx.now, (open.get(ctx.now) ?? 0) + 1);
      try {
        await new Promise((r) => setTimeout(r, lag));
      } finally {
        const n = (open.get(ctx.now) ?? 1) - 1;
        if (n > 0) open.set(ctx.now, n);
        else open.delete(ctx.now);
      }
    }
    return ctx;
  };
  /** The transaction commits: its changes go to Change Data Capture (after the write, before the response). */
  const commit = <T>(ctx: WriteContext, req: FastifyRequest, result: T): T => {
    if ([...shared.values()].includes(ctx)) return result; // the enclosing Composite request commits it
    if (ctx.changes?.length) deps.committed?.(ctx, req);
    return result;
  };
  /** A nested write (Collection, Tree) that rolled back: its own changes go, the enclosing transaction's stay. */
  const rollbackNested = (ctx: WriteContext, undo: Undo, mark: number) => {
    undo.rollback();
    ctx.changes?.splice(mark);
  };
  const coveredUntil = () => Math.min(deps.now(), ...open.keys());
  const versionOf = (req: FastifyRequest): string => {
    const v = (req.params as { v: string }).v;
    if (!/^v\d{2}\.0$/.test(v) || !API_VERSIONS.includes(v.slice(1))) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return v;
  };
  const objectOf = (name: string) => {
    const o = data.object(name);
    if (!o) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return o;
  };
  const formatRecord = (rec: Rec, version: string, fields?: string[]): Record<string, unknown> => {
    const o = [...data.objects.values()].find((x) => rec.Id.startsWith(x.keyPrefix))!;
    const out: Record<string, unknown> = { attributes: { type: o.name, url: recordUrl(version, o.name, rec.Id) } };
    const names = fields ?? o.order;
    for (const n of names) {
      const f = o.fields.get(n.toLowerCase());
      if (!f) throw new ApiError(400, 'INVALID_FIELD', `No such column '${n}' on entity '${o.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);
      out[f.name] = outputValue(f, rec[f.name]);
    }
    return out;
  };
  const toFailure = (e: unknown): RecordError[] => {
    if (e instanceof RecordFailure) return e.errors;
    if (e instanceof MultipleMatches) return [{ statusCode: 'DUPLICATE_EXTERNAL_ID', message: e.message, fields: [] }];
    if (e instanceof ApiError) return [{ statusCode: e.errorCode, message: e.message, fields: e.fields ?? [] }];
    throw e;
  };
  /** Single-record endpoints answer record failures as a top-level 400. */
  const single = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof RecordFailure) {
        const first = e.errors[0];
        const err = new ApiError(400, first.statusCode, first.message, first.fields);
        if (e.errors.length > 1) throw Object.assign(err, { body: () => e.errors.map((x) => ({ message: x.message, errorCode: x.statusCode, fields: x.fields })) });
        throw err;
      }
      throw e;
    }
  };

  // ---------- errors ----------
  app.setErrorHandler((err: any, _req, reply) => {
    if (err instanceof ApiError) return sendError(reply, err);
    if (err instanceof SchemaError) return sendError(reply, new ApiError(400, err.errorCode, err.message));
    if (err?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError) {
      return sendError(reply, new ApiError(400, 'JSON_PARSER_ERROR', `Unexpected character: ${String(err.message)} at [line:1, column:1]`));
    }
    if (err?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, new ApiError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Request entity too large'));
    if (err?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content type not supported'));
    reply.log.error(err);
    return sendError(reply, new ApiError(500, 'UNKNOWN_EXCEPTION', `An unexpected error occurred. Please include this ErrorId if you contact support: ${crypto.randomInt(1e9)}-${crypto.randomInt(1e5)} (${String(err?.message ?? err)})`));
  });

  // ---------- discovery ----------
  app.get('/services/data', async () => API_VERSIONS.map((v) => ({ label: `API ${v}`, url: `/services/data/v${v}`, version: v })));
  app.get('/services/data/:v', async (req) => {
    const v = versionOf(req);
    const b = `/services/data/${v}`;
    return { tooling: `${b}/tooling`, query: `${b}/query`, queryAll: `${b}/queryAll`, sobjects: `${b}/sobjects`, limits: `${b}/limits`, composite: `${b}/composite`, identity: deps.identityUrl(req) };
  });
  app.get('/services/data/:v/limits', async (req) => {
    versionOf(req);
    const usage = (req as any).sandboxUsage as { used: number; limit: number } | undefined;
    let records = 0;
    for (const t of data.tables.values()) records += t.byId.size;
    return orgLimits({ apiMax: usage?.limit ?? 0, apiUsed: usage?.used ?? 0, records });
  });

  // ---------- describe ----------
  app.get('/services/data/:v/sobjects', async (req) => {
    const v = versionOf(req);
    return { encoding: 'UTF-8', maxBatchSize: 200, sobjects: [...data.objects.values()].map((o) => describeGlobalEntry(o, v)) };
  });
  app.get('/services/data/:v/sobjects/:type', async (req) => {
    const v = versionOf(req);
    const o = objectOf((req.params as { type: string }).type);
    return { objectDescribe: describeGlobalEntry(o, v), recentItems: [] };
  });
  app.get('/services/data/:v/sobjects/:type/describe', async (req) => {
    const v = versionOf(req);
    const o = objectOf((req.params as { type: string }).type);
    return describeObject(o, v, data.objects.values());
  });

  app.get('/services/data/:v/sobjects/:type/describe/layouts', async (req) => {
    const v = versionOf(req);
    const o = objectOf((req.params as { type: string }).type);
    return describeLayouts(o, [...data.objects.values()], v);
  });
  app.get('/services/data/:v/sobjects/:type/describe/layouts/:recordTypeId', async (req) => {
    const v = versionOf(req);
    const { type, recordTypeId } = req.params as { type: string; recordTypeId: string };
    const o = objectOf(type);
    if (normalizeId(recordTypeId) !== MASTER_RECORD_TYPE_ID) throw new ApiError(404, 'NOT_FOUND', `The requested resource does not exist: record type ${recordTypeId}`);
    return describeLayout(o, [...data.objects.values()], v);
  });

  // ---------- replication ----------
  app.get('/services/data/:v/sobjects/:type/updated', async (req) => {
    versionOf(req);
    const o = objectOf((req.params as { type: string }).type);
    const q = req.query as Record<string, string>;
    const r = data.updated(o.name, q.start, q.end, coveredUntil());
    return { ids: r.ids, latestDateCovered: formatDatetime(r.latestDateCovered) };
  });
  app.get('/services/data/:v/sobjects/:type/deleted', async (req) => {
    versionOf(req);
    const o = objectOf((req.params as { type: string }).type);
    const q = req.query as Record<string, string>;
    const r = data.deleted(o.name, q.start, q.end, deps.now());
    return {
      deletedRecords: r.deletedRecords.map((d) => ({ id: d.id, deletedDate: formatDatetime(d.deletedDate) })),
      earliestDateAvailable: formatDatetime(r.earliestDateAvailable),
      latestDateCovered: formatDatetime(r.latestDateCovered),
    };
  });

  // ---------- single records ----------
  app.post('/services/data/:v/sobjects/:type', async (req, reply) => {
    versionOf(req);
    const o = objectOf((req.params as { type: string }).type);
    const ctx = await begin(req);
    const rec = commit(ctx, req, single(() => data.create(o.name, (req.body ?? {}) as Record<string, unknown>, ctx)));
    return reply.code(201).header('location', recordUrl(versionOf(req), o.name, rec.Id)).send({ id: rec.Id, success: true, errors: [] });
  });
  app.get('/services/data/:v/sobjects/:type/:id', async (req) => {
    const v = versionOf(req);
    const { type, id } = req.params as { type: string; id: string };
    const o = objectOf(type);
    const rec = data.get(o.name, id);
    if (!rec.Id.startsWith(o.keyPrefix)) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const fields = (req.query as Record<string, string>).fields?.split(',').map((s) => s.trim()).filter(Boolean);
    return formatRecord(rec, v, fields);
  });
  app.patch('/services/data/:v/sobjects/:type/:id', async (req, reply) => {
    versionOf(req);
    const { type, id } = req.params as { type: string; id: string };
    const o = objectOf(type);
    data.get(o.name, id); // 404 NOT_FOUND / ENTITY_IS_DELETED before validation, as the real API
    const ctx = await begin(req);
    commit(ctx, req, single(() => data.update(o.name, id, (req.body ?? {}) as Record<string, unknown>, ctx)));
    return reply.code(204).send();
  });
  app.delete('/services/data/:v/sobjects/:type/:id', async (req, reply) => {
    versionOf(req);
    const { type, id } = req.params as { type: string; id: string };
    const o = objectOf(type);
    data.get(o.name, id);
    const ctx = await begin(req);
    commit(ctx, req, single(() => data.delete(o.name, id, ctx)));
    return reply.code(204).send();
  });

  // ---------- upsert / read by external id ----------
  app.patch('/services/data/:v/sobjects/:type/:field/:value', async (req, reply) => {
    const v = versionOf(req);
    const { type, field, value } = req.params as { type: string; field: string; value: string };
    const o = objectOf(type);
    const ctx = await begin(req);
    try {
      const r = commit(ctx, req, single(() => data.upsert(o.name, field, value, (req.body ?? {}) as Record<string, unknown>, ctx)));
      return reply.code(r.created ? 201 : 200).send({ id: r.rec.Id, success: true, errors: [], created: r.created });
    } catch (e) {
      if (e instanceof MultipleMatches) return reply.code(300).header('content-type', JSON_TYPE).send(e.ids.map((id) => recordUrl(v, o.name, id)));
      throw e;
    }
  });
  app.get('/services/data/:v/sobjects/:type/:field/:value', async (req, reply) => {
    const v = versionOf(req);
    const { type, field, value } = req.params as { type: string; field: string; value: string };
    const o = objectOf(type);
    const f = o.fields.get(field.toLowerCase());
    if (!f || !(f.externalId || f.idLookup)) throw new ApiError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${field}`);
    const ids = data.table(o.name).lookup(f, value);
    if (ids.length === 0) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    if (ids.length > 1) return reply.code(300).header('content-type', JSON_TYPE).send(ids.map((id) => recordUrl(v, o.name, id)));
    return formatRecord(data.get(o.name, ids[0]), v);
  });

  // ---------- SOQL ----------
  const firstPage = (req: FastifyRequest, includeDeleted: boolean) => {
    const v = versionOf(req);
    const soql = (req.query as Record<string, string>).q;
    if (!soql) throw new ApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    const q = compileQuery(data.queryContext(deps.now), soql, { includeDeleted });
    if (isTrueParam((req.query as Record<string, unknown>).columns)) return q.columns();
    if (q.countOnly) return { totalSize: q.rows.length, done: true, records: [] };
    if (q.aggregate) return { totalSize: 1, done: true, records: [{ attributes: { type: 'AggregateResult' }, [q.aggregate.alias]: q.aggregate.value }] };
    return page(v, q, q.rows, 0, batchSizeOf(req), undefined, includeDeleted);
  };
  const page = (v: string, q: CompiledQuery, rows: Rec[], offset: number, batch: number, locator: string | undefined, includeDeleted: boolean) => {
    const end = Math.min(rows.length, offset + batch);
    const records = rows.slice(offset, end).map((r) => q.project(r, v));
    const done = end >= rows.length;
    let nextRecordsUrl: string | undefined;
    if (!done) {
      let id = locator;
      if (!id) {
        id = `01g${crypto.randomBytes(6).toString('hex').slice(0, 12)}`;
        cursors.set(id, { query: q, rows, touched: Date.now() });
        evictCursors();
      }
      nextRecordsUrl = `/services/data/${v}/${includeDeleted ? 'queryAll' : 'query'}/${id}-${end}`;
    }
    return { totalSize: rows.length, done, ...(nextRecordsUrl ? { nextRecordsUrl } : {}), records };
  };
  const evictCursors = () => {
    const now = Date.now();
    for (const [k, c] of cursors) if (now - c.touched > CURSOR_TTL_MS) cursors.delete(k);
    while (cursors.size > MAX_CURSORS) cursors.delete(cursors.keys().next().value!);
  };
  const more = (req: FastifyRequest, includeDeleted: boolean) => {
    const v = versionOf(req);
    const loc = (req.params as { locator: string }).locator;
    const m = /^(01g[0-9a-zA-Z]+)-(\d+)$/.exec(loc);
    const c = m ? cursors.get(m[1]) : undefined;
    if (!m || !c) throw new ApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    c.touched = Date.now();
    return page(v, c.query, c.rows, Number(m[2]), batchSizeOf(req), m[1], includeDeleted);
  };
  app.get('/services/data/:v/query', async (req) => firstPage(req, false));
  app.get('/services/data/:v/queryAll', async (req) => firstPage(req, true));
  app.get('/services/data/:v/query/:locator', async (req) => more(req, false));
  app.get('/services/data/:v/queryAll/:locator', async (req) => more(req, true));

  // ---------- SOSL ----------
  const searchCtx = data.queryContext(deps.now);
  app.get('/services/data/:v/search', async (req) => {
    const v = versionOf(req);
    const q = (req.query as Record<string, unknown>).q;
    if (typeof q !== 'string' || !q.trim()) throw new ApiError(400, 'MALFORMED_SEARCH', 'A search string has to be specified (q=FIND {…})');
    return runSearch(searchCtx, parseSosl(q), v);
  });
  /** `/parameterizedSearch`: the search as parameters (GET) or JSON (POST); `q` is the expression alone. */
  const parameterized = (v: string, p: { q?: unknown; in?: unknown; sobjects?: Array<{ name?: string; fields?: string[]; limit?: number }>; fields?: string[]; overallLimit?: unknown; defaultLimit?: unknown }) => {
    if (typeof p.q !== 'string' || !p.q.trim()) throw new ApiError(400, 'MISSING_ARGUMENT', 'q: a search string is required');
    const scope = String(p.in ?? 'ALL').toUpperCase();
    if (!['ALL', 'NAME', 'EMAIL', 'PHONE', 'SIDEBAR'].includes(scope)) throw new ApiError(400, 'INVALID_SEARCH', `in: Invalid IN fields group: ${String(p.in)}`);
    const defaultLimit = p.defaultLimit === undefined ? undefined : Number(p.defaultLimit);
    const returning = p.sobjects?.map((o) => {
      const fields = o.fields ?? p.fields;
      const limit = o.limit ?? defaultLimit;
      return { object: String(o.name ?? ''), ...(fields?.length ? { fields: fields.join(', ') } : {}), ...(limit !== undefined ? { limit: Number(limit) } : {}) };
    });
    const limit = Math.min(2000, p.overallLimit === undefined ? 2000 : Number(p.overallLimit));
    return runSearch(searchCtx, { expr: parseSearchExpression(p.q), scope: scope as 'ALL', limit, ...(returning ? { returning } : {}) }, v);
  };
  app.get('/services/data/:v/parameterizedSearch', async (req) => {
    const v = versionOf(req);
    const q = req.query as Record<string, string>;
    const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
    const sobjects = list(q.sobject)?.map((name) => ({ name, fields: list(q[`${name}.fields`]), ...(q[`${name}.limit`] ? { limit: Number(q[`${name}.limit`]) } : {}) }));
    return parameterized(v, { q: q.q, in: q.in, fields: list(q.fields), overallLimit: q.overallLimit, defaultLimit: q.defaultLimit, ...(sobjects ? { sobjects } : {}) });
  });
  app.post('/services/data/:v/parameterizedSearch', async (req) => parameterized(versionOf(req), (req.body ?? {}) as Parameters<typeof parameterized>[1]));

  // ---------- sObject Collections ----------
  const collectionBody = (req: FastifyRequest) => {
    const body = (req.body ?? {}) as { allOrNone?: boolean; records?: Array<Record<string, unknown>> };
    if (!Array.isArray(body.records)) throw new ApiError(400, 'JSON_PARSER_ERROR', 'records: an array of records is required');
    if (body.records.length > MAX_COLLECTION) throw new ApiError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
    return { allOrNone: body.allOrNone === true, records: body.records };
  };
  /** Run each record's write; with allOrNone, one failure rolls every write of the call back. */
  const runCollection = <T>(ctx: WriteContext, req: FastifyRequest, items: T[], allOrNone: boolean, write: (item: T, undo: Undo) => SaveResult): SaveResult[] => {
    const undo = new Undo();
    const mark = ctx.changes?.length ?? 0;
    // Inside a Composite request with allOrNone, that flag overrides the Collection's own.
    if (ctx.undo) allOrNone = true;
    const results: SaveResult[] = items.map((item) => {
      try {
        return write(item, undo);
      } catch (e) {
        return { id: null, success: false, errors: toFailure(e) };
      }
    });
    if (allOrNone && results.some((r) => !r.success)) {
      rollbackNested(ctx, undo, mark);
      return results.map((r) => (r.success
        ? { id: null, success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'Record rolled back because not all records were valid and the request was using AllOrNone header', fields: [] }] }
        : r));
    }
    ctx.undo?.adopt(undo);
    return commit(ctx, req, results);
  };
  const typeOfRecord = (r: Record<string, unknown>) => {
    const t = (r.attributes as { type?: string } | undefined)?.type;
    if (!t) throw new RecordFailure([{ statusCode: 'INVALID_TYPE', message: 'Must send a concrete entity type.', fields: [] }]);
    return t;
  };

  app.post('/services/data/:v/composite/sobjects', async (req) => {
    versionOf(req);
    const { allOrNone, records } = collectionBody(req);
    const ctx = await begin(req);
    return runCollection(ctx, req, records, allOrNone, (r, undo) => {
      const rec = data.create(typeOfRecord(r), r, ctx, undo);
      return { id: rec.Id, success: true, errors: [] };
    });
  });
  app.patch('/services/data/:v/composite/sobjects', async (req) => {
    versionOf(req);
    const { allOrNone, records } = collectionBody(req);
    const ctx = await begin(req);
    return runCollection(ctx, req, records, allOrNone, (r, undo) => {
      const id = String(r.id ?? r.Id ?? '');
      if (!id) throw RecordFailure.of('MISSING_ARGUMENT', 'Id not specified in an update call', []);
      const { id: _id, ...rest } = r;
      const rec = data.update(typeOfRecord(r), id, rest, ctx, undo);
      return { id: rec.Id, success: true, errors: [] };
    });
  });
  app.delete('/services/data/:v/composite/sobjects', async (req) => {
    versionOf(req);
    const q = req.query as Record<string, string>;
    const ids = (q.ids ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (ids.length === 0) throw new ApiError(400, 'MISSING_ARGUMENT', 'ids: at least one id is required');
    if (ids.length > MAX_COLLECTION) throw new ApiError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
    const ctx = await begin(req);
    return runCollection(ctx, req, ids, isTrueParam(q.allOrNone), (id, undo) => {
      const rec = data.delete('', id, ctx, undo);
      return { id: rec.Id, success: true, errors: [] };
    });
  });
  app.patch('/services/data/:v/composite/sobjects/:type/:field', async (req) => {
    versionOf(req);
    const { type, field } = req.params as { type: string; field: string };
    const o = objectOf(type);
    const f = o.fields.get(field.toLowerCase());
    if (!f) throw new ApiError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${field}`);
    const { allOrNone, records } = collectionBody(req);
    const ctx = await begin(req);
    // The same external id twice in one call fails both records (DUPLICATE_VALUE "Duplicate external id specified"), as the real DML does.
    const keyOf = (r: Record<string, unknown>) => {
      const e = Object.entries(r).find(([k]) => k.toLowerCase() === f.name.toLowerCase());
      return e ? String(e[1]).toLowerCase() : undefined;
    };
    const counts = new Map<string, number>();
    for (const r of records) {
      const k = keyOf(r);
      if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return runCollection(ctx, req, records, allOrNone, (r, undo) => {
      const t = typeOfRecord(r);
      if (t.toLowerCase() !== o.name.toLowerCase()) throw RecordFailure.of('INVALID_TYPE', `The sObject type ${t} does not match the URL type ${o.name}`, []);
      const k = keyOf(r);
      if (k === undefined) throw RecordFailure.of('MISSING_ARGUMENT', `${f.name} not specified`, [f.name]);
      if ((counts.get(k) ?? 0) > 1) throw RecordFailure.of('DUPLICATE_VALUE', `Duplicate external id specified: ${String(r[f.name] ?? k)}`, [f.name]);
      const value = Object.entries(r).find(([kk]) => kk.toLowerCase() === f.name.toLowerCase())![1];
      const { rec, created } = data.upsert(o.name, f.name, value, r, ctx, undo);
      return { id: rec.Id, success: true, errors: [], created };
    });
  });
  app.post('/services/data/:v/composite/sobjects/:type', async (req) => {
    const v = versionOf(req);
    const o = objectOf((req.params as { type: string }).type);
    const body = (req.body ?? {}) as { ids?: string[]; fields?: string[] };
    if (!Array.isArray(body.ids) || !Array.isArray(body.fields)) throw new ApiError(400, 'JSON_PARSER_ERROR', 'ids and fields are required');
    if (body.ids.length > 2000) throw new ApiError(400, 'EXCEEDED_ID_LIMIT', 'cannot retrieve more than 2000 records');
    return body.ids.map((id) => {
      try {
        const rec = data.get(o.name, id);
        return formatRecord(rec, v, body.fields);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    });
  });

  // ---------- sObject Tree ----------
  app.post('/services/data/:v/composite/tree/:type', async (req, reply) => {
    versionOf(req);
    const o = objectOf((req.params as { type: string }).type);
    const ctx = await begin(req);
    const undo = new Undo();
    const mark = ctx.changes?.length ?? 0;
    const result = saveTree(data, o, req.body, ctx, undo);
    if (result.hasErrors) {
      // All or nothing: the records that were created go again.
      rollbackNested(ctx, undo, mark);
      return reply.code(400).header('content-type', JSON_TYPE).send(result);
    }
    ctx.undo?.adopt(undo);
    return reply.code(201).header('content-type', JSON_TYPE).send(commit(ctx, req, result));
  });

  // ---------- Tooling API (custom fields / objects) ----------
  app.post('/services/data/:v/tooling/sobjects/CustomField', async (req, reply) => {
    versionOf(req);
    const body = (req.body ?? {}) as { FullName?: string; Metadata?: CustomFieldMetadata };
    const [objectName, fieldName] = String(body.FullName ?? '').split('.');
    if (!objectName || !fieldName || !body.Metadata) throw new ApiError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [FullName, Metadata]', ['FullName', 'Metadata']);
    const { id } = data.createCustomField(objectName, fieldName, body.Metadata);
    return reply.code(201).send({ id, success: true, errors: [], warnings: [], infos: [] });
  });
  app.post('/services/data/:v/tooling/sobjects/CustomObject', async (req, reply) => {
    versionOf(req);
    const body = (req.body ?? {}) as { FullName?: string; Metadata?: { label?: string; pluralLabel?: string } };
    if (!body.FullName) throw new ApiError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [FullName]', ['FullName']);
    const { id } = data.createCustomObject(body.FullName, body.Metadata?.label, body.Metadata?.pluralLabel);
    return reply.code(201).send({ id, success: true, errors: [], warnings: [], infos: [] });
  });
  app.get('/services/data/:v/tooling/query', async (req) => {
    versionOf(req);
    // Enough of the Tooling API's CustomField table for "does this field exist yet?" checks.
    const soql = String((req.query as Record<string, string>).q ?? '');
    const m = /from\s+customfield\b(?:.*?tableenumorid\s*=\s*'([^']+)')?(?:.*?developername\s*=\s*'([^']+)')?/i.exec(soql);
    if (!m) throw new ApiError(400, 'MALFORMED_QUERY', 'The sandbox Tooling API only answers queries on CustomField');
    const records = data.customizations
      .filter((c): c is Extract<typeof c, { kind: 'field' }> => c.kind === 'field')
      .filter((c) => !m[1] || c.object.toLowerCase() === m[1].toLowerCase())
      .filter((c) => !m[2] || c.name.replace(/__c$/, '').toLowerCase() === m[2].toLowerCase())
      .map((c) => ({ attributes: { type: 'CustomField', url: `/services/data/v62.0/tooling/sobjects/CustomField/${c.id}` }, Id: c.id, DeveloperName: c.name.replace(/__c$/, ''), TableEnumOrId: c.object, FullName: `${c.object}.${c.name}` }));
    return { size: records.length, totalSize: records.length, done: true, queryLocator: null, entityTypeName: 'CustomField', records };
  });

  // ---------- Bulk API 2.0 ----------
  registerBulk2(app, { data, versionOf, userOf: deps.userOf, begin, commit, toFailure, now: deps.now });

  // ---------- Composite and Composite Batch ----------
  registerComposite(app, {
    versionOf,
    async openTransaction(req) {
      const ctx = await begin(req);
      const id = crypto.randomBytes(8).toString('hex');
      ctx.undo = new Undo();
      shared.set(id, ctx);
      return id;
    },
    closeTransaction(id, req, ok) {
      const ctx = shared.get(id)!;
      shared.delete(id);
      if (!ok) {
        ctx.undo!.rollback();
        ctx.changes?.splice(0);
      }
      if (ctx.changes?.length) deps.committed?.(ctx, req);
    },
  });

  app.setNotFoundHandler((_req, reply) => sendError(reply, new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist')));
}
