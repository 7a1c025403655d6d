import type { FastifyInstance } from 'fastify';
import { httpError, notFound, validation } from '../errors.js';
import { baseUrl, boolParam, objectType, strParam, type Query } from '../http.js';
import type { ObjectTypeMeta } from '../meta.js';
import { pipelineJson, stageJson } from '../pipelines.js';
import type { HubspotPortal } from '../portal.js';
import { FIELD_TYPES, PROPERTY_GROUPS, PROPERTY_NAME, PROPERTY_TYPES, propertyJson, type PropertyDef, type PropertyType } from '../properties.js';

/** Properties API, deal pipelines and owners. */
export function registerSchemaRoutes(app: FastifyInstance, portal: HubspotPortal): void {
  // ---------- properties ----------
  app.get<{ Params: { objectType: string }; Querystring: Query }>('/crm/v3/properties/:objectType', async (req) => {
    const meta = objectType(req.params.objectType);
    const archived = boolParam(req.query, 'archived');
    return { results: [...portal.props[meta.name].values()].filter((p) => p.archived === archived).map(propertyJson) };
  });

  app.get<{ Params: { objectType: string } }>('/crm/v3/properties/:objectType/groups', async (req) => {
    const meta = objectType(req.params.objectType);
    return { results: PROPERTY_GROUPS[meta.name].map((g) => ({ ...g, archived: false })) };
  });

  app.get<{ Params: { objectType: string; name: string } }>('/crm/v3/properties/:objectType/:name', async (req) => {
    const meta = objectType(req.params.objectType);
    const p = portal.props[meta.name].get(req.params.name);
    if (!p || p.archived) throw notFound(`Unable to find property ${req.params.name} for object type ${meta.typeId}`);
    return propertyJson(p);
  });

  app.post<{ Params: { objectType: string }; Body: Record<string, any> }>('/crm/v3/properties/:objectType', async (req, reply) => {
    const meta = objectType(req.params.objectType);
    const b = req.body ?? {};
    const problems = propertyCreateProblems(meta, b);
    if (problems.length > 0) throw validation(`Property definition is not valid: ${problems.join('; ')}`, { errors: problems.map((m) => ({ message: m, code: 'INVALID_PROPERTY' })) });
    const existing = portal.props[meta.name].get(b.name);
    if (existing && !existing.archived) throw httpError(409, 'OBJECT_ALREADY_EXISTS', `Property named '${b.name}' already exists.`);
    return reply.code(201).send(propertyJson(portal.defineProperty(meta, b)));
  });

  // Batch: read / create (all-or-nothing) / archive.
  app.post<{ Params: { objectType: string; op: string }; Body: { inputs?: Array<Record<string, any>>; archived?: boolean } }>(
    '/crm/v3/properties/:objectType/batch/:op',
    async (req, reply) => {
      const meta = objectType(req.params.objectType);
      const inputs = req.body?.inputs;
      if (!Array.isArray(inputs)) throw validation('inputs is required and must be an array');
      const startedAt = new Date().toISOString();
      const envelope = (results: unknown[]) => ({ status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() });
      const defs = portal.props[meta.name];
      switch (req.params.op) {
        case 'read':
          return envelope(inputs.map((i) => defs.get(String(i.name))).filter((d): d is PropertyDef => !!d && d.archived === !!req.body?.archived).map(propertyJson));
        case 'create': {
          const problems = inputs.flatMap((b, i) => propertyCreateProblems(meta, b).map((m) => `inputs[${i}]: ${m}`));
          const names = inputs.map((b) => String(b.name));
          const taken = names.filter((n, i) => (defs.get(n) && !defs.get(n)!.archived) || names.indexOf(n) !== i);
          if (taken.length > 0) throw httpError(409, 'OBJECT_ALREADY_EXISTS', `Properties already exist: ${taken.join(', ')}`);
          if (problems.length > 0) throw validation(`Property definitions are not valid: ${problems.join('; ')}`);
          return reply.code(201).send(envelope(inputs.map((b) => propertyJson(portal.defineProperty(meta, b)))));
        }
        case 'archive':
          for (const i of inputs) {
            const d = defs.get(String(i.name));
            if (d && !d.hubspotDefined) defs.set(d.name, { ...d, archived: true });
          }
          return reply.code(204).send();
        default:
          throw notFound(`Unknown batch operation ${req.params.op}`);
      }
    },
  );

  app.patch<{ Params: { objectType: string; name: string }; Body: Record<string, any> }>('/crm/v3/properties/:objectType/:name', async (req) => {
    const meta = objectType(req.params.objectType);
    const p = portal.props[meta.name].get(req.params.name);
    if (!p || p.archived) throw notFound(`Unable to find property ${req.params.name} for object type ${meta.typeId}`);
    const b = req.body ?? {};
    if (b.hasUniqueValue !== undefined && b.hasUniqueValue !== p.hasUniqueValue) throw validation('hasUniqueValue cannot be changed after a property is created');
    if (p.hubspotDefined && (b.type !== undefined || b.options !== undefined)) throw validation(`${p.name} is a HubSpot-defined property; its definition is read only`);
    const next: PropertyDef = {
      ...p,
      label: b.label ?? p.label,
      description: b.description ?? p.description,
      hidden: b.hidden ?? p.hidden,
      displayOrder: b.displayOrder ?? p.displayOrder,
      options: Array.isArray(b.options) ? b.options.map((o: any, i: number) => ({ label: String(o.label), value: String(o.value), displayOrder: o.displayOrder ?? i, hidden: !!o.hidden, description: o.description })) : p.options,
      updatedAt: new Date(portal.now()).toISOString(),
    };
    portal.props[meta.name].set(p.name, next);
    return propertyJson(next);
  });

  app.delete<{ Params: { objectType: string; name: string } }>('/crm/v3/properties/:objectType/:name', async (req, reply) => {
    const meta = objectType(req.params.objectType);
    const p = portal.props[meta.name].get(req.params.name);
    if (!p || p.archived) throw notFound(`Unable to find property ${req.params.name} for object type ${meta.typeId}`);
    if (p.hubspotDefined) throw validation(`${p.name} is a HubSpot-defined property and cannot be archived`);
    portal.props[meta.name].set(p.name, { ...p, archived: true });
    return reply.code(204).send();
  });

  // ---------- pipelines ----------
  const dealsOnly = (t: string) => {
    const meta = objectType(t);
    if (meta.name !== 'deals') throw notFound(`No pipelines for object type ${t} in the sandbox`);
  };
  app.get<{ Params: { objectType: string } }>('/crm/v3/pipelines/:objectType', async (req) => {
    dealsOnly(req.params.objectType);
    return { results: portal.pipelines.map(pipelineJson) };
  });
  app.get<{ Params: { objectType: string; pipelineId: string } }>('/crm/v3/pipelines/:objectType/:pipelineId', async (req) => {
    dealsOnly(req.params.objectType);
    const p = portal.pipeline(req.params.pipelineId);
    if (!p) throw notFound(`Unable to find pipeline ${req.params.pipelineId}`);
    return pipelineJson(p);
  });
  app.get<{ Params: { objectType: string; pipelineId: string } }>('/crm/v3/pipelines/:objectType/:pipelineId/stages', async (req) => {
    dealsOnly(req.params.objectType);
    const p = portal.pipeline(req.params.pipelineId);
    if (!p) throw notFound(`Unable to find pipeline ${req.params.pipelineId}`);
    return { results: p.stages.map(stageJson) };
  });
  app.get<{ Params: { objectType: string; pipelineId: string; stageId: string } }>('/crm/v3/pipelines/:objectType/:pipelineId/stages/:stageId', async (req) => {
    dealsOnly(req.params.objectType);
    const s = portal.pipeline(req.params.pipelineId)?.stages.find((x) => x.id === req.params.stageId);
    if (!s) throw notFound(`Unable to find stage ${req.params.stageId} in pipeline ${req.params.pipelineId}`);
    return stageJson(s);
  });

  // ---------- owners ----------
  const listOwners = async (req: { query: Query; protocol: string; headers: Record<string, unknown> }) => {
    const q = req.query;
    const limit = Math.min(500, Math.max(1, Number(strParam(q, 'limit') ?? 100)));
    const email = strParam(q, 'email')?.toLowerCase();
    const all = portal.owners.filter((o) => !o.archived && (!email || o.email.toLowerCase() === email));
    const after = strParam(q, 'after');
    const start = after ? Math.max(0, all.findIndex((o) => Number(o.id) >= Number(after))) : 0;
    const page = all.slice(start, start + limit);
    const next = all[start + limit];
    const out: Record<string, unknown> = { results: page.map(ownerJson) };
    if (next) out.paging = { next: { after: next.id, link: `${baseUrl(req as any)}/crm/v3/owners/?after=${next.id}` } };
    return out;
  };
  app.get<{ Querystring: Query }>('/crm/v3/owners/', listOwners);
  try {
    app.get<{ Querystring: Query }>('/crm/v3/owners', listOwners);
  } catch {
    // The host's router ignores trailing slashes: the route above already answers both.
  }
  app.get<{ Params: { ownerId: string }; Querystring: Query }>('/crm/v3/owners/:ownerId', async (req) => {
    const by = strParam(req.query, 'idProperty') ?? 'id';
    const o = portal.owners.find((x) => (by === 'userId' ? String(x.userId) : x.id) === req.params.ownerId);
    if (!o) throw notFound(`Owner ${req.params.ownerId} not found`);
    return ownerJson(o);
  });
}

