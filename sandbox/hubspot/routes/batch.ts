import type { FastifyInstance } from 'fastify';
import { errorBody, validation, type HubspotErrorBody } from '../errors.js';
import { boolParam, objectType } from '../http.js';
import type { ObjectTypeMeta } from '../meta.js';
import { iso, type HubspotPortal, type InputFailure, type PreparedCreate, type WriteInput } from '../portal.js';
import type { HsRecord } from '../store.js';

/**
 * Batch endpoints (`/crm/v3/objects/{type}/batch/{read|create|update|upsert|archive}`), at most 100
 * inputs. As in HubSpot: a validation error rejects the whole batch (400) unless every input carries an
 * `objectWriteTraceId`, which switches on multi-status (207) partial success; ids that do not exist
 * (read, update) are reported per input with 207; duplicate ids in one batch reject it.
 */
export const BATCH_MAX = 100;

interface BatchInput extends WriteInput {
  id?: string | number;
  idProperty?: string;
}

interface BatchBody {
  inputs?: BatchInput[];
  properties?: string[];
  propertiesWithHistory?: string[];
  idProperty?: string;
}

export function registerBatchRoutes(app: FastifyInstance, portal: HubspotPortal): void {
  app.post<{ Params: { objectType: string; op: string }; Body: BatchBody; Querystring: Record<string, unknown> }>(
    '/crm/v3/objects/:objectType/batch/:op',
    async (req, reply) => {
      const meta = objectType(req.params.objectType);
      const body = req.body ?? {};
      const inputs = body.inputs;
      if (!Array.isArray(inputs)) throw validation('inputs is required and must be an array');
      if (inputs.length > BATCH_MAX) {
        throw validation(`Batch input size ${inputs.length} exceeds the maximum of ${BATCH_MAX}`, { context: { size: [String(inputs.length)] } });
      }
      const startedAt = iso(Date.now());
      const op = req.params.op;
      const result =
        op === 'read' ? batchRead(portal, meta, body, boolParam(req.query, 'archived'))
          : op === 'create' ? batchCreate(portal, meta, inputs)
            : op === 'update' ? batchUpdate(portal, meta, inputs)
              : op === 'upsert' ? batchUpsert(portal, meta, inputs)
                : op === 'archive' ? batchArchive(portal, meta, inputs)
                  : undefined;
      if (!result) return reply.code(404).send(errorBody('OBJECT_NOT_FOUND', `Unknown batch operation ${op}`));
      if ('failure' in result) return reply.code(result.statusCode).send(result.failure);
      if (!('results' in result)) return reply.code(204).send();
      const out: Record<string, unknown> = { status: 'COMPLETE', results: result.results, startedAt, completedAt: iso(Date.now()) };
      if (result.errors.length > 0) {
        out.numErrors = result.errors.length;
        out.errors = result.errors;
      }
      return reply.code(result.errors.length > 0 ? 207 : result.statusCode).send(out);
    },
  );
}

type BatchOutcome =
  | { statusCode: number; results: unknown[]; errors: HubspotErrorBody[] }
  | { statusCode: number; failure: HubspotErrorBody }
  | { statusCode: 204; archived: true };

/** A per-input error as HubSpot lists it in `errors` (StandardError). */
function standardError(f: InputFailure, context: Record<string, string[]>): HubspotErrorBody {
  const { correlationId: _c, ...rest } = f.body;
  return { ...rest, status: 'error', context: { ...(f.body.context ?? {}), ...context }, links: {}, errors: f.body.errors ?? [] } as unknown as HubspotErrorBody;
}

function traced(inputs: BatchInput[]): boolean {
  return inputs.length > 0 && inputs.every((i) => typeof i.objectWriteTraceId === 'string' && i.objectWriteTraceId !== '');
}

function duplicateIds(inputs: BatchInput[], key: (i: BatchInput) => string): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const i of inputs) {
    const k = key(i);
    if (seen.has(k)) dups.add(k);
    seen.add(k);
  }
  return [...dups];
}

function duplicateFailure(dups: string[]): BatchOutcome {
  return {
    statusCode: 400,
    failure: errorBody('VALIDATION_ERROR', `Duplicate IDs found in batch input: [${dups.join(', ')}]. IDs must be unique`, { context: { ids: dups } }),
  };
}

function nonUniqueIdProperty(portal: HubspotPortal, meta: ObjectTypeMeta, name: string): BatchOutcome {
  return {
    statusCode: 400,
    failure: errorBody('VALIDATION_ERROR', `Unable to perform update/upsert by non-unique ${meta.typeId} property ${name} in portal ID ${portal.portalId}`),
  };
}

