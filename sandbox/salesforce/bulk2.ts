import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SalesforceData, SaveResult, WriteContext } from './data.js';
import { ApiError, RecordFailure, type RecordError } from './errors.js';
import { compileQuery, formatDatetime } from './soql.js';
import type { Rec } from './store.js';

/**
 * Bulk API 2.0 (`/jobs/ingest`, `/jobs/query`), as jsforce's `conn.bulk2` and simple-salesforce's
 * `sf.bulk2` drive it.
 *
 * Ingest: create a job (Open) → `PUT …/batches` CSV → `PATCH {state: UploadComplete}` → the org processes
 * it in the background (InProgress → JobComplete), 200 records a transaction (one timestamp, one
 * CDC commit each), with the same write rules as the REST API; `successfulResults` (`sf__Id`,
 * `sf__Created` + the columns), `failedResults` (`sf__Id`, `sf__Error` `CODE:message:fields --`),
 * `unprocessedrecords` (what an abort left). An empty cell leaves a field alone, `#N/A` sets it null. A
 * header naming no field of the object fails the whole job (state Failed, `errorMessage`). Abort stops
 * after the transaction in progress.
 *
 * Query: create a job with SOQL (run by the SOQL engine when it is processed: a snapshot) → JobComplete →
 * `GET …/results?maxRecords=&locator=` pages of CSV with `Sforce-NumberOfRecords` and `Sforce-Locator`
 * (`null` on the last page); relationship fields as dotted columns, datetimes in UTC with `Z`.
 */

export interface BulkDeps {
  data: SalesforceData;
  versionOf(req: FastifyRequest): string;
  userOf(req: FastifyRequest): string;
  begin(req: FastifyRequest): Promise<WriteContext>;
  commit<T>(ctx: WriteContext, req: FastifyRequest, result: T): T;
  toFailure(e: unknown): RecordError[];
  now(): number;
}

const CHUNK = 200;
const DELIMITERS: Record<string, string> = { COMMA: ',', TAB: '\t', SEMICOLON: ';', PIPE: '|', CARET: '^', BACKQUOTE: '`' };
const OPERATIONS = new Set(['insert', 'update', 'upsert', 'delete', 'hardDelete']);
const MAX_RESULT_PAGE = 50_000;

type IngestState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

interface Job {
  kind: 'ingest' | 'query';
  id: string;
  operation: string;
  object: string;
  createdById: string;
  createdDate: number;
  systemModstamp: number;
  state: IngestState;
  externalIdFieldName?: string;
  columnDelimiter: string;
  lineEnding: 'LF' | 'CRLF';
  apiVersion: number;
  errorMessage?: string;
  processed: number;
  failed: number;
  started?: number;
  finished?: number;
  // ingest
  csv: string[];
  header?: string[];
  successes: string[][];
  failures: string[][];
  unprocessed: string[][];
  abort?: boolean;
  // query
  query?: string;
  columns?: string[];
  rows?: string[][];
}

const invalidJob = (message: string) => new ApiError(400, 'INVALIDJOB', message);
const notFound = () => new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');

function csvText(job: Job, header: string[], rows: string[][]): string {
  return stringify([header, ...rows], { delimiter: DELIMITERS[job.columnDelimiter], record_delimiter: job.lineEnding === 'CRLF' ? '\r\n' : '\n', quoted: true, quoted_empty: false });
}

