import type { DealModel, Model, NewestField } from './model.js';
import type { Random } from './random.js';
import { sleep, TIER_LIMIT, type PartnerInfo, type World } from './world.js';

/**
 * The operations a sequence is made of, as a user does them in the CRMs (real clients against the
 * sandbox), and what each one tells the model. One operation touches a deal at most once per epoch
 * (between two settles), so the model's "later edit wins" is about one edit per side.
 */
export const OP_KINDS = [
  'create', // a partner registers a new customer (company + associated deal)
  'race', // two partners register the same customer, ~1 s apart
  'partnerEdit', // partner edits amount / close date / name
  'numericText', // partner renames the deal to digits with leading zeros, then strips them ("00123" → "123")
  'vendorEdit', // vendor edits Amount / CloseDate / StageName
  'conflict', // both sides edit the same `newest` field between two polls
  'flip', // partner A→B→A around a vendor edit of the same field, between polls
  'raise', // partner raises an approved deal's amount 250× (past the tier limit)
  'move', // the deal moves to another company (association changed, and the rep edits the deal as it does so)
  'moveOnly', // the deal moves to another company by its association alone (the deal itself untouched)
  'merge', // partner merges two companies that have deals
  'partnerDelete', // partner deletes its deal
  'vendorDelete', // vendor deletes the opportunity, the partner keeps working its deal
  'restore', // a deleted deal or opportunity comes back from its CRM's recycle bin (same id)
  'kill', // SIGKILL the worker mid-settle, start another
] as const;
export type OpKind = (typeof OP_KINDS)[number];

const WEIGHTS: Record<OpKind, number> = {
  create: 4, race: 2, partnerEdit: 4, numericText: 1, vendorEdit: 4, conflict: 3, flip: 2, raise: 1, move: 1, moveOnly: 1, merge: 1, partnerDelete: 1, vendorDelete: 1, restore: 2, kill: 1,
};

export interface AppliedOp {
  kind: OpKind;
  text: string;
}

const VENDOR_STAGES = ['Needs Analysis', 'Value Proposition', 'Id. Decision Makers', 'Negotiation/Review'];

export class Operations {
  constructor(
    private readonly world: World,
    private readonly model: Model,
    private readonly rnd: Random,
    private readonly enabled: readonly OpKind[],
  ) {}

  /** Pick and apply one epoch's operations (links are paused); returns them, and whether to kill during the settle. */
  async epoch(count: number): Promise<{ ops: AppliedOp[]; kill: boolean }> {
    const touched = new Set<string>();
    const ops: AppliedOp[] = [];
    let kill = false;
    for (let i = 0; i < count; i++) {
      const kind = this.rnd.weighted(this.enabled.map((k) => [k, WEIGHTS[k]] as const));
      if (kind === 'kill') {
        kill = true;
        ops.push({ kind, text: 'SIGKILL the worker during the next settle' });
        continue;
      }
      const op = await this.apply(kind, touched);
      if (op) ops.push(op);
    }
    return { ops, kill };
  }

  private eligible(touched: Set<string>): DealModel[] {
    return this.model.live().filter((d) => d.oppId && !touched.has(d.key));
  }

