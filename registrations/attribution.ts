import type { Fields } from '../connectors/types.js';
import type { Registration } from '../ledger/index.js';
import { defaultSplits, summarizeAttribution, type AttributionRole, type PartnerAttribution, type Policy, type RegistrationStatus } from '../rules/index.js';
import { detailsOf } from './details.js';
import { ROLE_LABEL, VENDOR_STATUS_LABEL } from './vendorFields.js';

/** Who is credited with a registration (roles and splits), and how that reads on the vendor Opportunity. */

/** The role a partner takes on its own registration: sourcing when allowed, else its first role. */
export function ownRole(networkRoles?: readonly string[]): AttributionRole {
  const roles = (networkRoles ?? []) as AttributionRole[];
  return roles.includes('sourcing') ? 'sourcing' : (roles[0] ?? 'sourcing');
}

export function attributionOf(reg: Registration, policy: Policy, networkRoles?: readonly string[]): PartnerAttribution[] {
  const d = detailsOf(reg);
  if (d.attribution?.length) return d.attribution;
  return defaultSplits([{ partnerId: reg.partner, role: ownRole(networkRoles) }], policy);
}

/** The vendor fields that show a registration natively on the opportunity. */
export function attributionFields(reg: Registration, partnerName: string, policy: Policy, networkRoles?: readonly string[]): Fields {
  const parts = attributionOf(reg, policy, networkRoles);
  const own = parts.find((p) => p.partnerId === reg.partner) ?? parts[0]!;
  const summary = summarizeAttribution(parts, policy);
  return {
    Registered_Partner__c: partnerName,
    Registered_Partner_Id__c: reg.partner,
    Registration_Status__c: VENDOR_STATUS_LABEL[reg.status as RegistrationStatus] ?? 'Submitted',
    Registration_Expiry__c: reg.expiresAt ? reg.expiresAt.slice(0, 10) : null,
    Partner_Role__c: ROLE_LABEL[own.role],
    Partner_Attribution__c: parts.map((p) => `${p.partnerId}:${p.role}:${p.split}`).join(';').slice(0, 255),
    Partner_Attribution_Type__c: summary.type,
  };
}
