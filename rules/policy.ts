import { z } from 'zod';
import { CosellError } from '../lib/errors.js';
import { normalizeCompanyName, normalizeDomain } from '../lib/normalize.js';
import { YamlSource } from '../lib/yamlSource.js';
import { formatProblem, sortProblems, type Problem } from '../lib/problems.js';
import { DURATION_PATTERN, parsePolicyDuration } from './duration.js';
import { closest, suggestionHint } from '../lib/suggest.js';
import { ATTRIBUTION_ROLES, REQUIRED_FIELD_NAMES, type AttributionRole, type PartnerProfile, type RuleAction } from './types.js';
import { configTextOrThrow } from '../lib/configFile.js';

/**
 * The Rules of Engagement policy file (roe.yaml): parsed with source positions, validated with zod,
 * then checked for cross-references (tiers, regions, stages, fields). Every problem is reported at
 * once as `file:line:col: CODE: message (hint)`. The result is a compiled `Policy` the engine uses.
 */

const action = z.enum(['reject', 'review']);
const duration = z.string().regex(DURATION_PATTERN, 'must be a duration like 48h, 90d, 30m or 10s');
const countryCode = z.string().regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as US, DE or GB');
const partnerId = z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes');

export const policySchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  /** Amounts in the policy (minimum, tier limits) are in this currency. */
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD or EUR').default('USD'),
  /** Value of one unit of another currency in the policy currency (EUR: 1.08 → 1 EUR = 1.08 USD). */
  exchangeRates: z.record(z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'), z.number().positive()).default({}),
  /** Named groups of countries that partner territories may refer to. */
  regions: z.record(z.string().min(1), z.array(countryCode)).default({}),
  matching: z
    .strictObject({
      /** Compare registrable domains (website, contact e-mail). */
      domain: z.boolean().default(true),
      name: z
        .strictObject({
          /** Minimum nameSimilarity (0..1) for two company names to be the same customer. */
          threshold: z.number().min(0.5).max(1).default(0.9),
          /** When both sides have a domain and they differ, a similar name alone is not a match. */
          requireDomainAgreement: z.boolean().default(true),
        })
        .prefault({}),
      /** Only count opportunities/registrations that share a product with this one (when both list products). */
      productOverlap: z.boolean().default(false),
      firstToRegister: z
        .strictObject({
          /**
           * How long an auto-approval may wait for the other partners' registration links to read past
           * the deal (an earlier deal there wins); 0s decides at once. See registrations/firstToRegister.ts.
           */
          wait: duration.default('2m'),
        })
        .prefault({}),
      against: z
        .strictObject({
          /** The customer already is a vendor account (no open opportunity): ignore, review or reject. */
          vendorAccounts: z.enum(['ignore', 'review', 'reject']).default('ignore'),
          /** The vendor already has an open opportunity at this customer. */
          vendorOpportunities: action.default('reject'),
          /** Another partner registered this customer first (first to register wins). */
          registrations: action.default('reject'),
        })
        .prefault({}),
    })
    .prefault({}),
  namedAccounts: z
    .strictObject({
      action: action.default('reject'),
      domains: z.array(z.string().min(1)).default([]),
      names: z.array(z.string().min(1)).default([]),
      /** Honour the `named` flag the sync reads from the vendor account. */
      vendorFlag: z.boolean().default(true),
    })
    .prefault({}),
  territories: z
    .strictObject({
      /** What happens when the customer is outside the partner's territory. */
      action: action.default('review'),
      /** What happens when the registration has no country but the partner has territories. */
      unknownCountry: action.default('review'),
    })
    .prefault({}),
  dealSize: z
    .strictObject({ minimum: z.number().nonnegative().default(0), action: action.default('reject') })
    .prefault({}),
  required: z
    .strictObject({ fields: z.array(z.string().min(1)).default(['customerName']), action: action.default('reject') })
    .prefault({}),
  /** A close date this long after the registration is "far out" (partners park exclusivity on distant dates). */
  closeDate: z.strictObject({ farOut: duration.default('365d'), action: action.default('review') }).prefault({}),
  /** What makes an edit of a decided registration material, so the decision is taken again. */
  redecision: z
    .strictObject({
      /** Above the tier's auto-approval limit, a raise of more than this percentage over the amount decided on. */
      amountIncreasePercent: z.number().min(0).max(100_000).default(10),
    })
    .prefault({}),
  /** Auto-approval limit per partner tier (amount in the policy currency); above it, or unknown amount → review. */
  tiers: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'), z.strictObject({ autoApproveUpTo: z.number().nonnegative() })),
  review: z
    .strictObject({
      sla: duration.default('48h'),
      onTimeout: z.enum(['approve', 'reject', 'escalate']).default('escalate'),
      /** Who is told on escalation (free text: a queue, a channel, an address). */
      escalateTo: z.string().min(1).optional(),
    })
    .prefault({}),
  /** A partner disputes a decision (workflow dispute:<partner>:<id>): time to resolve it, then escalation. */
  disputes: z
    .strictObject({
      sla: duration.default('72h'),
      /** Who is told about disputes and their escalation (default: review.escalateTo). */
      escalateTo: z.string().min(1).optional(),
    })
    .prefault({}),
  /**
   * Multi-level approval: above each level's amount (policy currency) one more approval, from a member
   * of the level's group, is needed before a registration pending review is approved. The first
   * approval may come from anyone who reviews; one person's approval counts once.
   */
  approval: z
    .strictObject({
      /** Named groups of approvers (user names or e-mails, compared case-insensitively). */
      groups: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'), z.array(z.string().min(1)).min(1)).default({}),
      levels: z.array(z.strictObject({ above: z.number().nonnegative(), group: z.string().min(1), name: z.string().min(1).optional() })).default([]),
    })
    .prefault({}),
  exclusivity: z
    .strictObject({
      period: duration.default('90d'),
      /** Length of one extension (defaults to the period). */
      extension: duration.optional(),
      maxExtensions: z.number().int().nonnegative().default(1),
    })
    .prefault({}),
  stageGuard: z
    .strictObject({
      /** The vendor's stages in pipeline order. */
      vendorStages: z.array(z.string().min(1)).min(1),
      /** The furthest vendor stage a partner-side stage may push the vendor opportunity to. */
      caps: z.record(z.string().min(1), z.string().min(1)).default({}),
      /** Cap for partner stages not listed in `caps`. */
      default: z.string().min(1),
    })
    .optional(),
  attribution: z
    .strictObject({
      roles: z
        .record(
          z.enum(ATTRIBUTION_ROLES as [AttributionRole, ...AttributionRole[]]),
          z.strictObject({ defaultSplit: z.number().min(0).max(100), sourced: z.boolean().default(false) }),
        )
        .default({ sourcing: { defaultSplit: 100, sourced: true } } as any),
      /** At most one partner may hold the sourcing role on a deal. */
      singleSourcing: z.boolean().default(true),
    })
    .prefault({}),
  /** Joint-selling analytics (analytics/README.md): ROPI inputs, tier criteria, the scorecard schedule. */
  analytics: z
    .strictObject({
      /** Gross margin on attributed revenue (0..1) in ROPI = (attributed revenue × margin − cost) / cost. */
      margin: z.number().min(0).max(1).default(1),
      /** Per-partner programme cost per year in the policy currency; prorated to a report's months. */
      costs: z
        .record(partnerId, z.strictObject({ mdf: z.number().nonnegative().default(0), partnerManager: z.number().nonnegative().default(0), fees: z.number().nonnegative().default(0) }))
        .default({}),
      /** The vendor Opportunity field with the deal's ISO currency (multi-currency orgs); absent → the policy currency. */
      currencyField: z.string().min(1).default('CurrencyIsoCode'),
      /** Confidence level of every interval the report shows. */
      confidence: z.number().gt(0.5).lt(1).default(0.95),
      /** What earns each tier, highest tier first (a partner earns the first tier whose criteria all hold). */
      tiers: z
        .record(
          z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
          z.strictObject({
            /** Won revenue the partner sourced (its sourced-role share) in the policy currency, over `window`. */
            sourcedRevenue: z.number().nonnegative().optional(),
            /** Won / closed of the partner's deals (0..1). */
            winRate: z.number().min(0).max(1).optional(),
            /** Won deals the partner is on. */
            wonDeals: z.number().int().nonnegative().optional(),
            /** Share of the partner's reviewed registrations decided within the review SLA (0..1). */
            reviewCompliance: z.number().min(0).max(1).optional(),
          }),
        )
        .default({}),
      /** The period tier criteria are measured over, ending now. */
      window: duration.default('365d'),
      /** How often the scorecard workflow refreshes the facts and writes the partners' scorecards. */
      scorecard: z.strictObject({ every: duration.default('1h') }).prefault({}),
    })
    .prefault({}),
  /**
   * Rules about one partner. Who the partner is — its tier, territories, roles, CRM — is the network
   * file's (one source of truth); setting them here is an error (RULES_PARTNER_MOVED) saying where
   * they go. What stays: how strictly its territory is enforced.
   */
  partners: z
    .record(
      partnerId,
      z.strictObject({
        /** Outside this partner's territory: review (default: territories.action) or reject. */
        territoryAction: action.optional(),
      }),
    )
    .default({}),
});

