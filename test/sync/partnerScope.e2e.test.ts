import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistrationActivities } from '../../activities/registration.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { loadPolicy, type Policy } from '../../rules/index.js';
import { Engine } from '../../sync/build.js';
import { SCOPE_UNSETTLED } from '../../sync/partnerScope.js';
import { replayDeadLetters } from '../../sync/page.js';
import { registrationGateFor } from '../../registrations/gate.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { copyStockMapping } from './helpers.js';
import { drain } from '../helpers/drain.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Partner scope is the engine's, not the mapping's: with vendor→partner mappings that have NO filter
 * at all, random deals of two partners (on the same customers, all auto-approved) and the vendor's
 * own opportunities go through the real links on the sandbox CRMs — and no record of partner A, nor
 * any vendor-only opportunity or account, ever appears in partner B's portal. A partner attributed
 * onto another partner's deal does receive it; a vendor account reaches a partner only through one
 * of its opportunities that is in scope.
 */

const POLICY = `
version: 1
currency: USD
matching:
  domain: true
  name: { threshold: 0.9, requireDomainAgreement: true }
  against: { vendorAccounts: ignore, vendorOpportunities: reject, registrations: reject }
territories: { action: review, unknownCountry: review }
dealSize: { minimum: 1, action: reject }
required: { fields: [customerName, amount], action: reject }
tiers: { gold: { autoApproveUpTo: 10000000 }, silver: { autoApproveUpTo: 10000000 } }
review: { sla: 1h, onTimeout: escalate, escalateTo: ops }
exclusivity: { period: 30d, extension: 30d, maxExtensions: 1 }
attribution:
  roles:
    sourcing: { defaultSplit: 60, sourced: true }
    services: { defaultSplit: 25 }
    reseller: { defaultSplit: 10 }
    influence: { defaultSplit: 5 }
`;

const PARTNERS = ['acme', 'globex'] as const;
type PartnerId = (typeof PARTNERS)[number];

let sb: TestSandbox;
let ledger: Ledger;
let engine: Engine;
let policy: Policy;
let vendorOnly: { opportunities: string[]; accounts: string[] };

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 6, opportunities: 8, owners: 2 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
      { id: 'globex', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
    ],
  }, { uniqueIds: true });
  const conn = sandboxEnv(sb, 'SCOPE');
  const dir = tempDir('cosell-scope-');
  writeFileSync(path.join(dir, 'roe.yaml'), POLICY);
  policy = loadPolicy(path.join(dir, 'roe.yaml'));
  // Permissive on purpose: the stock "only this partner's opportunities / accounts" filters removed.
  const opps = copyStockMapping(dir, 'salesforce-opportunity-to-hubspot-deal.yaml', [[/^filter: .*$/m, '']]);
  const accounts = copyStockMapping(dir, 'salesforce-account-to-hubspot-company.yaml', [[/^filter: .*$/m, '']]);
  const network = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, roles: [sourcing, services], connection: ${conn.acme} }
  - { id: globex, name: Globex Integrators, kind: hubspot, tier: silver, roles: [sourcing, services], connection: ${conn.globex} }
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, pairedWith: opps-to-acme }
  - { id: opps-to-acme, from: vendor.Opportunity, to: acme.deals, mapping: ${opps}, pairedWith: acme-deals }
  - { id: globex-deals, from: globex.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, pairedWith: opps-to-globex }
  - { id: opps-to-globex, from: vendor.Opportunity, to: globex.deals, mapping: ${opps}, pairedWith: globex-deals }
  - { id: accounts-to-acme, from: vendor.Account, to: acme.companies, mapping: ${accounts} }
  - { id: accounts-to-globex, from: vendor.Account, to: globex.companies, mapping: ${accounts} }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  engine = new Engine({ network, ledger, gateFor: registrationGateFor({ policy }) });
  const v = sb.jsforce('vendor');
  vendorOnly = {
    opportunities: (await v.query<{ Name: string }>('SELECT Name FROM Opportunity')).records.map((r) => r.Name),
    accounts: (await v.query<{ Name: string }>('SELECT Name FROM Account')).records.map((r) => r.Name),
  };
  expect(vendorOnly.opportunities.length).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await ledger?.close();
  await sb?.stop();
});

async function portal(partner: PartnerId): Promise<{ deals: Array<Record<string, string | null>>; companies: Array<Record<string, string | null>> }> {
  const hs = sb.hubspot(partner);
  const deals = await hs.crm.deals.getAll(undefined, undefined, ['dealname', 'description', 'cosell_source_id', 'hs_next_step']);
  const companies = await hs.crm.companies.getAll(undefined, undefined, ['name', 'domain', 'cosell_source_id', 'description']);
  return { deals: deals.map((d) => d.properties), companies: companies.map((c) => c.properties) };
}

async function syncAll(): Promise<Record<string, Record<string, number>>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const l of ['acme-deals', 'globex-deals', 'opps-to-acme', 'opps-to-globex', 'accounts-to-acme', 'accounts-to-globex']) counts[l] = await drain(engine, l);
  // What the link workflow does after each catch-up: refusals of just-changed records are re-checked.
  for (const l of ['opps-to-acme', 'opps-to-globex', 'accounts-to-acme', 'accounts-to-globex']) await replayDeadLetters(await engine.link(l), { codes: [SCOPE_UNSETTLED] });
  return counts;
}