  private async apply(kind: OpKind, touched: Set<string>): Promise<AppliedOp | undefined> {
    const { rnd } = this;
    if (kind === 'create') return this.create(rnd.pick(this.world.partners), touched);
    if (kind === 'race') return this.race(touched);
    if (kind === 'merge') return this.merge(touched);
    if (kind === 'restore') return this.restore(touched);
    const candidates = this.eligible(touched);
    if (candidates.length === 0) return this.create(rnd.pick(this.world.partners), touched);
    // numericText prefers a deal whose "00…" name has synced: stripping the zeros is the edit to check.
    const zeros = kind === 'numericText' ? candidates.filter((x) => /^0+\d+$/.test(x.name)) : [];
    const d = zeros.length && rnd.chance(0.8) ? rnd.pick(zeros) : rnd.pick(candidates);
    touched.add(d.key);
    switch (kind) {
      case 'partnerEdit': {
        const field = rnd.pick(['amount', 'closeDate', 'name'] as const);
        if (field === 'name') {
          d.name = `${d.partner.marker} ${this.model.next()} renamed deal`;
          await this.partnerUpdate(d, { dealname: `  ${d.name} ` }); // the mapping trims
          return { kind, text: `${d.key}: partner renames to "${d.name}"` };
        }
        const value = this.value(field);
        await this.edit(d, 'partner', field, value);
        return { kind, text: `${d.key}: partner ${field} = ${value}` };
      }
      case 'numericText': {
        // A text field whose values look like numbers: "00123" → "123" is a change (zip codes, account numbers).
        const stripped = d.name.replace(/^0+(?=\d)/, '');
        d.name = /^0+\d+$/.test(d.name) ? stripped : `00${this.model.next()}`;
        await this.partnerUpdate(d, { dealname: d.name });
        return { kind, text: `${d.key}: partner renames the deal to "${d.name}" (text that looks like a number)` };
      }
      case 'vendorEdit': {
        const field = rnd.pick(['amount', 'closeDate', 'stage'] as const);
        if (field === 'stage') {
          d.vendorStage = rnd.pick(VENDOR_STAGES);
          await this.world.sb.jsforce('vendor').sobject('Opportunity').update({ Id: d.oppId!, StageName: d.vendorStage });
          return { kind, text: `${d.key}: vendor StageName = ${d.vendorStage}` };
        }
        const value = this.value(field);
        await this.edit(d, 'vendor', field, value);
        return { kind, text: `${d.key}: vendor ${field} = ${value}` };
      }
      case 'conflict': {
        const field = rnd.pick(['amount', 'closeDate'] as const);
        const first = rnd.pick(['partner', 'vendor'] as const);
        const second = first === 'partner' ? 'vendor' : 'partner';
        const a = this.value(field);
        let b = this.value(field);
        while (b === a) b = this.value(field);
        await this.edit(d, first, field, a);
        await sleep(40);
        await this.edit(d, second, field, b);
        return { kind, text: `${d.key}: ${first} ${field} = ${a}, then ${second} ${field} = ${b} (both sides, one poll)` };
      }
      case 'flip': {
        const original = d.amount;
        const other = this.value('amount');
        const x = this.value('amount');
        const vendorFirst = rnd.chance(0.5);
        if (vendorFirst) await this.edit(d, 'vendor', 'amount', x);
        await this.edit(d, 'partner', 'amount', other);
        if (!vendorFirst) await this.edit(d, 'vendor', 'amount', x);
        await sleep(20);
        await this.edit(d, 'partner', 'amount', original);
        return { kind, text: `${d.key}: partner amount ${original}→${other}→${original} ${vendorFirst ? 'after' : 'around'} vendor Amount = ${x}` };
      }
      case 'raise': {
        const value = d.amount * 250;
        await this.partnerUpdate(d, { amount: String(value) });
        d.raisedPastLimit = true;
        d.frozen = `amount raised to ${value} (past the ${TIER_LIMIT} auto-approval limit): re-decided`;
        return { kind, text: `${d.key}: partner raises amount ${d.amount} → ${value} after approval` };
      }
      case 'move':
      case 'moveOnly': {
        const n = this.model.next();
        const customer = this.domain(n);
        const company = await this.createCompany(d.partner, n, customer);
        const hs = this.world.sb.hubspot(d.partner.org);
        await hs.crm.associations.v4.basicApi.archive('deals', d.dealId, 'companies', d.companyId);
        await hs.crm.associations.v4.basicApi.createDefault('deals', d.dealId, 'companies', company);
        // A rep moving a deal usually edits it too (bumping its modification time); `moveOnly` is the
        // association change alone, which HubSpot's search (the change feed) does not see as a change.
        if (kind === 'move') {
          d.name = `${d.partner.marker} ${this.model.next()} moved deal`;
          await this.partnerUpdate(d, { dealname: d.name });
        }
        const from = d.companyId;
        d.companyId = company;
        d.customer = customer;
        this.model.customers.set(customer, [d.key]);
        return { kind, text: `${d.key}: deal moved from company ${from} to new company ${company} (${customer})${kind === 'move' ? ', renamed' : ', association only'}` };
      }
      case 'partnerDelete': {
        await this.world.sb.hubspot(d.partner.org).crm.deals.basicApi.archive(d.dealId);
        d.partnerDeleted = true;
        d.frozen = 'deleted by the partner';
        return { kind, text: `${d.key}: partner deletes the deal` };
      }
      case 'vendorDelete': {
        await this.world.sb.jsforce('vendor').sobject('Opportunity').destroy(d.oppId!);
        await sleep(40);
        d.name = `${d.partner.marker} ${this.model.next()} still worked`;
        await this.partnerUpdate(d, { dealname: d.name });
        d.vendorDeleted = true;
        d.frozen = 'opportunity deleted by the vendor';
        return { kind, text: `${d.key}: vendor deletes opportunity ${d.oppId}, then the partner renames its deal` };
      }
      default:
        throw new Error(`no operation ${kind}`);
    }
  }

