import { SEED_INDUSTRIES, SEED_DEAL_TYPES, SEED_LEAD_SOURCES } from '../seed.js';

/**
 * The org's schema: standard objects (Account, Opportunity, User, Partner, OpportunityPartner), custom
 * fields and custom objects (from config or the Tooling API), and the describe/describeGlobal shapes
 * built from them.
 */

export type SfType =
  | 'id' | 'string' | 'textarea' | 'picklist' | 'multipicklist' | 'boolean' | 'int' | 'double' | 'currency'
  | 'percent' | 'date' | 'datetime' | 'reference' | 'url' | 'email' | 'phone';

export interface PicklistValue {
  value: string;
  label: string;
  active: boolean;
  defaultValue: boolean;
}

export interface FieldDef {
  name: string;
  label: string;
  type: SfType;
  length: number;
  precision: number;
  scale: number;
  digits: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  defaultValue: unknown;
  custom: boolean;
  externalId: boolean;
  unique: boolean;
  caseSensitive: boolean;
  idLookup: boolean;
  nameField: boolean;
  calculated: boolean;
  picklistValues: PicklistValue[];
  restrictedPicklist: boolean;
  referenceTo: string[];
  relationshipName: string | null;
  /** Derived fields the server maintains (IsClosed, Name of User, ...). */
  system: boolean;
}

export interface ObjectDef {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  custom: boolean;
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
  /** Field name (case-insensitive lookup) → definition. */
  fields: Map<string, FieldDef>;
  /** Field names in describe order. */
  order: string[];
  /** Relationship name (lower case) → reference field, for parent lookups in SOQL. */
  relationships: Map<string, FieldDef>;
}

export const OPPORTUNITY_STAGES: ReadonlyArray<{ value: string; probability: number; closed: boolean; won: boolean; forecast: string }> = [
  { value: 'Prospecting', probability: 10, closed: false, won: false, forecast: 'Pipeline' },
  { value: 'Qualification', probability: 10, closed: false, won: false, forecast: 'Pipeline' },
  { value: 'Needs Analysis', probability: 20, closed: false, won: false, forecast: 'Pipeline' },
  { value: 'Value Proposition', probability: 50, closed: false, won: false, forecast: 'Pipeline' },
  { value: 'Id. Decision Makers', probability: 60, closed: false, won: false, forecast: 'Pipeline' },
  { value: 'Perception Analysis', probability: 70, closed: false, won: false, forecast: 'Pipeline' },
  { value: 'Proposal/Price Quote', probability: 75, closed: false, won: false, forecast: 'Pipeline' },
  { value: 'Negotiation/Review', probability: 90, closed: false, won: false, forecast: 'Pipeline' },
  { value: 'Closed Won', probability: 100, closed: true, won: true, forecast: 'Closed' },
  { value: 'Closed Lost', probability: 0, closed: true, won: false, forecast: 'Omitted' },
];

type FieldInit = Partial<FieldDef> & { name: string; type: SfType };

function field(init: FieldInit): FieldDef {
  const t = init.type;
  const length = init.length ?? (t === 'id' || t === 'reference' ? 18 : t === 'string' || t === 'url' || t === 'email' || t === 'phone' ? 255 : t === 'picklist' || t === 'multipicklist' ? 255 : t === 'textarea' ? 32000 : 0);
  const name = init.name;
  const relationshipName = init.relationshipName ?? (t === 'reference' ? (name.endsWith('__c') ? name.replace(/__c$/, '__r') : name.replace(/Id$/, '')) : null);
  return {
    label: init.label ?? name.replace(/__c$/, '').replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2'),
    length,
    precision: init.precision ?? (t === 'currency' || t === 'double' || t === 'percent' ? 18 : 0),
    scale: init.scale ?? (t === 'currency' ? 2 : 0),
    digits: init.digits ?? (t === 'int' ? 9 : 0),
    nillable: true,
    createable: true,
    updateable: true,
    defaultedOnCreate: false,
    defaultValue: null,
    custom: name.endsWith('__c'),
    externalId: false,
    unique: false,
    caseSensitive: false,
    idLookup: t === 'id',
    nameField: false,
    calculated: false,
    picklistValues: [],
    restrictedPicklist: false,
    referenceTo: [],
    system: false,
    ...init,
    relationshipName,
  };
}

