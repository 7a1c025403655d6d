import { createHash } from 'node:crypto';
import { SandboxClock } from '../clock.js';
import { AceError, validationError, type FieldError } from './errors.js';
import { assertValid, requireString, valuesAt } from './validate.js';

/**
 * The emulated Partner Central selling service of one partner account: opportunities per catalog
 * (`AWS`, `Sandbox`), AWS's review of submitted opportunities, engagement invitations (AWS
 * referrals) and the tasks that accept them. Operations take the request body as the SDK serialised it
 * and return the response body; errors are AceErrors with the service's shapes.
 *
 * Time is the org's freezable clock. Review transitions and arriving referrals are driven by it: every
 * request first runs `tick()`, which moves due reviews on (Submitted → In review → Approved / Action
 * Required / Rejected) and delivers due referrals, each stamped with the time it is applied — so a
 * change feed ordered by LastModifiedDate never sees a change appear behind its cursor.
 */
type Json = Record<string, unknown>;

export interface PartnerCentralSettings {
  /** Catalogs these credentials may use (default both). */
  catalogs?: Array<'AWS' | 'Sandbox'>;
  /** Org-clock ms from submission to AWS's decision (half-way it is "In review"). Default 60 s. */
  reviewDelayMs?: number;
  /** AWS referrals arrive on their own: one every `everyMs` of org time, at most `max` (default off). */
  referrals?: { everyMs: number; max?: number; catalog?: 'AWS' | 'Sandbox' };
  /** Days an invitation stays open before it expires. Default 14. */
  invitationTtlDays?: number;
  /** Partner solutions the account has (ListSolutions; AssociateOpportunity checks against them). */
  solutions?: string[];
}

export interface StoredOpportunity {
  Id: string;
  Catalog: string;
  CreatedDate: number;
  LastModifiedDate: number;
  data: Json;
  related: { Solutions: string[]; AwsProducts: string[]; AwsMarketplaceOffers: string[] };
  submittedAt?: number;
  /** An outcome forced by the sandbox admin endpoint, applied when the review is due. */
  forcedOutcome?: ReviewOutcome;
  involvement?: { InvolvementType: string; Visibility?: string };
}

export interface ReviewOutcome {
  status: 'Approved' | 'Action Required' | 'Rejected';
  comments?: string;
  reason?: string;
}

export interface StoredInvitation {
  Id: string;
  Catalog: string;
  EngagementId: string;
  EngagementTitle: string;
  Status: 'PENDING' | 'ACCEPTED' | 'REJECTED' | 'EXPIRED';
  InvitationDate: number;
  ExpirationDate: number;
  SenderAwsAccountId: string;
  SenderCompanyName: string;
  InvitationMessage: string;
  Payload: { OpportunityInvitation: Json };
  RejectionReason?: string;
  OpportunityId?: string;
}

export interface ReferralInput {
  catalog?: 'AWS' | 'Sandbox';
  companyName: string;
  title: string;
  industry?: string;
  countryCode?: string;
  websiteUrl?: string;
  businessProblem?: string;
  amount?: string;
  targetCloseDate?: string;
  message?: string;
}

const ACCOUNT_ID = '111122223333';
const AWS_SENDER = { SenderAwsAccountId: '000000000000', SenderCompanyName: 'Amazon Web Services' };
/** What AWS opens for edits while an opportunity is in Action Required (Partner Central docs). */
export const ACTION_REQUIRED_EDITABLE = new Set([
  'Customer.Account.Address.City', 'Customer.Account.Address.CountryCode', 'Customer.Account.Address.PostalCode', 'Customer.Account.Address.StateOrRegion',
  'Customer.Account.Address.StreetAddress', 'Customer.Account.WebsiteUrl', 'LifeCycle.TargetCloseDate', 'Project.ExpectedCustomerSpend.Amount',
  'Project.ExpectedCustomerSpend.CurrencyCode', 'Project.ExpectedCustomerSpend.EstimationUrl', 'Project.ExpectedCustomerSpend.Frequency',
  'Project.ExpectedCustomerSpend.TargetCompany', 'Project.CustomerBusinessProblem', 'PartnerOpportunityIdentifier',
]);
/** What can no longer change once AWS approved an opportunity. */
export const APPROVED_LOCKED = new Set(['Customer.Account.CompanyName', 'Customer.Account.Address.CountryCode', 'Customer.Account.Address.PostalCode', 'Customer.Account.Duns']);
/** Members of an opportunity a partner writes (everything else in a request is ignored or read-only). */
const WRITABLE_MEMBERS = ['PrimaryNeedsFromAws', 'NationalSecurity', 'PartnerOpportunityIdentifier', 'Customer', 'Project', 'OpportunityType', 'Marketing', 'SoftwareRevenue', 'LifeCycle', 'OpportunityTeam'];
const READ_ONLY_LIFECYCLE = ['ReviewStatus', 'ReviewComments', 'ReviewStatusReason', 'NextStepsHistory'];

