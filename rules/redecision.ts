import { normalizeCompanyName } from '../lib/normalize.js';
import { recordDomains } from './accountIndex.js';
import { closeDateFarOut, normalizeCountry } from './decide.js';
import type { Policy } from './policy.js';
import type { RegistrationInput } from './types.js';

/**
 * Rules of Engagement on every change, not decided once (the transition itself is `redecide` in
 * rules/lifecycle.ts, which the registration workflow runs): what a registration's decision was made on
 * (its *decision facts*), and which later edits of the partner's deal are material enough to take the
 * decision again. Pure and workflow-safe (no clock, no I/O, no Node built-ins).
 *
 * The facts are reduced to exactly what can change `decide()`'s outcome with the index unchanged:
 * the amount only by its class against the policy (missing, not convertible, below the minimum, within
 * or above the tier's auto-approval limit) — plus, above the limit, a raise of more than
 * `redecision.amountIncreasePercent` over the amount decided on (a person approved that amount, not
 * 250 times it); the customer by its domains, normalised name and country (any of them moves the deal
 * to another customer); the vendor account it resolved to; the close date by presence and by being
 * far out (`closeDate.farOut`), plus any move later while far out. Every other edit leaves the
 * outcome as it was (with the index unchanged), so it is not re-decided.
 */

/** What a decision was made on; stored in the registration's details (`decidedOn`). */
export interface DecisionFacts {
  /** Amount in the policy currency (null: none, or no exchange rate). */
  amount: number | null;
  /** The amount as given was present (distinguishes "missing" from "not convertible"). */
  amountGiven: boolean;
  /** Normalised registrable domains of the customer, sorted. */
  domains: string[];
  /** Normalised company name. */
  name: string;
  country: string | null;
  /** The vendor Account the customer resolved to (null: none matched). */
  accountId: string | null;
  closeDate: string | null;
}

export type MaterialChange = 'amount' | 'customer' | 'account' | 'close-date';

/** The amount in the policy currency, as decide() converts it (null: none, or no rate). */
export function amountInPolicyCurrency(input: Pick<RegistrationInput, 'amount' | 'currency'>, policy: Pick<Policy, 'currency' | 'exchangeRates'>): number | null {
  const currency = (input.currency?.trim() || policy.currency).toUpperCase();
  const rate = policy.exchangeRates[currency];
  const raw = typeof input.amount === 'number' && Number.isFinite(input.amount) ? input.amount : null;
  return raw === null || rate === undefined ? null : Math.round(raw * rate * 100) / 100;
}

export function decisionFacts(input: RegistrationInput, accountId: string | null, policy: Pick<Policy, 'currency' | 'exchangeRates'>): DecisionFacts {
  return {
    amount: amountInPolicyCurrency(input, policy),
    amountGiven: typeof input.amount === 'number' && Number.isFinite(input.amount),
    domains: recordDomains(input.website, input.contactEmail),
    name: normalizeCompanyName(input.customerName),
    country: normalizeCountry(input.country),
    accountId,
    closeDate: input.closeDate?.trim() || null,
  };
}

function amountClass(f: DecisionFacts, policy: Pick<Policy, 'dealSize'>, limit: number | undefined): string {
  if (f.amount === null) return f.amountGiven ? 'not-convertible' : 'missing';
  const below = f.amount < policy.dealSize.minimum;
  const above = limit === undefined || f.amount > limit;
  return `${below ? 'below-minimum' : 'at-least-minimum'}/${above ? 'above-limit' : 'within-limit'}`;
}

export interface MaterialityContext {
  policy: Pick<Policy, 'dealSize' | 'closeDate' | 'redecision'>;
  /** The partner tier's auto-approval limit (undefined: the tier has none → always above). */
  autoApproveUpTo: number | undefined;
  /** The registration's submission time (the close-date horizon counts from it). */
  submittedAt: string;
}

/** The material differences between what a decision was made on and the deal now (empty: none). */
export function materialChanges(before: DecisionFacts, after: DecisionFacts, ctx: MaterialityContext): MaterialChange[] {
  const out: MaterialChange[] = [];
  const { policy, autoApproveUpTo: limit } = ctx;
  const cb = amountClass(before, policy, limit);
  const ca = amountClass(after, policy, limit);
  const raisedAboveLimit = ca.endsWith('above-limit') && before.amount !== null && after.amount !== null && after.amount > before.amount * (1 + policy.redecision.amountIncrease);
  if (cb !== ca || raisedAboveLimit) out.push('amount');
  if (before.name !== after.name || before.country !== after.country || before.domains.join(' ') !== after.domains.join(' ')) out.push('customer');
  // A vendor account appearing for the same customer (cosell creates one for an approved deal that
  // matched none) is not a move; a different account is.
  if (before.accountId !== null && after.accountId !== null && before.accountId !== after.accountId) out.push('account');
  const farB = closeDateFarOut(before.closeDate, ctx.submittedAt, policy);
  const farA = closeDateFarOut(after.closeDate, ctx.submittedAt, policy);
  const later = farA && before.closeDate !== null && after.closeDate !== null && Date.parse(after.closeDate) > Date.parse(before.closeDate);
  if ((before.closeDate === null) !== (after.closeDate === null) || farB !== farA || later) out.push('close-date');
  return out;
}
