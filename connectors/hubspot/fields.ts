import { isConnectorError } from '../errors.js';
import type { FieldSpec, ObjectSchema } from '../types.js';
import type { HubspotContext } from './context.js';
import { toObjectSchema, toPropertyCreate, type HubspotProperty } from './schema.js';
import type { HubspotTransport } from './transport.js';

/** The properties API → normalised schema. */
export async function fetchSchema(t: HubspotTransport, object: string): Promise<ObjectSchema> {
  const res = await t.call('api', `describe ${object}`, (c, o) => c.crm.properties.coreApi.getAll(object, false, undefined, o));
  return toObjectSchema(object, res.results as unknown as HubspotProperty[]);
}

/**
 * Create the properties the sync needs if they are missing. Match keys are created with
 * `hasUniqueValue` (it cannot be changed later, and only unique properties can be an upsert
 * idProperty). A 409 means someone else created it meanwhile: fine. Returns the names created.
 */
export async function ensureFields(ctx: HubspotContext, object: string, specs: FieldSpec[], groupName?: string): Promise<string[]> {
  const existing = await ctx.schema(object, true);
  const created: string[] = [];
  for (const spec of specs) {
    if (existing.fields[spec.name]) continue;
    try {
      await ctx.t.call('api', `create property ${object}.${spec.name}`, (c, o) => c.crm.properties.coreApi.create(object, toPropertyCreate(object, spec, groupName) as never, o));
      created.push(spec.name);
    } catch (e) {
      if (isConnectorError(e, 'conflict')) continue;
      throw e;
    }
  }
  if (created.length) ctx.forgetSchema(object);
  return created;
}
