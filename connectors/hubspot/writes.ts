import { writeBatches } from '../batches.js';
import { ConnectorError, isConnectorError } from '../errors.js';
import type { NormalisedError, UpdateInput, UpsertInput, WriteResult } from '../types.js';
import { chunk, type HubspotContext } from './context.js';
import { mapRecordError, type HubspotErrorBody } from './errors.js';
import { toHubspot } from './schema.js';

interface BatchAnswer {
  results?: Array<{ id: string; properties?: Record<string, string | null>; _new?: boolean; objectWriteTraceId?: string }>;
  errors?: Array<HubspotErrorBody & { id?: string; context?: Record<string, unknown> }>;
}

/**
 * Upsert by a unique property (`idProperty`) in batches of 100. Per-record results in input order:
 * created / updated from the answer's `new` flag, failed with the 207 `errors` mapped back onto the
 * inputs they name. HubSpot rejects a whole batch for one bad record (400) and for duplicate keys, so
 * duplicates go to later batches and a rejected batch is split in halves until the bad records are
 * isolated — every good record still lands and every bad one carries its own error.
 */
export async function upsert(ctx: HubspotContext, object: string, matchField: string, inputs: UpsertInput[]): Promise<WriteResult[]> {
  let schema = await ctx.schema(object);
  // A property created moments ago (by another worker) may be missing from the cached describe.
  if (!schema.fields[matchField]) schema = await ctx.schema(object, true);
  const f = schema.fields[matchField];
  if (!f) throw new ConnectorError('validation', `HubSpot ${object} has no property "${matchField}" to upsert by; ensureFields creates it`, { fields: [matchField] });
  if (!f.externalId) {
    throw new ConnectorError('validation', `HubSpot ${object}.${matchField} is not a unique property (hasUniqueValue) and cannot be an upsert idProperty`, { fields: [matchField] });
  }
  const results: WriteResult[] = new Array(inputs.length);
  const indexed = inputs.map((input, i) => ({ input, i }));
  await writeBatches(batchesWithoutDuplicateKeys(indexed, ctx.batchSize), keyOfIndexed, ctx.writeConcurrency, (batch) =>
    writeIsolating(batch, results, async (part) => {
      const body = {
        // objectWriteTraceId turns on partial success (207) and lets each error name its input.
        inputs: part.map(({ input }, k) => ({
          id: input.key, idProperty: matchField, objectWriteTraceId: String(k), properties: toHubspot({ ...input.fields, [matchField]: input.key }, schema),
        })),
      };
      const res = (await ctx.t.call('api', `batch upsert ${object}`, (c, o) => c.crm.objects.batchApi.upsert(object, body, o))) as BatchAnswer;
      return matchAnswers(part.map(({ input }) => input.key), res, (r) => String(r.properties?.[matchField] ?? ''), (r) => (r._new ? 'created' : 'updated'), matchField);
    }),
  );
  return results.map((r, i) => ({ ...r, key: inputs[i].key }));
}

/** Update by record id in batches of 100. */
export async function update(ctx: HubspotContext, object: string, inputs: UpdateInput[]): Promise<WriteResult[]> {
  const schema = await ctx.schema(object);
  const results: WriteResult[] = new Array(inputs.length);
  const indexed = inputs.map((input, i) => ({ input: { key: input.id, fields: input.fields }, i }));
  await writeBatches(batchesWithoutDuplicateKeys(indexed, ctx.batchSize), keyOfIndexed, ctx.writeConcurrency, (batch) =>
    writeIsolating(batch, results, async (part) => {
      const body = { inputs: part.map(({ input }, k) => ({ id: input.key, objectWriteTraceId: String(k), properties: toHubspot(input.fields, schema) })) };
      const res = (await ctx.t.call('api', `batch update ${object}`, (c, o) => c.crm.objects.batchApi.update(object, body, o))) as BatchAnswer;
      return matchAnswers(part.map(({ input }) => input.key), res, (r) => String(r.id), () => 'updated', 'id');
    }),
  );
  return results;
}

/**
 * Archive by record id in batches of 100. HubSpot answers 204 with no per-record detail and treats an
 * already-archived or unknown id as done, which is what an idempotent sync wants.
 */
export async function remove(ctx: HubspotContext, object: string, ids: string[]): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  for (const part of chunk(ids, ctx.batchSize)) {
    try {
      await ctx.t.call('api', `batch archive ${object}`, (c, o) => c.crm.objects.batchApi.archive(object, { inputs: [...new Set(part)].map((id) => ({ id })) }, o));
      for (const id of part) results.push({ status: 'deleted', id });
    } catch (e) {
      if (!isConnectorError(e) || e.retryable || e.kind === 'quota_exhausted' || e.kind === 'auth') throw e;
      for (const id of part) results.push({ status: 'failed', id, error: e.toNormalised() });
    }
  }
  return results;
}

