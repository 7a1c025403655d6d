import { normalizeCompanyName, normalizeDomain, normalizedNameSimilarity } from '../lib/normalize.js';
import { recordDomains, type AccountIndex, type CustomerQuery, type FindOptions } from './accountIndex.js';
import type { Policy } from './policy.js';
import type { ActiveRegistration, Check, Decision, Match, PartnerProfile, RegistrationInput, RuleAction, RuleId } from './types.js';

/**
 * The Rules of Engagement decision: pure and deterministic. Every rule is evaluated (so the audit
 * shows all of them), in a fixed precedence order; the outcome is the first failing rule asking for
 * `reject`, else the first asking for `review`, else auto-approval within the partner tier's limit.
 * It reads only its arguments — no clock, no I/O — so the same input, index content and policy always
 * give the same decision, whatever order the index was filled in.
 */

/** Precedence of the rules (also the order of `checks`). */
export const RULE_ORDER: readonly RuleId[] = [
  'required-fields',
  'currency',
  'min-deal-size',
  'named-account',
  'vendor-opportunity',
  'first-to-register',
  'territory',
  'vendor-account',
  'close-date',
  'tier-auto-approval',
];

export const MAX_MATCHES = 20;

const COUNTRY_ALIASES: Record<string, string> = { UK: 'GB', USA: 'US', UAE: 'AE' };

export function normalizeCountry(country: string | null | undefined): string | null {
  if (typeof country !== 'string') return null;
  const c = country.trim().toUpperCase();
  if (!c) return null;
  return COUNTRY_ALIASES[c] ?? c;
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0) || (typeof v === 'number' && !Number.isFinite(v));
}

/** Fields from `required.fields` that the input lacks. */
function missingFields(input: RegistrationInput, fields: readonly string[], domains: readonly string[]): string[] {
  return fields.filter((f) => {
    if (f === 'domain') return domains.length === 0;
    if (f.startsWith('fields.')) return isBlank(input.fields?.[f.slice('fields.'.length)]);
    return isBlank((input as unknown as Record<string, unknown>)[f]);
  });
}

