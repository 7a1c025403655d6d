import type { DealModel, Model } from './model.js';
import { TIER_LIMIT, type World } from './world.js';

/**
 * The invariants checked after every settle, against what the CRMs and the ledger actually hold:
 *   convergence   every record holds the value the field-ownership rules (the model) say
 *   lost-write    no write lost without an audit entry naming the loser (both-sides conflicts; a
 *                 vendor-deleted opportunity re-created from the partner's deal)
 *   isolation     no record of partner A anywhere in partner B's portal
 *   registration  one active registration per customer, held by the first to register
 *   re-decision   no registration stays auto-approved above the tier limit after an amount raise
 *   ping-pong     after settle, an idle period produces zero writes (checked by the runner)
 */
export const INVARIANTS = ['convergence', 'lost-write', 'isolation', 'registration', 're-decision', 'ping-pong'] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Failure {
  invariant: Invariant;
  detail: string;
}

type Props = Record<string, string | null | undefined>;
interface Opp {
  Id: string;
  Name: string;
  Amount: number | null;
  CloseDate: string | null;
  StageName: string;
  AccountId: string | null;
  Partner_Deal_Id__c: string | null;
  Registered_Partner_Id__c: string | null;
  Registration_Status__c: string | null;
  Partner_Amount__c: number | null;
  Cosell_Source_Deleted__c?: boolean;
}
interface AuditRow {
  id: number;
  link_id: string;
  source_id: string | null;
  target_id: string | null;
  action: string;
  text: string;
}
interface RegistrationRow {
  id: string;
  partner: string;
  source_id: string;
  customer_domain: string | null;
  status: string;
}

const ACTIVE = ['submitted', 'checked', 'pending-review', 'auto-approved', 'approved'];
const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));

/** Everything the checks read, once per settle. */
export class Observed {
  opps: Opp[] = [];
  oppsByKey = new Map<string, Opp[]>();
  accountsByPartnerKey = new Map<string, { Id: string; deleted: boolean }>();
  deals = new Map<string, Map<string, Props>>(); // partner org → deal id → properties
  companies = new Map<string, Map<string, Props>>();
  audit: AuditRow[] = [];
  registrations: RegistrationRow[] = [];

  static async read(world: World): Promise<Observed> {
    const o = new Observed();
    const sf = world.sb.jsforce('vendor');
    const oppFields = 'Id, Name, Amount, CloseDate, StageName, AccountId, Partner_Deal_Id__c, Registered_Partner_Id__c, Registration_Status__c, Partner_Amount__c';
    const flag = async (object: string, fields: string) => {
      // Cosell_Source_Deleted__c exists once a `deletes: flag` link has had something to flag.
      try {
        return (await sf.query<Record<string, unknown>>(`SELECT ${fields}, Cosell_Source_Deleted__c FROM ${object}`, { autoFetch: true, maxFetch: 100_000 })).records;
      } catch {
        return (await sf.query<Record<string, unknown>>(`SELECT ${fields} FROM ${object}`, { autoFetch: true, maxFetch: 100_000 })).records;
      }
    };
    o.opps = (await flag('Opportunity', oppFields)) as unknown as Opp[];
    for (const r of o.opps) if (r.Partner_Deal_Id__c) o.oppsByKey.set(r.Partner_Deal_Id__c, [...(o.oppsByKey.get(r.Partner_Deal_Id__c) ?? []), r]);
    for (const a of await flag('Account', 'Id, Partner_Account_Id__c')) {
      if (a.Partner_Account_Id__c) o.accountsByPartnerKey.set(String(a.Partner_Account_Id__c), { Id: String(a.Id), deleted: a.Cosell_Source_Deleted__c === true });
    }
    for (const p of world.partners) {
      const hs = world.sb.hubspot(p.org);
      for (const [type, into] of [['deals', o.deals], ['companies', o.companies]] as const) {
        // Every property the portal has (the isolation scan reads all of them).
        const names = (await hs.crm.properties.coreApi.getAll(type)).results.map((x) => x.name);
        const all = type === 'deals' ? await hs.crm.deals.getAll(100, undefined, names) : await hs.crm.companies.getAll(100, undefined, names);
        into.set(p.org, new Map(all.map((r) => [r.id, r.properties as Props])));
      }
    }
    o.audit = world.ledger<AuditRow>(
      "select id, link_id, source_id, target_id, action, coalesce(before, '') || ' ' || coalesce(after, '') || ' ' || coalesce(decisions, '') || ' ' || coalesce(details, '') as text from audit_events",
    );
    o.registrations = world.ledger<RegistrationRow>('select id, partner, source_id, customer_domain, status from registrations');
    return o;
  }