export type PolicyFile = z.infer<typeof policySchema>;

/** The compiled policy: durations in ms, names/domains normalised, lookups ready. */
export interface Policy {
  file: string;
  source: PolicyFile;
  currency: string;
  exchangeRates: Readonly<Record<string, number>>;
  regions: ReadonlyMap<string, ReadonlySet<string>>;
  matching: {
    domain: boolean;
    nameThreshold: number;
    requireDomainAgreement: boolean;
    productOverlap: boolean;
    /** `firstToRegister.wait` in ms. */
    firstToRegisterWaitMs: number;
    onVendorAccount: 'ignore' | RuleAction;
    onVendorOpportunity: RuleAction;
    onRegistration: RuleAction;
  };
  namedAccounts: { action: RuleAction; domains: ReadonlySet<string>; names: readonly string[]; vendorFlag: boolean };
  territories: { action: RuleAction; unknownCountry: RuleAction };
  dealSize: { minimum: number; action: RuleAction };
  required: { fields: readonly string[]; action: RuleAction };
  closeDate: { farOut: string; farOutMs: number; action: RuleAction };
  /** `amountIncrease` as a fraction (10% → 0.1). */
  redecision: { amountIncrease: number };
  tiers: ReadonlyMap<string, { autoApproveUpTo: number }>;
  lifecycle: LifecycleSettings;
  stageGuard?: { vendorStages: readonly string[]; caps: ReadonlyMap<string, string>; default: string };
  attribution: { roles: Readonly<Partial<Record<AttributionRole, { defaultSplit: number; sourced: boolean }>>>; singleSourcing: boolean };
  /** Per-partner rules (the partner itself — tier, territories, roles — is the network file's). */
  partners: ReadonlyMap<string, { territoryAction?: RuleAction }>;
  analytics: PolicyFile['analytics'] & { windowMs: number; scorecardEveryMs: number };
}