/** Unique values must also differ between the inputs of one batch. */
function inBatchUniqueClash(portal: HubspotPortal, meta: ObjectTypeMeta, propsList: Array<Record<string, string> | null | undefined>): number {
  const uniques = [...portal.props[meta.name].values()].filter((p) => p.hasUniqueValue).map((p) => p.name);
  for (const name of uniques) {
    const seen = new Set<string>();
    for (let i = 0; i < propsList.length; i++) {
      const v = propsList[i]?.[name];
      if (!v) continue;
      const k = name === 'email' ? v.toLowerCase() : v;
      if (seen.has(k)) return i;
      seen.add(k);
    }
  }
  return -1;
}

function withTrace(json: Record<string, unknown>, input: BatchInput): Record<string, unknown> {
  if (input.objectWriteTraceId) json.objectWriteTraceId = input.objectWriteTraceId;
  return json;
}

// ---------- operations ----------

function batchRead(portal: HubspotPortal, meta: ObjectTypeMeta, body: BatchBody, archived: boolean): BatchOutcome {
  const idProperty = body.idProperty && body.idProperty !== 'hs_object_id' ? body.idProperty : undefined;
  if (idProperty && !portal.store(meta).isUnique(idProperty)) return nonUniqueIdProperty(portal, meta, idProperty);
  const results: unknown[] = [];
  const missing: string[] = [];
  for (const input of body.inputs ?? []) {
    const id = String(input.id ?? '');
    const rec = portal.find(meta, id, { archived, idProperty });
    if (!rec) missing.push(id);
    else results.push(portal.recordJson(meta, rec, body.properties, { history: body.propertiesWithHistory }));
  }
  const errors: HubspotErrorBody[] = [];
  if (missing.length > 0) {
    errors.push({
      status: 'error', category: 'OBJECT_NOT_FOUND',
      message: `Could not get some ${meta.upper} objects, they may be deleted or not exist. Check that ids are valid.`,
      context: { ids: missing }, links: {}, errors: [],
    } as unknown as HubspotErrorBody);
  }
  return { statusCode: 200, results, errors };
}

function batchCreate(portal: HubspotPortal, meta: ObjectTypeMeta, inputs: BatchInput[]): BatchOutcome {
  const partial = traced(inputs);
  const prepared = inputs.map((i) => portal.prepareCreate(meta, i ?? {}));
  const clash = inBatchUniqueClash(portal, meta, prepared.map((p) => ('props' in p ? p.props : null)));
  if (clash >= 0) prepared[clash] = { statusCode: 409, body: errorBody('CONFLICT', `Input ${clash} repeats a unique property value of an earlier input`) };
  const failures = prepared.map((p, i) => ({ p, i })).filter(({ p }) => 'statusCode' in p);
  if (failures.length > 0 && !partial) {
    const f = failures[0].p as InputFailure;
    return { statusCode: f.statusCode, failure: f.body };
  }
  const now = portal.now();
  const results: unknown[] = [];
  const errors: HubspotErrorBody[] = [];
  prepared.forEach((p, i) => {
    if ('statusCode' in p) errors.push(standardError(p, { objectWriteTraceId: [String(inputs[i].objectWriteTraceId)] }));
    else results.push(withTrace(portal.fullJson(meta, portal.commitCreate(meta, p as PreparedCreate, now)), inputs[i]));
  });
  return { statusCode: 201, results, errors };
}

function batchUpdate(portal: HubspotPortal, meta: ObjectTypeMeta, inputs: BatchInput[]): BatchOutcome {
  const partial = traced(inputs);
  const dups = duplicateIds(inputs, (i) => `${i.idProperty ?? ''}:${String(i.id ?? '')}`);
  if (dups.length > 0) return duplicateFailure(dups.map((d) => d.slice(d.indexOf(':') + 1)));
  const notFound: string[] = [];
  type Step = { rec: HsRecord; props: Record<string, string> | null; input: BatchInput } | { failure: InputFailure; input: BatchInput } | null;
  const steps: Step[] = [];
  for (const input of inputs) {
    const idProperty = input.idProperty && input.idProperty !== 'hs_object_id' ? input.idProperty : undefined;
    if (idProperty && !portal.store(meta).isUnique(idProperty)) return nonUniqueIdProperty(portal, meta, idProperty);
    const rec = portal.find(meta, String(input.id ?? ''), { idProperty });
    if (!rec) {
      notFound.push(String(input.id ?? ''));
      steps.push(null);
      continue;
    }
    const p = portal.prepareUpdate(meta, rec, input);
    steps.push('statusCode' in p ? { failure: p, input } : { rec, props: p.props, input });
  }
  const clash = inBatchUniqueClash(portal, meta, steps.map((s) => (s && 'rec' in s ? s.props : null)));
  if (clash >= 0) steps[clash] = { failure: { statusCode: 409, body: errorBody('CONFLICT', `Input ${clash} repeats a unique property value of an earlier input`) }, input: inputs[clash] };
  const failed = steps.find((s) => s && 'failure' in s) as { failure: InputFailure } | undefined;
  if (failed && !partial) return { statusCode: failed.failure.statusCode, failure: failed.failure.body };
  const now = portal.now();
  const results: unknown[] = [];
  const errors: HubspotErrorBody[] = [];
  for (const s of steps) {
    if (!s) continue;
    if ('failure' in s) errors.push(standardError(s.failure, { objectWriteTraceId: [String(s.input.objectWriteTraceId)] }));
    else {
      portal.commitUpdate(meta, s.rec, s.props, now);
      results.push(withTrace(portal.fullJson(meta, s.rec), s.input));
    }
  }
  if (notFound.length > 0) {
    errors.push({
      status: 'error', category: 'OBJECT_NOT_FOUND', message: `Could not find some ${meta.upper} objects to update: ${notFound.join(', ')}`,
      context: { ids: notFound }, links: {}, errors: [],
    } as unknown as HubspotErrorBody);
  }
  return { statusCode: 200, results, errors };
}