function ownerJson(o: HubspotPortal['owners'][number]): Record<string, unknown> {
  return { id: o.id, email: o.email, type: 'PERSON', firstName: o.firstName, lastName: o.lastName, userId: o.userId, userIdIncludingInactive: o.userId, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: o.archived, teams: [] };
}

/** Everything wrong with a PropertyCreate body, in words (empty when it is valid). */
function propertyCreateProblems(meta: ObjectTypeMeta, b: Record<string, any>): string[] {
  const problems: string[] = [];
  for (const k of ['name', 'label', 'type', 'fieldType', 'groupName']) if (typeof b[k] !== 'string' || b[k] === '') problems.push(`${k} is required`);
  if (typeof b.name === 'string' && !PROPERTY_NAME.test(b.name)) problems.push(`name ${b.name} must be lower case letters, digits and underscores, starting with a letter`);
  if (typeof b.type === 'string' && !PROPERTY_TYPES.includes(b.type as PropertyType)) problems.push(`type ${b.type} must be one of ${PROPERTY_TYPES.join(', ')}`);
  else if (typeof b.type === 'string' && typeof b.fieldType === 'string' && !FIELD_TYPES[b.type as PropertyType].includes(b.fieldType)) {
    problems.push(`fieldType ${b.fieldType} is not valid for type ${b.type} (use ${FIELD_TYPES[b.type as PropertyType].join(', ')})`);
  }
  if (typeof b.groupName === 'string' && !PROPERTY_GROUPS[meta.name].some((g) => g.name === b.groupName)) problems.push(`groupName ${b.groupName} does not exist`);
  const options = Array.isArray(b.options) ? b.options : [];
  if (b.type === 'enumeration' && options.length === 0 && b.fieldType !== 'booleancheckbox') problems.push('enumeration properties need options');
  for (const o of options) if (typeof o?.value !== 'string' || typeof o?.label !== 'string') problems.push('every option needs a label and a value');
  if (b.hasUniqueValue === true && b.type !== 'string' && b.type !== 'number') problems.push('hasUniqueValue is only allowed on string and number properties');
  return problems;
}