const picklist = (values: readonly string[], defaultValue?: string): PicklistValue[] =>
  values.map((v) => ({ value: v, label: v, active: true, defaultValue: v === defaultValue }));

const sys = (init: FieldInit): FieldDef => field({ nillable: false, createable: false, updateable: false, defaultedOnCreate: true, system: true, ...init });

function auditFields(): FieldDef[] {
  return [
    sys({ name: 'Id', type: 'id', label: 'Record ID' }),
    sys({ name: 'IsDeleted', type: 'boolean', label: 'Deleted' }),
    sys({ name: 'CreatedDate', type: 'datetime', label: 'Created Date' }),
    sys({ name: 'CreatedById', type: 'reference', label: 'Created By ID', referenceTo: ['User'], relationshipName: 'CreatedBy' }),
    sys({ name: 'LastModifiedDate', type: 'datetime', label: 'Last Modified Date' }),
    sys({ name: 'LastModifiedById', type: 'reference', label: 'Last Modified By ID', referenceTo: ['User'], relationshipName: 'LastModifiedBy' }),
    sys({ name: 'SystemModstamp', type: 'datetime', label: 'System Modstamp' }),
  ];
}

function makeObject(name: string, label: string, labelPlural: string, keyPrefix: string, fields: FieldDef[], opts: Partial<Pick<ObjectDef, 'createable' | 'updateable' | 'deletable' | 'custom'>> = {}): ObjectDef {
  const obj: ObjectDef = {
    name, label, labelPlural, keyPrefix,
    custom: opts.custom ?? name.endsWith('__c'),
    createable: opts.createable ?? true,
    updateable: opts.updateable ?? true,
    deletable: opts.deletable ?? true,
    fields: new Map(),
    order: [],
    relationships: new Map(),
  };
  for (const f of fields) addField(obj, f);
  return obj;
}

export function addField(obj: ObjectDef, f: FieldDef): void {
  if (!obj.fields.has(f.name.toLowerCase())) obj.order.push(f.name);
  obj.fields.set(f.name.toLowerCase(), f);
  if (f.type === 'reference' && f.relationshipName) obj.relationships.set(f.relationshipName.toLowerCase(), f);
}

const OWNER = (): FieldDef => field({ name: 'OwnerId', type: 'reference', label: 'Owner ID', referenceTo: ['User'], relationshipName: 'Owner', nillable: false, defaultedOnCreate: true });

