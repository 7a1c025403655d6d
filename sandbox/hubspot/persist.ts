import type { AssocType } from './associations.js';
import { OBJECT_TYPES, type ObjectTypeName } from './meta.js';
import type { HubspotPortal, Owner } from './portal.js';
import type { PropertyDef } from './properties.js';
import type { HsRecord } from './store.js';

/** Snapshot/restore of a whole portal (JSON-serialisable), for the sandbox's optional persistence. */
type RecordRow = [id: string, props: Record<string, string>, createdAt: number, updatedAt: number, archivedAt: number | null, mergedInto: string | null];

export interface HubspotSnapshot {
  kind: 'hubspot';
  version: 1;
  objects: Record<string, RecordRow[]>;
  customProperties: Record<string, PropertyDef[]>;
  associations: Array<[ObjectTypeName, string, ObjectTypeName, string, number[]]>;
  associationTypes: AssocType[];
  owners: Owner[];
}

export function snapshotPortal(portal: HubspotPortal): HubspotSnapshot {
  const objects: Record<string, RecordRow[]> = {};
  const customProperties: Record<string, PropertyDef[]> = {};
  for (const t of Object.keys(OBJECT_TYPES) as ObjectTypeName[]) {
    objects[t] = [...portal.stores[t].records.values()].map((r) => [r.id, r.props, r.createdAt, r.updatedAt, r.archived ? (r.archivedAt ?? r.updatedAt) : null, r.mergedInto ?? null]);
    customProperties[t] = [...portal.props[t].values()].filter((p) => !p.hubspotDefined);
  }
  return { kind: 'hubspot', version: 1, objects, customProperties, associations: portal.assoc.dump(), associationTypes: portal.assoc.userTypes(), owners: portal.owners };
}

export function restorePortal(portal: HubspotPortal, snap: unknown): void {
  const s = snap as HubspotSnapshot;
  if (!s || s.kind !== 'hubspot' || s.version !== 1) throw new TypeError('not a HubSpot sandbox snapshot (kind "hubspot", version 1)');
  for (const t of Object.keys(OBJECT_TYPES) as ObjectTypeName[]) {
    const meta = OBJECT_TYPES[t];
    for (const p of s.customProperties[t] ?? []) {
      portal.props[t].set(p.name, p);
      if (p.hasUniqueValue && !p.archived) portal.stores[t].addUniqueProperty(p.name);
    }
    const store = portal.stores[t];
    store.clear();
    const recs: HsRecord[] = (s.objects[t] ?? []).map(([id, props, createdAt, updatedAt, archivedAt, mergedInto]) => ({
      id, idNum: Number(id), props, createdAt, updatedAt, archived: archivedAt !== null, ...(archivedAt !== null ? { archivedAt } : {}), ...(mergedInto ? { mergedInto } : {}),
    }));
    store.bulkLoad(recs);
    void meta;
  }
  portal.assoc.load(s.associations ?? [], s.associationTypes ?? []);
  if (Array.isArray(s.owners) && s.owners.length > 0) portal.owners = s.owners;
}