  accountOf(d: DealModel, companyId = d.companyId) {
    return this.accountsByPartnerKey.get(`${d.partner.id}:${companyId}`);
  }

  auditOf(ids: Array<string | undefined>): AuditRow[] {
    const want = new Set(ids.filter((x): x is string => !!x));
    return this.audit.filter((a) => (a.source_id && want.has(a.source_id)) || (a.target_id && want.has(a.target_id)));
  }
}

export class Checker {
  passed = 0;
  private lostWritesChecked = 0;

  constructor(
    private readonly world: World,
    private readonly model: Model,
    readonly enabled: ReadonlySet<Invariant>,
  ) {}

  private expect(failures: Failure[], invariant: Invariant, ok: boolean, detail: () => string): void {
    if (!this.enabled.has(invariant)) return;
    if (ok) this.passed++;
    else failures.push({ invariant, detail: detail() });
  }

  /** Learn the opportunity ids of approved deals the settle just created. */
  learn(o: Observed): void {
    for (const d of this.model.deals.values()) {
      const opps = o.oppsByKey.get(d.key) ?? [];
      if (!d.oppId && d.expected === 'approved' && opps.length === 1) d.oppId = opps[0]!.Id;
    }
  }

  check(o: Observed): Failure[] {
    const f: Failure[] = [];
    for (const d of this.model.deals.values()) this.deal(o, d, f);
    this.lostWrites(o, f);
    this.isolation(o, f);
    this.registrations(o, f);
    return f;
  }

  private deal(o: Observed, d: DealModel, f: Failure[]): void {
    const opps = o.oppsByKey.get(d.key) ?? [];
    const deal = o.deals.get(d.partner.org)?.get(d.dealId);
    const reg = o.registrations.find((r) => r.partner === d.partner.id && r.source_id === d.dealId);
    if (d.raisedPastLimit) {
      this.expect(f, 're-decision', !reg || !['auto-approved', 'approved'].includes(reg.status), () => `${d.key}: amount raised past the ${TIER_LIMIT} auto-approval limit, registration still ${reg?.status}`);
    }
    if (d.expected === 'rejected') {
      this.expect(f, 'registration', opps.length === 0, () => `${d.key} (later registration of ${d.customer}) must be rejected, yet has ${opps.length} vendor opportunit${opps.length === 1 ? 'y' : 'ies'} (${opps.map((x) => `${x.Id} ${x.Registration_Status__c}`).join(', ')})`);
      return;
    }
    if (d.vendorDeleted) {
      const recreated = o.auditOf([d.dealId, d.oppId, ...opps.map((x) => x.Id)]).some((a) => /re-?creat/i.test(a.action) || /re-?creat/i.test(a.text));
      this.expect(f, 'lost-write', opps.length === 0 || recreated, () => `${d.key}: the vendor deleted opportunity ${d.oppId}; it came back as ${opps.map((x) => x.Id).join(', ')} with no audit entry saying it was re-created`);
      this.expect(f, 'convergence', deal?.cosell_source_deleted === 'true', () => `${d.key}: vendor deleted ${d.oppId} (link deletes: flag), deal cosell_source_deleted = ${deal?.cosell_source_deleted}`);
      return;
    }
    if (d.partnerDeleted) {
      const opp = opps[0];
      this.expect(f, 'convergence', !!opp && opp.Cosell_Source_Deleted__c === true, () => `${d.key}: partner deleted the deal (link deletes: flag), opportunity ${opp?.Id ?? '(gone)'} Cosell_Source_Deleted__c = ${opp?.Cosell_Source_Deleted__c}`);
      return;
    }
    if (d.mergedInto) {
      const opp = opps[0];
      const survivor = o.accountOf(d, d.mergedInto);
      if (opp) this.expect(f, 'convergence', !!survivor && opp.AccountId === survivor.Id, () => `${d.key}: company merged into ${d.mergedInto} (account ${survivor?.Id}); opportunity ${opp.Id} AccountId = ${opp.AccountId}`);
      return;
    }
    if (d.frozen) return;
    this.expect(f, 'convergence', opps.length === 1, () => `${d.key} (approved registration of ${d.customer}): ${opps.length} vendor opportunities, want 1`);
    const opp = opps[0];
    if (!opp || !deal) {
      this.expect(f, 'convergence', !!deal, () => `${d.key}: the partner's deal is gone`);
      return;
    }
    const eq = (what: string, got: unknown, want: unknown) => this.expect(f, 'convergence', got === want, () => `${d.key} / ${opp.Id}: ${what} = ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    eq('Opportunity.Name (partner owns the name)', opp.Name, d.name);
    eq('Opportunity.Amount (newest)', num(opp.Amount), d.amount);
    eq('deal.amount (newest)', num(deal.amount), d.amount);
    eq('Opportunity.CloseDate (newest)', opp.CloseDate, d.closeDate);
    eq('deal.closedate (newest)', deal.closedate?.slice(0, 10) ?? null, d.closeDate);
    eq('Opportunity.Partner_Amount__c (= deal amount)', num(opp.Partner_Amount__c), d.amount);
    eq('deal.cosell_vendor_amount (= Opportunity.Amount)', num(deal.cosell_vendor_amount), num(opp.Amount));
    eq('deal.cosell_vendor_stage (= Opportunity.StageName)', deal.cosell_vendor_stage ?? null, opp.StageName);
    if (d.vendorStage) eq('Opportunity.StageName (vendor owns it)', opp.StageName, d.vendorStage);
    eq(`Opportunity.AccountId (account of company ${d.companyId})`, opp.AccountId, o.accountOf(d)?.Id ?? '(company not synced)');
    // Live on both sides: no deletion flag (a restored record's flag is cleared).
    eq('Opportunity.Cosell_Source_Deleted__c (deal live)', opp.Cosell_Source_Deleted__c === true, false);
    eq('deal.cosell_source_deleted (opportunity live)', deal.cosell_source_deleted === 'true', false);
    if (d.restored) {
      const said = o.auditOf([d.dealId, opp.Id]).some((a) => a.action === 'restored');
      this.expect(f, 'convergence', said, () => `${d.key} / ${opp.Id}: restored after a deletion, no audit entry says so (action "restored")`);
    }
  }

  /** Every both-sides conflict the model saw since the last check: the audit names the losing value. */
  private lostWrites(o: Observed, f: Failure[]): void {
    for (const w of this.model.lostWrites.slice(this.lostWritesChecked)) {
      const value = String(w.loserValue);
      const named = o.auditOf([w.deal.dealId, w.deal.oppId]).some((a) => a.text.includes(value));
      this.expect(f, 'lost-write', named, () => `${w.deal.key} / ${w.deal.oppId}: both sides changed ${w.field}; the ${w.loser}'s ${value} lost to ${w.winnerValue} with no audit entry naming it`);
    }
    this.lostWritesChecked = this.model.lostWrites.length;
  }