/** The standard objects every emulated org starts with. */
export function standardObjects(): ObjectDef[] {
  const account = makeObject('Account', 'Account', 'Accounts', '001', [
    ...auditFields(),
    sys({ name: 'MasterRecordId', type: 'reference', label: 'Master Record ID', referenceTo: ['Account'], relationshipName: 'MasterRecord', nillable: true }),
    field({ name: 'Name', type: 'string', label: 'Account Name', length: 255, nillable: false, nameField: true }),
    field({ name: 'Type', type: 'picklist', label: 'Account Type', length: 255, picklistValues: picklist(['Prospect', 'Customer - Direct', 'Customer - Channel', 'Channel Partner / Reseller', 'Installation Partner', 'Technology Partner', 'Other']) }),
    field({ name: 'ParentId', type: 'reference', label: 'Parent Account ID', referenceTo: ['Account'], relationshipName: 'Parent' }),
    field({ name: 'BillingStreet', type: 'textarea', label: 'Billing Street', length: 255 }),
    field({ name: 'BillingCity', type: 'string', label: 'Billing City', length: 40 }),
    field({ name: 'BillingState', type: 'string', label: 'Billing State/Province', length: 80 }),
    field({ name: 'BillingPostalCode', type: 'string', label: 'Billing Zip/Postal Code', length: 20 }),
    field({ name: 'BillingCountry', type: 'string', label: 'Billing Country', length: 80 }),
    field({ name: 'Phone', type: 'phone', label: 'Account Phone', length: 40 }),
    field({ name: 'Website', type: 'url', label: 'Website', length: 255 }),
    field({ name: 'Industry', type: 'picklist', label: 'Industry', length: 255, picklistValues: picklist(SEED_INDUSTRIES) }),
    field({ name: 'AnnualRevenue', type: 'currency', label: 'Annual Revenue', precision: 18, scale: 0 }),
    field({ name: 'NumberOfEmployees', type: 'int', label: 'Employees', digits: 8 }),
    field({ name: 'Description', type: 'textarea', label: 'Account Description', length: 32000 }),
    OWNER(),
  ]);
  const opportunity = makeObject('Opportunity', 'Opportunity', 'Opportunities', '006', [
    ...auditFields(),
    field({ name: 'AccountId', type: 'reference', label: 'Account ID', referenceTo: ['Account'], relationshipName: 'Account' }),
    field({ name: 'Name', type: 'string', label: 'Name', length: 120, nillable: false, nameField: true }),
    field({ name: 'Description', type: 'textarea', label: 'Description', length: 32000 }),
    field({ name: 'StageName', type: 'picklist', label: 'Stage', length: 255, nillable: false, restrictedPicklist: true, picklistValues: picklist(OPPORTUNITY_STAGES.map((s) => s.value)) }),
    field({ name: 'Amount', type: 'currency', label: 'Amount', precision: 18, scale: 2 }),
    field({ name: 'Probability', type: 'percent', label: 'Probability (%)', precision: 3, scale: 0, defaultedOnCreate: true }),
    field({ name: 'CloseDate', type: 'date', label: 'Close Date', nillable: false }),
    field({ name: 'Type', type: 'picklist', label: 'Opportunity Type', picklistValues: picklist(SEED_DEAL_TYPES) }),
    field({ name: 'NextStep', type: 'string', label: 'Next Step', length: 255 }),
    field({ name: 'LeadSource', type: 'picklist', label: 'Lead Source', picklistValues: picklist(SEED_LEAD_SOURCES) }),
    sys({ name: 'IsClosed', type: 'boolean', label: 'Closed' }),
    sys({ name: 'IsWon', type: 'boolean', label: 'Won' }),
    field({ name: 'ForecastCategoryName', type: 'picklist', label: 'Forecast Category', defaultedOnCreate: true, picklistValues: picklist(['Omitted', 'Pipeline', 'Best Case', 'Commit', 'Closed']) }),
    OWNER(),
  ]);
  const user = makeObject('User', 'User', 'Users', '005', [
    ...auditFields().filter((f) => f.name !== 'IsDeleted'),
    field({ name: 'Username', type: 'string', label: 'Username', length: 80, nillable: false, unique: true, idLookup: true }),
    field({ name: 'FirstName', type: 'string', label: 'First Name', length: 40 }),
    field({ name: 'LastName', type: 'string', label: 'Last Name', length: 80, nillable: false }),
    sys({ name: 'Name', type: 'string', label: 'Full Name', length: 121, nameField: true }),
    field({ name: 'Email', type: 'email', label: 'Email', length: 128, nillable: false }),
    field({ name: 'Title', type: 'string', label: 'Title', length: 80 }),
    field({ name: 'IsActive', type: 'boolean', label: 'Active', nillable: false, defaultedOnCreate: true, defaultValue: true }),
  ], { deletable: false });
  const partner = makeObject('Partner', 'Partner', 'Partners', '00I', [
    ...auditFields(),
    field({ name: 'OpportunityId', type: 'reference', label: 'Opportunity ID', referenceTo: ['Opportunity'], relationshipName: 'Opportunity', updateable: false }),
    field({ name: 'AccountFromId', type: 'reference', label: 'Account ID', referenceTo: ['Account'], relationshipName: 'AccountFrom', updateable: false }),
    field({ name: 'AccountToId', type: 'reference', label: 'Partner Account ID', referenceTo: ['Account'], relationshipName: 'AccountTo', nillable: false, updateable: false }),
    field({ name: 'Role', type: 'picklist', label: 'Role', length: 40, updateable: false, picklistValues: picklist(['System Integrator', 'Agency', 'Advertiser', 'VAR/Reseller', 'Distributor', 'Developer', 'Broker', 'Lender', 'Supplier', 'Institution', 'Contractor', 'Dealer', 'Consultant']) }),
    field({ name: 'IsPrimary', type: 'boolean', label: 'Primary', nillable: false, updateable: false, defaultedOnCreate: true, defaultValue: false }),
    sys({ name: 'ReversePartnerId', type: 'reference', label: 'Reverse Partner ID', referenceTo: ['Partner'], relationshipName: 'ReversePartner', nillable: true }),
  ], { updateable: false });
  const opportunityPartner = makeObject('OpportunityPartner', 'Opportunity Partner', 'Opportunity Partners', '00J', [
    ...auditFields(),
    sys({ name: 'OpportunityId', type: 'reference', label: 'Opportunity ID', referenceTo: ['Opportunity'], relationshipName: 'Opportunity' }),
    sys({ name: 'AccountToId', type: 'reference', label: 'Account ID', referenceTo: ['Account'], relationshipName: 'AccountTo' }),
    sys({ name: 'Role', type: 'picklist', label: 'Role', length: 40, nillable: true }),
    sys({ name: 'IsPrimary', type: 'boolean', label: 'Primary' }),
    sys({ name: 'ReversePartnerId', type: 'reference', label: 'Reverse Partner ID', referenceTo: ['OpportunityPartner'], relationshipName: 'ReversePartner', nillable: true }),
  ], { createable: false, updateable: false, deletable: false });
  // The org itself: one read-only record (Id = the org id), what clients query to probe a connection
  // (simple-salesforce's is_sandbox(): SELECT IsSandbox FROM Organization LIMIT 1).
  const organization = makeObject('Organization', 'Organization', 'Organizations', '00D', [
    ...auditFields().filter((f) => f.name !== 'IsDeleted'),
    sys({ name: 'Name', type: 'string', label: 'Name', length: 80, nameField: true }),
    sys({ name: 'Division', type: 'string', label: 'Division', length: 80, nillable: true }),
    sys({ name: 'Country', type: 'string', label: 'Country', length: 80, nillable: true }),
    sys({ name: 'Phone', type: 'phone', label: 'Phone', length: 40, nillable: true }),
    sys({ name: 'PrimaryContact', type: 'string', label: 'Primary Contact', length: 80, nillable: true }),
    sys({ name: 'DefaultLocaleSidKey', type: 'picklist', label: 'Locale', length: 40, picklistValues: picklist(['en_US', 'en_GB', 'de_DE', 'fr_FR']) }),
    sys({ name: 'LanguageLocaleKey', type: 'picklist', label: 'Language', length: 40, picklistValues: picklist(['en_US', 'de', 'fr']) }),
    sys({ name: 'TimeZoneSidKey', type: 'picklist', label: 'Time Zone', length: 40, picklistValues: picklist(['GMT', 'America/Los_Angeles', 'Europe/London']) }),
    sys({ name: 'OrganizationType', type: 'picklist', label: 'Edition', length: 40, picklistValues: picklist(['Developer Edition', 'Enterprise Edition', 'Unlimited Edition', 'Professional Edition']) }),
    sys({ name: 'InstanceName', type: 'string', label: 'Instance Name', length: 5, nillable: true }),
    sys({ name: 'IsSandbox', type: 'boolean', label: 'Is Sandbox' }),
    sys({ name: 'IsReadOnly', type: 'boolean', label: 'Is Read Only' }),
    sys({ name: 'NamespacePrefix', type: 'string', label: 'Namespace Prefix', length: 15, nillable: true }),
    sys({ name: 'TrialExpirationDate', type: 'datetime', label: 'Trial Expiration Date', nillable: true }),
  ], { createable: false, updateable: false, deletable: false });
  return [account, opportunity, user, partner, opportunityPartner, organization];
}

