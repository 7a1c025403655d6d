import {
  ClosedLostReason, CompetitorName, CountryCode, CurrencyCode, DeliveryModel, Industry, NationalSecurity, OpportunityOrigin, OpportunityType, PaymentFrequency, PrimaryNeedFromAws, ReviewStatus,
  SalesActivity, SalesInvolvementType, Stage, Visibility,
} from '@aws-sdk/client-partnercentral-selling';
import type { FieldSchema, FieldType, Fields, FieldValue, ObjectSchema } from '../types.js';

/**
 * Partner Central's opportunity as one flat record. The service's opportunity is a nested document
 * (Customer.Account.Address.CountryCode, Project.ExpectedCustomerSpend[0].Amount, LifeCycle.Stage, …);
 * cosell's mappings and planner work on flat fields, so each leaf the connector syncs is a field named
 * by its dotted path. Enumerations come from the SDK's own enum objects — the service model — so
 * describe(), the schema snapshot and the sandbox all agree with the real service value for value.
 *
 * Two kinds of field are not stored leaves:
 * - `RelatedEntityIdentifiers.Solutions` / `.AwsProducts` (`;`-separated ids) are written with
 *   AssociateOpportunity / DisassociateOpportunity;
 * - `AwsSubmission.InvolvementType` / `.Visibility` are an action: setting them on an opportunity that
 *   is still `Pending Submission` submits it for AWS's review (StartEngagementFromOpportunityTask).
 *   The service never returns them, so they read back as null.
 */
export const OPPORTUNITY = 'Opportunity';
export const MATCH_FIELD = 'PartnerOpportunityIdentifier';

type Kind = 'leaf' | 'relation' | 'submission' | 'system';
export interface AceField {
  name: string;
  type: Exclude<FieldType, 'reference'>;
  /** Where the value lives in the nested document ([0] = the first element of a list). */
  path: string[];
  kind: Kind;
  values?: readonly string[];
  length?: number;
  createable?: boolean;
  updateable?: boolean;
  /** The service stores it as text (ExpectedCustomerSpend.Amount): numbers are sent as strings. */
  numberAsString?: boolean;
  /** A list in the service, `;`-joined here. */
  list?: boolean;
  label?: string;
}

const e = (o: Record<string, string>): readonly string[] => Object.values(o);
const leaf = (name: string, type: AceField['type'], extra: Partial<AceField> = {}): AceField => ({ name, type, path: extra.path ?? name.split('.'), kind: 'leaf', createable: true, updateable: true, ...extra });

