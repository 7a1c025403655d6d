import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { RegistrationState } from '../../rules/index.js';
import { registrationGateFor } from '../../registrations/gate.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { startEngineWorker, terminateTaskQueue, type EngineWorker } from '../helpers/linkWorker.js';
import { testPolicy } from '../helpers/registrations.js';
import { eventually as poll } from '../helpers/wait.js';
import { drain } from '../helpers/drain.js';
import { registrationStatusQuery, registrationHandle } from '../../lib/workflowClient.js';

/**
 * Rules of Engagement enforced on every change, black-box: partners edit their HubSpot deals after
 * the decision, the registration gate and workflows (real dev server) re-decide, and the vendor's
 * Salesforce sandbox shows the result — status held, AccountId following the customer, derived stage
 * fields following the guarded stage, an expired registration's open opportunity still counting.
 */

const POLICY = `
version: 1
currency: USD
matching: { domain: true, name: { threshold: 0.9, requireDomainAgreement: true }, against: { vendorAccounts: ignore, vendorOpportunities: reject, registrations: reject } }
namedAccounts: { action: reject, domains: [], names: [], vendorFlag: true }
territories: { action: review, unknownCountry: review }
dealSize: { minimum: 1000, action: reject }
required: { fields: [customerName, domain, amount], action: reject }
tiers: { gold: { autoApproveUpTo: 100000 }, silver: { autoApproveUpTo: 25000 } }
review: { sla: 1h, onTimeout: escalate }
exclusivity: { period: 45s, extension: 5s, maxExtensions: 1 }
stageGuard:
  vendorStages: [Prospecting, Qualification, Needs Analysis, Value Proposition, Id. Decision Makers, Negotiation/Review, Closed Won, Closed Lost]
  default: Qualification
  caps: { appointmentscheduled: Prospecting, qualifiedtobuy: Qualification, contractsent: Value Proposition }
`;

let sb: TestSandbox;
let ledger: Ledger;
let client: Client;
let run: EngineWorker;
const taskQueue = uniqueQueue('redecision');
const suffix = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const acmeLink = `acme-redecide-${suffix}`;
const globexLink = `globex-redecide-${suffix}`;
const EMPTY = { accounts: 0, opportunities: 0, owners: 1 };
const vendorAccounts: Record<string, string> = {};

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 1, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: EMPTY },
      { id: 'globex', kind: 'hubspot', role: 'partner', seed: EMPTY },
    ],
  }, { uniqueIds: true });
  const conn = sandboxEnv(sb, `RED${suffix.toUpperCase()}`);
  const { policy } = testPolicy(POLICY);
  const network = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acmex, name: Acme Consulting, kind: hubspot, tier: gold, territories: { countries: [US, CA] }, connection: ${conn.acme} }
  - { id: globexx, name: Globex Integrators, kind: hubspot, tier: silver, territories: { countries: [US, DE] }, connection: ${conn.globex} }
links:
  - { id: ${acmeLink}, from: acmex.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, schedule: 1h }
  - { id: ${globexLink}, from: globexx.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, schedule: 1h }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  client = await testClient();
  run = await startEngineWorker({ network, ledger, taskQueue, gateFor: registrationGateFor({ policy, client, taskQueue }), activityDeps: { policy, client } });
  const acts = run.activities;
  await acts.refreshRulesIndex(); // creates the named-account flag
  const vendor = sb.jsforce('vendor');
  for (const [key, a] of Object.entries({
    northwind: { Name: 'Northwind Traders', Website: 'https://northwind.example' },
    fabrikam: { Name: 'Fabrikam Pharma', Website: 'fabrikam-pharma.example' },
    strategic: { Name: 'Strategic Holdings', Website: 'strategic-holdings.example', Named_Account__c: true },
  })) {
    vendorAccounts[key] = ((await vendor.sobject('Account').create({ ...a, BillingCountry: 'United States' })) as { id: string }).id;
  }
  expect((await acts.refreshRulesIndex()).accounts).toBeGreaterThanOrEqual(3);
}, 120_000);

afterAll(async () => {
  await terminateTaskQueue(client, taskQueue);
  await run?.stop();
  await ledger?.close();
  await sb?.stop();
  await client?.connection.close();
});