/** A custom object as created by config or the Tooling API: standard audit fields, Name and OwnerId. */
export function customObject(name: string, keyPrefix: string, label?: string, labelPlural?: string): ObjectDef {
  const base = name.replace(/__c$/, '').replace(/_/g, ' ');
  return makeObject(name, label ?? base, labelPlural ?? `${label ?? base}s`, keyPrefix, [
    ...auditFields(),
    field({ name: 'Name', type: 'string', label: `${label ?? base} Name`, length: 80, nillable: true, nameField: true }),
    OWNER(),
  ], { custom: true });
}

// ---------- Metadata API shape (Tooling API CustomField / config) → FieldDef ----------

/** The `Metadata` member of a Tooling API CustomField, as the connector (and config files) send it. */
export interface CustomFieldMetadata {
  type: string;
  label?: string;
  length?: number;
  precision?: number;
  scale?: number;
  externalId?: boolean;
  unique?: boolean;
  caseSensitive?: boolean;
  required?: boolean;
  defaultValue?: string | null;
  referenceTo?: string;
  relationshipName?: string;
  visibleLines?: number;
  valueSet?: { restricted?: boolean; valueSetDefinition?: { value?: Array<{ fullName: string; label?: string; default?: boolean }> } };
  /** Config shorthand for picklists. */
  values?: string[];
  restricted?: boolean;
}