export const ACE_FIELDS: AceField[] = [
  { name: 'Id', type: 'id', path: ['Id'], kind: 'system', label: 'Opportunity Id' },
  { name: 'Catalog', type: 'string', path: ['Catalog'], kind: 'system' },
  { name: 'CreatedDate', type: 'datetime', path: ['CreatedDate'], kind: 'system' },
  { name: 'LastModifiedDate', type: 'datetime', path: ['LastModifiedDate'], kind: 'system' },
  leaf(MATCH_FIELD, 'string', { length: 64, label: 'Partner CRM opportunity id' }),
  leaf('Origin', 'picklist', { values: e(OpportunityOrigin), updateable: false }),
  leaf('OpportunityType', 'picklist', { values: e(OpportunityType) }),
  leaf('NationalSecurity', 'picklist', { values: e(NationalSecurity) }),
  leaf('PrimaryNeedsFromAws', 'multipicklist', { values: e(PrimaryNeedFromAws), list: true }),
  leaf('Customer.Account.CompanyName', 'string', { length: 120 }),
  leaf('Customer.Account.Industry', 'picklist', { values: e(Industry) }),
  leaf('Customer.Account.OtherIndustry', 'string', { length: 255 }),
  leaf('Customer.Account.WebsiteUrl', 'string', { length: 255 }),
  leaf('Customer.Account.Duns', 'string', { length: 9 }),
  leaf('Customer.Account.AwsAccountId', 'string', { length: 12 }),
  leaf('Customer.Account.Address.StreetAddress', 'string', { length: 255 }),
  leaf('Customer.Account.Address.City', 'string', { length: 255 }),
  leaf('Customer.Account.Address.StateOrRegion', 'string', { length: 255 }),
  leaf('Customer.Account.Address.PostalCode', 'string', { length: 20 }),
  leaf('Customer.Account.Address.CountryCode', 'picklist', { values: e(CountryCode) }),
  leaf('Customer.Contact.Email', 'string', { path: ['Customer', 'Contacts', '0', 'Email'], length: 80 }),
  leaf('Customer.Contact.FirstName', 'string', { path: ['Customer', 'Contacts', '0', 'FirstName'], length: 80 }),
  leaf('Customer.Contact.LastName', 'string', { path: ['Customer', 'Contacts', '0', 'LastName'], length: 80 }),
  leaf('Customer.Contact.Phone', 'string', { path: ['Customer', 'Contacts', '0', 'Phone'], length: 40 }),
  leaf('Customer.Contact.BusinessTitle', 'string', { path: ['Customer', 'Contacts', '0', 'BusinessTitle'], length: 80 }),
  leaf('Project.Title', 'string', { length: 255 }),
  leaf('Project.CustomerBusinessProblem', 'text', { length: 2000 }),
  leaf('Project.CustomerUseCase', 'string', { length: 255 }),
  leaf('Project.DeliveryModels', 'multipicklist', { values: e(DeliveryModel), list: true }),
  leaf('Project.SalesActivities', 'multipicklist', { values: e(SalesActivity), list: true }),
  leaf('Project.CompetitorName', 'picklist', { values: e(CompetitorName) }),
  leaf('Project.AdditionalComments', 'text', { length: 255 }),
  leaf('Project.ExpectedCustomerSpend.Amount', 'currency', { path: ['Project', 'ExpectedCustomerSpend', '0', 'Amount'], numberAsString: true }),
  leaf('Project.ExpectedCustomerSpend.CurrencyCode', 'picklist', { path: ['Project', 'ExpectedCustomerSpend', '0', 'CurrencyCode'], values: e(CurrencyCode) }),
  leaf('Project.ExpectedCustomerSpend.Frequency', 'picklist', { path: ['Project', 'ExpectedCustomerSpend', '0', 'Frequency'], values: e(PaymentFrequency) }),
  leaf('Project.ExpectedCustomerSpend.TargetCompany', 'string', { path: ['Project', 'ExpectedCustomerSpend', '0', 'TargetCompany'], length: 80 }),
  leaf('LifeCycle.Stage', 'picklist', { values: e(Stage) }),
  leaf('LifeCycle.TargetCloseDate', 'date'),
  leaf('LifeCycle.NextSteps', 'string', { length: 255 }),
  leaf('LifeCycle.ClosedLostReason', 'picklist', { values: e(ClosedLostReason) }),
  leaf('LifeCycle.ReviewStatus', 'picklist', { values: e(ReviewStatus), createable: false, updateable: false }),
  leaf('LifeCycle.ReviewComments', 'text', { createable: false, updateable: false }),
  leaf('LifeCycle.ReviewStatusReason', 'string', { createable: false, updateable: false }),
  { name: 'RelatedEntityIdentifiers.Solutions', type: 'multipicklist', path: ['RelatedEntityIdentifiers', 'Solutions'], kind: 'relation', list: true, createable: true, updateable: true, label: 'Partner solutions (AssociateOpportunity)' },
  { name: 'RelatedEntityIdentifiers.AwsProducts', type: 'multipicklist', path: ['RelatedEntityIdentifiers', 'AwsProducts'], kind: 'relation', list: true, createable: true, updateable: true, label: 'AWS products (AssociateOpportunity)' },
  { name: 'AwsSubmission.InvolvementType', type: 'picklist', path: ['AwsSubmission', 'InvolvementType'], kind: 'submission', values: e(SalesInvolvementType), createable: true, updateable: true, label: 'Submit for AWS review: involvement' },
  { name: 'AwsSubmission.Visibility', type: 'picklist', path: ['AwsSubmission', 'Visibility'], kind: 'submission', values: e(Visibility), createable: true, updateable: true, label: 'Submit for AWS review: visibility' },
];

