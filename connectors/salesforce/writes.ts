import { ConnectorError } from '../errors.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry.js';
import type { Fields, WriteResult, WriteStatus } from '../types.js';
import type { SalesforceApi } from './api.js';
import { mapRecordErrors } from './errors.js';
import { fieldPath, ident } from './soql.js';

/** sObject Collections accept at most 200 records a call. */
export const COLLECTION_LIMIT = 200;

interface CollectionResult {
  id?: string | null;
  success: boolean;
  created?: boolean;
  errors?: Array<{ statusCode?: string; message?: string; fields?: string[] }>;
}

export interface WriteContext {
  api: SalesforceApi;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Send items through a collections call in chunks of 200 and map each result. Records that failed
 * with a transient per-record error (UNABLE_TO_LOCK_ROW) are sent again — safe because every write
 * here is idempotent — up to the retry policy's count; everything else is final.
 */
async function collectionWrite<T>(
  ctx: WriteContext,
  items: T[],
  send: (chunk: T[]) => Promise<CollectionResult[]>,
  ok: (r: CollectionResult, item: T) => WriteResult,
  failed: (r: CollectionResult, item: T) => WriteResult,
): Promise<WriteResult[]> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...ctx.retry };
  const sleep = ctx.sleep ?? realSleep;
  const results: WriteResult[] = new Array(items.length);
  let pending = items.map((_, i) => i);
  for (let round = 0; pending.length; round++) {
    if (round > 0) await sleep(backoffDelay(round, policy));
    const retryLater: number[] = [];
    for (let start = 0; start < pending.length; start += COLLECTION_LIMIT) {
      const idx = pending.slice(start, start + COLLECTION_LIMIT);
      const res = await send(idx.map((i) => items[i]));
      if (!Array.isArray(res) || res.length !== idx.length) {
        throw new ConnectorError('protocol', `collections: expected ${idx.length} results, got ${Array.isArray(res) ? res.length : typeof res}`);
      }
      res.forEach((r, j) => {
        const i = idx[j];
        if (r.success) {
          results[i] = ok(r, items[i]);
          return;
        }
        const out = failed(r, items[i]);
        if (out.error?.kind === 'transient' && round < policy.retries) retryLater.push(i);
        else results[i] = out;
      });
    }
    pending = retryLater;
  }
  return results;
}

function failure(r: CollectionResult, extra: Partial<WriteResult> = {}): WriteResult {
  return { status: 'failed', ...(r.id ? { id: r.id } : {}), ...extra, error: mapRecordErrors(r.errors) };
}

function localFailure(message: string, crmCode: string, extra: Partial<WriteResult> = {}, fields?: string[]): WriteResult {
  return { status: 'failed', ...extra, error: { kind: 'validation', message, crmCode, fields } };
}

/** Upsert by an external-id field with the collections upsert (PATCH /composite/sobjects/{T}/{field}). */
export async function upsertRecords(ctx: WriteContext, object: string, matchField: string, inputs: Array<{ key: string; fields: Fields }>): Promise<WriteResult[]> {
  const url = `/composite/sobjects/${ident(object)}/${fieldPath(matchField)}`;
  const valid = inputs.map((inp, i) => ({ inp, i })).filter(({ inp }) => typeof inp.key === 'string' && inp.key !== '');
  const out: WriteResult[] = inputs.map((inp) => localFailure(`empty match key for ${matchField}`, 'MISSING_MATCH_KEY', { key: inp.key }, [matchField]));
  const written = await collectionWrite(
    ctx,
    valid,
    (chunk) =>
      ctx.api.request<CollectionResult[]>('upsert', {
        method: 'PATCH',
        url,
        body: { allOrNone: false, records: chunk.map(({ inp }) => ({ ...withoutKeys(inp.fields, ['Id', matchField]), attributes: { type: object }, [matchField]: inp.key })) },
      }),
    (r, { inp }) => ({ status: (r.created ? 'created' : 'updated') as WriteStatus, id: r.id ?? undefined, key: inp.key }),
    (r, { inp }) => failure(r, { key: inp.key }),
  );
  valid.forEach(({ i }, j) => (out[i] = written[j]));
  return out;
}

/** Update by id (PATCH /composite/sobjects). */
export async function updateRecords(ctx: WriteContext, object: string, inputs: Array<{ id: string; fields: Fields }>): Promise<WriteResult[]> {
  ident(object);
  return collectionWrite(
    ctx,
    inputs,
    (chunk) =>
      ctx.api.request<CollectionResult[]>('update', {
        method: 'PATCH',
        url: '/composite/sobjects',
        body: { allOrNone: false, records: chunk.map((inp) => ({ ...withoutKeys(inp.fields, ['Id']), attributes: { type: object }, id: inp.id })) },
      }),
    (_r, inp) => ({ status: 'updated', id: inp.id }),
    (r, inp) => failure(r, { id: inp.id }),
  );
}

/** Delete by id (DELETE /composite/sobjects?ids=…). Already deleted counts as deleted, so a retry is harmless. */
export async function removeRecords(ctx: WriteContext, ids: string[]): Promise<WriteResult[]> {
  return collectionWrite(
    ctx,
    ids,
    (chunk) => ctx.api.request<CollectionResult[]>('delete', { method: 'DELETE', url: `/composite/sobjects?ids=${chunk.map(encodeURIComponent).join(',')}&allOrNone=false` }),
    (_r, id) => ({ status: 'deleted', id }),
    (r, id) => (r.errors?.some((e) => e.statusCode === 'ENTITY_IS_DELETED') ? { status: 'deleted', id } : failure(r, { id })),
  );
}

function withoutKeys(fields: Fields, keys: string[]): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) if (!keys.includes(k)) out[k] = v;
  return out;
}