const METADATA_TYPES: Record<string, SfType> = {
  text: 'string', textarea: 'textarea', longtextarea: 'textarea', html: 'textarea', number: 'double', currency: 'currency',
  percent: 'percent', checkbox: 'boolean', date: 'date', datetime: 'datetime', picklist: 'picklist',
  multiselectpicklist: 'multipicklist', email: 'email', url: 'url', phone: 'phone', lookup: 'reference',
};

export class SchemaError extends Error {
  constructor(readonly errorCode: string, message: string) {
    super(message);
  }
}

export function fieldFromMetadata(apiName: string, md: CustomFieldMetadata): FieldDef {
  if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(apiName) || apiName.includes('___')) {
    throw new SchemaError('INVALID_FIELD', `Custom field name must end in __c and contain only letters, digits and single underscores: ${apiName}`);
  }
  const type = METADATA_TYPES[String(md.type ?? '').toLowerCase()];
  if (!type) throw new SchemaError('FIELD_INTEGRITY_EXCEPTION', `Unknown or unsupported field type: ${String(md.type)}`);
  if (md.externalId && !['string', 'double', 'email'].includes(type)) {
    throw new SchemaError('FIELD_INTEGRITY_EXCEPTION', `External ID can only be set on Text, Number or Email fields: ${apiName}`);
  }
  if (type === 'string' && (md.length === undefined || md.length < 1 || md.length > 255)) {
    throw new SchemaError('FIELD_INTEGRITY_EXCEPTION', `Length: Text fields need a length between 1 and 255 (${apiName})`);
  }
  if (type === 'reference' && !md.referenceTo) throw new SchemaError('FIELD_INTEGRITY_EXCEPTION', `Lookup fields need referenceTo (${apiName})`);
  const values = md.values ?? md.valueSet?.valueSetDefinition?.value?.map((v) => v.fullName) ?? [];
  const defaults = new Set(md.valueSet?.valueSetDefinition?.value?.filter((v) => v.default).map((v) => v.fullName) ?? []);
  const precision = md.precision ?? (type === 'double' || type === 'currency' || type === 'percent' ? 18 : 0);
  const scale = md.scale ?? (type === 'currency' ? 2 : 0);
  const defaultValue = type === 'boolean' ? String(md.defaultValue ?? 'false').toLowerCase() === 'true' : null;
  return field({
    name: apiName,
    type,
    label: md.label,
    length: type === 'string' ? md.length : type === 'textarea' ? (md.length ?? 32768) : undefined,
    precision,
    scale,
    externalId: !!md.externalId,
    unique: !!md.unique,
    caseSensitive: !!md.caseSensitive,
    idLookup: !!md.externalId || !!md.unique,
    nillable: type === 'boolean' ? false : !md.required,
    defaultedOnCreate: type === 'boolean',
    defaultValue,
    picklistValues: values.map((v) => ({ value: v, label: v, active: true, defaultValue: defaults.has(v) })),
    restrictedPicklist: !!(md.restricted ?? md.valueSet?.restricted),
    referenceTo: md.referenceTo ? [md.referenceTo] : [],
    relationshipName: type === 'reference' ? (md.relationshipName ? `${md.relationshipName}__r` : apiName.replace(/__c$/, '__r')) : null,
  });
}