export const FIELD_BY_NAME = new Map(ACE_FIELDS.map((f) => [f.name, f]));

/** Fields ListOpportunities' summaries carry (a feed asking only for these needs no GetOpportunity per record). */
export const SUMMARY_FIELDS = new Set([
  'Id', 'Catalog', 'CreatedDate', 'LastModifiedDate', MATCH_FIELD, 'OpportunityType', 'LifeCycle.Stage', 'LifeCycle.ClosedLostReason', 'LifeCycle.NextSteps', 'LifeCycle.TargetCloseDate',
  'LifeCycle.ReviewStatus', 'LifeCycle.ReviewComments', 'LifeCycle.ReviewStatusReason', 'Customer.Account.CompanyName', 'Customer.Account.WebsiteUrl', 'Customer.Account.Address.City',
  'Customer.Account.Address.PostalCode', 'Customer.Account.Address.StateOrRegion', 'Customer.Account.Address.CountryCode', 'Project.DeliveryModels',
  'Project.ExpectedCustomerSpend.Amount', 'Project.ExpectedCustomerSpend.CurrencyCode', 'Project.ExpectedCustomerSpend.Frequency', 'Project.ExpectedCustomerSpend.TargetCompany',
]);

function label(f: AceField): string {
  return f.label ?? f.name.split('.').slice(-2).join(' ').replace(/([a-z])([A-Z])/g, '$1 $2');
}

export function opportunitySchema(): ObjectSchema {
  const fields: Record<string, FieldSchema> = {};
  for (const f of ACE_FIELDS) {
    fields[f.name] = {
      name: f.name,
      label: label(f),
      type: f.type,
      nativeType: f.kind === 'leaf' ? (f.list ? 'list<enum>' : f.values ? 'enum' : f.numberAsString ? 'string(amount)' : f.type) : f.kind,
      required: false,
      unique: f.name === MATCH_FIELD || f.name === 'Id',
      externalId: f.name === MATCH_FIELD,
      createable: f.createable ?? false,
      updateable: f.updateable ?? false,
      ...(f.length !== undefined ? { length: f.length } : {}),
      ...(f.values ? { picklistValues: [...f.values], restrictedPicklist: true } : {}),
    };
  }
  return { name: OPPORTUNITY, label: 'Partner Central opportunity', fields };
}

// ------------------------------------------------------------------ nested document <-> flat record

type Doc = Record<string, unknown>;

function getPath(doc: unknown, path: string[]): unknown {
  let v: unknown = doc;
  for (const seg of path) {
    if (v === null || v === undefined) return undefined;
    v = Array.isArray(v) ? v[Number(seg)] : typeof v === 'object' ? (v as Doc)[seg] : undefined;
  }
  return v;
}

function setPath(doc: Doc, path: string[], value: unknown): void {
  let cur: Doc | unknown[] = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    const nextIsIndex = /^\d+$/.test(path[i + 1]!);
    const container = cur as Record<string, unknown>;
    let child = container[seg];
    if (child === null || child === undefined || typeof child !== 'object') {
      child = nextIsIndex ? [] : {};
      container[seg] = child;
    }
    cur = child as Doc;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete (cur as Record<string, unknown>)[last];
  else (cur as Record<string, unknown>)[last] = value;
}

const asIso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? new Date(v).toISOString() : null);

/** A GetOpportunity answer (or a summary) → flat fields. */
export function toFlat(doc: Doc, only?: Iterable<string>): Fields {
  const out: Fields = {};
  const wanted = only ? new Set(only) : undefined;
  for (const f of ACE_FIELDS) {
    if (wanted && !wanted.has(f.name)) continue;
    if (f.kind === 'submission') {
      out[f.name] = null;
      continue;
    }
    const v = getPath(doc, f.path);
    let value: FieldValue;
    if (v === undefined || v === null) value = null;
    else if (f.type === 'datetime') value = asIso(v);
    else if (f.list) value = Array.isArray(v) ? (v as unknown[]).map(String).join(';') : String(v);
    else if (f.numberAsString) value = Number.isFinite(Number(v)) ? Number(v) : null;
    else value = typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
    out[f.name] = value === '' && f.list ? null : value;
  }
  return out;
}

