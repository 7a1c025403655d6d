import {
  ClosedLostReason, CompetitorName, CountryCode, CurrencyCode, DeliveryModel, Industry, NationalSecurity, OpportunityOrigin, OpportunityType, PaymentFrequency, PrimaryNeedFromAws, SalesActivity, Stage,
} from '@aws-sdk/client-partnercentral-selling';
import { validationError, type FieldError } from './errors.js';

/**
 * Request validation as Partner Central does it: enumerations from the service model (the SDK's own
 * enum objects, so the emulator and the real service agree value for value), lengths, formats, and the
 * business rules of a partner-referred opportunity (what must be there before it can be created).
 * Every problem is reported at once, each with its field path, in the exception's ErrorList.
 */
type Json = Record<string, unknown>;

const ENUMS: Record<string, readonly string[]> = {
  'Customer.Account.Industry': Object.values(Industry),
  'Customer.Account.Address.CountryCode': Object.values(CountryCode),
  'Project.DeliveryModels': Object.values(DeliveryModel),
  'Project.ExpectedCustomerSpend.CurrencyCode': Object.values(CurrencyCode),
  'Project.ExpectedCustomerSpend.Frequency': Object.values(PaymentFrequency),
  'Project.SalesActivities': Object.values(SalesActivity),
  'Project.CompetitorName': Object.values(CompetitorName),
  'LifeCycle.Stage': Object.values(Stage),
  'LifeCycle.ClosedLostReason': Object.values(ClosedLostReason),
  OpportunityType: Object.values(OpportunityType),
  NationalSecurity: Object.values(NationalSecurity),
  PrimaryNeedsFromAws: Object.values(PrimaryNeedFromAws),
  Origin: Object.values(OpportunityOrigin),
};

const LENGTHS: Record<string, number> = {
  PartnerOpportunityIdentifier: 64,
  'Customer.Account.CompanyName': 120,
  'Customer.Account.WebsiteUrl': 255,
  'Project.Title': 255,
  'Project.CustomerBusinessProblem': 2000,
  'LifeCycle.NextSteps': 255,
  'Project.AdditionalComments': 255,
};

/** Required when a partner creates an opportunity (the partner-referral business rules). */
const REQUIRED_ON_CREATE = [
  'Customer.Account.CompanyName',
  'Customer.Account.Industry',
  'Customer.Account.WebsiteUrl',
  'Customer.Account.Address.CountryCode',
  'Project.Title',
  'Project.CustomerBusinessProblem',
  'Project.DeliveryModels',
  'LifeCycle.TargetCloseDate',
  'OpportunityType',
];

/** Every scalar at a dotted path (array elements flattened: `Project.ExpectedCustomerSpend.Amount`). */
export function valuesAt(obj: unknown, path: string): unknown[] {
  let current: unknown[] = [obj];
  for (const seg of path.split('.')) {
    const next: unknown[] = [];
    for (const c of current) {
      const v = c && typeof c === 'object' && !Array.isArray(c) ? (c as Json)[seg] : undefined;
      if (Array.isArray(v)) next.push(...v);
      else if (v !== undefined && v !== null) next.push(v);
    }
    current = next;
  }
  return current;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const URL_RE = /^(https?:\/\/)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(\/\S*)?$/;

export function opportunityProblems(body: Json, mode: 'create' | 'update'): FieldError[] {
  const problems: FieldError[] = [];
  for (const [path, allowed] of Object.entries(ENUMS)) {
    for (const v of valuesAt(body, path)) {
      if (typeof v !== 'string' || !allowed.includes(v)) problems.push({ FieldName: path, Code: 'INVALID_ENUM_VALUE', Message: `${JSON.stringify(v)} is not a valid value` });
    }
  }
  for (const [path, max] of Object.entries(LENGTHS)) {
    for (const v of valuesAt(body, path)) {
      if (typeof v === 'string' && v.length > max) problems.push({ FieldName: path, Code: 'VALUE_OUT_OF_RANGE', Message: `must be at most ${max} characters (got ${v.length})` });
    }
  }
  for (const v of valuesAt(body, 'LifeCycle.TargetCloseDate')) {
    if (typeof v !== 'string' || !DATE.test(v) || Number.isNaN(Date.parse(v))) problems.push({ FieldName: 'LifeCycle.TargetCloseDate', Code: 'INVALID_STRING_FORMAT', Message: 'must be a date as YYYY-MM-DD' });
  }
  for (const v of valuesAt(body, 'Customer.Account.WebsiteUrl')) {
    if (typeof v !== 'string' || !URL_RE.test(v)) problems.push({ FieldName: 'Customer.Account.WebsiteUrl', Code: 'INVALID_STRING_FORMAT', Message: 'must be a website address' });
  }
  for (const v of valuesAt(body, 'Project.ExpectedCustomerSpend.Amount')) {
    if (typeof v !== 'string' || !/^\d{1,15}(\.\d{1,2})?$/.test(v)) problems.push({ FieldName: 'Project.ExpectedCustomerSpend.Amount', Code: 'INVALID_VALUE', Message: 'must be a non-negative amount with at most 2 decimals, as a string' });
  }
  if (valuesAt(body, 'Customer.Contacts').length > 1) problems.push({ FieldName: 'Customer.Contacts', Code: 'TOO_MANY_VALUES', Message: 'at most one customer contact' });
  if (mode === 'create') {
    for (const path of REQUIRED_ON_CREATE) {
      const vs = valuesAt(body, path);
      if (vs.length === 0 || vs.every((v) => v === '')) problems.push({ FieldName: path, Code: 'REQUIRED_FIELD_MISSING', Message: 'is required' });
    }
  }
  const stage = valuesAt(body, 'LifeCycle.Stage')[0];
  if (stage === 'Closed Lost' && valuesAt(body, 'LifeCycle.ClosedLostReason').length === 0) {
    problems.push({ FieldName: 'LifeCycle.ClosedLostReason', Code: 'REQUIRED_FIELD_MISSING', Message: 'is required when LifeCycle.Stage is Closed Lost' });
  }
  return problems;
}

export function assertValid(body: Json, mode: 'create' | 'update'): void {
  const problems = opportunityProblems(body, mode);
  if (problems.length) throw validationError(problems, problems.some((p) => p.Code === 'REQUIRED_FIELD_MISSING') ? 'BUSINESS_VALIDATION_FAILED' : 'REQUEST_VALIDATION_FAILED');
}

export function requireString(body: Json, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw validationError([{ FieldName: name, Code: 'REQUIRED_FIELD_MISSING', Message: 'is required' }]);
  return v;
}
