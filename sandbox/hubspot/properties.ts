import type { ObjectTypeName } from './meta.js';
import { propertyProblem, type PropertyProblem } from './errors.js';

/**
 * Property definitions (the Properties API's objects) and the validation/normalisation every write goes
 * through. Values are stored as HubSpot returns them: strings; `date` as YYYY-MM-DD, `datetime` as an ISO
 * instant with milliseconds, `number` in canonical decimal form, `bool` as `true`/`false`.
 */
export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool';

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

export interface PropertyDef {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  displayOrder: number;
  hasUniqueValue: boolean;
  hidden: boolean;
  hubspotDefined: boolean;
  /** Values come from elsewhere (pipelines, owners), so `options` is empty. */
  externalOptions: boolean;
  /** The server maintains it; writes are rejected with READ_ONLY_VALUE. */
  readOnlyValue: boolean;
  calculated: boolean;
  formField: boolean;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export const PROPERTY_TYPES: readonly PropertyType[] = ['string', 'number', 'date', 'datetime', 'enumeration', 'bool'];
export const FIELD_TYPES: Record<PropertyType, readonly string[]> = {
  string: ['text', 'textarea', 'html', 'phonenumber', 'file'],
  number: ['number', 'calculation_equation'],
  date: ['date'],
  datetime: ['date'],
  enumeration: ['select', 'radio', 'checkbox', 'booleancheckbox'],
  bool: ['booleancheckbox', 'checkbox'],
};

const EPOCH = '2019-08-06T02:43:14.491Z'; // how old HubSpot's own definitions claim to be

type Spec = [name: string, label: string, type: PropertyType, fieldType: string, extra?: Partial<PropertyDef> & { values?: string[] }];

function def(groupName: string, [name, label, type, fieldType, extra = {}]: Spec, displayOrder: number): PropertyDef {
  const { values, ...rest } = extra;
  return {
    name, label, type, fieldType, groupName, description: '', displayOrder, hasUniqueValue: false, hidden: false,
    hubspotDefined: true, externalOptions: false, readOnlyValue: false, calculated: false, formField: true,
    createdAt: EPOCH, updatedAt: EPOCH, archived: false,
    options: (values ?? []).map((v, i) => ({ label: labelFor(v), value: v, displayOrder: i, hidden: false })),
    ...rest,
  };
}

function labelFor(value: string): string {
  return value.toLowerCase().split('_').map((w) => (w === 'and' ? w : w.charAt(0).toUpperCase() + w.slice(1))).join(' ');
}

/** HubSpot's company `industry` values (a representative subset of the real list). */
export const HUBSPOT_INDUSTRIES = [
  'ACCOUNTING', 'APPAREL_FASHION', 'AUTOMOTIVE', 'BANKING', 'BIOTECHNOLOGY', 'CHEMICALS', 'COMPUTER_HARDWARE',
  'COMPUTER_SOFTWARE', 'CONSTRUCTION', 'CONSUMER_ELECTRONICS', 'EDUCATION_MANAGEMENT', 'ENTERTAINMENT',
  'ENVIRONMENTAL_SERVICES', 'FARMING', 'FINANCIAL_SERVICES', 'FOOD_BEVERAGES', 'GOVERNMENT_ADMINISTRATION',
  'HOSPITAL_HEALTH_CARE', 'HOSPITALITY', 'INDUSTRIAL_AUTOMATION', 'INFORMATION_TECHNOLOGY_AND_SERVICES', 'INSURANCE',
  'MACHINERY', 'MANAGEMENT_CONSULTING', 'MECHANICAL_OR_INDUSTRIAL_ENGINEERING', 'MEDIA_PRODUCTION',
  'NON_PROFIT_ORGANIZATION_MANAGEMENT', 'OIL_ENERGY', 'PACKAGE_FREIGHT_DELIVERY', 'RECREATIONAL_FACILITIES_SERVICES',
  'RETAIL', 'TELECOMMUNICATIONS', 'TRANSPORTATION_TRUCKING_RAILROAD', 'UTILITIES',
];

const SERVER_MAINTAINED = { readOnlyValue: true, formField: false } as const;

function commonTail(modifiedProp: string, group: string): Spec[] {
  return [
    ['createdate', 'Create Date', 'datetime', 'date'],
    [modifiedProp, 'Last Modified Date', 'datetime', 'date', SERVER_MAINTAINED],
    ['hs_object_id', 'Record ID', 'number', 'number', SERVER_MAINTAINED],
    ['hs_merged_object_ids', 'Merged Record IDs', 'enumeration', 'checkbox', { ...SERVER_MAINTAINED, externalOptions: true }],
    ['hubspot_owner_id', `${group} owner`, 'enumeration', 'select', { externalOptions: true }],
  ];
}

const BUILT_IN: Record<ObjectTypeName, { group: string; specs: Spec[] }> = {
  companies: {
    group: 'companyinformation',
    specs: [
      ['name', 'Company name', 'string', 'text'],
      ['domain', 'Company Domain Name', 'string', 'text'],
      ['website', 'Website URL', 'string', 'text'],
      ['industry', 'Industry', 'enumeration', 'select', { values: HUBSPOT_INDUSTRIES }],
      ['numberofemployees', 'Number of Employees', 'number', 'number'],
      ['annualrevenue', 'Annual Revenue', 'number', 'number'],
      ['country', 'Country/Region', 'string', 'text'],
      ['city', 'City', 'string', 'text'],
      ['phone', 'Phone Number', 'string', 'phonenumber'],
      ['description', 'Description', 'string', 'textarea'],
      ['type', 'Type', 'enumeration', 'select', { values: ['PROSPECT', 'PARTNER', 'RESELLER', 'VENDOR', 'OTHER'] }],
      ...commonTail('hs_lastmodifieddate', 'Company'),
    ],
  },
  deals: {
    group: 'dealinformation',
    specs: [
      ['dealname', 'Deal Name', 'string', 'text'],
      ['amount', 'Amount', 'number', 'number'],
      ['closedate', 'Close Date', 'datetime', 'date'],
      ['pipeline', 'Pipeline', 'enumeration', 'select', { externalOptions: true }],
      ['dealstage', 'Deal Stage', 'enumeration', 'radio', { externalOptions: true }],
      ['dealtype', 'Deal Type', 'enumeration', 'radio', { values: ['newbusiness', 'existingbusiness'] }],
      ['description', 'Deal Description', 'string', 'textarea'],
      ['hs_next_step', 'Next step', 'string', 'textarea'],
      ['hs_priority', 'Priority', 'enumeration', 'radio', { values: ['low', 'medium', 'high'] }],
      ['hs_deal_stage_probability', 'Deal probability', 'number', 'number', SERVER_MAINTAINED],
      ['hs_is_closed', 'Is Deal Closed?', 'bool', 'booleancheckbox', { ...SERVER_MAINTAINED, values: ['true', 'false'] }],
      ['hs_is_closed_won', 'Is Closed Won', 'bool', 'booleancheckbox', { ...SERVER_MAINTAINED, values: ['true', 'false'] }],
      ['hs_is_closed_lost', 'Is Closed Lost', 'bool', 'booleancheckbox', { ...SERVER_MAINTAINED, values: ['true', 'false'] }],
      ...commonTail('hs_lastmodifieddate', 'Deal'),
    ],
  },
  contacts: {
    group: 'contactinformation',
    specs: [
      ['email', 'Email', 'string', 'text', { hasUniqueValue: true }],
      ['firstname', 'First Name', 'string', 'text'],
      ['lastname', 'Last Name', 'string', 'text'],
      ['phone', 'Phone Number', 'string', 'phonenumber'],
      ['company', 'Company Name', 'string', 'text'],
      ['jobtitle', 'Job Title', 'string', 'text'],
      ...commonTail('lastmodifieddate', 'Contact'),
    ],
  },
};

export function builtInProperties(type: ObjectTypeName): PropertyDef[] {
  const { group, specs } = BUILT_IN[type];
  return specs.map((s, i) => def(group, s, i));
}

export function defaultGroupName(type: ObjectTypeName): string {
  return BUILT_IN[type].group;
}

export const PROPERTY_GROUPS: Record<ObjectTypeName, Array<{ name: string; label: string; displayOrder: number }>> = {
  companies: [{ name: 'companyinformation', label: 'Company information', displayOrder: 0 }],
  deals: [{ name: 'dealinformation', label: 'Deal information', displayOrder: 0 }],
  contacts: [{ name: 'contactinformation', label: 'Contact information', displayOrder: 0 }],
};

/** The Property JSON the API answers (modificationMetadata as the real API reports it). */
export function propertyJson(p: PropertyDef): Record<string, unknown> {
  return {
    updatedAt: p.updatedAt, createdAt: p.createdAt, name: p.name, label: p.label, type: p.type, fieldType: p.fieldType,
    description: p.description, groupName: p.groupName, options: p.options, displayOrder: p.displayOrder,
    calculated: p.calculated, externalOptions: p.externalOptions, hasUniqueValue: p.hasUniqueValue, hidden: p.hidden,
    hubspotDefined: p.hubspotDefined, archived: p.archived, formField: p.formField,
    modificationMetadata: { archivable: !p.hubspotDefined, readOnlyDefinition: p.hubspotDefined, readOnlyValue: p.readOnlyValue },
  };
}

// ---------- value normalisation ----------

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parse a date/datetime input (epoch ms or ISO) to epoch ms; NaN when it is neither. */
export function parseInstant(raw: string): number {
  const s = raw.trim();
  if (/^-?\d+$/.test(s)) return Number(s);
  if (ISO_DATE.test(s)) return Date.parse(`${s}T00:00:00.000Z`);
  if (/^\d{4}-\d{2}-\d{2}T/.test(s)) return Date.parse(s);
  return NaN;
}

export type Normalised = { ok: true; value: string } | { ok: false; problem: PropertyProblem };

/**
 * Turn an input value into its stored form, or explain (in HubSpot's words) why it is invalid.
 * '' and null clear the property. Enumeration options that live outside the definition (pipeline,
 * dealstage, owner) are checked by the caller.
 */
export function normaliseValue(p: PropertyDef, input: unknown): Normalised {
  if (input === null || input === undefined) return { ok: true, value: '' };
  const raw = typeof input === 'string' ? input : typeof input === 'number' || typeof input === 'boolean' ? String(input) : JSON.stringify(input);
  if (raw === '') return { ok: true, value: '' };
  const fail = (error: string, message: string): Normalised => ({ ok: false, problem: propertyProblem(p.name, error, message) });
  switch (p.type) {
    case 'string':
      if (raw.length > 65_536) return fail('INVALID_STRING_LENGTH', `${p.name} value is longer than 65536 characters`);
      return { ok: true, value: raw };
    case 'number': {
      const s = raw.trim();
      if (s !== raw) return fail('INVALID_DECIMAL', `"${raw}" has leading or trailing whitespace; numbers must not`);
      if (!NUMERIC.test(s) || !Number.isFinite(Number(s))) return fail('INVALID_DECIMAL', `${raw} was not a valid number.`);
      return { ok: true, value: canonicalNumber(s) };
    }
    case 'bool': {
      const s = raw.toLowerCase();
      if (s !== 'true' && s !== 'false') return fail('INVALID_BOOLEAN', `${raw} was not a valid boolean. Use 'true' or 'false'.`);
      return { ok: true, value: s };
    }
    case 'date': {
      const ms = parseInstant(raw);
      if (Number.isNaN(ms)) return fail('INVALID_DATE', `${raw} was not a valid date. Use YYYY-MM-DD or epoch milliseconds at midnight UTC.`);
      if (ms % DAY_MS !== 0) {
        return fail('INVALID_DATE', `${raw} is at ${new Date(ms).toISOString().slice(11, 23)} UTC, but dates must be at midnight UTC.`);
      }
      return { ok: true, value: new Date(ms).toISOString().slice(0, 10) };
    }
    case 'datetime': {
      const ms = parseInstant(raw);
      if (Number.isNaN(ms)) return fail('INVALID_DATETIME', `${raw} was not a valid datetime. Use an ISO-8601 instant or epoch milliseconds.`);
      return { ok: true, value: new Date(ms).toISOString() };
    }
    case 'enumeration': {
      if (p.externalOptions || p.options.length === 0) return { ok: true, value: raw };
      const allowed = new Set(p.options.map((o) => o.value));
      // Checkbox enumerations hold several values separated by ';'.
      const values = p.fieldType === 'checkbox' ? raw.split(';') : [raw];
      const bad = values.find((v) => !allowed.has(v));
      if (bad !== undefined) {
        return fail('INVALID_OPTION', `${bad} was not one of the allowed options: [${p.options.map((o) => o.value).join(', ')}]`);
      }
      return { ok: true, value: raw };
    }
  }
}

function canonicalNumber(s: string): string {
  const n = Number(s);
  // Keep what the client wrote when it is already canonical (avoids 1e21-style surprises for big integers).
  return String(n) === s ? s : String(n);
}

/** Typed comparison key for sorting and range filters. */
export function comparable(p: PropertyDef | undefined, value: string): number | string {
  if (!p) return value.toLowerCase();
  if (p.type === 'number') return Number(value);
  if (p.type === 'date' || p.type === 'datetime') return parseInstant(value);
  return value.toLowerCase();
}

export const PROPERTY_NAME = /^[a-z][a-z0-9_]*$/;