  private value(field: NewestField): number | string {
    if (field === 'amount') return this.rnd.int(10, 180) * 500; // 5,000 … 90,000: within the tier limit
    // 2 to 40 weeks from today: within the policy's `closeDate.farOut` (365 days by default), as the
    // model assumes. Fixed 2027 dates were a model bug: from December 2026 on, some lay more than 365
    // days after the registration, the rules sent those deals to review (correctly) and the model
    // still expected an approved opportunity (seed 1181339356). The seed fixes the offset.
    return new Date(this.today + this.rnd.int(14, 280) * 86_400_000).toISOString().slice(0, 10);
  }

  /** Midnight UTC of the day the sequence started (close dates count from it). */
  private readonly today = Math.floor(Date.now() / 86_400_000) * 86_400_000;

  private domain(n: number): string {
    return `customer${n}-${this.world.tag}.example`;
  }

  private async edit(d: DealModel, side: 'partner' | 'vendor', field: NewestField, value: number | string): Promise<void> {
    if (side === 'partner') await this.partnerUpdate(d, field === 'amount' ? { amount: String(value) } : { closedate: `${value}T00:00:00.000Z` });
    else await this.world.sb.jsforce('vendor').sobject('Opportunity').update({ Id: d.oppId!, ...(field === 'amount' ? { Amount: value } : { CloseDate: value }) });
    d.edits.push({ side, field, value, at: Date.now() });
    await sleep(5); // edits strictly ordered in time
  }

  private async partnerUpdate(d: DealModel, properties: Record<string, string>): Promise<void> {
    await this.world.sb.hubspot(d.partner.org).crm.deals.basicApi.update(d.dealId, { properties });
  }

  private async createCompany(p: PartnerInfo, n: number, customer: string): Promise<string> {
    const hs = this.world.sb.hubspot(p.org);
    const c = await hs.crm.companies.basicApi.create({ properties: { name: `Customer ${n} (${p.marker})`, domain: customer, country: 'US' }, associations: [] });
    return c.id;
  }

  private async createDeal(p: PartnerInfo, customer: string): Promise<DealModel> {
    const n = this.model.next();
    const companyId = await this.createCompany(p, n, customer);
    const hs = this.world.sb.hubspot(p.org);
    const name = `${p.marker} ${n} deal`;
    const amount = this.value('amount') as number;
    const closeDate = this.value('closeDate') as string;
    const deal = await hs.crm.deals.basicApi.create({
      properties: { dealname: name, amount: String(amount), closedate: `${closeDate}T00:00:00.000Z`, pipeline: 'default', dealstage: 'qualifiedtobuy' },
      associations: [],
    });
    await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', companyId);
    return this.model.addDeal({ key: `${p.id}:${deal.id}`, partner: p, dealId: deal.id, companyId, customer, createdAt: Date.now(), name, amount, closeDate });
  }

  private async create(p: PartnerInfo, touched: Set<string>): Promise<AppliedOp> {
    const d = await this.createDeal(p, this.domain(this.model.next()));
    touched.add(d.key);
    return { kind: 'create', text: `${d.key}: ${p.id} registers ${d.customer} (amount ${d.amount})` };
  }