/** The plain-data part of the policy the registration workflow needs (serialisable, workflow-safe). */
export interface LifecycleSettings {
  reviewSlaMs: number;
  onTimeout: 'approve' | 'reject' | 'escalate';
  escalateTo?: string;
  exclusivityMs: number;
  extensionMs: number;
  maxExtensions: number;
  /** Approvals needed above an amount (see `approval:`), lowest first; members lower-cased. */
  approvalLevels: ApprovalLevel[];
  disputeSlaMs: number;
  disputeEscalateTo?: string;
  /** Which notification channels get which events (ids; from the network file's `notifications:`, filled in by the activity). */
  notifyRoutes?: Partial<Record<string, string[]>>;
}

export interface ApprovalLevel {
  /** Shown in the queue ("deal-desk above 250,000 USD"). */
  name: string;
  /** Strictly above this amount (policy currency) the level applies; an unknown amount needs every level. */
  above: number;
  group: string;
  members: string[];
}


// ---------- zod-shape walking for "did you mean" on unknown keys ----------

function unwrap(schema: any): any {
  let s = schema;
  for (let i = 0; i < 10 && s?._zod?.def; i++) {
    const def = s._zod.def;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else break;
  }
  return s;
}

/** The keys an object schema allows at `path` (following records and arrays). */
function allowedKeysAt(schema: any, path: ReadonlyArray<PropertyKey>): string[] {
  let s = unwrap(schema);
  for (const seg of path) {
    const def = s?._zod?.def;
    if (!def) return [];
    if (def.type === 'object') s = unwrap(def.shape[seg as string]);
    else if (def.type === 'record') s = unwrap(def.valueType);
    else if (def.type === 'array') s = unwrap(def.element);
    else return [];
  }
  const def = s?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape) : [];
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: any = data;
  for (const seg of path) v = v == null ? undefined : v[seg as any];
  return v;
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** What the network file says about a partner, which a policy once repeated (and the demo's copies disagreed). */
export const MOVED_PARTNER_KEYS = ['tier', 'territories', 'roles', 'crm'] as const;

/** A value as one line of YAML flow style (`{ countries: [US, CA] }`), for a hint to copy. */
function flowYaml(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flowYaml).join(', ')}]`;
  if (isRecord(v)) return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${flowYaml(x)}`).join(', ')} }`;
  return String(v);
}

/** partners.<id>.<key> in the policy: where it belongs now, and the network-file line to write. */
function movedPartnerKey(src: YamlSource, data: unknown, id: string, key: string): void {
  const value = valueAt(data, ['partners', id, key]);
  const territoryAction = key === 'territories' && isRecord(value) && typeof value.action === 'string' ? value.action : undefined;
  const { action: _a, ...territories } = key === 'territories' && isRecord(value) ? value : {};
  const networkKey = key === 'crm' ? 'kind' : key;
  const shown = key === 'territories' ? territories : value;
  const line = Object.keys(isRecord(shown) ? shown : { x: 1 }).length ? `${networkKey}: ${flowYaml(shown)}` : undefined;
  src.problem(
    ['partners', id, key],
    'RULES_PARTNER_MOVED',
    `partners.${id}.${key}: a partner's ${key === 'crm' ? 'CRM' : key} ${key === 'territories' || key === 'roles' ? 'are' : 'is'} set in the network file, not in the rules policy (one source of truth)`,
    `delete it here${line ? ` and make sure the network file's partner "${id}" has ${line}` : ''}${territoryAction ? `; keep the territory rule here as partners.${id}.territoryAction: ${territoryAction}` : ''}`,
    { key: true },
  );
}