// ---------- describe shapes ----------

const SOAP_TYPES: Record<SfType, string> = {
  id: 'tns:ID', reference: 'tns:ID', string: 'xsd:string', textarea: 'xsd:string', picklist: 'xsd:string', multipicklist: 'xsd:string',
  url: 'xsd:string', email: 'xsd:string', phone: 'xsd:string', boolean: 'xsd:boolean', int: 'xsd:int', double: 'xsd:double',
  currency: 'xsd:double', percent: 'xsd:double', date: 'xsd:date', datetime: 'xsd:dateTime',
};

/** A field as `describe` answers it: every key the real describe has (clients index them without checking). */
export function describeField(f: FieldDef): Record<string, unknown> {
  const textual = ['string', 'textarea', 'picklist', 'multipicklist', 'url', 'email', 'phone', 'id', 'reference'].includes(f.type);
  return {
    aggregatable: f.type !== 'textarea',
    aiPredictionField: false,
    autoNumber: false,
    byteLength: textual ? f.length * 3 : 0,
    calculated: f.calculated,
    calculatedFormula: null,
    cascadeDelete: false,
    caseSensitive: f.caseSensitive,
    compoundFieldName: null,
    controllerName: null,
    createable: f.createable,
    custom: f.custom,
    defaultValue: f.defaultValue,
    defaultValueFormula: null,
    defaultedOnCreate: f.defaultedOnCreate,
    dependentPicklist: false,
    deprecatedAndHidden: false,
    digits: f.digits,
    displayLocationInDecimal: false,
    encrypted: false,
    externalId: f.externalId,
    extraTypeInfo: f.type === 'textarea' ? 'plaintextarea' : null,
    filterable: f.type !== 'textarea',
    filteredLookupInfo: null,
    formulaTreatNullNumberAsZero: false,
    groupable: !['textarea', 'double', 'currency', 'percent', 'datetime'].includes(f.type),
    highScaleNumber: false,
    htmlFormatted: false,
    idLookup: f.idLookup,
    inlineHelpText: null,
    label: f.label,
    length: textual ? f.length : 0,
    mask: null,
    maskType: null,
    name: f.name,
    nameField: f.nameField,
    namePointing: false,
    nillable: f.nillable,
    permissionable: f.custom && f.nillable,
    picklistValues: f.picklistValues.map((p) => ({ active: p.active, defaultValue: p.defaultValue, label: p.label, validFor: null, value: p.value })),
    polymorphicForeignKey: false,
    precision: f.precision,
    queryByDistance: false,
    referenceTargetField: null,
    referenceTo: f.referenceTo,
    relationshipName: f.relationshipName,
    relationshipOrder: null,
    restrictedDelete: false,
    restrictedPicklist: f.restrictedPicklist,
    scale: f.scale,
    searchPrefilterable: f.type === 'reference',
    soapType: SOAP_TYPES[f.type],
    sortable: f.type !== 'textarea' && f.type !== 'multipicklist',
    type: f.type,
    unique: f.unique,
    updateable: f.updateable,
    writeRequiresMasterRead: false,
  };
}

