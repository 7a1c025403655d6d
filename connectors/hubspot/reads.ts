import { ConnectorError } from '../errors.js';
import type { CrmRecord } from '../types.js';
import { chunk, propertiesFor, toRecord, type HubspotContext, type RawObject } from './context.js';
import type { SearchRequest } from './feed.js';

const IN_MAX_VALUES = 100;

/** Batch read by record id (100 a call); ids that do not exist are simply absent from the answer. */
export async function readByIds(ctx: HubspotContext, object: string, ids: string[], fields?: string[]): Promise<CrmRecord[]> {
  return batchRead(ctx, object, [...new Set(ids)], fields, undefined);
}

/**
 * Records whose `field` equals one of `values`. A unique property (or hs_object_id) is read with the
 * batch-read endpoint's `idProperty` — exact and free of search's indexing lag; anything else falls
 * back to search with IN (subject to the lag and the search rate limit).
 */
export async function readByField(ctx: HubspotContext, object: string, field: string, values: string[], fields?: string[]): Promise<CrmRecord[]> {
  const unique = [...new Set(values.filter((v) => v !== ''))];
  if (unique.length === 0) return [];
  if (field === 'hs_object_id' || field === 'id') return batchRead(ctx, object, unique, fields, undefined);
  const schema = await ctx.schema(object);
  const f = schema.fields[field];
  if (!f) throw new ConnectorError('validation', `HubSpot ${object} has no property "${field}"`, { fields: [field] });
  if (f.unique) return batchRead(ctx, object, unique, fields, field);
  return searchIn(ctx, object, field, unique, fields);
}

async function batchRead(ctx: HubspotContext, object: string, ids: string[], fields: string[] | undefined, idProperty: string | undefined): Promise<CrmRecord[]> {
  if (ids.length === 0) return [];
  const properties = await propertiesFor(ctx, object, withField(fields, idProperty));
  const schema = await ctx.schema(object);
  const out: CrmRecord[] = [];
  for (const part of chunk(ids, ctx.batchSize)) {
    const res = await ctx.t.call('api', `batch read ${object}`, (c, o) =>
      c.crm.objects.batchApi.read(object, { inputs: part.map((id) => ({ id })), properties, propertiesWithHistory: [], ...(idProperty ? { idProperty } : {}) }, false, o),
    );
    // 207 answers list the missing ones in `errors` (OBJECT_NOT_FOUND): absent is the contract.
    for (const r of res.results as RawObject[]) out.push(toRecord(object, r, schema));
  }
  return out;
}

async function searchIn(ctx: HubspotContext, object: string, field: string, values: string[], fields: string[] | undefined): Promise<CrmRecord[]> {
  const properties = await propertiesFor(ctx, object, withField(fields, field));
  const schema = await ctx.schema(object);
  const out = new Map<string, CrmRecord>();
  for (const part of chunk(values, IN_MAX_VALUES)) {
    let lastId = '';
    for (;;) {
      // Keyset on hs_object_id instead of `after`: never runs into the 10,000-result cap.
      const filters: SearchRequest['filterGroups'][number]['filters'] = [{ propertyName: field, operator: 'IN', values: part }];
      if (lastId) filters.push({ propertyName: 'hs_object_id', operator: 'GT', value: lastId });
      const req: SearchRequest = { filterGroups: [{ filters }], sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }], properties, limit: 200 };
      const res = await ctx.t.call('search', `search ${object} by ${field}`, (c, o) => c.crm.objects.searchApi.doSearch(object, req as never, o));
      for (const r of res.results as RawObject[]) {
        out.set(r.id, toRecord(object, r, schema));
        lastId = r.id;
      }
      if (res.results.length === 0 || !res.paging?.next) break;
    }
  }
  return [...out.values()];
}

function withField(fields: string[] | undefined, field: string | undefined): string[] | undefined {
  if (!fields?.length || !field || fields.includes(field)) return fields;
  return [...fields, field];
}
