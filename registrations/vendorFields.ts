import type { FieldSpec } from '../connectors/types.js';
import type { AttributionRole, RegistrationStatus } from '../rules/index.js';

/**
 * The vendor CRM's side of a registration: the fields cosell writes onto the vendor Opportunity
 * (created on the vendor if missing), the ones a vendor-side edit may not change, and the Account
 * fields the gate and the rules index read or key on — with the labels their values take there.
 */

/** Vendor (Salesforce) Opportunity fields carrying the registration; created on the vendor if missing. */
export const ATTRIBUTION_FIELDS: FieldSpec[] = [
  { name: 'Registered_Partner__c', label: 'Registered Partner', type: 'string', length: 255 },
  { name: 'Registered_Partner_Id__c', label: 'Registered Partner Id', type: 'string', length: 255 },
  { name: 'Registration_Status__c', label: 'Registration Status', type: 'picklist', picklistValues: ['Submitted', 'Pending Review', 'Approved', 'Rejected', 'Expired', 'Won', 'Lost'] },
  { name: 'Registration_Expiry__c', label: 'Registration Expiry', type: 'date' },
  { name: 'Partner_Role__c', label: 'Partner Role', type: 'picklist', picklistValues: ['Sourcing', 'Services', 'Influence', 'Reseller'] },
  { name: 'Partner_Attribution__c', label: 'Partner Attribution', type: 'string', length: 255 },
  { name: 'Partner_Attribution_Type__c', label: 'Partner Attribution Type', type: 'string', length: 40 },
];
/** The fields a vendor-side edit may not change during exclusivity (re-asserted, audited). */
export const PROTECTED_FIELDS = ['Registered_Partner__c', 'Registered_Partner_Id__c', 'Registration_Status__c', 'Partner_Role__c', 'Partner_Attribution__c'];

/** How a registration status reads on the vendor Opportunity (`Registration_Status__c`). */
export const VENDOR_STATUS_LABEL: Record<RegistrationStatus, string> = {
  submitted: 'Submitted',
  checked: 'Submitted',
  'pending-review': 'Pending Review',
  'auto-approved': 'Approved',
  approved: 'Approved',
  rejected: 'Rejected',
  expired: 'Expired',
  won: 'Won',
  lost: 'Lost',
};
/** How an attribution role reads on the vendor Opportunity (`Partner_Role__c`). */
export const ROLE_LABEL: Record<AttributionRole, string> = { sourcing: 'Sourcing', services: 'Services', influence: 'Influence', reseller: 'Reseller' };

/** Vendor Account external id for the accounts cosell creates for partner-sourced customers. */
export const CUSTOMER_KEY_FIELD: FieldSpec = { name: 'Cosell_Customer_Key__c', label: 'Customer Key (cosell)', type: 'string', length: 255, externalId: true, unique: true };

/** Vendor Account checkbox marking a named / strategic account (the policy's `namedAccounts.vendorFlag`). */
export const NAMED_ACCOUNT_FIELD = 'Named_Account__c';
/** Its spec: ensured on a Salesforce vendor's Account when the rules index first loads. */
export const NAMED_ACCOUNT_SPEC: FieldSpec = { name: NAMED_ACCOUNT_FIELD, label: 'Named Account (direct team)', type: 'boolean' };