function zodProblems(src: YamlSource, data: unknown, issues: z.core.$ZodIssue[]): void {
  for (const issue of issues) {
    const where = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(policySchema, issue.path);
      for (const k of issue.keys) {
        if (issue.path.length === 2 && issue.path[0] === 'partners' && (MOVED_PARTNER_KEYS as readonly string[]).includes(k)) {
          movedPartnerKey(src, data, String(issue.path[1]), k);
          continue;
        }
        src.problem([...issue.path, k], 'RULES_UNKNOWN_KEY', `unknown key "${k}"${where ? ` in ${where}` : ''}`, suggestionHint(k, allowed), { key: true });
      }
    } else if (issue.code === 'invalid_type') {
      const got = valueAt(data, issue.path);
      if (got === undefined) {
        src.problem(issue.path, 'RULES_MISSING', `${where} is required (${issue.expected})`, `add "${String(issue.path[issue.path.length - 1])}:"`);
      } else {
        src.problem(issue.path, 'RULES_TYPE', `${where} must be ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}, not ${describeType(got)}`);
      }
    } else if (issue.code === 'invalid_value' && where === 'version') {
      // A newer (or older) policy format: say so, rather than "did you mean 1?".
      src.problem(issue.path, 'RULES_VERSION', `unsupported policy version ${JSON.stringify(valueAt(data, issue.path))}: this cosell reads policy version ${issue.values.map(String).join(', ')}`, `write version: ${String(issue.values[0])} and the rules/README.md format, or upgrade cosell`);
    } else if (issue.code === 'invalid_value') {
      const got = valueAt(data, issue.path);
      const values = issue.values.map(String);
      src.problem(issue.path, 'RULES_BAD_VALUE', `${where}: ${JSON.stringify(got)} is not allowed`, suggestionHint(String(got), values));
    } else if (issue.code === 'invalid_key') {
      const key = String(issue.path[issue.path.length - 1]);
      const allowed = allowedKeysAt(policySchema, issue.path.slice(0, -1));
      src.problem(issue.path, 'RULES_BAD_KEY', `${where}: "${key}" is not allowed here`, allowed.length ? suggestionHint(key, allowed) : undefined, { key: true });
    } else {
      src.problem(issue.path, 'RULES_BAD_VALUE', `${where}: ${issue.message}`);
    }
  }
}

