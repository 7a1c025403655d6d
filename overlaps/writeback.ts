import { CosellError } from '../lib/errors.js';
import type { CrmKind, FieldSpec, UpdateInput } from '../connectors/types.js';
import { RELATIONS, type Overlap, type Relation, type Side, type SideAccount } from './types.js';

/**
 * Native write-back: what each org's users see on their own records.
 *  - Vendor account: one field listing every partner that shares the account and that partner's
 *    relation, "acme: customer; globex: prospect" (sorted by partner id). Each partner's overlap run
 *    rewrites only its own segment and keeps the others.
 *  - Partner company/account: the vendor's relation ("customer", "opportunity", "prospect").
 * Both are computed as the desired value for every record read, compared with the current value, and
 * written only where they differ — so an overlap that appears is written, one that ends is cleared
 * (null), and an unchanged one costs no API call. Each org only ever receives the other side's
 * relation for records in populations that side shares, because nothing else can match.
 */
export interface WritebackTarget {
  object: string;
  field: string;
  spec: FieldSpec;
}

const VENDOR_FIELD_LENGTH = 255;

/** The CRM kinds with accounts to map (Partner Central has no account object). */
export type AccountCrmKind = Exclude<CrmKind, 'aws-partner-central'>;

export const WRITEBACK_TARGETS: Record<Side, Record<AccountCrmKind, WritebackTarget>> = {
  vendor: {
    salesforce: {
      object: 'Account',
      field: 'Partner_Overlaps__c',
      spec: { name: 'Partner_Overlaps__c', label: 'Partner Overlaps', type: 'string', length: VENDOR_FIELD_LENGTH, description: 'Partners that also have this account, with their relation (set by cosell account mapping)' },
    },
    hubspot: {
      object: 'companies',
      field: 'cosell_partner_overlaps',
      spec: { name: 'cosell_partner_overlaps', label: 'Partner overlaps', type: 'string', description: 'Partners that also have this company, with their relation (set by cosell account mapping)' },
    },
  },
  partner: {
    salesforce: {
      object: 'Account',
      field: 'Vendor_Relation__c',
      spec: { name: 'Vendor_Relation__c', label: 'Vendor Relation', type: 'string', length: 40, description: "The vendor's relation to this account: customer, opportunity or prospect (set by cosell account mapping)" },
    },
    hubspot: {
      object: 'companies',
      field: 'cosell_vendor_relation',
      spec: { name: 'cosell_vendor_relation', label: 'Vendor relation', type: 'string', description: "The vendor's relation to this company: customer, opportunity or prospect (set by cosell account mapping)" },
    },
  },
};

/** Where account mapping writes its relation on one side; a CRM without accounts (Partner Central) cannot take part. */
export function writebackTarget(side: Side, kind: CrmKind): WritebackTarget {
  if (kind === 'aws-partner-central') throw new CosellError('COSELL_CONFIG_INVALID', 'account mapping (sharing) needs a CRM with accounts: AWS Partner Central has none', { hint: 'remove the sharing block of this partner' });
  return WRITEBACK_TARGETS[side][kind];
}

/** "acme: customer; globex: prospect" → Map. Tolerates spaces and unknown relation words (kept as text). */
export function parseVendorField(value: string | null | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!value) return out;
  for (const part of value.split(';')) {
    const i = part.indexOf(':');
    if (i <= 0) continue;
    const partner = part.slice(0, i).trim();
    const relation = part.slice(i + 1).trim();
    if (partner && relation && !partner.startsWith('…')) out.set(partner, relation);
  }
  return out;
}

/** Map → "acme: customer; globex: prospect", sorted, null when empty, cut to the field length. */
export function formatVendorField(entries: Map<string, string>, maxLength = VENDOR_FIELD_LENGTH): string | null {
  if (entries.size === 0) return null;
  const parts = [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, r]) => `${p}: ${r}`);
  let text = parts.join('; ');
  if (text.length <= maxLength) return text;
  // Too many partners for one text field: keep whole entries and say how many are missing.
  for (let keep = parts.length - 1; keep >= 0; keep--) {
    text = `${parts.slice(0, keep).join('; ')}; …+${parts.length - keep} more`;
    if (text.length <= maxLength) return text;
  }
  return text.slice(0, maxLength);
}

/** The vendor field with this partner's segment set (relation) or removed (undefined). */
export function withPartnerSegment(current: string | null | undefined, partnerId: string, relation: Relation | undefined): string | null {
  const entries = parseVendorField(current);
  if (relation) entries.set(partnerId, relation);
  else entries.delete(partnerId);
  return formatVendorField(entries);
}

function strongest(a: Relation | undefined, b: Relation): Relation {
  return a === undefined || RELATIONS.indexOf(b) < RELATIONS.indexOf(a) ? b : a;
}

function normalised(v: string | null | undefined): string | null {
  return v === undefined || v === null || v === '' ? null : v;
}

export interface WritebackPlan {
  updates: UpdateInput[];
  set: number; // records that get or change a value
  cleared: number; // records whose overlap ended
}

/** Vendor side: this partner's segment on every vendor account read (set, changed or removed). */
export function planVendorWriteback(accounts: readonly SideAccount[], partnerId: string, overlaps: readonly Overlap[], field: string): WritebackPlan {
  const desired = new Map<string, Relation>();
  for (const o of overlaps) desired.set(o.vendorId, strongest(desired.get(o.vendorId), o.partnerRelation));
  const plan: WritebackPlan = { updates: [], set: 0, cleared: 0 };
  for (const a of accounts) {
    const relation = desired.get(a.id);
    const current = normalised(a.current);
    const next = withPartnerSegment(current, partnerId, relation);
    if (next === current) continue;
    plan.updates.push({ id: a.id, fields: { [field]: next } });
    if (relation) plan.set++;
    else plan.cleared++;
  }
  return plan;
}

/** Partner side: the vendor's strongest shared relation on every partner record read, or cleared. */
export function planPartnerWriteback(accounts: readonly SideAccount[], overlaps: readonly Overlap[], field: string): WritebackPlan {
  const desired = new Map<string, Relation>();
  for (const o of overlaps) desired.set(o.partnerId, strongest(desired.get(o.partnerId), o.vendorRelation));
  const plan: WritebackPlan = { updates: [], set: 0, cleared: 0 };
  for (const a of accounts) {
    const next = desired.get(a.id) ?? null;
    const current = normalised(a.current);
    if (next === current) continue;
    plan.updates.push({ id: a.id, fields: { [field]: next } });
    if (next) plan.set++;
    else plan.cleared++;
  }
  return plan;
}
