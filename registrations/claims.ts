import type { Registration } from '../ledger/index.js';
import type { Decision } from '../rules/index.js';
import { detailsOf, type RegistrationDetails } from './details.js';

/**
 * First to register, as the ledger's claims settle it: the decision a lost claim becomes (a duplicate
 * of the holder), and the row a pending holder becomes when an earlier-created registration of its
 * customer takes over.
 */

/** The registration a lost claim was a duplicate of, as the decision (the rules' own first-to-register wording). */
export function duplicateOf<D extends Pick<Decision, 'outcome' | 'ruleId' | 'reason' | 'matches'>>(d: D, holder: Registration, key: string): D {
  const reason = `"${holder.customerName ?? key}" was registered first by ${holder.partner} at ${holder.submittedAt} (registration ${holder.id}, ${holder.status}; matched on ${key.startsWith('domain:') ? 'domain' : 'name'})`;
  const match = { kind: 'registration' as const, id: holder.id, name: holder.customerName ?? '', domain: holder.customerDomain, score: 1, matchedOn: key.startsWith('domain:') ? ('domain' as const) : ('name' as const), partnerId: holder.partner, registeredAt: holder.submittedAt };
  return { ...d, outcome: 'rejected', ruleId: 'first-to-register', reason, matches: [match, ...d.matches.filter((m) => m.id !== holder.id)] };
}

/** How a pending holder is stored when an earlier-created registration of its customer takes over. */
export function supersededPatch(holder: Registration, winnerId: string, winnerRegisteredAt: string, now: string) {
  const reason = `registration ${winnerId} of the same customer was created earlier (${winnerRegisteredAt}, this one ${holder.submittedAt}); first to register wins while no decision is made`;
  const d = detailsOf(holder);
  const details: RegistrationDetails = { ...d, decision: { outcome: 'rejected', ruleId: 'first-to-register', reason, matches: d.decision?.matches ?? [] }, supersededBy: winnerId };
  return { status: 'rejected', reason, decidedBy: 'rules', decidedAt: now, expiresAt: null, details: details as unknown as Record<string, unknown> };
}