// ---------- cross-reference checks ----------

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const recordAt = (v: unknown, key: string): Record<string, unknown> => (isRecord(v) && isRecord(v[key]) ? v[key] : {});
const stringsAt = (v: unknown, key: string): Array<string | undefined> =>
  isRecord(v) && Array.isArray(v[key]) ? (v[key] as unknown[]).map((x) => (typeof x === 'string' ? x : undefined)) : [];
const stringAt = (v: unknown, key: string): string | undefined => (isRecord(v) && typeof v[key] === 'string' ? v[key] : undefined);

/**
 * Cross-references (tiers, regions, stages, fields, domains). Runs on the raw data, type-guarded, so
 * these problems are reported together with any schema problems in one pass.
 */
function checkReferences(src: YamlSource, raw: Record<string, unknown>): void {
  const tiersRecord = recordAt(raw, 'tiers');
  const tiers = Object.keys(tiersRecord);
  if (isRecord(raw.tiers) && !tiers.length) src.problem(['tiers'], 'RULES_MISSING', 'tiers must define at least one partner tier', 'e.g. gold: { autoApproveUpTo: 100000 }');
  stringsAt(recordAt(raw, 'required'), 'fields').forEach((f, i) => {
    if (f === undefined || (f.startsWith('fields.') && f.length > 'fields.'.length)) return;
    if (!(REQUIRED_FIELD_NAMES as readonly string[]).includes(f)) {
      src.problem(['required', 'fields', i], 'RULES_UNKNOWN_FIELD', `"${f}" is not a registration field`, closest(f, REQUIRED_FIELD_NAMES) ? suggestionHint(f, [...REQUIRED_FIELD_NAMES]) : `use one of ${REQUIRED_FIELD_NAMES.join(', ')}, or fields.<name> for a mapped field`);
    }
  });
  stringsAt(recordAt(raw, 'namedAccounts'), 'domains').forEach((d, i) => {
    if (d !== undefined && !normalizeDomain(d)) src.problem(['namedAccounts', 'domains', i], 'RULES_BAD_DOMAIN', `"${d}" is not a company domain`, 'write a registrable domain such as bigbank.com');
  });
  const currency = stringAt(raw, 'currency') ?? 'USD';
  const rate = recordAt(raw, 'exchangeRates')[currency];
  if (rate !== undefined && rate !== 1) {
    src.problem(['exchangeRates', currency], 'RULES_BAD_VALUE', `the policy currency ${currency} must have rate 1`, `remove exchangeRates.${currency}`);
  }
  const guard = recordAt(raw, 'stageGuard');
  const stages = stringsAt(guard, 'vendorStages').filter((x): x is string => x !== undefined);
  if (stages.length) {
    const known = new Set(stages.map((x) => x.toLowerCase()));
    const def = stringAt(guard, 'default');
    if (def !== undefined && !known.has(def.toLowerCase())) {
      src.problem(['stageGuard', 'default'], 'RULES_UNKNOWN_STAGE', `"${def}" is not one of stageGuard.vendorStages`, suggestionHint(def, stages));
    }
    for (const [partnerStage, cap] of Object.entries(recordAt(guard, 'caps'))) {
      if (typeof cap === 'string' && !known.has(cap.toLowerCase())) {
        src.problem(['stageGuard', 'caps', partnerStage], 'RULES_UNKNOWN_STAGE', `cap "${cap}" for partner stage "${partnerStage}" is not one of stageGuard.vendorStages`, suggestionHint(cap, stages));
      }
    }
  }
  const approval = recordAt(raw, 'approval');
  const groups = Object.keys(recordAt(approval, 'groups'));
  if (isRecord(approval) && Array.isArray(approval.levels)) {
    (approval.levels as unknown[]).forEach((l, i) => {
      const g = stringAt(l, 'group');
      if (g !== undefined && !groups.includes(g)) src.problem(['approval', 'levels', i, 'group'], 'RULES_UNKNOWN_GROUP', `approval level ${i + 1} names group "${g}", which approval.groups does not define`, groups.length ? suggestionHint(g, groups) : 'define it under approval.groups: { name: [person@example.com] }');
    });
  }
  for (const tier of Object.keys(recordAt(recordAt(raw, 'analytics'), 'tiers'))) {
    if (isRecord(raw.tiers) && !(tier in tiersRecord)) {
      src.problem(['analytics', 'tiers', tier], 'RULES_UNKNOWN_TIER', `analytics.tiers names tier "${tier}", which is not defined in tiers`, suggestionHint(tier, tiers), { key: true });
    }
  }
  const roles = recordAt(recordAt(raw, 'attribution'), 'roles');
  if (Object.keys(roles).length > 0 && !Object.values(roles).some((r) => isRecord(r) && r.sourced === true)) {
    src.problem(['attribution', 'roles'], 'RULES_BAD_VALUE', 'no attribution role is marked sourced: true', 'mark the sourcing role with sourced: true so sourced vs influenced can be reported');
  }
}

