/**
 * Account mapping vocabulary. A side is one org's view (the vendor's or one partner's); a population is
 * a segment of that org's accounts; an overlap is one vendor account and one partner company that match
 * on a keyed hash of a normalised domain or name.
 */

/** Population ids as written in the network file (`sharing: { vendor: [customers, ...] }`). */
export const POPULATIONS = ['customers', 'opportunities', 'prospects'] as const;
export type Population = (typeof POPULATIONS)[number];

/** What a record's population reads as on the other org's record, strongest first. */
export const RELATIONS = ['customer', 'opportunity', 'prospect'] as const;
export type Relation = (typeof RELATIONS)[number];

/** Bit per population; a record can be in several (a customer with an open upsell is both). */
export const POPULATION_BIT: Record<Population, number> = { customers: 1, opportunities: 2, prospects: 4 };

export type Side = 'vendor' | 'partner';

/** How two records matched, strongest first. */
export const MATCH_KINDS = ['domain', 'domain-label', 'name'] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];

/** Which populations each side agreed to share with the other, per partnership. */
export interface Sharing {
  vendor: readonly Population[];
  partner: readonly Population[];
}

/**
 * One account/company as its own org knows it. Stays inside its org's boundary: the matching step
 * never sees it, only the hashed side built from it.
 */
export interface SideAccount {
  /** The CRM id. */
  id: string;
  name?: string | null;
  /** Website or domain as typed in the CRM (any mess: scheme, www., path, case). */
  domain?: string | null;
  /** POPULATION_BIT mask, from the CRM rules in populations.ts. */
  populations: number;
  /** Current value of the overlap write-back field on this record (to detect changes). */
  current?: string | null;
  /** Display label for reports (the record's name). */
  label?: string;
}

/** One overlap as cosell records it (operator view: both ids; each org is only told its own half). */
export interface Overlap {
  vendorId: string;
  partnerId: string;
  vendorRelation: Relation;
  partnerRelation: Relation;
  /** `${vendorRelation}/${partnerRelation}`, e.g. customer/prospect. */
  pair: string;
  matchedOn: MatchKind;
  /** The keyed hash the two records matched on (never the raw key). */
  hashedKey: string;
  /** 0..100: match strength × how actionable the population pair is for joint selling. */
  score: number;
  vendorLabel?: string;
  partnerLabel?: string;
}