/** Every name a partner typed, per partner (what must never cross to the other). */
const typed: Record<PartnerId, string[]> = { acme: [], globex: [] };
/** Names a partner legitimately receives from another (attributed onto that deal). */
const shared: Record<PartnerId, Set<string>> = { acme: new Set(), globex: new Set() };

async function assertIsolated(): Promise<void> {
  for (const p of PARTNERS) {
    const other = p === 'acme' ? 'globex' : 'acme';
    const { deals, companies } = await portal(p);
    const text = JSON.stringify([deals, companies]);
    for (const name of typed[other]) if (!shared[p].has(name)) expect(text, `${other}'s deal "${name}" in ${p}'s portal`).not.toContain(name);
    for (const name of vendorOnly.opportunities) expect(text, `vendor-only opportunity "${name}" in ${p}'s portal`).not.toContain(name);
    for (const name of vendorOnly.accounts) expect(text, `vendor-only account "${name}" in ${p}'s portal`).not.toContain(name);
  }
}

describe('partner scope, enforced by the engine (permissive mappings, real links, sandbox CRMs)', () => {
  it("random deals of two partners on shared customers: none reaches the other partner's portal", async () => {
    const deal = fc.record({
      partner: fc.constantFrom(...PARTNERS),
      // Shared customers race (first to register wins, the other is rejected); unique ones are all approved.
      customer: fc.oneof(fc.constantFrom('Initrode', 'Hooli', 'Umbrella'), fc.stringMatching(/^Cust[a-z]{6}$/)),
      amount: fc.integer({ min: 1000, max: 900_000 }),
      tag: fc.stringMatching(/^[a-z0-9]{8}$/),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(deal, { minLength: 2, maxLength: 6 }), async (deals) => {
        for (const d of deals) {
          const name = `${d.partner.toUpperCase()}ONLY Secret Deal ${d.customer} ${d.tag}`;
          typed[d.partner].push(name);
          await sb.hubspot(d.partner).crm.deals.basicApi.create({
            properties: { dealname: name, amount: String(d.amount), closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy', description: `${d.partner} notes ${d.tag}` },
            associations: [],
          });
        }
        const counts = await syncAll();
        // The vendor's progress still flows back onto each partner's own deals.
        for (const p of PARTNERS) if (deals.some((d) => d.partner === p)) expect(counts[`opps-to-${p}`]!.read ?? 0).toBeGreaterThan(0);
        await assertIsolated();
      }),
      { numRuns: 4 },
    );
    // Own deals came back: every partner deal now carries the vendor's stage.
    for (const p of PARTNERS) {
      const { deals } = await portal(p);
      const own = deals.filter((d) => typed[p].includes(d.dealname ?? ''));
      expect(own.length).toBe(typed[p].length);
    }
    // Refusals are audited with ids and the rule only.
    const refused = await ledger.audit.list({ action: 'scope-refused' });
    for (const a of refused) expect(JSON.stringify(a)).not.toMatch(/ONLY Secret Deal/);
  }, 300_000);

  it('a partner attributed onto another partner’s deal receives that deal (and only that one)', async () => {
    const reg = (await ledger.registrations.list({ partner: 'acme' })).find((r) => r.status === 'auto-approved')!;
    const acts = createRegistrationActivities({ engine, policy });
    await acts.setRegistrationAttribution({ id: reg.id, linkId: 'acme-deals', sourceId: reg.sourceId, by: 'cam', partners: [{ partnerId: 'acme', role: 'sourcing' }, { partnerId: 'globex', role: 'services' }] });
    const name = typed.acme.find((n) => n.includes(reg.customerName ?? '\u0000')) ?? reg.customerName!;
    shared.globex.add(name);
    await syncAll();
    const { deals } = await portal('globex');
    expect(deals.map((d) => d.dealname)).toContain(name);
    await assertIsolated();
  }, 120_000);

  it('a vendor account reaches a partner only through an in-scope opportunity at it', async () => {
    const v = sb.jsforce('vendor');
    const account = (await v.query<{ Id: string; Name: string }>('SELECT Id, Name FROM Account')).records[0]!;
    const reg = (await ledger.registrations.list({ partner: 'globex' })).find((r) => r.vendorOpportunityId || r.status === 'auto-approved')!;
    const pair = (await ledger.pairs.bySource('globex-deals', [reg.sourceId])).get(reg.sourceId)!;
    await v.sobject('Opportunity').update({ Id: pair.targetId, AccountId: account.Id });
    // Scope is judged when the account changes (an opportunity moving to it does not re-send the account).
    await v.sobject('Account').update({ Id: account.Id, Description: 'touched by the vendor' });
    vendorOnly.accounts = vendorOnly.accounts.filter((n) => n !== account.Name);
    shared.acme.add(account.Name); // the account name is not acme's to see either: checked below
    await syncAll();
    const globex = await portal('globex');
    expect(globex.companies.map((c) => c.name)).toContain(account.Name);
    const acme = await portal('acme');
    expect(acme.companies.map((c) => c.name)).not.toContain(account.Name);
    await assertIsolated();
  }, 120_000);
});