const WRITABLE_MEMBERS = ['PrimaryNeedsFromAws', 'NationalSecurity', 'PartnerOpportunityIdentifier', 'Customer', 'Project', 'OpportunityType', 'Marketing', 'SoftwareRevenue', 'LifeCycle', 'OpportunityTeam'];
const AWS_OWNED_LIFECYCLE = ['ReviewStatus', 'ReviewComments', 'ReviewStatusReason', 'NextStepsHistory'];

/** The members of a read opportunity a partner may send back in UpdateOpportunity (AWS-owned ones dropped). */
export function writableDocument(current: Doc): Doc {
  const out: Doc = {};
  for (const m of WRITABLE_MEMBERS) if (current[m] !== undefined) out[m] = structuredClone(current[m]);
  const lc = out.LifeCycle as Doc | undefined;
  if (lc) for (const k of AWS_OWNED_LIFECYCLE) delete lc[k];
  return out;
}

/** Flat leaf values applied onto a document (a copy of `base`); relation and submission fields are left out. */
export function applyFlat(base: Doc, fields: Fields): Doc {
  const doc = structuredClone(base);
  for (const [name, value] of Object.entries(fields)) {
    const f = FIELD_BY_NAME.get(name);
    if (!f || f.kind !== 'leaf') continue;
    let v: unknown;
    if (value === null || value === '') v = undefined;
    else if (f.list) v = String(value).split(';').filter((x) => x !== '');
    else if (f.numberAsString) v = typeof value === 'number' ? String(Math.round(value * 100) / 100) : String(value);
    else if (f.type === 'date') v = String(value).slice(0, 10);
    else v = typeof value === 'boolean' ? value : String(value);
    setPath(doc, f.path, v);
  }
  // A spend row needs its required members; AWS's own defaults when the mapping sets only the amount.
  const spend = getPath(doc, ['Project', 'ExpectedCustomerSpend', '0']) as Doc | undefined;
  if (spend && spend.Amount !== undefined) {
    spend.CurrencyCode ??= 'USD';
    spend.Frequency ??= 'Monthly';
    spend.TargetCompany ??= 'AWS';
  }
  return doc;
}

/** Split a write's fields into leaves, relations (ids to associate) and a submission request. */
export function splitWrite(fields: Fields): { leaves: Fields; relations: Partial<Record<'Solutions' | 'AwsProducts', string[]>>; submission?: { InvolvementType: string; Visibility?: string } } {
  const leaves: Fields = {};
  const relations: Partial<Record<'Solutions' | 'AwsProducts', string[]>> = {};
  let involvement: string | undefined;
  let visibility: string | undefined;
  for (const [name, value] of Object.entries(fields)) {
    const f = FIELD_BY_NAME.get(name);
    if (!f) continue;
    if (f.kind === 'leaf') leaves[name] = value;
    else if (f.kind === 'relation') relations[f.path[1] as 'Solutions' | 'AwsProducts'] = value === null ? [] : String(value).split(';').map((s) => s.trim()).filter(Boolean);
    else if (f.kind === 'submission') {
      if (f.name.endsWith('InvolvementType')) involvement = value === null ? undefined : String(value);
      else visibility = value === null ? undefined : String(value);
    }
  }
  return { leaves, relations, ...(involvement ? { submission: { InvolvementType: involvement, ...(visibility ? { Visibility: visibility } : {}) } } : {}) };
}

/** Fields a write names that the service does not know, or that are read-only. */
export function unwritable(fields: Fields, mode: 'create' | 'update'): string[] {
  return Object.keys(fields).filter((n) => {
    const f = FIELD_BY_NAME.get(n);
    return !f || !(mode === 'create' ? f.createable : f.updateable);
  });
}
