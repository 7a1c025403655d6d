/**
 * The HubSpot object types the portal emulates, and the ways a URL may name them
 * (`deals`, `deal`, `0-3`). Contacts keep `lastmodifieddate` where companies and deals use
 * `hs_lastmodifieddate`, exactly as in a real portal.
 */
export type ObjectTypeName = 'contacts' | 'companies' | 'deals';

export interface ObjectTypeMeta {
  name: ObjectTypeName;
  singular: 'contact' | 'company' | 'deal';
  /** Upper-case singular, as real error messages spell it (`Could not get some COMPANY objects`). */
  upper: string;
  typeId: '0-1' | '0-2' | '0-3';
  /** The property the server bumps on every change. */
  modifiedProp: 'lastmodifieddate' | 'hs_lastmodifieddate';
  /** Properties returned when the request names none. */
  defaultProps: readonly string[];
  /** Property shown as the record's title on the web page. */
  titleProp: string;
  /** First id handed out (ids of different types never collide, which makes logs easier to read). */
  idBase: number;
}

export const OBJECT_TYPES: Record<ObjectTypeName, ObjectTypeMeta> = {
  contacts: {
    name: 'contacts', singular: 'contact', upper: 'CONTACT', typeId: '0-1', modifiedProp: 'lastmodifieddate',
    defaultProps: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
    titleProp: 'email', idBase: 100_000_001,
  },
  companies: {
    name: 'companies', singular: 'company', upper: 'COMPANY', typeId: '0-2', modifiedProp: 'hs_lastmodifieddate',
    defaultProps: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
    titleProp: 'name', idBase: 200_000_001,
  },
  deals: {
    name: 'deals', singular: 'deal', upper: 'DEAL', typeId: '0-3', modifiedProp: 'hs_lastmodifieddate',
    defaultProps: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
    titleProp: 'dealname', idBase: 300_000_001,
  },
};

const ALIASES: Record<string, ObjectTypeName> = {
  contacts: 'contacts', contact: 'contacts', '0-1': 'contacts',
  companies: 'companies', company: 'companies', '0-2': 'companies',
  deals: 'deals', deal: 'deals', '0-3': 'deals',
};

/** Resolve a URL's object type segment; undefined for types this portal does not have. */
export function resolveObjectType(segment: string): ObjectTypeMeta | undefined {
  const name = ALIASES[segment.toLowerCase()];
  return name ? OBJECT_TYPES[name] : undefined;
}

/** Properties that every read returns, whatever was asked for. */
export function alwaysReturned(meta: ObjectTypeMeta): string[] {
  return ['createdate', meta.modifiedProp, 'hs_object_id'];
}
