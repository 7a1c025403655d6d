import type { Fields } from '../connectors/types.js';
import type { RegistrationInput } from '../rules/index.js';
import type { Customer } from './customers.js';
import { num, str } from './fieldValues.js';

/** The registration input of a partner deal (the gate's view: the customer as resolved, mapped fields). */
export function registrationInput(id: string, partnerId: string, r: { source: Fields; mapped: Fields }, c: Customer | undefined, submittedAt: string): RegistrationInput {
  return {
    id,
    partnerId,
    customerName: c?.name ?? str(r.mapped.Name) ?? '',
    website: c?.domain ?? str(r.mapped.Customer_Domain__c),
    country: c?.country ?? null,
    amount: num(r.mapped.Amount) ?? num(r.mapped.Partner_Amount__c),
    closeDate: str(r.mapped.CloseDate),
    stage: str(r.source.dealstage) ?? str(r.source.StageName),
    submittedAt,
    fields: r.mapped,
  };
}