function compile(p: PolicyFile, file: string): Policy {
  const exclusivityMs = parsePolicyDuration(p.exclusivity.period)!;
  return {
    file,
    source: p,
    currency: p.currency,
    exchangeRates: { ...p.exchangeRates, [p.currency]: 1 },
    regions: new Map(Object.entries(p.regions).map(([k, v]) => [k, new Set(v.map((c) => c.toUpperCase()))])),
    matching: {
      domain: p.matching.domain,
      nameThreshold: p.matching.name.threshold,
      requireDomainAgreement: p.matching.name.requireDomainAgreement,
      productOverlap: p.matching.productOverlap,
      firstToRegisterWaitMs: parsePolicyDuration(p.matching.firstToRegister.wait)!,
      onVendorAccount: p.matching.against.vendorAccounts,
      onVendorOpportunity: p.matching.against.vendorOpportunities,
      onRegistration: p.matching.against.registrations,
    },
    namedAccounts: {
      action: p.namedAccounts.action,
      domains: new Set(p.namedAccounts.domains.map((d) => normalizeDomain(d)).filter((d): d is string => !!d)),
      names: [...new Set(p.namedAccounts.names.map(normalizeCompanyName).filter(Boolean))].sort(),
      vendorFlag: p.namedAccounts.vendorFlag,
    },
    territories: p.territories,
    dealSize: p.dealSize,
    required: p.required,
    closeDate: { farOut: p.closeDate.farOut, farOutMs: parsePolicyDuration(p.closeDate.farOut)!, action: p.closeDate.action },
    redecision: { amountIncrease: p.redecision.amountIncreasePercent / 100 },
    tiers: new Map(Object.entries(p.tiers)),
    lifecycle: {
      reviewSlaMs: parsePolicyDuration(p.review.sla)!,
      onTimeout: p.review.onTimeout,
      escalateTo: p.review.escalateTo,
      exclusivityMs,
      extensionMs: p.exclusivity.extension ? parsePolicyDuration(p.exclusivity.extension)! : exclusivityMs,
      maxExtensions: p.exclusivity.maxExtensions,
      approvalLevels: p.approval.levels
        .map((l) => ({ name: l.name ?? `${l.group} above ${l.above} ${p.currency}`, above: l.above, group: l.group, members: (p.approval.groups[l.group] ?? []).map((m) => m.trim().toLowerCase()) }))
        .sort((a, b) => a.above - b.above),
      disputeSlaMs: parsePolicyDuration(p.disputes.sla)!,
      disputeEscalateTo: p.disputes.escalateTo ?? p.review.escalateTo,
    },
    stageGuard: p.stageGuard && {
      vendorStages: p.stageGuard.vendorStages,
      caps: new Map(Object.entries(p.stageGuard.caps).map(([k, v]) => [k.toLowerCase(), v])),
      default: p.stageGuard.default,
    },
    attribution: p.attribution,
    analytics: { ...p.analytics, windowMs: parsePolicyDuration(p.analytics.window)!, scorecardEveryMs: parsePolicyDuration(p.analytics.scorecard.every)! },
    partners: new Map(Object.entries(p.partners).map(([id, v]) => [id, { territoryAction: v.territoryAction }])),
  };
}