function batchUpsert(portal: HubspotPortal, meta: ObjectTypeMeta, inputs: BatchInput[]): BatchOutcome {
  const partial = traced(inputs);
  for (const input of inputs) {
    const name = input.idProperty ?? 'hs_object_id';
    if (!portal.store(meta).isUnique(name)) return nonUniqueIdProperty(portal, meta, name);
    if (input.id === undefined || input.id === null || String(input.id) === '') return { statusCode: 400, failure: errorBody('VALIDATION_ERROR', 'Every upsert input needs an id') };
  }
  const dups = duplicateIds(inputs, (i) => `${i.idProperty}:${String(i.id)}`);
  if (dups.length > 0) return duplicateFailure(dups.map((d) => d.slice(d.indexOf(':') + 1)));
  type Step =
    | { kind: 'update'; rec: HsRecord; props: Record<string, string> | null; input: BatchInput }
    | { kind: 'create'; prepared: PreparedCreate; input: BatchInput }
    | { kind: 'failure'; failure: InputFailure; input: BatchInput };
  const steps: Step[] = inputs.map((input): Step => {
    const name = input.idProperty!;
    const id = String(input.id);
    const rec = portal.find(meta, id, { idProperty: name });
    // The idProperty value is the input's id whatever `properties` says, as in HubSpot.
    const withId: BatchInput = { ...input, properties: { ...(input.properties ?? {}), [name]: id } };
    if (rec) {
      const p = portal.prepareUpdate(meta, rec, withId);
      return 'statusCode' in p ? { kind: 'failure', failure: p, input } : { kind: 'update', rec, props: p.props, input };
    }
    const p = portal.prepareCreate(meta, withId);
    return 'statusCode' in p ? { kind: 'failure', failure: p, input } : { kind: 'create', prepared: p, input };
  });
  const clash = inBatchUniqueClash(portal, meta, steps.map((s) => (s.kind === 'create' ? s.prepared.props : s.kind === 'update' ? s.props : null)));
  if (clash >= 0) steps[clash] = { kind: 'failure', failure: { statusCode: 409, body: errorBody('CONFLICT', `Input ${clash} repeats a unique property value of an earlier input`) }, input: inputs[clash] };
  const failed = steps.find((s) => s.kind === 'failure');
  if (failed && failed.kind === 'failure' && !partial) return { statusCode: failed.failure.statusCode, failure: failed.failure.body };
  const now = portal.now();
  const results: unknown[] = [];
  const errors: HubspotErrorBody[] = [];
  for (const s of steps) {
    if (s.kind === 'failure') errors.push(standardError(s.failure, { objectWriteTraceId: [String(s.input.objectWriteTraceId)] }));
    else if (s.kind === 'update') {
      portal.commitUpdate(meta, s.rec, s.props, now);
      results.push(withTrace({ ...portal.fullJson(meta, s.rec), new: false }, s.input));
    } else {
      results.push(withTrace({ ...portal.fullJson(meta, portal.commitCreate(meta, s.prepared, now)), new: true }, s.input));
    }
  }
  return { statusCode: 200, results, errors };
}

function batchArchive(portal: HubspotPortal, meta: ObjectTypeMeta, inputs: BatchInput[]): BatchOutcome {
  const now = portal.now();
  for (const input of inputs) {
    const rec = portal.store(meta).get(String(input.id ?? ''));
    if (rec) portal.archive(meta, rec, now);
  }
  return { statusCode: 204, archived: true };
}