const REFERRAL_COMPANIES = ['Northwind Traders', 'Contoso Pharma', 'Fabrikam Logistics', 'Tailspin Air', 'Wide World Importers', 'Litware Health', 'Proseware Media', 'Adatum Energy', 'Woodgrove Bank', 'Lucerne Publishing'];
const REFERRAL_INDUSTRIES = ['Retail', 'Life Sciences', 'Transportation and Logistics', 'Aerospace', 'Wholesale and Distribution', 'Healthcare', 'Media and Entertainment', 'Energy - Power and Utilities', 'Financial Services', 'Media and Entertainment'];

/** Every leaf of a JSON value by dotted path; arrays of objects contribute each element under the same path. */
function leaves(v: unknown, path = '', out = new Map<string, unknown[]>()): Map<string, unknown[]> {
  if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) {
    for (const x of v) leaves(x, path, out);
  } else if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Json)) leaves(x, path ? `${path}.${k}` : k, out);
  } else if (path && v !== undefined && v !== null) {
    out.set(path, [...(out.get(path) ?? []), v]);
  }
  return out;
}

function changedPaths(before: Json, after: Json): string[] {
  const a = leaves(before);
  const b = leaves(after);
  const paths = new Set([...a.keys(), ...b.keys()]);
  return [...paths].filter((p) => JSON.stringify(a.get(p) ?? []) !== JSON.stringify(b.get(p) ?? [])).sort();
}

const iso = (ms: number) => new Date(ms).toISOString();
const hashOf = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex');

export class PartnerCentral {
  readonly clock = new SandboxClock();
  readonly catalogs: ReadonlySet<string>;
  private opportunities = new Map<string, StoredOpportunity>(); // key `${catalog}/${id}`
  private invitations = new Map<string, StoredInvitation>();
  private tokens = new Map<string, { hash: string; response: Json }>(); // key `${catalog}/${op}/${token}`
  private nextId: number;
  private pendingEdits = new Map<string, Json>();
  /** ConflictExceptions answered (stale LastModifiedDate), for tests and the stats endpoint. */
  conflicts = 0;
  private referralsDelivered = 0;
  private nextReferralAt?: number;
  readonly settings: Required<Omit<PartnerCentralSettings, 'referrals'>> & { referrals?: PartnerCentralSettings['referrals'] };

  constructor(settings: PartnerCentralSettings = {}, idOffset = 0) {
    this.settings = {
      catalogs: settings.catalogs ?? ['AWS', 'Sandbox'],
      reviewDelayMs: settings.reviewDelayMs ?? 60_000,
      invitationTtlDays: settings.invitationTtlDays ?? 14,
      solutions: settings.solutions ?? ['S-0000001', 'S-0000002'],
      referrals: settings.referrals,
    };
    this.catalogs = new Set(this.settings.catalogs);
    this.nextId = 1_000_000 + idOffset;
    if (settings.referrals) this.nextReferralAt = this.clock.now() + settings.referrals.everyMs;
  }

  now(): number {
    return this.clock.now();
  }

  // ---------------------------------------------------------------- time-driven transitions

  /** Apply every review decision and referral that is due by the org clock. */
  tick(): void {
    const now = this.now();
    const half = this.settings.reviewDelayMs / 2;
    for (const o of this.opportunities.values()) {
      if (o.submittedAt === undefined) continue;
      const lc = (o.data.LifeCycle ??= {}) as Json;
      if (lc.ReviewStatus === 'Submitted' && now >= o.submittedAt + half) {
        lc.ReviewStatus = 'In review';
        o.LastModifiedDate = now;
      }
      if (lc.ReviewStatus === 'In review' && now >= o.submittedAt + this.settings.reviewDelayMs) {
        const outcome = o.forcedOutcome ?? this.review(o);
        lc.ReviewStatus = outcome.status;
        if (outcome.comments) lc.ReviewComments = outcome.comments;
        else delete lc.ReviewComments;
        if (outcome.reason) lc.ReviewStatusReason = outcome.reason;
        else delete lc.ReviewStatusReason;
        o.LastModifiedDate = now;
        o.submittedAt = undefined;
        o.forcedOutcome = undefined;
      }
    }
    for (const inv of this.invitations.values()) {
      if (inv.Status === 'PENDING' && now >= inv.ExpirationDate) inv.Status = 'EXPIRED';
    }
    const r = this.settings.referrals;
    while (r && this.nextReferralAt !== undefined && now >= this.nextReferralAt && this.referralsDelivered < (r.max ?? Number.POSITIVE_INFINITY)) {
      const i = this.referralsDelivered;
      this.addReferral({
        catalog: r.catalog ?? 'Sandbox',
        companyName: REFERRAL_COMPANIES[i % REFERRAL_COMPANIES.length]! + (i >= REFERRAL_COMPANIES.length ? ` ${Math.floor(i / REFERRAL_COMPANIES.length) + 1}` : ''),
        title: `AWS referral ${i + 1}: migration to AWS`,
        industry: REFERRAL_INDUSTRIES[i % REFERRAL_INDUSTRIES.length],
        amount: String(5000 + 1250 * (i % 9)),
      });
      this.nextReferralAt += r.everyMs;
    }
  }

