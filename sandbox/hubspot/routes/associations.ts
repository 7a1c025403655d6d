import type { FastifyInstance } from 'fastify';
import { HubspotHttpError, errorBody, notFound, validation, type HubspotErrorBody } from '../errors.js';
import { objectType, strParam, type Query } from '../http.js';
import type { ObjectTypeMeta } from '../meta.js';
import { iso, type HubspotPortal } from '../portal.js';
import type { AssocType } from '../associations.js';

/**
 * Associations v4: default and labelled associations, single and batch, and the labels (definitions)
 * endpoint. Read results give `toObjectId` as a NUMBER (ids are strings everywhere else), as HubSpot does.
 */
type Spec = { associationCategory?: string; associationTypeId?: number };

export function registerAssociationRoutes(app: FastifyInstance, portal: HubspotPortal): void {
  const typeJson = (t: AssocType) => ({ category: t.category, typeId: t.typeId, label: t.label });
  const exists = (meta: ObjectTypeMeta, id: string) => !!portal.store(meta).get(String(id));

  /** Check labelled types; returns the type ids or a reason. */
  const resolveTypes = (from: ObjectTypeMeta, to: ObjectTypeMeta, specs: Spec[] | undefined): number[] | string => {
    if (!Array.isArray(specs) || specs.length === 0) return 'at least one association type is required';
    const ids: number[] = [];
    for (const s of specs) {
      const t = portal.assoc.type(from.name, to.name, Number(s.associationTypeId));
      if (!t || (s.associationCategory && s.associationCategory !== t.category)) {
        return `${s.associationCategory ?? '?'} ${String(s.associationTypeId)} is not a valid association type between ${from.singular} and ${to.singular}`;
      }
      ids.push(t.typeId);
    }
    return ids;
  };

  const labelsOf = (from: ObjectTypeMeta, to: ObjectTypeMeta, ids: number[]) =>
    ids.map((id) => portal.assoc.type(from.name, to.name, id)?.label).filter((l): l is string => !!l);

  const pairJson = (from: ObjectTypeMeta, fromId: string, to: ObjectTypeMeta, toId: string, ids: number[]) => ({
    fromObjectTypeId: from.typeId, fromObjectId: Number(fromId), toObjectTypeId: to.typeId, toObjectId: Number(toId), labels: labelsOf(from, to, ids),
  });

  const defaultJson = (from: ObjectTypeMeta, fromId: string, to: ObjectTypeMeta, toId: string) => {
    const fwd = portal.assoc.defaultType(from.name, to.name)!;
    return [
      { from: { id: fromId }, to: { id: toId }, associationSpec: { associationCategory: fwd.category, associationTypeId: fwd.typeId } },
      { from: { id: toId }, to: { id: fromId }, associationSpec: { associationCategory: fwd.category, associationTypeId: fwd.inverse } },
    ];
  };

  const batchEnvelope = (results: unknown[], errors: HubspotErrorBody[], startedAt: string) => {
    const out: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: iso(Date.now()) };
    if (errors.length > 0) {
      out.numErrors = errors.length;
      out.errors = errors;
    }
    return out;
  };

  const itemError = (message: string, category: string, context: Record<string, string[]>, subCategory?: string): HubspotErrorBody =>
    ({ status: 'error', category, message, context, links: {}, errors: [], ...(subCategory ? { subCategory } : {}) }) as unknown as HubspotErrorBody;

  const defaultOrFail = (from: ObjectTypeMeta, to: ObjectTypeMeta) => {
    const t = portal.assoc.defaultType(from.name, to.name);
    if (!t) throw validation(`There is no default association type between ${from.singular} and ${to.singular}`);
    return t;
  };

  // ---------- single ----------

  app.put<{ Params: { fromType: string; fromId: string; toType: string; toId: string } }>(
    '/crm/v4/objects/:fromType/:fromId/associations/default/:toType/:toId',
    async (req) => {
      const from = objectType(req.params.fromType);
      const to = objectType(req.params.toType);
      const t = defaultOrFail(from, to);
      for (const [m, id] of [[from, req.params.fromId], [to, req.params.toId]] as const) if (!exists(m, id)) throw notFound(`${m.upper} ${id} does not exist`);
      portal.assoc.add(from.name, req.params.fromId, to.name, req.params.toId, [t.typeId]);
      return batchEnvelope(defaultJson(from, req.params.fromId, to, req.params.toId), [], iso(Date.now()));
    },
  );

  app.put<{ Params: { fromType: string; fromId: string; toType: string; toId: string }; Body: Spec[] }>(
    '/crm/v4/objects/:fromType/:fromId/associations/:toType/:toId',
    async (req, reply) => {
      const from = objectType(req.params.fromType);
      const to = objectType(req.params.toType);
      const ids = resolveTypes(from, to, req.body);
      if (typeof ids === 'string') throw validation(ids, { subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE' });
      for (const [m, id] of [[from, req.params.fromId], [to, req.params.toId]] as const) if (!exists(m, id)) throw notFound(`${m.upper} ${id} does not exist`);
      const all = portal.assoc.add(from.name, req.params.fromId, to.name, req.params.toId, ids);
      return reply.code(201).send(pairJson(from, req.params.fromId, to, req.params.toId, all));
    },
  );

  app.delete<{ Params: { fromType: string; fromId: string; toType: string; toId: string } }>(
    '/crm/v4/objects/:fromType/:fromId/associations/:toType/:toId',
    async (req, reply) => {
      const from = objectType(req.params.fromType);
      const to = objectType(req.params.toType);
      portal.assoc.remove(from.name, req.params.fromId, to.name, req.params.toId);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { fromType: string; fromId: string; toType: string }; Querystring: Query }>(
    '/crm/v4/objects/:fromType/:fromId/associations/:toType',
    async (req) => {
      const from = objectType(req.params.fromType);
      const to = objectType(req.params.toType);
      if (!exists(from, req.params.fromId)) throw notFound(`${from.upper} ${req.params.fromId} does not exist`);
      const limit = Math.min(500, Math.max(1, Number(strParam(req.query, 'limit') ?? 500)));
      const after = strParam(req.query, 'after');
      const all = portal.assoc.list(from.name, req.params.fromId, to.name).filter((l) => exists(to, l.toId));
      const start = after ? Math.max(0, all.findIndex((l) => Number(l.toId) >= Number(after))) : 0;
      const page = all.slice(start, start + limit);
      const results = page.map((l) => ({
        toObjectId: Number(l.toId),
        associationTypes: l.typeIds.map((id) => portal.assoc.type(from.name, to.name, id)).filter((t): t is AssocType => !!t).map(typeJson),
      }));
      const next = all[start + limit];
      return next ? { results, paging: { next: { after: next.toId, link: `?after=${next.toId}` } } } : { results };
    },
  );

  // ---------- batch ----------

  type Pair = { id?: string | number; from?: { id?: string | number }; to?: { id?: string | number } | Array<{ id?: string | number }>; types?: Spec[] };

  app.post<{ Params: { fromType: string; toType: string; op: string }; Body: { inputs?: Pair[] } }>(
    '/crm/v4/associations/:fromType/:toType/batch/:op',
    async (req, reply) => {
      const from = objectType(req.params.fromType);
      const to = objectType(req.params.toType);
      const inputs = req.body?.inputs;
      if (!Array.isArray(inputs)) throw validation('inputs is required and must be an array');
      if (inputs.length > (req.params.op === 'read' ? 1000 : 2000)) throw validation(`Too many inputs (${inputs.length})`);
      const startedAt = iso(Date.now());
      const results: unknown[] = [];
      const errors: HubspotErrorBody[] = [];
      const fromId = (p: Pair) => String(p.from?.id ?? '');
      const toId = (p: Pair) => String((Array.isArray(p.to) ? p.to[0]?.id : p.to?.id) ?? '');
      const missing = (p: Pair): string | undefined =>
        !exists(from, fromId(p)) ? `${from.upper} ${fromId(p)} does not exist` : !exists(to, toId(p)) ? `${to.upper} ${toId(p)} does not exist` : undefined;

      switch (req.params.op) {
        case 'create': {
          for (const p of inputs) {
            const ids = resolveTypes(from, to, p.types);
            const why = typeof ids === 'string' ? ids : missing(p);
            if (why) {
              errors.push(itemError(why, 'VALIDATION_ERROR', { fromObjectId: [fromId(p)], toObjectId: [toId(p)] }, typeof ids === 'string' ? 'crm.associations.INVALID_ASSOCIATION_TYPE' : 'crm.associations.INVALID_OBJECT_IDS'));
              continue;
            }
            const all = portal.assoc.add(from.name, fromId(p), to.name, toId(p), ids as number[]);
            results.push(pairJson(from, fromId(p), to, toId(p), all));
          }
          return reply.code(errors.length > 0 ? 207 : 201).send(batchEnvelope(results, errors, startedAt));
        }
        case 'associate': // /batch/associate/default is matched below; this is a malformed path
          throw notFound();
        case 'read': {
          for (const p of inputs) {
            const id = String(p.id ?? p.from?.id ?? ''); // read inputs are {id}
            const links = exists(from, id) ? portal.assoc.list(from.name, id, to.name).filter((l) => exists(to, l.toId)) : [];
            if (links.length === 0) {
              errors.push(itemError(`No ${to.singular} is associated with ${from.singular} ${id}.`, 'OBJECT_NOT_FOUND', { fromObjectId: [id] }, 'crm.associations.NO_ASSOCIATIONS_FOUND'));
              continue;
            }
            results.push({
              from: { id },
              to: links.map((l) => ({
                toObjectId: Number(l.toId),
                associationTypes: l.typeIds.map((t) => portal.assoc.type(from.name, to.name, t)).filter((t): t is AssocType => !!t).map(typeJson),
              })),
            });
          }
          return reply.code(errors.length > 0 ? 207 : 200).send(batchEnvelope(results, errors, startedAt));
        }
        case 'archive': {
          for (const p of inputs) {
            const targets = Array.isArray(p.to) ? p.to : [p.to];
            for (const t of targets) portal.assoc.remove(from.name, fromId(p), to.name, String(t?.id ?? ''));
          }
          return reply.code(204).send();
        }
        default:
          throw notFound(`Unknown batch operation ${req.params.op}`);
      }
    },
  );

  app.post<{ Params: { fromType: string; toType: string }; Body: { inputs?: Pair[] } }>(
    '/crm/v4/associations/:fromType/:toType/batch/associate/default',
    async (req) => {
      const from = objectType(req.params.fromType);
      const to = objectType(req.params.toType);
      const t = defaultOrFail(from, to);
      const inputs = req.body?.inputs;
      if (!Array.isArray(inputs)) throw validation('inputs is required and must be an array');
      const startedAt = iso(Date.now());
      const results: unknown[] = [];
      const errors: HubspotErrorBody[] = [];
      for (const p of inputs) {
        const f = String(p.from?.id ?? '');
        const o = String((Array.isArray(p.to) ? p.to[0]?.id : p.to?.id) ?? '');
        if (!exists(from, f) || !exists(to, o)) {
          errors.push(itemError(`${!exists(from, f) ? `${from.upper} ${f}` : `${to.upper} ${o}`} does not exist`, 'VALIDATION_ERROR', { fromObjectId: [f], toObjectId: [o] }, 'crm.associations.INVALID_OBJECT_IDS'));
          continue;
        }
        portal.assoc.add(from.name, f, to.name, o, [t.typeId]);
        results.push(...defaultJson(from, f, to, o));
      }
      return batchEnvelope(results, errors, startedAt);
    },
  );

  app.post<{ Params: { fromType: string; toType: string }; Body: { inputs?: Pair[] } }>(
    '/crm/v4/associations/:fromType/:toType/batch/labels/archive',
    async (req, reply) => {
      const from = objectType(req.params.fromType);
      const to = objectType(req.params.toType);
      for (const p of req.body?.inputs ?? []) {
        const ids = resolveTypes(from, to, p.types);
        if (typeof ids === 'string') throw validation(ids);
        portal.assoc.remove(from.name, String(p.from?.id ?? ''), to.name, String((Array.isArray(p.to) ? p.to[0]?.id : p.to?.id) ?? ''), ids);
      }
      return reply.code(204).send();
    },
  );

  // ---------- labels (definitions) ----------

  app.get<{ Params: { fromType: string; toType: string } }>('/crm/v4/associations/:fromType/:toType/labels', async (req) => {
    const from = objectType(req.params.fromType);
    const to = objectType(req.params.toType);
    return { results: portal.assoc.typesBetween(from.name, to.name).map(typeJson) };
  });

  app.post<{ Params: { fromType: string; toType: string }; Body: { label?: string; name?: string; inverseLabel?: string } }>(
    '/crm/v4/associations/:fromType/:toType/labels',
    async (req) => {
      const from = objectType(req.params.fromType);
      const to = objectType(req.params.toType);
      const label = req.body?.label;
      if (!label || !req.body?.name) throw validation('label and name are required');
      if (portal.assoc.typesBetween(from.name, to.name).some((t) => t.label === label)) {
        throw new HubspotHttpError(409, errorBody('CONFLICT', `An association label "${label}" already exists between ${from.singular} and ${to.singular}`));
      }
      const created = portal.assoc.createLabel(from.name, to.name, label, req.body.inverseLabel);
      return { results: created.map(typeJson) };
    },
  );
}