  private async race(touched: Set<string>): Promise<AppliedOp> {
    const [first, second] = this.rnd.chance(0.5) ? this.world.partners : [...this.world.partners].reverse();
    const customer = this.domain(this.model.next());
    const a = await this.createDeal(first!, customer);
    await sleep(this.rnd.int(1000, 2000)); // seconds apart; HubSpot's createdate orders them
    const b = await this.createDeal(second!, customer);
    touched.add(a.key).add(b.key);
    return { kind: 'race', text: `${a.key} then ${b.key} register the same customer ${customer}: the first must hold it` };
  }

  /**
   * A deleted record comes back with its id, as from the CRM's recycle bin (the sandbox's UI control,
   * POST /__sandbox/restore/{type}/{id}): the partner restores its deal, or the vendor undeletes the
   * opportunity. A user expects the pair to carry on: re-linked, the deletion flag on the other side
   * cleared, every field converging again (a rename the partner made meanwhile reaches the restored
   * opportunity), audited `restored`. Without a deleted deal this is a create.
   */
  private async restore(touched: Set<string>): Promise<AppliedOp> {
    const deleted = [...this.model.deals.values()].filter((d) => (d.partnerDeleted || d.vendorDeleted) && d.expected === 'approved' && !d.mergedInto && !touched.has(d.key));
    if (deleted.length === 0) return this.create(this.rnd.pick(this.world.partners), touched);
    const d = this.rnd.pick(deleted);
    touched.add(d.key);
    const [org, type, id] = d.partnerDeleted ? [d.partner.org, 'deals', d.dealId] : ['vendor', 'Opportunity', d.oppId!];
    const res = await fetch(`${this.world.sb.baseUrls[org]}/__sandbox/restore/${type}/${id}`, { method: 'POST' });
    if (!res.ok) throw new Error(`restore ${org} ${type} ${id}: HTTP ${res.status} ${await res.text()}`);
    const what = d.partnerDeleted ? `partner restores its deal ${d.dealId}` : `vendor undeletes opportunity ${d.oppId}`;
    d.partnerDeleted = false;
    d.vendorDeleted = false;
    d.frozen = undefined;
    d.restored = true;
    return { kind: 'restore', text: `${d.key}: ${what} from the recycle bin` };
  }

  private async merge(touched: Set<string>): Promise<AppliedOp | undefined> {
    for (const p of this.world.partners) {
      const mine = this.eligible(touched).filter((d) => d.partner.id === p.id);
      if (mine.length < 2) continue;
      const keep = this.rnd.pick(mine);
      const others = mine.filter((d) => d !== keep && d.companyId !== keep.companyId);
      if (others.length === 0) continue;
      const other = this.rnd.pick(others);
      await this.world.sb.hubspot(p.org).apiRequest({ method: 'POST', path: '/crm/v3/objects/companies/merge', body: { primaryObjectId: keep.companyId, objectIdToMerge: other.companyId } });
      touched.add(keep.key).add(other.key);
      const from = other.companyId;
      other.companyId = keep.companyId;
      // HubSpot moves every association of the merged-away company to the survivor: deals merged into it
      // earlier follow too (a chain of merges; seed 479642185 caught the model expecting the middle one).
      for (const d of this.model.deals.values()) {
        if (d === other || d.partner.id !== p.id || d.companyId !== from) continue;
        d.companyId = keep.companyId;
        if (d.mergedInto === from) d.mergedInto = keep.companyId;
        touched.add(d.key);
      }
      // The merged deal's customer is now one the same partner already holds: whether it stays approved
      // is a re-decision; its opportunity must still follow the survivor's account.
      other.frozen = `its company ${from} was merged into ${keep.companyId}`;
      other.mergedInto = keep.companyId;
      // HubSpot moves EVERY association of the merged-away company to the survivor: deals an earlier
      // merge put on it follow too (a model bug, seed 2117376692: a chain 3 → 4 → 1 expected deal 3 on 4).
      for (const d of this.model.deals.values()) {
        if (d === other || d.partner.id !== p.id || d.companyId !== from) continue;
        d.companyId = keep.companyId;
        if (d.mergedInto) d.mergedInto = keep.companyId;
      }
      return { kind: 'merge', text: `${p.id}: company ${from} (deal ${other.key}) merged into ${keep.companyId} (deal ${keep.key})` };
    }
    return undefined;
  }
}