  /**
   * AWS's review, deterministic so tests can aim at each outcome: a business problem under 20
   * characters needs more detail (Action Required, with a comment); a customer named as a test
   * account is disqualified (Rejected, with a reason); anything else is approved.
   */
  private review(o: StoredOpportunity): ReviewOutcome {
    const company = String(valuesAt(o.data, 'Customer.Account.CompanyName')[0] ?? '');
    const problem = String(valuesAt(o.data, 'Project.CustomerBusinessProblem')[0] ?? '');
    if (/\b(test|dummy)\b/i.test(company)) return { status: 'Rejected', reason: 'Duplicate or test opportunity', comments: `${company} is not a real customer.` };
    if (problem.trim().length < 20) return { status: 'Action Required', comments: "Describe the customer's business problem in at least 20 characters.", reason: 'Incomplete business problem' };
    return { status: 'Approved' };
  }

  // ---------------------------------------------------------------- helpers

  private catalogOf(body: Json): string {
    const c = requireString(body, 'Catalog');
    if (!/^[a-zA-Z]+$/.test(c)) throw validationError([{ FieldName: 'Catalog', Code: 'INVALID_STRING_FORMAT', Message: 'must match ^[a-zA-Z]+$' }]);
    if (!this.catalogs.has(c)) throw new AceError('AccessDeniedException', `You do not have access to the ${c} catalog.`, { Reason: 'INCOMPATIBLE_BENEFIT_AWS_PARTNER_STATE' });
    return c;
  }

  private opportunity(catalog: string, id: unknown, field = 'Identifier'): StoredOpportunity {
    if (typeof id !== 'string' || !/^O[0-9]{1,19}$/.test(id)) throw validationError([{ FieldName: field, Code: 'INVALID_STRING_FORMAT', Message: 'must match ^O[0-9]{1,19}$' }]);
    const o = this.opportunities.get(`${catalog}/${id}`);
    if (!o) throw new AceError('ResourceNotFoundException', `Opportunity ${id} was not found in catalog ${catalog}.`);
    return o;
  }

  private invitation(catalog: string, id: unknown): StoredInvitation {
    if (typeof id !== 'string' || !/^(arn:.*|engi-[0-9a-z]{13})$/.test(id)) throw validationError([{ FieldName: 'Identifier', Code: 'INVALID_STRING_FORMAT', Message: 'must be an engagement invitation id (engi-…) or ARN' }]);
    const key = id.startsWith('arn:') ? id.split('/').pop()! : id;
    const inv = this.invitations.get(`${catalog}/${key}`);
    if (!inv) throw new AceError('ResourceNotFoundException', `Engagement invitation ${id} was not found in catalog ${catalog}.`);
    return inv;
  }

  /** The same ClientToken with the same request answers the first response again; with another request it conflicts. */
  private idempotent(catalog: string, op: string, body: Json, run: () => Json): Json {
    const token = body.ClientToken;
    if (token === undefined) return run();
    if (typeof token !== 'string' || !/^[!-~]{1,64}$/.test(token)) throw validationError([{ FieldName: 'ClientToken', Code: 'INVALID_STRING_FORMAT', Message: 'must be 1 to 64 printable ASCII characters' }]);
    const key = `${catalog}/${op}/${token}`;
    const { ClientToken: _t, ...rest } = body;
    const hash = hashOf(rest);
    const seen = this.tokens.get(key);
    if (seen) {
      if (seen.hash !== hash) throw new AceError('ConflictException', `ClientToken ${token} was already used with a different request.`);
      return seen.response;
    }
    const response = run();
    this.tokens.set(key, { hash, response });
    return response;
  }

  private newId(prefix: string): string {
    this.nextId++;
    if (prefix === 'O') return `O${this.nextId}`;
    return `${prefix}-${this.nextId.toString(36).padStart(13, '0')}`;
  }

  private arn(catalog: string, kind: string, id: string): string {
    return `arn:aws:partnercentral:us-east-1:${ACCOUNT_ID}:catalog/${catalog}/${kind}/${id}`;
  }

  private view(o: StoredOpportunity): Json {
    return {
      Catalog: o.Catalog,
      Id: o.Id,
      Arn: this.arn(o.Catalog, 'opportunity', o.Id),
      ...structuredClone(o.data),
      CreatedDate: iso(o.CreatedDate),
      LastModifiedDate: iso(o.LastModifiedDate),
      RelatedEntityIdentifiers: structuredClone(o.related),
    };
  }