interface Company {
  name: string;
  domain: string;
  country: string;
}

async function createCompany(org: string, c: Company): Promise<string> {
  return (await sb.hubspot(org).crm.companies.basicApi.create({ properties: { name: c.name, domain: c.domain, country: c.country }, associations: [] })).id;
}

async function createDeal(org: string, d: { name: string; amount: number; stage?: string; company: Company }): Promise<{ deal: string; company: string }> {
  const hs = sb.hubspot(org);
  const company = await createCompany(org, d.company);
  const deal = await hs.crm.deals.basicApi.create({
    properties: { dealname: d.name, amount: String(d.amount), closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: d.stage ?? 'qualifiedtobuy' },
    associations: [],
  });
  await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', company);
  return { deal: deal.id, company };
}

/** The partner moves its deal to another company (and edits the deal, as a rep moving it does). */
async function moveDeal(org: string, deal: string, from: string, to: Company): Promise<void> {
  const hs = sb.hubspot(org);
  const company = await createCompany(org, to);
  await hs.crm.associations.v4.basicApi.archive('deals', deal, 'companies', from);
  await hs.crm.associations.v4.basicApi.createDefault('deals', deal, 'companies', company);
  await hs.crm.deals.basicApi.update(deal, { properties: { description: `moved to ${to.name}` } });
}

const syncLink = (linkId: string) => drain(run.engine, linkId);

/** Poll until truthy; a throw counts as "not yet" (reads while workflows and the sandbox settle). */
const eventually = <T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000) => poll(what, fn, { timeoutMs, retryErrors: true });

/** Registrations are `<partner id>:<deal id>`; the network's partner ids differ from the sandbox org ids so that
 * workflow ids (global on the shared dev server) never collide with other files' `registration:acme:…`. */
const PARTNER_ID: Record<string, string> = { acme: 'acmex', globex: 'globexx' };
const status = (partner: string, deal: string) => registrationHandle(client, `${PARTNER_ID[partner]}:${deal}`).query(registrationStatusQuery);
function waitStatus(partner: string, deal: string, pred: (s: RegistrationState) => boolean, timeoutMs = 45_000): Promise<RegistrationState> {
  let seen = 'no status yet';
  return eventually(`registration ${partner}:${deal}`, async () => {
    const s = await status(partner, deal);
    seen = `last seen ${s.status}${s.check?.ruleId ? ` (${s.check.ruleId})` : ''}`;
    return pred(s) ? s : undefined;
  }, timeoutMs).catch(async (e: Error) => {
    // Where it stood: what the engine recorded about the deal (held/rejected/redecided and why).
    const audit = await ledger.audit.list({ recordId: deal }).catch(() => []);
    const trail = audit.map((a) => `${a.at} ${a.linkId} ${a.action} ${JSON.stringify(a.details ?? {})} ${JSON.stringify(a.decisions ?? [])}`.slice(0, 600)).join('\n  ');
    throw new Error(`${e.message}; ${seen}\n  audit of ${deal}:\n  ${trail}`);
  });
}

async function vendorOpp(partner: string, deal: string) {
  const res = await sb.jsforce('vendor').query<Record<string, unknown>>(
    `SELECT Id, AccountId, Amount, StageName, Probability, ForecastCategoryName, Registration_Status__c, Registered_Partner_Id__c FROM Opportunity WHERE Partner_Deal_Id__c = '${PARTNER_ID[partner]}:${deal}'`,
  );
  return res.records[0];
}

async function partnerDeal(partner: string, deal: string) {
  return (await sb.hubspot(partner).crm.deals.basicApi.getById(deal, ['cosell_registration_status', 'cosell_registration_reason'])).properties;
}

const NEUTRAL_REVIEW = /^The deal changed after approval; the registration is being reviewed again\.$/;
const ids: Record<string, { deal: string; company: string }> = {};

