/**
 * The data the Rules of Engagement engine reads and returns. Plain, JSON-serialisable shapes so the
 * same values travel through activities, workflow history, the ledger's audit log and the CLI.
 */

/** A partner deal that asks to be registered (built by the sync from the mapped partner deal). */
export interface RegistrationInput {
  /** Stable registration id, e.g. "acme:12345" (the workflow id is `registration:<partner>:<source-id>`). */
  id: string;
  partnerId: string;
  /** The end customer's company name as the partner wrote it. */
  customerName: string;
  /** Customer website or domain; its registrable domain is the strongest match key. */
  website?: string | null;
  /** A customer contact's e-mail; its domain is used when the website is missing (free-mail ignored). */
  contactEmail?: string | null;
  /** ISO 3166-1 alpha-2 country of the customer ("US", "DE"; "UK" and "USA" are accepted). */
  country?: string | null;
  /** Customer segment (e.g. "enterprise", "mid-market", "smb"), compared case-insensitively. */
  segment?: string | null;
  amount?: number | null;
  /** ISO 4217; missing means the policy currency. */
  currency?: string | null;
  closeDate?: string | null;
  products?: readonly string[] | null;
  /** The partner-side stage (only the stage guard reads it). */
  stage?: string | null;
  /** When the partner registered it (ISO 8601). First-to-register compares this, then `id`. */
  submittedAt: string;
  /** Any other mapped fields, addressable in `required.fields` as `fields.<name>`. */
  fields?: Readonly<Record<string, unknown>>;
}

/** What the RoE needs to know about the partner (from the network file, overridable in the policy). */
export interface PartnerProfile {
  id: string;
  tier: string;
  territories?: {
    countries?: readonly string[];
    regions?: readonly string[];
    segments?: readonly string[];
  };
  roles?: readonly AttributionRole[];
}

/** One vendor CRM account, as the sync keeps it in the index. */
export interface VendorAccount {
  id: string;
  name: string;
  /** Website or domain (normalised on insert). */
  domain?: string | null;
  owner?: string | null;
  /** Reserved for the direct team (the vendor-side flag field). */
  named?: boolean;
  country?: string | null;
  segment?: string | null;
  hasOpenOpportunity?: boolean;
  /** Open opportunities when the sync knows them (ids, and products for the product-overlap rule). */
  openOpportunities?: ReadonlyArray<{ id: string; name?: string; products?: readonly string[] }>;
}

export type ActiveRegistrationStatus = 'submitted' | 'checked' | 'pending-review' | 'auto-approved' | 'approved';

/** Another registration that still claims its customer (pending or exclusive). */
export interface ActiveRegistration {
  id: string;
  partnerId: string;
  customerName: string;
  website?: string | null;
  contactEmail?: string | null;
  products?: readonly string[] | null;
  /** ISO 8601; the first-to-register key (ties broken by id). */
  registeredAt: string;
  status: ActiveRegistrationStatus;
}

export type MatchKind = 'vendor-account' | 'vendor-opportunity' | 'registration';

export interface Match {
  kind: MatchKind;
  id: string;
  name: string;
  domain: string | null;
  /** 1 for a domain match, else the name similarity (0..1). */
  score: number;
  matchedOn: 'domain' | 'name';
  /** For registrations: the partner that holds it and when it was registered. */
  partnerId?: string;
  registeredAt?: string;
  /** For vendor accounts/opportunities: the account they belong to. */
  accountId?: string;
}

export type RuleId =
  | 'required-fields'
  | 'min-deal-size'
  | 'named-account'
  | 'vendor-opportunity'
  | 'first-to-register'
  | 'territory'
  | 'vendor-account'
  | 'currency'
  | 'close-date'
  | 'tier-auto-approval';

export type RuleAction = 'reject' | 'review';

export interface Check {
  ruleId: RuleId;
  passed: boolean;
  detail: string;
  /** What a failed check asks for (absent when passed). */
  action?: RuleAction;
}

export type Outcome = 'approved' | 'review' | 'rejected';

export interface Decision {
  outcome: Outcome;
  /** The rule that determined the outcome (the first failing rule by precedence, or tier-auto-approval). */
  ruleId: RuleId;
  reason: string;
  /** The records the customer matched, sorted by kind, score (desc) and id; at most `MAX_MATCHES`. */
  matches: Match[];
  /** Every rule evaluated, in precedence order. */
  checks: Check[];
  /** What the engine derived from the input, for the audit trail. */
  customer: { domains: string[]; name: string; amount: number | null; currency: string };
}

export type AttributionRole = 'sourcing' | 'services' | 'influence' | 'reseller';
export const ATTRIBUTION_ROLES: readonly AttributionRole[] = ['sourcing', 'services', 'influence', 'reseller'];

/** Fields `required.fields` may name (plus `fields.<anything>`); `domain` means "a usable company domain". */
export const REQUIRED_FIELD_NAMES = [
  'customerName', 'website', 'contactEmail', 'domain', 'country', 'segment', 'amount', 'currency', 'closeDate', 'products', 'stage',
] as const;