type Indexed = { input: UpsertInput; i: number };
const keyOfIndexed = (x: Indexed): string => x.input.key;

/** Split into batches of `size` in which no key occurs twice (a later duplicate waits for the next batch, keeping order). */
export function batchesWithoutDuplicateKeys(items: Indexed[], size: number): Indexed[][] {
  const batches: Array<{ items: Indexed[] }> = [];
  const lastBatchOfKey = new Map<string, number>();
  for (const it of items) {
    const after = lastBatchOfKey.get(it.input.key) ?? -1;
    let b = Math.max(after + 1, 0);
    while (b < batches.length && batches[b].items.length >= size) b++;
    // Never place a record before a batch that already holds an earlier record of the same key.
    if (b >= batches.length) batches.push({ items: [] });
    batches[b].items.push(it);
    lastBatchOfKey.set(it.input.key, b);
  }
  return batches.map((b) => b.items.sort((x, y) => x.i - y.i));
}

/**
 * Write one batch; if HubSpot rejects the whole batch as invalid (400/409), bisect to find the records
 * at fault. Retryable failures, auth and quota errors are not per-record: they propagate.
 */
async function writeIsolating(batch: Indexed[], results: WriteResult[], write: (part: Indexed[]) => Promise<WriteResult[]>): Promise<void> {
  try {
    const rs = await write(batch);
    batch.forEach(({ i }, k) => (results[i] = rs[k]));
  } catch (e) {
    if (!isConnectorError(e) || !(e.kind === 'validation' || e.kind === 'conflict' || e.kind === 'not_found')) throw e;
    if (batch.length === 1) {
      results[batch[0].i] = { status: 'failed', error: e.toNormalised() };
      return;
    }
    const mid = Math.ceil(batch.length / 2);
    await writeIsolating(batch.slice(0, mid), results, write);
    await writeIsolating(batch.slice(mid), results, write);
  }
}

/** Pair a batch answer (results + 207 errors) with the inputs, by key. */
function matchAnswers(
  keys: string[],
  res: BatchAnswer,
  keyOf: (r: NonNullable<BatchAnswer['results']>[number]) => string,
  statusOf: (r: NonNullable<BatchAnswer['results']>[number]) => 'created' | 'updated',
  keyName: string,
): WriteResult[] {
  const byKey = new Map<string, WriteResult>();
  // Inputs carry objectWriteTraceId = their position; answers echo it. Fall back to keys.
  const keyAt = (trace: unknown) => (typeof trace === 'string' && /^\d+$/.test(trace) ? keys[Number(trace)] : undefined);
  for (const r of res.results ?? []) byKey.set(keyAt(r.objectWriteTraceId) ?? keyOf(r), { status: statusOf(r), id: String(r.id) });
  const unassigned: NormalisedError[] = [];
  for (const err of res.errors ?? []) {
    const traces = err.context?.objectWriteTraceId;
    const traced = (Array.isArray(traces) ? traces : [traces]).map(keyAt).filter((k): k is string => k !== undefined);
    const named = (traced.length ? traced : keysNamedBy(err, keyName)).filter((k) => keys.includes(k) && !byKey.has(k));
    const ne = mapRecordError(err);
    if (named.length) for (const k of named) byKey.set(k, { status: 'failed', error: ne });
    else unassigned.push(ne);
  }
  const missing = keys.filter((k) => !byKey.has(k));
  // An error that names no input: if exactly one input is unaccounted for, it is that one's.
  if (missing.length === 1 && unassigned.length === 1) byKey.set(missing[0], { status: 'failed', error: unassigned[0] });
  return keys.map((k) => {
    const hit = byKey.get(k) ?? byKey.get(k.toLowerCase());
    if (hit) return hit;
    const error: NormalisedError = unassigned[0]
      ? { ...unassigned[0], message: `${unassigned[0].message} (HubSpot did not say which record; this one got no result)` }
      : { kind: 'protocol', message: `HubSpot returned no result and no error for ${keyName}=${k}` };
    return { status: 'failed', error };
  });
}

function keysNamedBy(err: HubspotErrorBody & { id?: string; context?: Record<string, unknown> }, keyName: string): string[] {
  const out: string[] = [];
  if (err.id) out.push(String(err.id));
  for (const name of ['ids', 'id', keyName, 'idProperty', 'objectId', 'objectIds']) {
    const v = err.context?.[name];
    if (Array.isArray(v)) out.push(...v.map(String));
    else if (typeof v === 'string') out.push(v);
  }
  for (const d of err.errors ?? []) {
    const v = d.context?.ids ?? d.context?.id;
    if (Array.isArray(v)) out.push(...v.map(String));
  }
  return out;
}