function timeKey(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Strict "registered before" order: registration time, then id. */
export function registeredBefore(a: { at: string; id: string }, b: { at: string; id: string }): boolean {
  const ta = timeKey(a.at);
  const tb = timeKey(b.at);
  if (ta !== tb) return ta < tb;
  return a.id < b.id;
}

function productsOverlap(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  // Unknown products on either side: assume overlap (the conservative answer for channel conflict).
  if (!a?.length || !b?.length) return true;
  const set = new Set(a.map((p) => p.trim().toLowerCase()));
  return b.some((p) => set.has(p.trim().toLowerCase()));
}

/** "100,000 USD" (fixed en-US style without Intl: cheap, and identical on every machine). */
export function money(amount: number, currency: string): string {
  const rounded = Math.round(amount * 100) / 100;
  const [int, frac] = Math.abs(rounded).toString().split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${rounded < 0 ? '-' : ''}${grouped}${frac ? `.${frac}` : ''} ${currency}`;
}

const KIND_ORDER: Record<Match['kind'], number> = { 'vendor-opportunity': 0, registration: 1, 'vendor-account': 2 };

function sortMatches(matches: Match[]): Match[] {
  return matches.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function decide(input: RegistrationInput, index: AccountIndex, policy: Policy, partner: PartnerProfile & { territoryAction?: RuleAction }): Decision {
  const checks: Check[] = [];
  const pass = (ruleId: RuleId, detail: string) => checks.push({ ruleId, passed: true, detail });
  const fail = (ruleId: RuleId, action: RuleAction, detail: string) => checks.push({ ruleId, passed: false, detail, action });

  const domains = recordDomains(input.website, input.contactEmail);
  const name = normalizeCompanyName(input.customerName);
  const currency = (input.currency?.trim() || policy.currency).toUpperCase();
  const rate = policy.exchangeRates[currency];
  const rawAmount = typeof input.amount === 'number' && Number.isFinite(input.amount) ? input.amount : null;
  const amount = rawAmount === null || rate === undefined ? null : Math.round(rawAmount * rate * 100) / 100;
  const query: CustomerQuery = { domains: policy.matching.domain ? domains : [], name };
  const findOpts: FindOptions = {
    nameThreshold: policy.matching.nameThreshold,
    requireDomainAgreement: policy.matching.requireDomainAgreement,
    useDomains: policy.matching.domain,
  };
  const matches: Match[] = [];

  // 1. Required fields.
  const missing = missingFields(input, policy.required.fields, domains);
  if (missing.length) fail('required-fields', policy.required.action, `missing required field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  else pass('required-fields', policy.required.fields.length ? `present: ${policy.required.fields.join(', ')}` : 'no required fields');

  // 2. Currency: amounts are compared in the policy currency.
  if (rawAmount !== null && rate === undefined) fail('currency', 'review', `no exchange rate from ${currency} to ${policy.currency}; amounts cannot be compared`);
  else pass('currency', rawAmount === null ? 'no amount' : currency === policy.currency ? `amount in ${currency}` : `${money(rawAmount, currency)} = ${money(amount!, policy.currency)}`);

  // 3. Minimum deal size.
  if (amount === null) pass('min-deal-size', 'no comparable amount; not checked');
  else if (amount < policy.dealSize.minimum) fail('min-deal-size', policy.dealSize.action, `amount ${money(amount, policy.currency)} is below the minimum deal size of ${money(policy.dealSize.minimum, policy.currency)}`);
  else pass('min-deal-size', `amount ${money(amount, policy.currency)} ≥ minimum ${money(policy.dealSize.minimum, policy.currency)}`);

  // Same end customer, in the vendor's accounts.
  const accountHits = index.findAccounts(query, findOpts);
  for (const h of accountHits) {
    matches.push({ kind: 'vendor-account', id: h.record.id, name: h.record.name, domain: h.domains[0] ?? null, score: h.score, matchedOn: h.matchedOn, accountId: h.record.id });
  }

  // 4. Named / strategic accounts.
  const namedReasons: string[] = [];
  for (const d of domains) if (policy.namedAccounts.domains.has(d)) namedReasons.push(`domain ${d} is on the named-account list`);
  if (name) {
    for (const n of policy.namedAccounts.names) {
      const s = normalizedNameSimilarity(name, n);
      if (s >= policy.matching.nameThreshold) namedReasons.push(`name matches named account "${n}" (${s.toFixed(2)})`);
    }
  }
  if (policy.namedAccounts.vendorFlag) {
    for (const h of accountHits) if (h.record.named) namedReasons.push(`vendor account ${h.record.id} "${h.record.name}" is a named account${h.record.owner ? ` owned by ${h.record.owner}` : ''}`);
  }
  if (namedReasons.length) fail('named-account', policy.namedAccounts.action, `reserved for the direct team: ${namedReasons.join('; ')}`);
  else pass('named-account', 'not a named account');

  // 5. The vendor already has an open opportunity at this customer.
  const oppReasons: string[] = [];
  const skippedForProducts: string[] = [];
  for (const h of accountHits) {
    const opps = h.record.openOpportunities?.length ? h.record.openOpportunities : h.record.hasOpenOpportunity ? [{ id: h.record.id, name: undefined, products: undefined }] : [];
    for (const o of opps) {
      if (policy.matching.productOverlap && !productsOverlap(input.products, o.products)) {
        skippedForProducts.push(o.id);
        continue;
      }
      matches.push({ kind: 'vendor-opportunity', id: o.id, name: o.name ?? h.record.name, domain: h.domains[0] ?? null, score: h.score, matchedOn: h.matchedOn, accountId: h.record.id });
      oppReasons.push(o.id === h.record.id ? `account ${h.record.id} "${h.record.name}" has an open opportunity` : `open opportunity ${o.id}${o.name ? ` "${o.name}"` : ''} at account ${h.record.id} "${h.record.name}"`);
    }
  }
  if (oppReasons.length) fail('vendor-opportunity', policy.matching.onVendorOpportunity, `duplicate of a vendor opportunity: ${oppReasons.sort().join('; ')}`);
  else pass('vendor-opportunity', skippedForProducts.length ? `open opportunities without product overlap: ${skippedForProducts.sort().join(', ')}` : 'no open vendor opportunity for this customer');

  // 6. First to register wins (other partners' active registrations registered earlier).
  const me = { at: input.submittedAt, id: input.id };
  const earlier: Array<{ reg: ActiveRegistration; score: number; matchedOn: 'domain' | 'name'; domain: string | null }> = [];
  for (const h of index.findRegistrations(query, findOpts)) {
    const r = h.record;
    if (r.id === input.id || r.partnerId === input.partnerId) continue;
    if (!registeredBefore({ at: r.registeredAt, id: r.id }, me)) continue;
    if (policy.matching.productOverlap && !productsOverlap(input.products, r.products)) continue;
    earlier.push({ reg: r, score: h.score, matchedOn: h.matchedOn, domain: h.domains[0] ?? null });
  }
  earlier.sort((a, b) => (registeredBefore({ at: a.reg.registeredAt, id: a.reg.id }, { at: b.reg.registeredAt, id: b.reg.id }) ? -1 : 1));
  for (const e of earlier) {
    matches.push({ kind: 'registration', id: e.reg.id, name: e.reg.customerName, domain: e.domain, score: e.score, matchedOn: e.matchedOn, partnerId: e.reg.partnerId, registeredAt: e.reg.registeredAt });
  }
  const first = earlier[0];
  if (first) {
    fail('first-to-register', policy.matching.onRegistration, `"${first.reg.customerName}" was registered first by ${first.reg.partnerId} at ${first.reg.registeredAt} (registration ${first.reg.id}, ${first.reg.status}; matched on ${first.matchedOn})`);
  } else pass('first-to-register', 'no earlier registration by another partner');

  // 7. Territory.
  const t = partner.territories;
  const allowedCountries = new Set<string>((t?.countries ?? []).map((c) => c.toUpperCase()));
  for (const r of t?.regions ?? []) for (const c of policy.regions.get(r) ?? []) allowedCountries.add(c);
  const segments = (t?.segments ?? []).map((s) => s.toLowerCase());
  const country = normalizeCountry(input.country);
  const segment = input.segment?.trim().toLowerCase() || null;
  const territoryAction = partner.territoryAction ?? policy.territories.action;
  const territoryProblems: Array<{ action: RuleAction; text: string }> = [];
  if (allowedCountries.size) {
    if (!country) territoryProblems.push({ action: policy.territories.unknownCountry, text: `no customer country; ${partner.id} may register in ${[...allowedCountries].sort().join(', ')}` });
    else if (!allowedCountries.has(country)) territoryProblems.push({ action: territoryAction, text: `${country} is outside ${partner.id}'s territory (${[...allowedCountries].sort().join(', ')})` });
  }
  if (segments.length) {
    if (!segment) territoryProblems.push({ action: policy.territories.unknownCountry, text: `no customer segment; ${partner.id} covers ${segments.join(', ')}` });
    else if (!segments.includes(segment)) territoryProblems.push({ action: territoryAction, text: `segment ${segment} is outside ${partner.id}'s segments (${segments.join(', ')})` });
  }
  if (territoryProblems.length) {
    const action = territoryProblems.some((p) => p.action === 'reject') ? 'reject' : 'review';
    fail('territory', action, territoryProblems.map((p) => p.text).join('; '));
  } else pass('territory', allowedCountries.size || segments.length ? `within ${partner.id}'s territory` : `${partner.id} has no territory restriction`);

  // 8. Existing vendor customer (no open opportunity): ignore, review or reject per policy.
  const accountAction = policy.matching.onVendorAccount;
  if (accountHits.length && accountAction !== 'ignore') {
    fail('vendor-account', accountAction, `existing vendor account${accountHits.length > 1 ? 's' : ''}: ${accountHits.map((h) => `${h.record.id} "${h.record.name}"${h.record.owner ? ` (owner ${h.record.owner})` : ''}`).join('; ')}`);
  } else pass('vendor-account', accountHits.length ? `existing vendor account ${accountHits.map((h) => h.record.id).join(', ')} (allowed by policy)` : 'not an existing vendor account');

  // 9. A close date far out: partners park exclusivity on distant dates, so a person looks at it.
  const far = closeDateFarOut(input.closeDate, input.submittedAt, policy);
  if (far) fail('close-date', policy.closeDate.action, `close date ${input.closeDate} is more than ${policy.closeDate.farOut} after the registration (${input.submittedAt.slice(0, 10)})`);
  else pass('close-date', input.closeDate ? `close date ${input.closeDate} is within ${policy.closeDate.farOut} of the registration` : 'no close date');

  // 10. Tier-based auto-approval.
  const tier = policy.tiers.get(partner.tier);
  if (!tier) fail('tier-auto-approval', 'review', `tier "${partner.tier}" of ${partner.id} has no auto-approval limit`);
  else if (amount === null) fail('tier-auto-approval', 'review', 'no comparable amount; a person must review it');
  else if (amount > tier.autoApproveUpTo) fail('tier-auto-approval', 'review', `amount ${money(amount, policy.currency)} is above the ${partner.tier} auto-approval limit of ${money(tier.autoApproveUpTo, policy.currency)}`);
  else pass('tier-auto-approval', `amount ${money(amount, policy.currency)} is within the ${partner.tier} auto-approval limit of ${money(tier.autoApproveUpTo, policy.currency)}`);

  const rejected = checks.find((c) => !c.passed && c.action === 'reject');
  const review = checks.find((c) => !c.passed && c.action === 'review');
  const deciding = rejected ?? review;
  const customer = { domains, name, amount, currency: policy.currency };
  const sorted = sortMatches(matches).slice(0, MAX_MATCHES);
  if (deciding) {
    return { outcome: rejected ? 'rejected' : 'review', ruleId: deciding.ruleId, reason: deciding.detail, matches: sorted, checks, customer };
  }
  const approval = checks[checks.length - 1]!;
  return { outcome: 'approved', ruleId: 'tier-auto-approval', reason: `auto-approved: ${approval.detail}`, matches: sorted, checks, customer };
}

/** True when `closeDate` lies more than the policy's `closeDate.farOut` after `submittedAt` (unparseable dates are not far out). */
export function closeDateFarOut(closeDate: string | null | undefined, submittedAt: string, policy: Pick<Policy, 'closeDate'>): boolean {
  if (!closeDate) return false;
  const close = Date.parse(closeDate);
  const from = Date.parse(submittedAt);
  return Number.isFinite(close) && Number.isFinite(from) && close - from > policy.closeDate.farOutMs;
}

/** The domain a registration would be matched on (for display; the engine uses every domain). */
export function registrationDomain(input: Pick<RegistrationInput, 'website' | 'contactEmail'>): string | null {
  return normalizeDomain(input.website) ?? normalizeDomain(input.contactEmail);
}