describe('Rules of Engagement on every change (sandbox CRMs, real dev server)', () => {
  it('starts a registration that will expire while the vendor still works its opportunity', async () => {
    ids.expiring = await createDeal('acme', { name: 'Zeta rollout', amount: 20_000, company: { name: 'Zeta Robotics', domain: 'zeta-robotics.example', country: 'US' } });
    await syncLink(acmeLink);
    await waitStatus('acme', ids.expiring.deal, (s) => s.status === 'auto-approved');
    await eventually('vendor opportunity', () => vendorOpp('acme', ids.expiring.deal));
  });

  it('a deal raised 250× after auto-approval is reviewed again: the vendor opportunity is held pending (amount not raised), the partner reads a neutral reason, audited', async () => {
    ids.raise = await createDeal('acme', { name: 'Omega pilot', amount: 5_000, company: { name: 'Omega Foods', domain: 'omega-foods.example', country: 'US' } });
    await syncLink(acmeLink);
    await waitStatus('acme', ids.raise.deal, (s) => s.status === 'auto-approved');
    expect(await eventually('approved opportunity', () => vendorOpp('acme', ids.raise.deal))).toMatchObject({ Amount: 5000, Registration_Status__c: 'Approved' });

    await sb.hubspot('acme').crm.deals.basicApi.update(ids.raise.deal, { properties: { amount: String(5_000 * 250) } });
    await syncLink(acmeLink);
    const s = await waitStatus('acme', ids.raise.deal, (x) => x.status === 'pending-review');
    expect(s.history.at(-1)).toMatchObject({ from: 'auto-approved', to: 'pending-review', by: 'rules' });
    const opp = await eventually('held opportunity', async () => {
      const o = await vendorOpp('acme', ids.raise.deal);
      return o?.Registration_Status__c === 'Pending Review' ? o : undefined;
    });
    expect(opp.Amount).toBe(5000); // the raise waits for a person
    const deal = await eventually('write-back', async () => ((await partnerDeal('acme', ids.raise.deal)).cosell_registration_status === 'pending_review' ? partnerDeal('acme', ids.raise.deal) : undefined));
    expect(deal.cosell_registration_reason).toMatch(NEUTRAL_REVIEW);
    const audit = await ledger.audit.list({ action: 'registration.redecided', recordId: ids.raise.deal });
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ from: 'auto-approved', to: 'pending-review', changes: ['amount'], ruleId: 'tier-auto-approval', before: { amount: 5000 }, after: { amount: 1_250_000 } });
    // Syncing the partner's deal again (our own write-back changed it) does not re-decide it again.
    await syncLink(acmeLink);
    expect(await ledger.audit.list({ action: 'registration.redecided', recordId: ids.raise.deal })).toHaveLength(1);
  });

  it('the vendor AccountId is the matched vendor account, a created one when none matches, and follows a deal moved to another company', async () => {
    ids.move = await createDeal('acme', { name: 'Northwind renewal', amount: 30_000, company: { name: 'Northwind Traders Inc.', domain: 'www.northwind.example', country: 'US' } });
    ids.fresh = await createDeal('acme', { name: 'Kappa new logo', amount: 12_000, company: { name: 'Kappa Analytics', domain: 'kappa-analytics.example', country: 'US' } });
    await syncLink(acmeLink);
    await waitStatus('acme', ids.move.deal, (s) => s.status === 'auto-approved');
    expect(await eventually('opportunity', () => vendorOpp('acme', ids.move.deal))).toMatchObject({ AccountId: vendorAccounts.northwind });
    const fresh = await eventually('opportunity', () => vendorOpp('acme', ids.fresh.deal));
    expect(fresh.AccountId).toBeTruthy();
    const created = await sb.jsforce('vendor').sobject('Account').retrieve(fresh.AccountId as string);
    expect(created).toMatchObject({ Name: 'Kappa Analytics', Website: 'kappa-analytics.example' });

    await moveDeal('acme', ids.move.deal, ids.move.company, { name: 'Fabrikam Pharma', domain: 'fabrikam-pharma.example', country: 'US' });
    await syncLink(acmeLink);
    await eventually('AccountId follows', async () => (await vendorOpp('acme', ids.move.deal))?.AccountId === vendorAccounts.fabrikam);
    const audit = await ledger.audit.list({ action: 'registration.redecided', recordId: ids.move.deal });
    expect(audit.map((a) => a.details)).toEqual([expect.objectContaining({ from: 'auto-approved', to: 'auto-approved', changes: ['customer', 'account'] })]);
  });

  it('the customer claim moves with a deal moved to another company: the ledger holds the new customer, the old one is free for another partner', async () => {
    // ids.move went from Northwind to Fabrikam above (re-decided, still approved).
    const reg = await ledger.registrations.get(`${PARTNER_ID.acme}:${ids.move!.deal}`);
    expect(reg).toMatchObject({ status: 'auto-approved', customerKey: 'domain:fabrikam-pharma.example', customerDomain: 'fabrikam-pharma.example', customerName: 'Fabrikam Pharma' });
    const other = await createDeal('globex', { name: 'Northwind for Globex', amount: 20_000, company: { name: 'Northwind Traders Inc.', domain: 'northwind.example', country: 'US' } });
    await syncLink(globexLink);
    const s = await waitStatus('globex', other.deal, (x) => x.status !== 'submitted' && x.status !== 'checked');
    expect(s.status).toBe('auto-approved');
    expect((await ledger.registrations.list({ customerKey: 'domain:northwind.example' })).filter((r) => r.status === 'auto-approved').map((r) => r.partner)).toEqual([PARTNER_ID.globex]);
  });

  it('a deal moved to a named account is re-decided and rejected; the partner is told without naming it', async () => {
    ids.named = await createDeal('acme', { name: 'Theta upgrade', amount: 15_000, company: { name: 'Theta Labs', domain: 'theta-labs.example', country: 'US' } });
    await syncLink(acmeLink);
    await waitStatus('acme', ids.named.deal, (s) => s.status === 'auto-approved');
    await eventually('opportunity', () => vendorOpp('acme', ids.named.deal));
    await moveDeal('acme', ids.named.deal, ids.named.company, { name: 'Strategic Holdings', domain: 'strategic-holdings.example', country: 'US' });
    await syncLink(acmeLink);
    const s = await waitStatus('acme', ids.named.deal, (x) => x.status === 'rejected');
    expect(s.check?.ruleId).toBe('named-account');
    await eventually('vendor shows it rejected', async () => (await vendorOpp('acme', ids.named.deal))?.Registration_Status__c === 'Rejected');
    const deal = await eventually('write-back', async () => ((await partnerDeal('acme', ids.named.deal)).cosell_registration_status === 'rejected' ? partnerDeal('acme', ids.named.deal) : undefined));
    expect(deal.cosell_registration_reason).toBe('The deal changed after approval; the registration no longer qualifies.');
  });

  it('a stage-guarded deal: Probability and forecast category follow the guarded vendor stage, not the partner\'s Closed/100', async () => {
    ids.stage = await createDeal('acme', { name: 'Iota closed on our side', amount: 10_000, stage: 'closedwon', company: { name: 'Iota Systems', domain: 'iota-systems.example', country: 'US' } });
    await syncLink(acmeLink);
    await waitStatus('acme', ids.stage.deal, (s) => s.status === 'auto-approved');
    const opp = await eventually('opportunity', () => vendorOpp('acme', ids.stage.deal));
    expect(opp.StageName).toBe('Qualification');
    expect(opp.Probability).not.toBe(100);
    expect(opp.ForecastCategoryName).not.toBe('Closed');
    // What Salesforce derives from Qualification (the sandbox's stage table).
    expect(opp).toMatchObject({ Probability: 10, ForecastCategoryName: 'Pipeline' });
  });

  it('after expiry, a second partner registering the customer meets the vendor\'s still-open opportunity, not auto-approval', async () => {
    const s = await status('acme', ids.expiring.deal);
    await waitStatus('acme', ids.expiring.deal, (x) => x.status === 'expired', Math.max(0, Date.parse(s.expiresAt!) - Date.now()) + 30_000);
    await eventually('expired on the vendor', async () => (await vendorOpp('acme', ids.expiring.deal))?.Registration_Status__c === 'Expired');
    await run.activities.refreshRulesIndex();
    const second = await createDeal('globex', { name: 'Zeta via Globex', amount: 10_000, company: { name: 'Zeta Robotics', domain: 'zeta-robotics.example', country: 'US' } });
    await syncLink(globexLink);
    const g = await waitStatus('globex', second.deal, (x) => x.status !== 'submitted' && x.status !== 'checked');
    expect(g.status).toBe('rejected');
    expect(g.check?.ruleId).toBe('vendor-opportunity');
    expect(await vendorOpp('globex', second.deal)).toBeUndefined();
  }, 90_000);
});