/** A query result value as Bulk API 2.0 writes it: empty for null, datetimes in UTC with Z. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/.test(s) ? s.replace('+0000', 'Z') : s;
}

/** Flatten a projected SOQL row (nested relationship objects) into dotted columns, in select order. */
function flatten(row: Record<string, unknown>, prefix = '', out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  for (const [k, v] of Object.entries(row)) {
    if (k === 'attributes') continue;
    if (v && typeof v === 'object' && !Array.isArray(v) && 'attributes' in (v as object)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out.push([`${prefix}${k}`, v]);
  }
  return out;
}

/** The dotted column names of a query column (a relationship's join columns under its name). */
function columnNames(c: { columnName: string; joinColumns: Array<{ columnName: string; joinColumns: unknown[] }> }): string[] {
  return c.joinColumns.length ? c.joinColumns.flatMap((j) => columnNames(j as typeof c).map((n) => `${c.columnName}.${n}`)) : [c.columnName];
}

export function registerBulk2(app: FastifyInstance, deps: BulkDeps): void {
  const { data } = deps;
  const jobs = new Map<string, Job>();

  const info = (job: Job) => ({
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: formatDatetime(job.createdDate),
    systemModstamp: formatDatetime(job.systemModstamp),
    state: job.state,
    ...(job.kind === 'ingest' ? { externalIdFieldName: job.externalIdFieldName ?? null } : {}),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    ...(job.kind === 'ingest' ? { contentUrl: `services/data/v${job.apiVersion.toFixed(1)}/jobs/ingest/${job.id}/batches` } : {}),
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
  });
  const fullInfo = (job: Job) => ({
    ...info(job),
    ...(job.kind === 'ingest' ? { jobType: 'V2Ingest', numberRecordsProcessed: job.processed, numberRecordsFailed: job.failed } : { jobType: 'V2Query', numberRecordsProcessed: job.processed }),
    retries: 0,
    totalProcessingTime: job.finished && job.started ? job.finished - job.started : 0,
    apiActiveProcessingTime: job.finished && job.started ? job.finished - job.started : 0,
    apexProcessingTime: 0,
    ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
  });
  const jobOf = (req: FastifyRequest, kind: Job['kind']) => {
    const job = jobs.get((req.params as { id: string }).id);
    if (!job || job.kind !== kind) throw notFound();
    return job;
  };
  const formatOf = (body: { columnDelimiter?: unknown; lineEnding?: unknown; contentType?: unknown }) => {
    const columnDelimiter = String(body.columnDelimiter ?? 'COMMA');
    if (!DELIMITERS[columnDelimiter]) throw invalidJob(`InvalidJob : Invalid column delimiter: ${columnDelimiter}`);
    const lineEnding = String(body.lineEnding ?? 'LF');
    if (lineEnding !== 'LF' && lineEnding !== 'CRLF') throw invalidJob(`InvalidJob : Invalid line ending: ${lineEnding}`);
    if (body.contentType !== undefined && body.contentType !== 'CSV') throw invalidJob(`InvalidJob : Invalid content type: ${String(body.contentType)}`);
    return { columnDelimiter, lineEnding: lineEnding as 'LF' | 'CRLF' };
  };
  const newJob = (req: FastifyRequest, kind: Job['kind'], operation: string, object: string, format: ReturnType<typeof formatOf>): Job => {
    const now = deps.now();
    return {
      kind, id: data.ids.next('750'), operation, object, createdById: deps.userOf(req), createdDate: now, systemModstamp: now,
      state: kind === 'ingest' ? 'Open' : 'UploadComplete', apiVersion: Number(deps.versionOf(req).slice(1)), processed: 0, failed: 0,
      csv: [], successes: [], failures: [], unprocessed: [], ...format,
    };
  };
  const touch = (job: Job, state: IngestState) => {
    job.state = state;
    job.systemModstamp = deps.now();
  };
  const listJobs = (kind: Job['kind']) => ({ done: true, records: [...jobs.values()].filter((j) => j.kind === kind).map(info), nextRecordsUrl: null });
  const csvReply = (reply: FastifyReply, body: string) => reply.code(200).header('content-type', 'text/csv').send(body);

  // ---------- ingest ----------

  /** Process an uploaded job in the background: 200 records a transaction, yielding between them. */
  const process = async (job: Job, req: FastifyRequest) => {
    touch(job, 'InProgress');
    job.started = Date.now();
    let rows: string[][];
    try {
      rows = parse(job.csv.join(job.lineEnding === 'CRLF' ? '\r\n' : '\n'), { delimiter: DELIMITERS[job.columnDelimiter], bom: true, relax_column_count: false, skip_empty_lines: true }) as string[][];
    } catch (e) {
      job.errorMessage = `InvalidBatch : Failed to parse CSV: ${(e as Error).message}`;
      job.finished = Date.now();
      return touch(job, 'Failed');
    }
    const header = rows.shift() ?? [];
    job.header = header;
    const o = data.object(job.object)!;
    const bad = header.find((h) => !o.fields.has(h.toLowerCase()));
    const needs = job.operation === 'upsert' ? job.externalIdFieldName! : job.operation === 'insert' ? undefined : 'Id';
    if (header.length === 0 || bad !== undefined || (needs && !header.some((h) => h.toLowerCase() === needs.toLowerCase()))) {
      job.errorMessage = bad !== undefined ? `InvalidBatch : Field name not found : ${bad}` : `InvalidBatch : Field name not found : ${needs ?? '(no header)'}`;
      job.unprocessed = rows;
      job.finished = Date.now();
      return touch(job, 'Failed');
    }
    const recordOf = (row: string[]) => {
      const rec: Record<string, unknown> = {};
      header.forEach((h, i) => {
        const v = row[i] ?? '';
        if (v === '') return; // an empty cell leaves the field as it is
        rec[o.fields.get(h.toLowerCase())!.name] = v === '#N/A' ? null : v;
      });
      return rec;
    };
    for (let at = 0; at < rows.length; at += CHUNK) {
      if (job.abort) {
        job.unprocessed = rows.slice(at);
        break;
      }
      const chunk = rows.slice(at, at + CHUNK);
      // Upsert: the same external id twice in one transaction fails both rows, as the Collections upsert does.
      const extCol = job.operation === 'upsert' ? header.findIndex((h) => h.toLowerCase() === job.externalIdFieldName!.toLowerCase()) : -1;
      const extCounts = new Map<string, number>();
      if (extCol >= 0) for (const row of chunk) extCounts.set((row[extCol] ?? '').toLowerCase(), (extCounts.get((row[extCol] ?? '').toLowerCase()) ?? 0) + 1);
      const ctx = await deps.begin(req);
      const results: SaveResult[] = chunk.map((row) => {
        try {
          const rec = recordOf(row);
          switch (job.operation) {
            case 'insert':
              return { id: data.create(o.name, rec, ctx).Id, success: true, errors: [], created: true };
            case 'update': {
              const { Id, ...rest } = rec;
              return { id: data.update(o.name, String(Id ?? ''), rest, ctx).Id, success: true, errors: [], created: false };
            }
            case 'upsert': {
              const f = o.fields.get(job.externalIdFieldName!.toLowerCase())!;
              const key = (row[extCol] ?? '').toLowerCase();
              if (key && (extCounts.get(key) ?? 0) > 1) throw RecordFailure.of('DUPLICATE_VALUE', `Duplicate external id specified: ${row[extCol]!}`, [f.name]);
              const r = data.upsert(o.name, f.name, rec[f.name], rec, ctx);
              return { id: r.rec.Id, success: true, errors: [], created: r.created };
            }
            default:
              return { id: data.delete(o.name, String(rec.Id ?? ''), ctx).Id, success: true, errors: [], created: false };
          }
        } catch (e) {
          return { id: null, success: false, errors: deps.toFailure(e) };
        }
      });
      deps.commit(ctx, req, results);
      results.forEach((r, i) => {
        if (r.success) job.successes.push([r.id!, String(r.created === true), ...chunk[i]!]);
        else job.failures.push([r.id ?? '', r.errors.map((e) => `${e.statusCode}:${e.message}:${e.fields.length ? `${e.fields.join(',')} ` : ''}--`).join('; '), ...chunk[i]!]);
      });
      job.processed += chunk.length;
      job.failed += results.filter((r) => !r.success).length;
      job.systemModstamp = deps.now();
      await new Promise((r) => setImmediate(r));
    }
    job.finished = Date.now();
    touch(job, job.abort ? 'Aborted' : 'JobComplete');
  };

  app.post('/services/data/:v/jobs/ingest', async (req) => {
    deps.versionOf(req);
    const body = (req.body ?? {}) as { object?: unknown; operation?: unknown; externalIdFieldName?: unknown; contentType?: unknown; columnDelimiter?: unknown; lineEnding?: unknown };
    const operation = String(body.operation ?? '');
    if (!OPERATIONS.has(operation)) throw invalidJob(`InvalidJob : Invalid operation: ${operation || '(none)'}; one of insert, update, upsert, delete, hardDelete`);
    const o = typeof body.object === 'string' ? data.object(body.object) : undefined;
    if (!o) throw invalidJob(`InvalidJob : Unable to find object: ${String(body.object ?? '')}`);
    if (!o.createable) throw invalidJob(`InvalidJob : Entity '${o.name}' is not supported by the Bulk API.`);
    let ext: string | undefined;
    if (operation === 'upsert') {
      const f = typeof body.externalIdFieldName === 'string' ? o.fields.get(body.externalIdFieldName.toLowerCase()) : undefined;
      if (!f || !(f.externalId || f.idLookup)) throw invalidJob(`InvalidJob : External ID field ${String(body.externalIdFieldName ?? '(none)')} is not an external id field of ${o.name}`);
      ext = f.name;
    }
    const job = { ...newJob(req, 'ingest', operation, o.name, formatOf(body)), ...(ext ? { externalIdFieldName: ext } : {}) };
    jobs.set(job.id, job);
    return info(job);
  });
  app.get('/services/data/:v/jobs/ingest', async (req) => {
    deps.versionOf(req);
    return listJobs('ingest');
  });
  app.put('/services/data/:v/jobs/ingest/:id/batches', async (req, reply) => {
    deps.versionOf(req);
    const job = jobOf(req, 'ingest');
    if (job.state !== 'Open') throw new ApiError(409, 'INVALIDJOBSTATE', `Job state ${job.state} does not allow uploading data: the job must be Open`);
    if (typeof req.body !== 'string') throw new ApiError(400, 'INVALIDBATCH', 'The data must be CSV, sent with Content-Type: text/csv');
    // A later upload to the same job adds its rows (its header line must repeat the first's).
    const text = req.body.replace(/\r?\n$/, '');
    if (job.csv.length === 0) job.csv.push(text);
    else job.csv.push(text.slice(text.search(/\r?\n/) + 1 || text.length));
    return reply.code(201).send();
  });
  app.patch('/services/data/:v/jobs/ingest/:id', async (req) => {
    deps.versionOf(req);
    const job = jobOf(req, 'ingest');
    const state = String(((req.body ?? {}) as { state?: unknown }).state ?? '');
    if (state === 'UploadComplete') {
      if (job.state !== 'Open') throw new ApiError(409, 'INVALIDJOBSTATE', `Job state ${job.state} cannot become UploadComplete`);
      touch(job, 'UploadComplete');
      setImmediate(() => void process(job, req));
      return info(job);
    }
    if (state === 'Aborted') {
      if (job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted') throw new ApiError(409, 'INVALIDJOBSTATE', `Job state ${job.state} cannot be aborted`);
      // Open: nothing will run. Uploaded or running: processing stops before its next transaction.
      job.abort = true;
      if (job.state === 'Open') touch(job, 'Aborted');
      return info(job);
    }
    throw invalidJob(`InvalidJob : Invalid state: ${state || '(none)'}; UploadComplete or Aborted`);
  });
  app.get('/services/data/:v/jobs/ingest/:id', async (req) => {
    deps.versionOf(req);
    return fullInfo(jobOf(req, 'ingest'));
  });
  app.delete('/services/data/:v/jobs/ingest/:id', async (req, reply) => {
    deps.versionOf(req);
    const job = jobOf(req, 'ingest');
    if (job.state === 'Open' || job.state === 'InProgress') throw new ApiError(409, 'INVALIDJOBSTATE', `Job state ${job.state} cannot be deleted`);
    jobs.delete(job.id);
    return reply.code(204).send();
  });
  const results = (which: 'successes' | 'failures' | 'unprocessed') => async (req: FastifyRequest, reply: FastifyReply) => {
    deps.versionOf(req);
    const job = jobOf(req, 'ingest');
    if (job.state === 'Open' || job.state === 'UploadComplete' || job.state === 'InProgress') {
      if (which !== 'unprocessed') throw new ApiError(409, 'INVALIDJOBSTATE', `Job state ${job.state}: results are available once the job is complete`);
    }
    const header = job.header ?? (job.csv.length ? (parse(job.csv[0]!.split(/\r?\n/)[0]!, { delimiter: DELIMITERS[job.columnDelimiter] }) as string[][])[0]! : []);
    if (which === 'successes') return csvReply(reply, csvText(job, ['sf__Id', 'sf__Created', ...header], job.successes));
    if (which === 'failures') return csvReply(reply, csvText(job, ['sf__Id', 'sf__Error', ...header], job.failures));
    // Aborted before processing began: every uploaded row.
    let rows = job.unprocessed;
    if (job.state === 'Aborted' && job.processed === 0 && rows.length === 0 && job.csv.length) {
      rows = (parse(job.csv.join(job.lineEnding === 'CRLF' ? '\r\n' : '\n'), { delimiter: DELIMITERS[job.columnDelimiter], bom: true, skip_empty_lines: true }) as string[][]).slice(1);
    }
    return csvReply(reply, csvText(job, header, rows));
  };
  app.get('/services/data/:v/jobs/ingest/:id/successfulResults', results('successes'));
  app.get('/services/data/:v/jobs/ingest/:id/failedResults', results('failures'));
  app.get('/services/data/:v/jobs/ingest/:id/unprocessedrecords', results('unprocessed'));

  // ---------- query ----------

  app.post('/services/data/:v/jobs/query', async (req) => {
    const v = deps.versionOf(req);
    const body = (req.body ?? {}) as { operation?: unknown; query?: unknown; columnDelimiter?: unknown; lineEnding?: unknown; contentType?: unknown };
    const operation = String(body.operation ?? 'query');
    if (operation !== 'query' && operation !== 'queryAll') throw invalidJob(`InvalidJob : Invalid operation: ${operation}; query or queryAll`);
    if (typeof body.query !== 'string' || !body.query.trim()) throw invalidJob('InvalidJob : a query is required');
    const format = formatOf(body);
    // Checked at once (a malformed query is refused at creation, as Salesforce does), run when processed.
    const q = compileQuery(data.queryContext(deps.now), body.query, { includeDeleted: operation === 'queryAll' });
    if (q.countOnly || q.aggregate) throw invalidJob('InvalidJob : Aggregate queries (COUNT) are not supported by Bulk API 2.0 query jobs');
    if (q.subqueries.length) throw invalidJob('InvalidJob : Parent-to-child relationship sub-queries are not supported by Bulk API 2.0 query jobs');
    const job: Job = { ...newJob(req, 'query', operation, q.object.name, format), query: body.query };
    jobs.set(job.id, job);
    setImmediate(() => {
      touch(job, 'InProgress');
      job.started = Date.now();
      const run = compileQuery(data.queryContext(deps.now), body.query as string, { includeDeleted: operation === 'queryAll' });
      const flat = run.rows.map((r: Rec) => flatten(run.project(r, v)));
      job.columns = flat[0]?.map(([k]) => k) ?? run.columns().columnMetadata.flatMap((c) => columnNames(c));
      job.rows = flat.map((cols) => cols.map(([, val]) => cell(val)));
      job.processed = job.rows.length;
      job.finished = Date.now();
      touch(job, 'JobComplete');
    });
    return info(job);
  });
  app.get('/services/data/:v/jobs/query', async (req) => {
    deps.versionOf(req);
    return listJobs('query');
  });
  app.get('/services/data/:v/jobs/query/:id', async (req) => {
    deps.versionOf(req);
    return fullInfo(jobOf(req, 'query'));
  });
  app.patch('/services/data/:v/jobs/query/:id', async (req) => {
    deps.versionOf(req);
    const job = jobOf(req, 'query');
    if (((req.body ?? {}) as { state?: unknown }).state !== 'Aborted') throw invalidJob('InvalidJob : a query job can only be Aborted');
    if (job.state === 'JobComplete' || job.state === 'Aborted' || job.state === 'Failed') throw new ApiError(409, 'INVALIDJOBSTATE', `Job state ${job.state} cannot be aborted`);
    touch(job, 'Aborted');
    return info(job);
  });
  app.delete('/services/data/:v/jobs/query/:id', async (req, reply) => {
    deps.versionOf(req);
    const job = jobOf(req, 'query');
    if (job.state === 'InProgress') throw new ApiError(409, 'INVALIDJOBSTATE', `Job state ${job.state} cannot be deleted`);
    jobs.delete(job.id);
    return reply.code(204).send();
  });
  app.get('/services/data/:v/jobs/query/:id/results', async (req, reply) => {
    deps.versionOf(req);
    const job = jobOf(req, 'query');
    if (job.state !== 'JobComplete') throw new ApiError(400, 'INVALIDJOBSTATE', `Job state ${job.state}: results are available once the job is JobComplete`);
    const q = req.query as Record<string, string | undefined>;
    const max = q.maxRecords === undefined ? MAX_RESULT_PAGE : Number(q.maxRecords);
    if (!Number.isInteger(max) || max < 1) throw new ApiError(400, 'INVALIDENTITY', `maxRecords must be a positive integer: ${q.maxRecords}`);
    // A locator is the offset of the next page, as an opaque base64 token.
    let from = 0;
    if (q.locator !== undefined && q.locator !== '') {
      const n = Number(Buffer.from(q.locator, 'base64url').toString('utf8'));
      if (!Number.isInteger(n) || n < 0 || n > job.rows!.length) throw new ApiError(400, 'INVALIDENTITY', `Invalid locator: ${q.locator}`);
      from = n;
    }
    const page = job.rows!.slice(from, from + max);
    const next = from + page.length;
    reply.header('Sforce-NumberOfRecords', String(page.length));
    reply.header('Sforce-Locator', next < job.rows!.length ? Buffer.from(String(next)).toString('base64url') : 'null');
    return csvReply(reply, csvText(job, job.columns!, page));
  });
}