  private summary(o: StoredOpportunity): Json {
    const d = o.data as { Customer?: { Account?: Json }; Project?: Json; LifeCycle?: Json };
    const acct = d.Customer?.Account ?? {};
    const addr = (acct.Address ?? {}) as Json;
    const lc = d.LifeCycle ?? {};
    return {
      Catalog: o.Catalog,
      Id: o.Id,
      Arn: this.arn(o.Catalog, 'opportunity', o.Id),
      PartnerOpportunityIdentifier: o.data.PartnerOpportunityIdentifier,
      OpportunityType: o.data.OpportunityType,
      LastModifiedDate: iso(o.LastModifiedDate),
      CreatedDate: iso(o.CreatedDate),
      LifeCycle: { Stage: lc.Stage, ClosedLostReason: lc.ClosedLostReason, NextSteps: lc.NextSteps, TargetCloseDate: lc.TargetCloseDate, ReviewStatus: lc.ReviewStatus, ReviewComments: lc.ReviewComments, ReviewStatusReason: lc.ReviewStatusReason },
      Customer: { Account: { CompanyName: acct.CompanyName, WebsiteUrl: acct.WebsiteUrl, Address: { City: addr.City, PostalCode: addr.PostalCode, StateOrRegion: addr.StateOrRegion, CountryCode: addr.CountryCode } } },
      Project: { DeliveryModels: d.Project?.DeliveryModels, ExpectedCustomerSpend: d.Project?.ExpectedCustomerSpend },
    };
  }

  private writable(body: Json): Json {
    const data: Json = {};
    for (const m of WRITABLE_MEMBERS) if (body[m] !== undefined) data[m] = structuredClone(body[m]);
    const lc = data.LifeCycle as Json | undefined;
    if (lc) for (const k of READ_ONLY_LIFECYCLE) delete lc[k];
    return data;
  }

  // ---------------------------------------------------------------- opportunities

  CreateOpportunity(body: Json): Json {
    const catalog = this.catalogOf(body);
    return this.idempotent(catalog, 'CreateOpportunity', body, () => {
      const data = this.writable(body);
      if (body.Origin !== undefined) data.Origin = body.Origin;
      assertValid(data, 'create');
      const lc = (data.LifeCycle ??= {}) as Json;
      lc.Stage ??= 'Prospect';
      lc.ReviewStatus = 'Pending Submission';
      data.Origin ??= 'Partner Referral';
      const now = this.now();
      const o: StoredOpportunity = { Id: this.newId('O'), Catalog: catalog, CreatedDate: now, LastModifiedDate: now, data, related: { Solutions: [], AwsProducts: [], AwsMarketplaceOffers: [] } };
      this.opportunities.set(`${catalog}/${o.Id}`, o);
      return { Id: o.Id, PartnerOpportunityIdentifier: data.PartnerOpportunityIdentifier, LastModifiedDate: iso(o.LastModifiedDate) };
    });
  }

  UpdateOpportunity(body: Json): Json {
    const catalog = this.catalogOf(body);
    const o = this.opportunity(catalog, body.Identifier);
    const racing = this.pendingEdits.get(`${catalog}/${o.Id}`);
    if (racing) {
      this.pendingEdits.delete(`${catalog}/${o.Id}`);
      this.clock.apply({ advanceMs: 1 });
      this.awsEdit(catalog, o.Id, racing);
    }
    const lmd = typeof body.LastModifiedDate === 'string' ? Date.parse(body.LastModifiedDate) : Number.NaN;
    if (Number.isNaN(lmd)) throw validationError([{ FieldName: 'LastModifiedDate', Code: 'REQUIRED_FIELD_MISSING', Message: 'is required: the LastModifiedDate of the version you read' }]);
    // Optimistic concurrency: the update must be made against the version the caller last read.
    if (lmd !== o.LastModifiedDate) {
      this.conflicts++;
      throw new AceError('ConflictException', `Opportunity ${o.Id} was modified at ${iso(o.LastModifiedDate)}, after the version you read (${iso(lmd)}). Read it again and retry.`);
    }
    const incoming = this.writable(body);
    const next: Json = { ...structuredClone(o.data), ...incoming };
    // ReviewStatus and its comments belong to AWS: keep them whatever the request says.
    const lcBefore = (o.data.LifeCycle ?? {}) as Json;
    const lcNext = (next.LifeCycle ??= {}) as Json;
    for (const k of READ_ONLY_LIFECYCLE) if (lcBefore[k] !== undefined) lcNext[k] = lcBefore[k];
    assertValid(next, 'update');
    const changed = changedPaths(o.data, next);
    const status = lcBefore.ReviewStatus as string | undefined;
    const locked = (paths: string[], code: FieldError['Code'], why: string): never => {
      throw validationError(paths.map((p) => ({ FieldName: p, Code: code, Message: why })), 'BUSINESS_VALIDATION_FAILED');
    };
    if ((status === 'Submitted' || status === 'In review' || status === 'Rejected') && changed.length) {
      locked(changed, 'INVALID_RESOURCE_STATE', `cannot be updated while LifeCycle.ReviewStatus is ${status}`);
    }
    if (status === 'Action Required') {
      const notOpen = changed.filter((p) => !ACTION_REQUIRED_EDITABLE.has(p));
      if (notOpen.length) locked(notOpen, 'ACTION_NOT_PERMITTED', 'is not editable while LifeCycle.ReviewStatus is Action Required');
    }
    if (status === 'Approved') {
      const frozen = changed.filter((p) => APPROVED_LOCKED.has(p));
      if (frozen.length) locked(frozen, 'ACTION_NOT_PERMITTED', 'cannot change after AWS approved the opportunity');
    }
    o.data = next;
    if (status === 'Action Required' && changed.length) {
      // The partner answered AWS's comments: the opportunity re-enters validation.
      lcNext.ReviewStatus = 'Submitted';
      o.submittedAt = this.now();
    }
    o.LastModifiedDate = this.now();
    return { Id: o.Id, LastModifiedDate: iso(o.LastModifiedDate) };
  }