export function objectUrls(version: string, name: string): Record<string, string> {
  const base = `/services/data/${version}/sobjects/${name}`;
  return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` };
}

export function describeGlobalEntry(o: ObjectDef, version: string): Record<string, unknown> {
  return {
    activateable: false,
    associateEntityType: null,
    associateParentEntity: null,
    createable: o.createable,
    custom: o.custom,
    customSetting: false,
    deepCloneable: false,
    deletable: o.deletable,
    deprecatedAndHidden: false,
    feedEnabled: false,
    hasSubtypes: false,
    isInterface: false,
    isSubtype: false,
    keyPrefix: o.keyPrefix,
    label: o.label,
    labelPlural: o.labelPlural,
    layoutable: true,
    mergeable: o.name === 'Account',
    mruEnabled: true,
    name: o.name,
    queryable: true,
    replicateable: true,
    retrieveable: true,
    searchable: true,
    triggerable: true,
    undeletable: o.deletable,
    updateable: o.updateable,
    urls: objectUrls(version, o.name),
  };
}

/** The record type every object has: Master (the only one in an org that defines none). */
export const MASTER_RECORD_TYPE_ID = '012000000000000AAA';

/** Child relationship names as a real org names them (the sandbox's standard lookups); custom lookups: `<Child>s__r`. */
const CHILD_RELATIONSHIPS: Record<string, { name: string; cascadeDelete: boolean }> = {
  'Account.ParentId': { name: 'ChildAccounts', cascadeDelete: false },
  'Opportunity.AccountId': { name: 'Opportunities', cascadeDelete: true },
  'Partner.AccountFromId': { name: 'PartnersFrom', cascadeDelete: true },
  'Partner.AccountToId': { name: 'PartnersTo', cascadeDelete: true },
  'Partner.OpportunityId': { name: 'Partners', cascadeDelete: true },
  'OpportunityPartner.AccountToId': { name: 'OpportunityPartnersTo', cascadeDelete: true },
  'OpportunityPartner.OpportunityId': { name: 'OpportunityPartnersFrom', cascadeDelete: true },
};

export interface ChildRelationship {
  cascadeDelete: boolean;
  childSObject: string;
  field: string;
  relationshipName: string | null;
}

/** The child relationships of `o`: every lookup to it from any object (describe; composite/tree's nested records). */
export function childRelationshipsOf(o: ObjectDef, all: Iterable<ObjectDef>): ChildRelationship[] {
  const out: ChildRelationship[] = [];
  for (const other of all) {
    for (const fname of other.order) {
      const f = other.fields.get(fname.toLowerCase())!;
      if (f.type !== 'reference' || !f.referenceTo.includes(o.name)) continue;
      const known = CHILD_RELATIONSHIPS[`${other.name}.${f.name}`];
      // Audit lookups (CreatedById …) are child relationships without a name, as in a real org.
      const relationshipName = known?.name ?? (f.custom ? `${other.name.replace(/__c$/, '')}s__r` : null);
      out.push({ cascadeDelete: known?.cascadeDelete ?? false, childSObject: other.name, field: f.name, relationshipName });
    }
  }
  return out;
}

export function describeObject(o: ObjectDef, version: string, all: Iterable<ObjectDef>): Record<string, unknown> {
  const childRelationships = childRelationshipsOf(o, all).map((c) => ({
    cascadeDelete: c.cascadeDelete, childSObject: c.childSObject, deprecatedAndHidden: false, field: c.field,
    junctionIdListNames: [], junctionReferenceTo: [], relationshipName: c.relationshipName, restrictedDelete: false,
  }));
  const base = `/services/data/${version}/sobjects/${o.name}`;
  return {
    actionOverrides: [],
    ...describeGlobalEntry(o, version),
    childRelationships,
    compactLayoutable: o.createable,
    defaultImplementation: null,
    extendedBy: null,
    extendsInterfaces: null,
    fields: o.order.map((n) => describeField(o.fields.get(n.toLowerCase())!)),
    implementedBy: null,
    implementsInterfaces: null,
    listviewable: null,
    lookupLayoutable: null,
    namedLayoutInfos: [],
    networkScopeFieldName: null,
    recordTypeInfos: [{
      active: true, available: true, defaultRecordTypeMapping: true, developerName: 'Master', master: true, name: 'Master',
      recordTypeId: MASTER_RECORD_TYPE_ID, urls: { layout: `${base}/describe/layouts/${MASTER_RECORD_TYPE_ID}` },
    }],
    searchLayoutable: o.createable,
    sobjectDescribeOption: 'FULL',
    supportedScopes: [{ label: 'All', name: 'everything' }],
    urls: {
      ...objectUrls(version, o.name),
      compactLayouts: `${base}/describe/compactLayouts`, approvalLayouts: `${base}/describe/approvalLayouts`,
      uiDetailTemplate: null, uiEditTemplate: null, uiNewRecord: null, quickActions: `${base}/quickActions`,
      layouts: `${base}/describe/layouts`,
    },
  };
}
