import type { FieldSpec } from '../connectors/types.js';
import type { OrgConfig } from '../lib/config.js';

/**
 * The partner CRM's side of a registration: the fields on the partner's own deal that cosell reads
 * (the partner's dispute and extension requests, free text) and writes back (status, a partner-safe
 * reason, expiry, the action required, the dispute's status) — per CRM, created once per object.
 */

/** The field on a partner's own deal where the partner disputes a rejection (its reason, free text). */
export const DISPUTE_INTAKE: Partial<Record<OrgConfig['kind'], FieldSpec>> = {
  hubspot: { name: 'cosell_registration_dispute', label: 'Dispute the registration decision (cosell): your reason', type: 'string', length: 255 },
  salesforce: { name: 'Cosell_Registration_Dispute__c', label: 'Dispute Registration Decision (cosell)', type: 'string', length: 255 },
};
/** The field on a partner's own deal where the partner asks to extend its exclusivity (its reason, free text). */
export const EXTENSION_INTAKE: Partial<Record<OrgConfig['kind'], FieldSpec>> = {
  hubspot: { name: 'cosell_registration_extension', label: 'Request an extension of the registration (cosell): your reason', type: 'string', length: 255 },
  salesforce: { name: 'Cosell_Registration_Extension__c', label: 'Request Registration Extension (cosell)', type: 'string', length: 255 },
};

/** The write-back field names on a partner's deal in one CRM, and their specs (ensured before the first write). */
export interface PartnerWriteBack {
  status: string;
  reason: string;
  expiry: string;
  action: string;
  dispute: string;
  specs: FieldSpec[];
}

/** Partner-side fields that show the registration on the partner's own deal (write-back). */
export const PARTNER_WRITE_BACK: Record<'hubspot' | 'salesforce', PartnerWriteBack> = {
  hubspot: {
    status: 'cosell_registration_status',
    reason: 'cosell_registration_reason',
    expiry: 'cosell_registration_expiry',
    action: 'cosell_registration_action',
    dispute: 'cosell_dispute_status',
    specs: [
      { name: 'cosell_dispute_status', label: 'Registration dispute (cosell)', type: 'string', length: 255 },
      { name: 'cosell_registration_action', label: 'Registration action required (cosell)', type: 'string', length: 255 },
      { name: 'cosell_registration_status', label: 'Registration status (cosell)', type: 'picklist', picklistValues: ['submitted', 'pending_review', 'approved', 'rejected', 'expired', 'won', 'lost'] },
      { name: 'cosell_registration_reason', label: 'Registration reason (cosell)', type: 'string', length: 255 },
      { name: 'cosell_registration_expiry', label: 'Registration expiry (cosell)', type: 'date' },
    ],
  },
  salesforce: {
    status: 'Cosell_Registration_Status__c',
    reason: 'Cosell_Registration_Reason__c',
    expiry: 'Cosell_Registration_Expiry__c',
    action: 'Cosell_Registration_Action__c',
    dispute: 'Cosell_Dispute_Status__c',
    specs: [
      { name: 'Cosell_Dispute_Status__c', label: 'Registration Dispute (cosell)', type: 'string', length: 255 },
      { name: 'Cosell_Registration_Action__c', label: 'Registration Action Required (cosell)', type: 'string', length: 255 },
      { name: 'Cosell_Registration_Status__c', label: 'Registration Status (cosell)', type: 'string', length: 40 },
      { name: 'Cosell_Registration_Reason__c', label: 'Registration Reason (cosell)', type: 'string', length: 255 },
      { name: 'Cosell_Registration_Expiry__c', label: 'Registration Expiry (cosell)', type: 'date' },
    ],
  },
};

/** The partner-facing status value (HubSpot's enumeration spelling). */
export function partnerStatus(status: string): string {
  if (status === 'auto-approved') return 'approved';
  if (status === 'pending-review') return 'pending_review';
  if (status === 'checked') return 'submitted';
  return status;
}