  GetOpportunity(body: Json): Json {
    const catalog = this.catalogOf(body);
    return this.view(this.opportunity(catalog, body.Identifier));
  }

  ListOpportunities(body: Json): Json {
    const catalog = this.catalogOf(body);
    const max = body.MaxResults ?? 20;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) throw validationError([{ FieldName: 'MaxResults', Code: 'VALUE_OUT_OF_RANGE', Message: 'must be between 1 and 100' }]);
    const f = (body.LastModifiedDate ?? {}) as { AfterLastModifiedDate?: string; BeforeLastModifiedDate?: string };
    const after = f.AfterLastModifiedDate !== undefined ? Date.parse(f.AfterLastModifiedDate) : undefined;
    const before = f.BeforeLastModifiedDate !== undefined ? Date.parse(f.BeforeLastModifiedDate) : undefined;
    const ids = Array.isArray(body.Identifier) ? new Set(body.Identifier as string[]) : undefined;
    const stages = Array.isArray(body.LifeCycleStage) ? new Set(body.LifeCycleStage as string[]) : undefined;
    const reviews = Array.isArray(body.LifeCycleReviewStatus) ? new Set(body.LifeCycleReviewStatus as string[]) : undefined;
    const names = Array.isArray(body.CustomerCompanyName) ? new Set(body.CustomerCompanyName as string[]) : undefined;
    let rows = [...this.opportunities.values()].filter((o) => {
      if (o.Catalog !== catalog) return false;
      if (after !== undefined && !(o.LastModifiedDate > after)) return false;
      if (before !== undefined && !(o.LastModifiedDate < before)) return false;
      if (ids && !ids.has(o.Id)) return false;
      const lc = (o.data.LifeCycle ?? {}) as Json;
      if (stages && !stages.has(lc.Stage as string)) return false;
      if (reviews && !reviews.has(lc.ReviewStatus as string)) return false;
      if (names && !names.has(valuesAt(o.data, 'Customer.Account.CompanyName')[0] as string)) return false;
      return true;
    });
    const sort = (body.Sort ?? { SortBy: 'LastModifiedDate', SortOrder: 'DESCENDING' }) as { SortBy?: string; SortOrder?: string };
    const sign = sort.SortOrder === 'ASCENDING' ? 1 : -1;
    // Ties keep no particular order (AWS documents none): hash order, so clients cannot lean on ids.
    const tie = (o: StoredOpportunity) => hashOf(o.Id).slice(0, 8);
    const keyOf = (o: StoredOpportunity): string | number => {
      switch (sort.SortBy) {
        case 'Identifier': return o.Id;
        case 'CreatedDate': return o.CreatedDate;
        case 'CustomerCompanyName': return String(valuesAt(o.data, 'Customer.Account.CompanyName')[0] ?? '');
        case 'TargetCloseDate': return String(valuesAt(o.data, 'LifeCycle.TargetCloseDate')[0] ?? '');
        default: return o.LastModifiedDate;
      }
    };
    rows = rows.sort((a, b) => {
      const ka = keyOf(a);
      const kb = keyOf(b);
      if (ka < kb) return -sign;
      if (ka > kb) return sign;
      return tie(a) < tie(b) ? -1 : tie(a) > tie(b) ? 1 : 0;
    });
    const start = this.pageStart(body.NextToken, hashOf({ catalog, f, ids: body.Identifier, sort }));
    const page = rows.slice(start, start + max);
    const more = start + max < rows.length;
    return { OpportunitySummaries: page.map((o) => this.summary(o)), ...(more ? { NextToken: this.pageToken(start + max, hashOf({ catalog, f, ids: body.Identifier, sort })) } : {}) };
  }

  private pageToken(offset: number, query: string): string {
    return Buffer.from(JSON.stringify({ o: offset, q: query.slice(0, 16) })).toString('base64');
  }

  private pageStart(token: unknown, query: string): number {
    if (token === undefined) return 0;
    try {
      const t = JSON.parse(Buffer.from(String(token), 'base64').toString('utf8')) as { o: number; q: string };
      if (t.q === query.slice(0, 16) && Number.isInteger(t.o) && t.o >= 0) return t.o;
    } catch {
      // fall through
    }
    throw validationError([{ FieldName: 'NextToken', Code: 'INVALID_VALUE', Message: 'is not a token this query returned' }]);
  }

  AssociateOpportunity(body: Json, disassociate = false): Json {
    const catalog = this.catalogOf(body);
    const o = this.opportunity(catalog, body.OpportunityIdentifier, 'OpportunityIdentifier');
    const type = requireString(body, 'RelatedEntityType');
    const id = requireString(body, 'RelatedEntityIdentifier');
    const listName = type === 'Solutions' ? 'Solutions' : type === 'AwsProducts' ? 'AwsProducts' : type === 'AwsMarketplaceOffers' ? 'AwsMarketplaceOffers' : undefined;
    if (!listName) throw validationError([{ FieldName: 'RelatedEntityType', Code: 'INVALID_ENUM_VALUE', Message: `${JSON.stringify(type)} is not one of Solutions, AwsProducts, AwsMarketplaceOffers` }]);
    if (type === 'Solutions' && !this.settings.solutions.includes(id)) throw new AceError('ResourceNotFoundException', `Solution ${id} was not found for this partner account.`);
    const list = o.related[listName];
    const quota = listName === 'AwsProducts' ? 20 : listName === 'Solutions' ? 10 : 1;
    if (disassociate) {
      if (!list.includes(id)) throw new AceError('ResourceNotFoundException', `${id} is not associated with opportunity ${o.Id}.`);
      o.related[listName] = list.filter((x) => x !== id);
    } else if (!list.includes(id)) {
      if (list.length >= quota) throw new AceError('ServiceQuotaExceededException', `An opportunity can have at most ${quota} ${listName}.`);
      list.push(id);
    }
    o.LastModifiedDate = this.now();
    return {};
  }

  DisassociateOpportunity(body: Json): Json {
    return this.AssociateOpportunity(body, true);
  }

  StartEngagementFromOpportunityTask(body: Json): Json {
    const catalog = this.catalogOf(body);
    return this.idempotent(catalog, 'StartEngagementFromOpportunityTask', body, () => {
      const o = this.opportunity(catalog, body.Identifier);
      const sub = (body.AwsSubmission ?? {}) as Json;
      const task = { TaskId: this.newId('task'), TaskArn: '', StartTime: iso(this.now()), OpportunityId: o.Id } as Json;
      task.TaskArn = this.arn(catalog, 'engagement-from-opportunity-task', task.TaskId as string);
      const failure = this.submissionProblem(o, sub);
      if (failure) return { ...task, TaskStatus: 'FAILED', ReasonCode: failure.reasonCode, Message: failure.message };
      this.submit(o, sub);
      return { ...task, TaskStatus: 'COMPLETE', EngagementId: this.newId('eng') };
    });
  }

  /** The synchronous form of the same submission (SubmitOpportunity). */
  SubmitOpportunity(body: Json): Json {
    const catalog = this.catalogOf(body);
    const o = this.opportunity(catalog, body.Identifier);
    const sub = { InvolvementType: body.InvolvementType, Visibility: body.Visibility };
    const failure = this.submissionProblem(o, sub);
    if (failure) throw validationError([{ FieldName: failure.field, Code: failure.code, Message: failure.message }], 'BUSINESS_VALIDATION_FAILED');
    this.submit(o, sub);
    return {};
  }

  private submissionProblem(o: StoredOpportunity, sub: Json): { reasonCode: string; field: string; code: FieldError['Code']; message: string } | undefined {
    if (sub.InvolvementType !== 'Co-Sell' && sub.InvolvementType !== 'For Visibility Only') {
      return { reasonCode: 'OpportunityValidationFailed', field: 'AwsSubmission.InvolvementType', code: 'INVALID_ENUM_VALUE', message: 'InvolvementType must be Co-Sell or For Visibility Only' };
    }
    const status = (o.data.LifeCycle as Json | undefined)?.ReviewStatus;
    if (status !== 'Pending Submission') return { reasonCode: 'OpportunityConflict', field: 'LifeCycle.ReviewStatus', code: 'INVALID_RESOURCE_STATE', message: `the opportunity was already submitted (ReviewStatus ${String(status)})` };
    if (o.related.Solutions.length === 0) return { reasonCode: 'OpportunitySubmissionFailed', field: 'RelatedEntityIdentifiers.Solutions', code: 'REQUIRED_FIELD_MISSING', message: 'associate at least one partner solution before submitting' };
    return undefined;
  }

  private submit(o: StoredOpportunity, sub: Json): void {
    const lc = (o.data.LifeCycle ??= {}) as Json;
    lc.ReviewStatus = 'Submitted';
    o.involvement = { InvolvementType: String(sub.InvolvementType), ...(sub.Visibility ? { Visibility: String(sub.Visibility) } : {}) };
    o.submittedAt = this.now();
    o.LastModifiedDate = this.now();
  }

  ListSolutions(body: Json): Json {
    this.catalogOf(body);
    return { SolutionSummaries: this.settings.solutions.map((id, i) => ({ Id: id, Arn: `arn:aws:partnercentral:us-east-1:${ACCOUNT_ID}:solution/${id}`, Name: `Solution ${i + 1}`, Status: 'Active', Category: 'Software Product', CreatedDate: iso(0), Catalog: body.Catalog })) };
  }

  // ---------------------------------------------------------------- engagement invitations (AWS referrals)

  /** AWS attaches this partner to one of its opportunities: a PENDING invitation appears. */
  addReferral(r: ReferralInput): StoredInvitation {
    const catalog = r.catalog ?? 'Sandbox';
    const now = this.now();
    const id = this.newId('engi');
    const inv: StoredInvitation = {
      Id: id,
      Catalog: catalog,
      EngagementId: this.newId('eng'),
      EngagementTitle: r.title,
      Status: 'PENDING',
      InvitationDate: now,
      ExpirationDate: now + this.settings.invitationTtlDays * 86_400_000,
      ...AWS_SENDER,
      InvitationMessage: r.message ?? `AWS invites you to co-sell with ${r.companyName}.`,
      Payload: {
        OpportunityInvitation: {
          ReceiverResponsibilities: ['Co-Sell Facilitator'],
          SenderContacts: [{ Email: 'aws-seller@example.com', FirstName: 'Alex', LastName: 'Seller', BusinessTitle: 'AWS Account Manager' }],
          Customer: { CompanyName: r.companyName, Industry: r.industry ?? 'Software and Internet', WebsiteUrl: r.websiteUrl ?? `https://${r.companyName.toLowerCase().replace(/[^a-z0-9]+/g, '')}.example.com`, CountryCode: r.countryCode ?? 'US' },
          Project: {
            Title: r.title,
            BusinessProblem: r.businessProblem ?? `${r.companyName} wants to move its workloads to AWS and needs a partner solution.`,
            TargetCompletionDate: r.targetCloseDate ?? iso(now + 90 * 86_400_000).slice(0, 10),
            ExpectedCustomerSpend: [{ Amount: r.amount ?? '10000', CurrencyCode: 'USD', Frequency: 'Monthly', TargetCompany: 'AWS' }],
          },
        },
      },
    };
    this.invitations.set(`${catalog}/${id}`, inv);
    this.referralsDelivered++;
    return inv;
  }

  private invitationSummary(inv: StoredInvitation): Json {
    return {
      Arn: this.arn(inv.Catalog, 'engagement-invitation', inv.Id),
      PayloadType: 'OpportunityInvitation',
      Id: inv.Id,
      EngagementId: inv.EngagementId,
      EngagementTitle: inv.EngagementTitle,
      Status: inv.Status,
      InvitationDate: iso(inv.InvitationDate),
      ExpirationDate: iso(inv.ExpirationDate),
      SenderAwsAccountId: inv.SenderAwsAccountId,
      SenderCompanyName: inv.SenderCompanyName,
      Receiver: { Account: { AwsAccountId: ACCOUNT_ID } },
      Catalog: inv.Catalog,
      ParticipantType: 'RECEIVER',
    };
  }

  ListEngagementInvitations(body: Json): Json {
    const catalog = this.catalogOf(body);
    if (body.ParticipantType !== 'RECEIVER' && body.ParticipantType !== 'SENDER') throw validationError([{ FieldName: 'ParticipantType', Code: 'REQUIRED_FIELD_MISSING', Message: 'must be RECEIVER or SENDER' }]);
    const max = body.MaxResults ?? 50;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) throw validationError([{ FieldName: 'MaxResults', Code: 'VALUE_OUT_OF_RANGE', Message: 'must be between 1 and 100' }]);
    const statuses = Array.isArray(body.Status) ? new Set(body.Status as string[]) : undefined;
    const sort = (body.Sort ?? { SortOrder: 'DESCENDING' }) as { SortOrder?: string };
    const sign = sort.SortOrder === 'ASCENDING' ? 1 : -1;
    const rows = body.ParticipantType === 'SENDER' ? [] : [...this.invitations.values()]
      .filter((i) => i.Catalog === catalog && (!statuses || statuses.has(i.Status)))
      .sort((a, b) => sign * (a.InvitationDate - b.InvitationDate) || (a.Id < b.Id ? -1 : 1));
    const q = hashOf({ catalog, statuses: body.Status, sort });
    const start = this.pageStart(body.NextToken, q);
    const more = start + max < rows.length;
    return { EngagementInvitationSummaries: rows.slice(start, start + max).map((i) => this.invitationSummary(i)), ...(more ? { NextToken: this.pageToken(start + max, q) } : {}) };
  }

  GetEngagementInvitation(body: Json): Json {
    const catalog = this.catalogOf(body);
    const inv = this.invitation(catalog, body.Identifier);
    return { ...this.invitationSummary(inv), Payload: structuredClone(inv.Payload), InvitationMessage: inv.InvitationMessage, ...(inv.RejectionReason ? { RejectionReason: inv.RejectionReason } : {}) };
  }

  StartEngagementByAcceptingInvitationTask(body: Json): Json {
    const catalog = this.catalogOf(body);
    return this.idempotent(catalog, 'StartEngagementByAcceptingInvitationTask', body, () => {
      const inv = this.invitation(catalog, body.Identifier);
      const task = { TaskId: this.newId('task'), StartTime: iso(this.now()), EngagementInvitationId: inv.Id } as Json;
      task.TaskArn = this.arn(catalog, 'engagement-by-accepting-invitation-task', task.TaskId as string);
      if (inv.Status !== 'PENDING') return { ...task, TaskStatus: 'FAILED', ReasonCode: 'EngagementInvitationConflict', Message: `the invitation is ${inv.Status}` };
      return { ...task, TaskStatus: 'COMPLETE', OpportunityId: this.accept(inv) };
    });
  }

  AcceptEngagementInvitation(body: Json): Json {
    const catalog = this.catalogOf(body);
    const inv = this.invitation(catalog, body.Identifier);
    if (inv.Status !== 'PENDING') throw new AceError('ConflictException', `Engagement invitation ${inv.Id} is ${inv.Status}.`);
    this.accept(inv);
    return {};
  }

  /** Accepting creates the partner's own copy of AWS's opportunity (Origin AWS Referral). */
  private accept(inv: StoredInvitation): string {
    const p = inv.Payload.OpportunityInvitation as { Customer: Json; Project: Json };
    const now = this.now();
    const o: StoredOpportunity = {
      Id: this.newId('O'),
      Catalog: inv.Catalog,
      CreatedDate: now,
      LastModifiedDate: now,
      data: {
        Origin: 'AWS Referral',
        OpportunityType: 'Net New Business',
        Customer: { Account: { CompanyName: p.Customer.CompanyName, Industry: p.Customer.Industry, WebsiteUrl: p.Customer.WebsiteUrl, Address: { CountryCode: p.Customer.CountryCode } } },
        Project: { Title: p.Project.Title, CustomerBusinessProblem: p.Project.BusinessProblem, ExpectedCustomerSpend: structuredClone(p.Project.ExpectedCustomerSpend) },
        LifeCycle: { Stage: 'Prospect', TargetCloseDate: p.Project.TargetCompletionDate, ReviewStatus: 'Approved' },
      },
      related: { Solutions: [], AwsProducts: [], AwsMarketplaceOffers: [] },
    };
    this.opportunities.set(`${inv.Catalog}/${o.Id}`, o);
    inv.Status = 'ACCEPTED';
    inv.OpportunityId = o.Id;
    return o.Id;
  }

  RejectEngagementInvitation(body: Json): Json {
    const catalog = this.catalogOf(body);
    const inv = this.invitation(catalog, body.Identifier);
    if (inv.Status !== 'PENDING') throw new AceError('ConflictException', `Engagement invitation ${inv.Id} is ${inv.Status}.`);
    if (body.RejectionReason !== undefined && (typeof body.RejectionReason !== 'string' || body.RejectionReason.length > 80)) {
      throw validationError([{ FieldName: 'RejectionReason', Code: 'VALUE_OUT_OF_RANGE', Message: 'must be text of at most 80 characters' }]);
    }
    inv.Status = 'REJECTED';
    if (body.RejectionReason) inv.RejectionReason = body.RejectionReason as string;
    return {};
  }

  // ---------------------------------------------------------------- sandbox-only (admin endpoints, tests)

  /** Force what AWS decides for a submitted opportunity (applied when its review is due). */
  forceReview(catalog: string, id: string, outcome: ReviewOutcome): boolean {
    const o = this.opportunities.get(`${catalog}/${id}`);
    if (!o) return false;
    o.forcedOutcome = outcome;
    return true;
  }

  /**
   * An AWS-side edit that lands exactly between the partner's read and its write: applied when the next
   * UpdateOpportunity of this opportunity arrives, before it is checked — so that update carries a stale
   * LastModifiedDate and meets a ConflictException, as in a real race.
   */
  editOnNextUpdate(catalog: string, id: string, lifeCycle: Json): boolean {
    if (!this.opportunities.has(`${catalog}/${id}`)) return false;
    this.pendingEdits.set(`${catalog}/${id}`, lifeCycle);
    return true;
  }

  /** An AWS-side edit (an AWS seller moves the stage): bumps LastModifiedDate like any change. */
  awsEdit(catalog: string, id: string, lifeCycle: Json): boolean {
    const o = this.opportunities.get(`${catalog}/${id}`);
    if (!o) return false;
    o.data.LifeCycle = { ...((o.data.LifeCycle ?? {}) as Json), ...lifeCycle };
    o.LastModifiedDate = this.now();
    return true;
  }

  all(): { opportunities: StoredOpportunity[]; invitations: StoredInvitation[] } {
    return { opportunities: [...this.opportunities.values()], invitations: [...this.invitations.values()] };
  }

  snapshot(): unknown {
    return { opportunities: [...this.opportunities.values()], invitations: [...this.invitations.values()], tokens: [...this.tokens], nextId: this.nextId, referralsDelivered: this.referralsDelivered };
  }

  restore(snap: unknown): void {
    const s = snap as { opportunities: StoredOpportunity[]; invitations: StoredInvitation[]; tokens: Array<[string, { hash: string; response: Json }]>; nextId: number; referralsDelivered: number };
    this.opportunities = new Map(s.opportunities.map((o) => [`${o.Catalog}/${o.Id}`, o]));
    this.invitations = new Map(s.invitations.map((i) => [`${i.Catalog}/${i.Id}`, i]));
    this.tokens = new Map(s.tokens);
    this.nextId = s.nextId;
    this.referralsDelivered = s.referralsDelivered;
  }
}