  /** No record of one partner in another partner's portal: no marker, no id, no opportunity registered by someone else. */
  private isolation(o: Observed, f: Failure[]): void {
    const oppById = new Map(o.opps.map((x) => [x.Id, x]));
    for (const p of this.world.partners) {
      const others = this.world.partners.filter((q) => q !== p);
      for (const [type, records] of [['deal', o.deals.get(p.org)], ['company', o.companies.get(p.org)]] as const) {
        for (const [id, props] of records ?? new Map<string, Props>()) {
          for (const q of others) {
            const leaks = Object.entries(props).filter(([, v]) => typeof v === 'string' && (v.includes(q.marker) || v.includes(`${q.id}:`) || v === q.id));
            this.expect(f, 'isolation', leaks.length === 0, () => `${p.id}'s portal ${type} ${id} carries ${q.id}'s data: ${leaks.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('; ')}`);
          }
          const source = props.cosell_source_id;
          if (type === 'deal' && source) {
            const opp = oppById.get(source);
            this.expect(f, 'isolation', opp?.Registered_Partner_Id__c === p.id, () => `${p.id}'s portal deal ${id} is vendor opportunity ${source} "${opp?.Name}", registered by ${opp?.Registered_Partner_Id__c ?? 'nobody (the vendor\'s own)'}`);
          }
        }
      }
    }
  }

  /** One active registration per customer, and it belongs to the first partner that registered it. */
  private registrations(o: Observed, f: Failure[]): void {
    const active = new Map<string, Set<string>>();
    for (const r of o.registrations) {
      if (!ACTIVE.includes(r.status) || !r.customer_domain) continue;
      active.set(r.customer_domain, (active.get(r.customer_domain) ?? new Set()).add(r.partner));
    }
    for (const [customer, partners] of active) {
      this.expect(f, 'registration', partners.size <= 1, () => `customer ${customer} has active registrations of ${[...partners].join(' and ')}`);
    }
    for (const [customer, keys] of this.model.customers) {
      const deals = keys.map((k) => this.model.deals.get(k)!);
      const first = deals.find((d) => d.expected === 'approved');
      if (!first || first.frozen) continue;
      const reg = o.registrations.find((r) => r.partner === first.partner.id && r.source_id === first.dealId);
      this.expect(f, 'registration', !!reg && ACTIVE.includes(reg.status), () => `${first.key} registered ${customer} first, its registration is ${reg?.status ?? 'missing'}`);
    }
  }
}