/** Parse and check a policy; returns the compiled policy only when there are no problems. */
export function parsePolicy(text: string, file: string): { policy?: Policy; problems: Problem[] } {
  const src = new YamlSource(text, file);
  if (src.problems.length) return { problems: src.problems };
  const data = src.toJS();
  if (src.problems.length) return { problems: src.problems };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    src.problem([], 'RULES_TYPE', 'a policy file must be a YAML mapping', 'start with "version: 1"');
    return { problems: src.problems };
  }
  const parsed = policySchema.safeParse(data);
  if (!parsed.success) zodProblems(src, data, parsed.error.issues);
  checkReferences(src, data as Record<string, unknown>);
  if (!parsed.success || src.problems.length) return { problems: sortProblems(src.problems) };
  return { policy: compile(parsed.data, file), problems: [] };
}

/** Parse a policy or throw COSELL_RULES_INVALID listing every problem (one per line). */
export function policyFromText(text: string, file: string): Policy {
  const { policy, problems } = parsePolicy(text, file);
  if (!policy) {
    throw new CosellError('COSELL_RULES_INVALID', problems.map(formatProblem).join('\n'), { details: { problems }, hint: 'see rules/README.md for the policy reference' });
  }
  return policy;
}

export function loadPolicy(file: string): Policy {
  return policyFromText(configTextOrThrow(file, 'policy file', { error: 'COSELL_RULES_INVALID', problem: 'CONFIG_RULES_MISSING' }, 'set rules: in cosell.yaml to the policy path (relative to it)'), file);
}

/**
 * The partner as the engine sees it: the network file's partner (tier, territories, roles — their one
 * source) and the policy's rules about it (`partners.<id>.territoryAction`). Throws COSELL_RULES_INVALID
 * for a missing tier or one the policy does not define.
 */
export function partnerProfile(policy: Policy, id: string, fromNetwork?: Partial<PartnerProfile>): PartnerProfile & { territoryAction?: RuleAction } {
  const rules = policy.partners.get(id);
  const tier = fromNetwork?.tier;
  if (!tier) throw new CosellError('COSELL_RULES_INVALID', `partner "${id}" has no tier`, { hint: `set tier: on partner ${id} in the network file (cosell.yaml)` });
  if (!policy.tiers.has(tier)) {
    throw new CosellError('COSELL_RULES_INVALID', `partner "${id}" has tier "${tier}", which ${policy.file} does not define`, { hint: suggestionHint(tier, [...policy.tiers.keys()]) });
  }
  return {
    id,
    tier,
    territories: fromNetwork?.territories && { countries: fromNetwork.territories.countries?.map((c) => c.toUpperCase()), regions: fromNetwork.territories.regions, segments: fromNetwork.territories.segments },
    roles: fromNetwork?.roles,
    territoryAction: rules?.territoryAction,
  };
}

/** Problems (unknown tiers/regions) in the network file's partners against this policy, for `cosell check`. */
export function checkPartners(policy: Policy, partners: ReadonlyArray<Partial<PartnerProfile> & { id: string }>): string[] {
  const out: string[] = [];
  for (const p of partners) {
    const tier = p.tier;
    if (!tier) out.push(`partner "${p.id}": no tier (set it in the network file)`);
    else if (!policy.tiers.has(tier)) out.push(`partner "${p.id}": tier "${tier}" is not defined in ${policy.file} (${suggestionHint(tier, [...policy.tiers.keys()])})`);
    for (const r of p.territories?.regions ?? []) {
      if (!policy.regions.has(r)) out.push(`partner "${p.id}": region "${r}" is not defined in ${policy.file} (${suggestionHint(r, [...policy.regions.keys()])})`);
    }
  }
  return out;
}
