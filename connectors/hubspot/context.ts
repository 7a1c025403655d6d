import type { CrmRecord, ObjectSchema } from '../types.js';
import { fromHubspot, modifiedProperty } from './schema.js';
import { toIso } from './time.js';
import type { HubspotTransport } from './transport.js';

/** What every operation module of the connector shares. */
export interface HubspotContext {
  readonly orgId: string;
  readonly t: HubspotTransport;
  /** Cached describe (properties API); `fresh` bypasses the cache. */
  schema(object: string, fresh?: boolean): Promise<ObjectSchema>;
  forgetSchema(object: string): void;
  readonly batchSize: number;
  /** Batch writes in flight at once. */
  readonly writeConcurrency: number;
}

export interface RawObject {
  id: string;
  properties: Record<string, string | null | undefined>;
  updatedAt?: Date | string;
  archivedAt?: Date | string;
}

/** The property names to ask for: the caller's, or every property the object has. */
export async function propertiesFor(ctx: HubspotContext, object: string, fields?: string[]): Promise<string[]> {
  const names = fields?.length ? [...fields] : Object.keys((await ctx.schema(object)).fields);
  for (const must of ['hs_object_id', modifiedProperty(object)]) if (!names.includes(must)) names.push(must);
  return names;
}

export function toRecord(object: string, raw: RawObject, schema: ObjectSchema | undefined, modifiedAt?: string): CrmRecord {
  const props = raw.properties ?? {};
  return {
    id: String(raw.id),
    modifiedAt: modifiedAt ?? toIso(props[modifiedProperty(object)]) ?? toIso(raw.updatedAt) ?? new Date(0).toISOString(),
    fields: fromHubspot(props as Record<string, string | null>, schema),
  };
}

export function chunk<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
