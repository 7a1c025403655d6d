import type { OrgListView } from '../types.js';
import { OBJECT_TYPES, type ObjectTypeName } from './meta.js';
import type { HubspotPortal } from './portal.js';

/** The read-only view behind the sandbox's CRM-like web pages (live records, newest id last). */
const COLUMNS: Record<ObjectTypeName, string[]> = {
  companies: ['name', 'domain', 'industry', 'country', 'hs_lastmodifieddate'],
  deals: ['dealname', 'amount', 'dealstage', 'closedate', 'hs_lastmodifieddate'],
  contacts: ['email', 'firstname', 'lastname', 'lastmodifieddate'],
};

export function hubspotListView(portal: HubspotPortal): OrgListView {
  const meta = (object: string) => OBJECT_TYPES[object as ObjectTypeName];
  return {
    objects: () => (['companies', 'deals', 'contacts'] as ObjectTypeName[]).filter((t) => t !== 'contacts' || portal.stores.contacts.liveCount > 0),
    count: (object) => (meta(object) ? portal.stores[meta(object).name].liveCount : 0),
    list: (object, offset, limit) => {
      const m = meta(object);
      if (!m) return [];
      return portal.stores[m.name].live.alive().slice(Math.max(0, offset), Math.max(0, offset) + Math.max(0, limit)).map((r) => ({
        id: r.id,
        title: r.props[m.titleProp] ?? r.id,
        fields: { ...r.props },
      }));
    },
    get: (object, id) => {
      const m = meta(object);
      const r = m ? portal.stores[m.name].records.get(id) : undefined;
      if (!r) return undefined;
      const assoc: Record<string, string[]> = {};
      for (const to of Object.keys(OBJECT_TYPES) as ObjectTypeName[]) {
        const ids = portal.assoc.list(m.name, id, to).map((l) => l.toId);
        if (ids.length > 0) assoc[to] = ids;
      }
      return { ...r.props, archived: r.archived, ...(r.mergedInto ? { mergedInto: r.mergedInto } : {}), associations: assoc };
    },
    columns: (object) => COLUMNS[object as ObjectTypeName] ?? [],
  };
}
