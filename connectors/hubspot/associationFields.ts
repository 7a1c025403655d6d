import type { CrmRecord } from '../types.js';
import { hubspotObjectName } from './associations.js';
import { chunk, type HubspotContext } from './context.js';

/**
 * Associations read as pseudo-fields: asking for `associations.companies` among a read's fields puts
 * the record's first associated company id (or null) in `fields['associations.companies']`. That is
 * how a deal's company becomes a parent reference the sync engine can follow (HubSpot → Salesforce
 * AccountId). One v4 batch read per 1,000 records and association type; no extra call when not asked.
 */
export const ASSOCIATION_FIELD_PREFIX = 'associations.';
const V4_READ_MAX = 1000;

export function splitAssociationFields(fields: string[] | undefined): { properties: string[] | undefined; associations: string[] } {
  if (!fields?.length) return { properties: fields, associations: [] };
  const associations = fields.filter((f) => f.startsWith(ASSOCIATION_FIELD_PREFIX)).map((f) => f.slice(ASSOCIATION_FIELD_PREFIX.length));
  if (associations.length === 0) return { properties: fields, associations };
  return { properties: fields.filter((f) => !f.startsWith(ASSOCIATION_FIELD_PREFIX)), associations };
}

/** Fill the asked-for association pseudo-fields on records (in place). */
export async function addAssociationFields(ctx: HubspotContext, object: string, records: CrmRecord[], associations: string[]): Promise<CrmRecord[]> {
  if (records.length === 0 || associations.length === 0) return records;
  for (const toName of associations) {
    const found = await readFirstAssociations(ctx, object, records.map((r) => r.id), toName);
    for (const rec of records) rec.fields[`${ASSOCIATION_FIELD_PREFIX}${toName}`] = found.get(rec.id) ?? null;
  }
  return records;
}

/**
 * Each record's first associated `toName` id (or null), without reading the records themselves: one v4
 * batch read (`POST /crm/v4/associations/{from}/{to}/batch/read`, at most 1,000 ids since February
 * 2025) per 1,000 ids. Ids sorted so the pick is stable.
 */
export async function readFirstAssociations(ctx: HubspotContext, object: string, ids: string[], toName: string): Promise<Map<string, string | null>> {
  const from = hubspotObjectName(object);
  const to = hubspotObjectName(toName);
  const out = new Map<string, string | null>();
  for (const part of chunk([...new Set(ids)], V4_READ_MAX)) {
    const res = await ctx.t.call('api', `read associations ${from} → ${to}`, (c, o) => c.crm.associations.v4.batchApi.getPage(from, to, { inputs: part.map((id) => ({ id })) }, o));
    for (const r of res.results ?? []) {
      const found = (r.to ?? []).map((x) => String(x.toObjectId)).sort((a, b) => (a.length - b.length) || (a < b ? -1 : a > b ? 1 : 0));
      out.set(String(r._from.id), found[0] ?? null);
    }
  }
  for (const id of ids) if (!out.has(id)) out.set(id, null);
  return out;
}
