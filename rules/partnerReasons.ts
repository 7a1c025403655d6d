import type { RegistrationStatus } from './lifecycle.js';
import { PARTNER_EXTENSION_TEXT, PARTNER_SAFE_INFO_RECEIVED, PARTNER_SAFE_REDECISION_REASON } from './lifecycle.js';
import { fieldLabel } from './infoRequest.js';
import type { DisputeStatus } from './dispute.js';
import type { RuleId } from './types.js';

/**
 * What a partner reads on its own deal about its registration. The full reason stays internal (ledger,
 * audit, console): it can name another partner, its registration, the customer as that partner typed
 * it, a named account, vendor opportunities or owners. What is written back is one of these fixed
 * sentences, chosen by status and — for the rules' rejections — by the kind of rule, never by text.
 */
const REJECTED_BY_RULE: Record<RuleId, string> = {
  'required-fields': 'Some information the registration needs is missing from the deal.',
  'min-deal-size': 'The deal is below the minimum size for registration.',
  territory: 'The customer is outside the territory of your partnership.',
  currency: 'The deal currency is not accepted for registration.',
  'close-date': 'The close date is too far out for registration.',
  // Who or what already covers the customer is the vendor's business, not the partner's.
  'named-account': 'The customer is already covered; the registration cannot be accepted.',
  'vendor-opportunity': 'The customer is already covered; the registration cannot be accepted.',
  'vendor-account': 'The customer is already covered; the registration cannot be accepted.',
  'first-to-register': 'The customer is already covered; the registration cannot be accepted.',
  'tier-auto-approval': 'The vendor did not accept the registration.',
};

const BY_STATUS: Record<RegistrationStatus, string> = {
  submitted: 'The registration was received.',
  checked: 'The registration was received.',
  'pending-review': 'The registration is being reviewed by the vendor.',
  'auto-approved': 'The registration is approved.',
  approved: 'The registration is approved.',
  rejected: 'The vendor did not accept the registration.',
  expired: 'The registration period has ended.',
  won: 'The vendor closed the opportunity as won.',
  lost: 'The vendor closed the opportunity as lost.',
};

/** What the partner reads about its request to extend exclusivity (never the vendor's own words). */
export const EXTENSION_TEXT = PARTNER_EXTENSION_TEXT;

const FIXED = new Set<string>([...Object.values(REJECTED_BY_RULE), ...Object.values(BY_STATUS), ...Object.values(PARTNER_SAFE_REDECISION_REASON), PARTNER_SAFE_INFO_RECEIVED, ...Object.values(EXTENSION_TEXT)]);

/** What the partner reads about its dispute (never who holds the customer, nor the vendor's reasoning). */
export const DISPUTE_TEXT: Record<DisputeStatus, string> = {
  open: 'Dispute received; the vendor is reviewing it.',
  escalated: 'Dispute received; the vendor is reviewing it.',
  upheld: 'Dispute reviewed: the decision stands.',
  overturned: 'Dispute reviewed: the decision was overturned; the registration is approved.',
  split: 'Dispute reviewed: credit for the deal is shared.',
};

/** The fixed opening of an "Action Required" reason; the rest lists the requested fields by label. */
export const ACTION_REQUIRED_PREFIX = 'Action required: please complete on the deal: ';

/** What the partner reads when a reviewer asked it for fields (the reviewer's note stays internal). */
export function actionRequiredReason(fields: readonly string[]): string {
  return `${ACTION_REQUIRED_PREFIX}${fields.map(fieldLabel).join(', ')}.`;
}

/**
 * True when `text` names a partner other than `self` — its id or its name, as a whole word, any case.
 * The last check before anything reaches a partner (write-back) or a notification: the wording is
 * built to be safe, and this makes sure no free text a person typed carries another partner through.
 */
export function namesOtherPartner(text: string, self: string | undefined, partners: ReadonlyArray<{ id: string; name?: string }>): string | undefined {
  const hay = ` ${text.toLowerCase().normalize('NFKC')} `;
  for (const p of partners) {
    if (p.id === self) continue;
    for (const n of [p.id, p.name]) {
      const needle = n?.trim().toLowerCase().normalize('NFKC');
      if (!needle) continue;
      let i = hay.indexOf(needle);
      while (i >= 0) {
        const before = hay[i - 1] ?? ' ';
        const after = hay[i + needle.length] ?? ' ';
        if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) return n;
        i = hay.indexOf(needle, i + 1);
      }
    }
  }
  return undefined;
}

/** True for a sentence of this catalogue (safe to write to a partner as it is). */
export function isPartnerSafeReason(reason: string | undefined | null): boolean {
  return !!reason && FIXED.has(reason);
}

/**
 * The partner-safe reason for a status. A rejection the rules made says which kind of rule; a person's
 * rejection (free text, possibly naming anyone) is reduced to the neutral sentence.
 */
export function partnerSafeReason(status: RegistrationStatus, opts: { ruleId?: RuleId; decidedBy?: string | null; reason?: string | null } = {}): string {
  if (isPartnerSafeReason(opts.reason)) return opts.reason!;
  if (status === 'rejected' && opts.ruleId && (opts.decidedBy ?? 'rules') === 'rules') return REJECTED_BY_RULE[opts.ruleId];
  return BY_STATUS[status];
}
