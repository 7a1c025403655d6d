import type { FieldSchema, FieldType, FieldValue, Fields, ObjectSchema } from '../types.js';

/** The parts of a Salesforce describe field we read. */
export interface SfField {
  name: string;
  label?: string;
  type: string;
  length?: number;
  nillable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  defaultedOnCreate?: boolean;
  unique?: boolean;
  externalId?: boolean;
  restrictedPicklist?: boolean;
  picklistValues?: Array<{ value: string; label?: string; active?: boolean }>;
  referenceTo?: string[];
}

export interface SfDescribe {
  name: string;
  label?: string;
  fields: SfField[];
}

const TYPE_MAP: Record<string, FieldType> = {
  id: 'id',
  string: 'string',
  email: 'string',
  phone: 'string',
  url: 'string',
  combobox: 'string',
  encryptedstring: 'string',
  textarea: 'text',
  double: 'number',
  int: 'number',
  long: 'number',
  currency: 'currency',
  percent: 'percent',
  date: 'date',
  datetime: 'datetime',
  boolean: 'boolean',
  picklist: 'picklist',
  multipicklist: 'multipicklist',
  reference: 'reference',
};

/** Compound and binary fields cannot be selected or written like plain fields. */
const SKIPPED_TYPES = new Set(['address', 'location', 'base64', 'complexvalue', 'anyType']);

export function normaliseField(f: SfField): FieldSchema {
  const type = TYPE_MAP[f.type] ?? 'string';
  const createable = f.createable ?? false;
  const picklist = type === 'picklist' || type === 'multipicklist';
  return {
    name: f.name,
    label: f.label ?? f.name,
    type,
    nativeType: f.type,
    // Salesforce's own rule of thumb: not nillable, settable, and no server default → must be supplied.
    required: createable && f.nillable === false && !f.defaultedOnCreate && f.type !== 'boolean',
    unique: f.unique ?? false,
    externalId: f.externalId ?? false,
    createable,
    updateable: f.updateable ?? false,
    ...(f.length ? { length: f.length } : {}),
    ...(picklist ? { picklistValues: (f.picklistValues ?? []).filter((p) => p.active !== false).map((p) => p.value), restrictedPicklist: f.restrictedPicklist ?? false } : {}),
    ...(f.referenceTo?.length ? { referenceTo: f.referenceTo } : {}),
  };
}

export function normaliseDescribe(d: SfDescribe): ObjectSchema {
  const fields: Record<string, FieldSchema> = {};
  for (const f of d.fields) if (!SKIPPED_TYPES.has(f.type)) fields[f.name] = normaliseField(f);
  return { name: d.name, label: d.label ?? d.name, fields };
}

/** Salesforce datetimes (`2026-11-22T10:15:30.000+0000`) → ISO-8601 UTC with ms. */
export function normaliseDatetime(v: string): string {
  const t = Date.parse(v.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(t) ? v : new Date(t).toISOString();
}

const SF_DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/;

/** A query result row → plain field values (relationship sub-objects flattened as `Account.Name`). */
export function normaliseRow(row: Record<string, unknown>, prefix = '', out: Fields = {}): Fields {
  for (const [k, v] of Object.entries(row)) {
    if (k === 'attributes') continue;
    const name = prefix + k;
    if (v !== null && typeof v === 'object') {
      normaliseRow(v as Record<string, unknown>, `${name}.`, out);
    } else if (typeof v === 'string' && SF_DATETIME.test(v)) {
      out[name] = normaliseDatetime(v);
    } else {
      out[name] = (v ?? null) as FieldValue;
    }
  }
  return out;
}
