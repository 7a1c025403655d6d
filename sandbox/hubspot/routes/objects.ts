import type { FastifyInstance } from 'fastify';
import { HubspotHttpError, notFound, validation } from '../errors.js';
import { baseUrl, boolParam, listParam, objectType, strParam, type Query } from '../http.js';
import { resolveObjectType, type ObjectTypeMeta } from '../meta.js';
import type { HubspotPortal, WriteInput } from '../portal.js';
import type { HsRecord } from '../store.js';

/** Basic object endpoints: list, get, create, update, archive, merge (`/crm/v3/objects/{type}`). */
export function registerObjectRoutes(app: FastifyInstance, portal: HubspotPortal): void {
  app.get<{ Params: { objectType: string }; Querystring: Query }>('/crm/v3/objects/:objectType', async (req) => {
    const meta = objectType(req.params.objectType);
    const q = req.query;
    const rawLimit = strParam(q, 'limit');
    const limit = rawLimit === undefined ? 10 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1) throw validation(`limit must be a positive integer, got ${rawLimit}`);
    const pageSize = Math.min(limit, 100); // HubSpot caps list pages at 100
    const archived = boolParam(q, 'archived');
    const store = portal.store(meta);
    const index = archived ? store.archivedList : store.live;
    const after = strParam(q, 'after');
    if (after !== undefined && !/^\d+$/.test(after)) throw validation(`after must be a paging cursor returned by a previous page, got ${after}`);
    const start = after === undefined ? 0 : index.lowerBound(Number(after));
    const { items: page, next } = index.page(start, pageSize);
    const wanted = listParam(q, 'properties');
    const history = listParam(q, 'propertiesWithHistory');
    const assocTypes = listParam(q, 'associations');
    const results = page.map((r) => withAssociations(portal, meta, r, portal.recordJson(meta, r, wanted, { history }), assocTypes));
    const out: Record<string, unknown> = { results };
    if (next) out.paging = { next: { after: next.id, link: `${baseUrl(req)}/crm/v3/objects/${req.params.objectType}?after=${next.id}` } };
    return out;
  });

  app.get<{ Params: { objectType: string; objectId: string }; Querystring: Query }>('/crm/v3/objects/:objectType/:objectId', async (req) => {
    const meta = objectType(req.params.objectType);
    const q = req.query;
    const rec = portal.find(meta, req.params.objectId, { archived: boolParam(q, 'archived'), idProperty: idProperty(portal, meta, q) });
    if (!rec) throw notFound();
    const json = portal.recordJson(meta, rec, listParam(q, 'properties'), { history: listParam(q, 'propertiesWithHistory') });
    return withAssociations(portal, meta, rec, json, listParam(q, 'associations'));
  });

  app.post<{ Params: { objectType: string }; Body: WriteInput }>('/crm/v3/objects/:objectType', async (req, reply) => {
    const meta = objectType(req.params.objectType);
    const prepared = portal.prepareCreate(meta, req.body ?? {});
    if ('statusCode' in prepared) throw new HubspotHttpError(prepared.statusCode, prepared.body);
    const rec = portal.commitCreate(meta, prepared, portal.now());
    return reply.code(201).send(portal.fullJson(meta, rec));
  });

  app.patch<{ Params: { objectType: string; objectId: string }; Body: WriteInput; Querystring: Query }>('/crm/v3/objects/:objectType/:objectId', async (req) => {
    const meta = objectType(req.params.objectType);
    const rec = portal.find(meta, req.params.objectId, { idProperty: idProperty(portal, meta, req.query) });
    if (!rec) throw notFound();
    const prepared = portal.prepareUpdate(meta, rec, req.body ?? {});
    if ('statusCode' in prepared) throw new HubspotHttpError(prepared.statusCode, prepared.body);
    portal.commitUpdate(meta, rec, prepared.props, portal.now());
    return portal.fullJson(meta, rec);
  });

  app.delete<{ Params: { objectType: string; objectId: string } }>('/crm/v3/objects/:objectType/:objectId', async (req, reply) => {
    const meta = objectType(req.params.objectType);
    const rec = portal.store(meta).get(req.params.objectId);
    if (rec) portal.archive(meta, rec, portal.now());
    return reply.code(204).send();
  });

  app.post<{ Params: { objectType: string }; Body: { primaryObjectId?: string | number; objectIdToMerge?: string | number } }>(
    '/crm/v3/objects/:objectType/merge',
    async (req) => {
      const meta = objectType(req.params.objectType);
      const primaryId = String(req.body?.primaryObjectId ?? '');
      const mergeId = String(req.body?.objectIdToMerge ?? '');
      if (!primaryId || !mergeId) throw validation('primaryObjectId and objectIdToMerge are required');
      if (primaryId === mergeId) throw validation(`Cannot merge ${meta.singular} ${primaryId} with itself`);
      const store = portal.store(meta);
      const primary = store.get(primaryId);
      const merged = store.get(mergeId);
      if (!primary || !merged) throw notFound(`${meta.upper} ${!primary ? primaryId : mergeId} does not exist or is archived`);
      portal.merge(meta, primary, merged, portal.now());
      return portal.fullJson(meta, primary);
    },
  );
}

function idProperty(portal: HubspotPortal, meta: ObjectTypeMeta, q: Query): string | undefined {
  const name = strParam(q, 'idProperty');
  if (!name || name === 'hs_object_id') return undefined;
  if (!portal.store(meta).isUnique(name)) {
    throw validation(`Unable to perform update/upsert by non-unique ${meta.typeId} property ${name} in portal ID ${portal.portalId}`);
  }
  return name;
}

/** Add the v3 `associations` member: `{companies: {results: [{id, type}]}}`, only for types with results. */
export function withAssociations(portal: HubspotPortal, meta: ObjectTypeMeta, rec: HsRecord, json: Record<string, unknown>, toTypes?: string[]): Record<string, unknown> {
  if (!toTypes || toTypes.length === 0) return json;
  const out: Record<string, { results: Array<{ id: string; type: string }> }> = {};
  for (const t of toTypes) {
    const to = resolveObjectType(t);
    if (!to) continue;
    const results: Array<{ id: string; type: string }> = [];
    for (const l of portal.assoc.list(meta.name, rec.id, to.name)) {
      if (!portal.store(to).get(l.toId)) continue;
      for (const typeId of l.typeIds) {
        const def = portal.assoc.type(meta.name, to.name, typeId);
        if (def) results.push({ id: l.toId, type: def.v3Name });
      }
    }
    if (results.length > 0) out[t] = { results };
  }
  if (Object.keys(out).length > 0) json.associations = out;
  return json;
}
