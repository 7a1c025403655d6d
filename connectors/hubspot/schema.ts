import type { FieldSchema, FieldSpec, FieldType, FieldValue, Fields, ObjectSchema } from '../types.js';
import { toIso } from './time.js';

/** The subset of HubSpot's property definition (`GET /crm/v3/properties/{object}`) we read. */
export interface HubspotProperty {
  name: string;
  label?: string;
  type: string; // string | number | date | datetime | enumeration | bool | phone_number | object_coordinates | json
  fieldType?: string; // text | textarea | number | date | select | radio | checkbox | booleancheckbox | calculation_* ...
  options?: Array<{ label?: string; value: string; hidden?: boolean }>;
  hasUniqueValue?: boolean;
  calculated?: boolean;
  showCurrencySymbol?: boolean;
  numberDisplayHint?: string;
  referencedObjectType?: string;
  modificationMetadata?: { readOnlyValue?: boolean; readOnlyDefinition?: boolean; archivable?: boolean };
  externalOptions?: boolean;
}

const SERVER_MAINTAINED = new Set(['hs_object_id', 'createdate', 'hs_lastmodifieddate', 'lastmodifieddate', 'hs_merged_object_ids', 'hs_is_closed_won', 'hs_is_closed_lost', 'hs_is_closed']);

/** The property the change feed orders by (contacts use `lastmodifieddate`). */
export function modifiedProperty(object: string): string {
  return object === 'contacts' || object === '0-1' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

export function normaliseType(p: HubspotProperty): FieldType {
  if (p.name === 'hs_object_id') return 'id';
  if (p.referencedObjectType) return 'reference';
  switch (p.type) {
    case 'number':
      if (p.showCurrencySymbol || p.numberDisplayHint === 'currency' || p.fieldType === 'calculation_currency') return 'currency';
      if (p.numberDisplayHint === 'percentage' || p.numberDisplayHint === 'probability') return 'percent';
      return 'number';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'bool':
      return 'boolean';
    case 'enumeration':
      if (p.fieldType === 'booleancheckbox') return 'boolean';
      return p.fieldType === 'checkbox' ? 'multipicklist' : 'picklist';
    case 'string':
      return p.fieldType === 'textarea' || p.fieldType === 'html' ? 'text' : 'string';
    default:
      return 'string'; // phone_number, object_coordinates, json: carried as text
  }
}

export function toFieldSchema(p: HubspotProperty): FieldSchema {
  const type = normaliseType(p);
  const readOnly = Boolean(p.calculated || p.modificationMetadata?.readOnlyValue || SERVER_MAINTAINED.has(p.name) || p.fieldType?.startsWith('calculation'));
  const f: FieldSchema = {
    name: p.name,
    label: p.label ?? p.name,
    type,
    nativeType: p.fieldType ? `${p.type}/${p.fieldType}` : p.type,
    // HubSpot's API requires no property on create (the UI's required fields are a UI concern).
    required: false,
    unique: Boolean(p.hasUniqueValue) || p.name === 'hs_object_id',
    // Any hasUniqueValue property is usable as batch-upsert `idProperty`; hs_object_id is not.
    externalId: Boolean(p.hasUniqueValue),
    createable: !readOnly,
    updateable: !readOnly,
  };
  if (type === 'picklist' || type === 'multipicklist') {
    f.picklistValues = (p.options ?? []).filter((o) => !o.hidden).map((o) => o.value);
    // HubSpot rejects values outside the options (INVALID_OPTION) unless options are external.
    f.restrictedPicklist = !p.externalOptions;
  }
  if (type === 'reference' && p.referencedObjectType) f.referenceTo = [p.referencedObjectType.toLowerCase()];
  return f;
}

export function toObjectSchema(object: string, props: HubspotProperty[]): ObjectSchema {
  const fields: Record<string, FieldSchema> = {};
  for (const p of props) fields[p.name] = toFieldSchema(p);
  return { name: object, label: object.charAt(0).toUpperCase() + object.slice(1), fields };
}

/** HubSpot property values are strings on the wire; give the engine typed values like Salesforce does. */
export function fromHubspot(props: Record<string, string | null | undefined>, schema: ObjectSchema | undefined): Fields {
  const out: Fields = {};
  for (const [name, raw] of Object.entries(props)) out[name] = fromHubspotValue(raw, schema?.fields[name]?.type);
  return out;
}

export function fromHubspotValue(raw: string | null | undefined, type: FieldType | undefined): FieldValue {
  if (raw === null || raw === undefined || raw === '') return null;
  switch (type) {
    case 'number':
    case 'currency':
    case 'percent': {
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw;
    }
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'datetime':
      return toIso(raw) ?? raw;
    case 'date': {
      const iso = toIso(raw);
      return iso ? iso.slice(0, 10) : raw;
    }
    default:
      return raw;
  }
}

/** Engine values → HubSpot wire strings (null clears a property). */
export function toHubspot(fields: Fields, schema: ObjectSchema | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(fields)) {
    const type = schema?.fields[name]?.type;
    if (v === null) out[name] = '';
    else if (typeof v === 'boolean') out[name] = v ? 'true' : 'false';
    else if (typeof v === 'number') out[name] = String(v);
    else if (type === 'date' && /^\d{4}-\d{2}-\d{2}T/.test(v)) out[name] = v.slice(0, 10);
    else out[name] = v;
  }
  return out;
}

/** FieldSpec → the body of `POST /crm/v3/properties/{object}`. */
export function toPropertyCreate(object: string, spec: FieldSpec, groupName?: string) {
  const base = {
    name: spec.name,
    label: spec.label,
    groupName: groupName ?? defaultGroup(object),
    ...(spec.description ? { description: spec.description } : {}),
    // A match key must be unique to serve as upsert idProperty; hasUniqueValue cannot be changed later.
    ...(spec.unique || spec.externalId ? { hasUniqueValue: true } : {}),
  };
  switch (spec.type) {
    case 'string':
      return { ...base, type: 'string', fieldType: 'text' };
    case 'text':
      return { ...base, type: 'string', fieldType: 'textarea' };
    case 'number':
    case 'currency':
    case 'percent':
      return { ...base, type: 'number', fieldType: 'number', ...(spec.type === 'currency' ? { showCurrencySymbol: true } : {}) };
    case 'date':
      return { ...base, type: 'date', fieldType: 'date' };
    case 'datetime':
      return { ...base, type: 'datetime', fieldType: 'date' };
    case 'boolean':
      return {
        ...base, type: 'bool', fieldType: 'booleancheckbox',
        options: [{ label: 'Yes', value: 'true', displayOrder: 0, hidden: false }, { label: 'No', value: 'false', displayOrder: 1, hidden: false }],
      };
    case 'picklist':
    case 'multipicklist':
      return {
        ...base, type: 'enumeration', fieldType: spec.type === 'picklist' ? 'select' : 'checkbox',
        options: (spec.picklistValues ?? []).map((v, i) => ({ label: v, value: v, displayOrder: i, hidden: false })),
      };
  }
}

function defaultGroup(object: string): string {
  switch (object) {
    case 'deals':
      return 'dealinformation';
    case 'companies':
      return 'companyinformation';
    case 'contacts':
      return 'contactinformation';
    default:
      return `${object}information`;
  }
}
