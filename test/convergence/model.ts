import { TIER_LIMIT, type PartnerInfo } from './world.js';

/**
 * The reference model: what a user of cosell expects the network to look like once it has settled,
 * written from the product rules (the mappings' field owners, the Rules of Engagement), not from the
 * engine's code.
 *
 * A partner deal on a registration link is a registration; the first partner to create a deal for a
 * customer (time it was created in its own CRM) holds it, later ones for that customer are rejected.
 * An approved registration is one vendor Opportunity, the pair is two-way:
 *   Name        ← partner's dealname (partner owns; the vendor's copy follows)
 *   Amount      ⇄ amount      owner `newest`: a three-way merge against the last settled value —
 *   CloseDate   ⇄ closedate                   only a side whose value differs from it has changed; if
 *                                             both changed (to different values) the later edit wins and
 *                                             the loser is named in the audit
 *   StageName   → cosell_vendor_stage (the vendor owns its stage)
 *   Partner_Amount__c ← amount; cosell_vendor_amount ← Amount
 *   AccountId   = the vendor Account of the deal's (current) company (companies link)
 */

export type Side = 'partner' | 'vendor';
export type NewestField = 'amount' | 'closeDate';

export interface Edit {
  side: Side;
  field: NewestField;
  value: number | string;
  at: number;
}

export interface DealModel {
  key: string; // `${partnerId}:${dealId}`
  partner: PartnerInfo;
  dealId: string;
  companyId: string;
  customer: string; // customer domain
  createdAt: number;
  name: string;
  amount: number;
  closeDate: string; // YYYY-MM-DD
  /** The stage the vendor last set (the vendor owns it), if it ever did. */
  vendorStage?: string;
  /** Filled in after the settle that creates it. */
  oppId?: string;
  /** What the Rules of Engagement must have decided. */
  expected: 'approved' | 'rejected';
  /** Edits in the current epoch (resolved at its settle). */
  edits: Edit[];
  /** Values are not compared any more, and why (deleted, re-decision pending, …). */
  frozen?: string;
  partnerDeleted?: boolean;
  vendorDeleted?: boolean;
  /** Deleted and restored since: the audit must say it was restored, the deletion flags are cleared. */
  restored?: boolean;
  /** Its company was merged into this one: the opportunity must follow the survivor's account. */
  mergedInto?: string;
  /** Amount raised past the tier limit after approval: must not stay auto-approved. */
  raisedPastLimit?: boolean;
}

/** A both-sides conflict the audit must name the loser of. */
export interface LostWrite {
  deal: DealModel;
  field: NewestField;
  loser: Side;
  loserValue: number | string;
  winnerValue: number | string;
}

export class Model {
  readonly deals = new Map<string, DealModel>();
  /** customer domain → deal keys registering it, in creation order. */
  readonly customers = new Map<string, string[]>();
  readonly lostWrites: LostWrite[] = [];
  private seq = 0;

  next(): number {
    return ++this.seq;
  }

  addDeal(d: Omit<DealModel, 'expected' | 'edits'>): DealModel {
    const holders = this.customers.get(d.customer) ?? [];
    const holder = holders.map((k) => this.deals.get(k)!).find((x) => x.expected === 'approved');
    const deal: DealModel = { ...d, expected: holder || d.amount > TIER_LIMIT ? 'rejected' : 'approved', edits: [] };
    if (d.amount > TIER_LIMIT) throw new Error('the generator creates deals within the tier limit');
    this.deals.set(deal.key, deal);
    this.customers.set(d.customer, [...holders, deal.key]);
    return deal;
  }

  /** Approved, still compared deals. */
  live(): DealModel[] {
    return [...this.deals.values()].filter((d) => d.expected === 'approved' && !d.frozen);
  }

  /** At a settle: fold each deal's epoch edits into its expected values (three-way merge). */
  resolveEpoch(): void {
    for (const d of this.deals.values()) {
      if (d.edits.length === 0) continue;
      for (const field of ['amount', 'closeDate'] as const) {
        const base = d[field];
        const last = (side: Side) => d.edits.filter((e) => e.side === side && e.field === field).at(-1);
        const p = last('partner');
        const v = last('vendor');
        const pChanged = p !== undefined && p.value !== base;
        const vChanged = v !== undefined && v.value !== base;
        if (pChanged && vChanged && p.value !== v.value) {
          // Both changed: the later edit of the record wins (one operation touches a deal per epoch,
          // so the record's and the field's last edit agree).
          const lastAt = (side: Side) => Math.max(...d.edits.filter((e) => e.side === side).map((e) => e.at));
          const winner = lastAt('partner') > lastAt('vendor') ? p : v;
          const loser = winner === p ? v : p;
          (d as unknown as Record<string, unknown>)[field] = winner.value;
          this.lostWrites.push({ deal: d, field, loser: loser.side, loserValue: loser.value, winnerValue: winner.value });
        } else if (pChanged) (d as unknown as Record<string, unknown>)[field] = p.value;
        else if (vChanged) (d as unknown as Record<string, unknown>)[field] = v!.value;
      }
      d.edits = [];
    }
  }
}
