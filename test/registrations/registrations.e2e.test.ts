import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { Policy, RegistrationState } from '../../rules/index.js';
import { registrationGateFor } from '../../registrations/gate.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { temporalAddress, testClient, uniqueQueue } from '../helpers/temporal.js';
import { startEngineWorker, terminateTaskQueue, type EngineWorker } from '../helpers/linkWorker.js';
import { testPolicy } from '../helpers/registrations.js';
import { eventually as poll } from '../helpers/wait.js';
import { drain } from '../helpers/drain.js';
import { main as cosellMain } from '../../cli/main.js';
import { attributeUpdate, decideUpdate, extendUpdate, registrationStatusQuery, registrationHandle } from '../../lib/workflowClient.js';

/**
 * Deal registrations end to end: the partner link's registration gate decides with the Rules of
 * Engagement, registration workflows run on the real dev server, the sandbox CRMs show the result
 * (vendor opportunities with attribution, statuses written back onto the partners' deals).
 * One sandbox, one worker, one ledger for the whole file; durations are seconds.
 */

const POLICY = `
version: 1
currency: USD
matching:
  domain: true
  name: { threshold: 0.9, requireDomainAgreement: true }
  against: { vendorAccounts: ignore, vendorOpportunities: reject, registrations: reject }
namedAccounts: { action: reject, domains: [bigbank.com], names: [], vendorFlag: true }
territories: { action: review, unknownCountry: review }
dealSize: { minimum: 1000, action: reject }
required: { fields: [customerName, domain, amount], action: reject }
tiers: { gold: { autoApproveUpTo: 100000 }, silver: { autoApproveUpTo: 25000 }, registered: { autoApproveUpTo: 0 } }
review: { sla: 4s, onTimeout: escalate, escalateTo: channel-ops }
exclusivity: { period: 15s, extension: 5s, maxExtensions: 1 }
stageGuard:
  vendorStages: [Prospecting, Qualification, Needs Analysis, Value Proposition, Id. Decision Makers, Negotiation/Review, Closed Won, Closed Lost]
  default: Qualification
  caps: { appointmentscheduled: Prospecting, qualifiedtobuy: Qualification, contractsent: Value Proposition }
attribution:
  roles:
    sourcing: { defaultSplit: 60, sourced: true }
    services: { defaultSplit: 25 }
    reseller: { defaultSplit: 15 }
    influence: { defaultSplit: 5 }
`;

let sb: TestSandbox;
let ledger: Ledger;
let client: Client;
let run: EngineWorker;
let policy: Policy;
let acts: EngineWorker['activities'];
let ledgerFile: string;
let cliConfig: string;
const taskQueue = uniqueQueue('registrations');
const suffix = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const acmeLink = `acme-deals-${suffix}`;
const globexLink = `globex-deals-${suffix}`;
const EMPTY = { accounts: 0, opportunities: 0, owners: 1 };

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 3, opportunities: 2, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: EMPTY },
      { id: 'globex', kind: 'hubspot', role: 'partner', seed: EMPTY },
      { id: 'initech', kind: 'hubspot', role: 'partner', seed: EMPTY },
    ],
  }, { uniqueIds: true });
  const conn = sandboxEnv(sb, `REG${suffix.toUpperCase()}`);
  const roe = testPolicy(POLICY);
  const dir = roe.dir;
  policy = roe.policy;
  const network = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, territories: { countries: [US, CA] }, roles: [sourcing, services], connection: ${conn.acme} }
  - { id: globex, name: Globex Integrators, kind: hubspot, tier: silver, territories: { countries: [DE, FR, GB] }, roles: [sourcing, services, influence], connection: ${conn.globex} }
  - { id: initech, name: Initech Partners, kind: hubspot, tier: registered, roles: [reseller], connection: ${conn.initech} }
links:
  - { id: ${acmeLink}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, schedule: 1h }
  - { id: ${globexLink}, from: globex.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, schedule: 1h }
`);
  ledgerFile = tempLedgerFile();
  ledger = await openLedger({ file: ledgerFile });
  // What ops point the CLI at: only the ledger entry of the network file is read by list/show.
  cliConfig = path.join(dir, 'cosell.yaml');
  writeFileSync(cliConfig, `ledger: { file: ${ledgerFile} }\n`);
  client = await testClient();
  run = await startEngineWorker({ network, ledger, taskQueue, gateFor: registrationGateFor({ policy, client, taskQueue }), activityDeps: { policy, client } });
  acts = run.activities;
  // Build the vendor index (creates the named-account flag), then the vendor-side facts the rules match.
  await acts.refreshRulesIndex();
  const vendor = sb.jsforce('vendor');
  const initrode = (await vendor.sobject('Account').create({ Name: 'Initrode Corporation', Website: 'https://www.initrode.com', BillingCountry: 'United States' })) as { id: string };
  await vendor.sobject('Opportunity').create({ Name: 'Initrode - direct', AccountId: initrode.id, StageName: 'Qualification', CloseDate: '2027-03-01', Amount: 90000 });
  await vendor.sobject('Account').create({ Name: 'Strategic Holdings', Website: 'strategic-holdings.com', BillingCountry: 'United States', Named_Account__c: true });
  const r = await acts.refreshRulesIndex();
  expect(r.accounts).toBeGreaterThanOrEqual(2);
}, 120_000);

afterAll(async () => {
  await terminateTaskQueue(client, taskQueue);
  await run?.stop();
  await ledger?.close();
  await sb?.stop();
  await client?.connection.close();
});

interface DealSpec {
  name: string;
  amount: number;
  stage?: string;
  company: { name: string; domain: string; country: string };
}

async function createDeal(org: string, d: DealSpec): Promise<string> {
  const hs = sb.hubspot(org);
  const company = await hs.crm.companies.basicApi.create({ properties: { name: d.company.name, domain: d.company.domain, country: d.company.country }, associations: [] });
  const deal = await hs.crm.deals.basicApi.create({
    properties: { dealname: d.name, amount: String(d.amount), closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: d.stage ?? 'qualifiedtobuy' },
    associations: [],
  });
  await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', company.id);
  return deal.id;
}

const syncLink = (linkId: string) => drain(run.engine, linkId);

/** Poll until truthy; a throw counts as "not yet" (reads while workflows and the sandbox settle). */
const eventually = <T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000) => poll(what, fn, { timeoutMs, retryErrors: true });

const handle = (partner: string, dealId: string) => registrationHandle(client, `${partner}:${dealId}`);
const status = (partner: string, dealId: string) => handle(partner, dealId).query(registrationStatusQuery);
async function waitStatus(partner: string, dealId: string, pred: (s: RegistrationState) => boolean, timeoutMs?: number): Promise<RegistrationState> {
  return eventually(`registration ${partner}:${dealId}`, async () => {
    const s = await status(partner, dealId);
    return pred(s) ? s : undefined;
  }, timeoutMs);
}

async function vendorOpp(partner: string, dealId: string) {
  const res = await sb.jsforce('vendor').query<Record<string, unknown>>(
    `SELECT Id, StageName, Registered_Partner__c, Registered_Partner_Id__c, Registration_Status__c, Registration_Expiry__c, Partner_Role__c, Partner_Attribution__c, Partner_Attribution_Type__c FROM Opportunity WHERE Partner_Deal_Id__c = '${partner}:${dealId}'`,
  );
  return res.records[0];
}

async function partnerDeal(partner: string, dealId: string) {
  const d = await sb.hubspot(partner).crm.deals.basicApi.getById(dealId, ['cosell_registration_status', 'cosell_registration_reason', 'cosell_registration_expiry']);
  return d.properties;
}

const ids: Record<string, string> = {};

/** Run the cosell CLI in-process against the test dev server; returns stdout + stderr. */
async function cli(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (c: unknown) => (chunks.push(String(c)), true);
  const prevAddress = process.env.TEMPORAL_ADDRESS;
  process.env.TEMPORAL_ADDRESS = temporalAddress();
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    await cosellMain(['node', 'cosell', ...args]);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    if (prevAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = prevAddress;
    process.exitCode = 0;
  }
  return chunks.join('');
}

/** The reason a workflow update was refused (the SDK wraps it as the failure's cause). */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { cause?: Error };
    return `${err.message}: ${err.cause?.message ?? ''}`;
  }
  throw new Error('the update was accepted');
}

describe('deal registrations on the real dev server and sandbox CRMs', () => {
  it('auto-approves within the tier limit: attributed vendor opportunity, stage capped, status written back, search attribute', async () => {
    ids.auto = await createDeal('acme', { name: 'Alpha rollout', amount: 50_000, stage: 'contractsent', company: { name: 'Alpha Widgets Inc.', domain: 'alpha-widgets.com', country: 'United States' } });
    await syncLink(acmeLink);
    const s = await waitStatus('acme', ids.auto, (x) => x.status === 'auto-approved');
    expect(s.check?.ruleId).toBe('tier-auto-approval');
    const opp = await eventually('vendor opportunity', () => vendorOpp('acme', ids.auto));
    expect(opp).toMatchObject({ Registered_Partner__c: 'Acme Consulting', Registered_Partner_Id__c: 'acme', Registration_Status__c: 'Approved', Partner_Role__c: 'Sourcing', Partner_Attribution_Type__c: 'sourced' });
    expect(opp.Registration_Expiry__c).toBe(s.expiresAt!.slice(0, 10));
    // contractsent maps to Negotiation/Review, but the policy lets a partner push at most to Value Proposition.
    expect(opp.StageName).toBe('Value Proposition');
    const deal = await eventually('write-back', async () => ((await partnerDeal('acme', ids.auto)).cosell_registration_status === 'approved' ? partnerDeal('acme', ids.auto) : undefined));
    expect(deal.cosell_registration_expiry).toBe(s.expiresAt!.slice(0, 10));
    const desc = await eventually('search attribute', async () => {
      const d = await handle('acme', ids.auto).describe();
      return (d.searchAttributes as Record<string, unknown>).CosellRegistrationStatus?.toString() === 'auto-approved' ? d : undefined;
    });
    expect(desc.searchAttributes).toMatchObject({ CosellKind: ['registration'], CosellPartner: ['acme'] });
    // The workflow's effects record the vendor opportunity after the write-back (applyRegistrationEffects).
    const reg = await eventually('vendor opportunity in the ledger', async () => {
      const r = await ledger.registrations.get(`acme:${ids.auto}`);
      return r?.vendorOpportunityId ? r : undefined;
    });
    expect(reg).toMatchObject({ status: 'auto-approved', customerDomain: 'alpha-widgets.com', country: 'US', vendorOpportunityId: opp.Id });
  });

  it('protects the registered partner during exclusivity: a vendor-side change of attribution is undone and audited', async () => {
    const opp = (await vendorOpp('acme', ids.auto))!;
    await sb.jsforce('vendor').sobject('Opportunity').update({ Id: opp.Id as string, Registered_Partner_Id__c: 'globex', Registered_Partner__c: 'Globex Integrators' });
    const r = await acts.refreshRulesIndex();
    expect(r.protected).toBe(1);
    expect(await vendorOpp('acme', ids.auto)).toMatchObject({ Registered_Partner_Id__c: 'acme', Registered_Partner__c: 'Acme Consulting' });
    const audit = await ledger.audit.list({ action: 'attribution-protected' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ targetId: opp.Id, before: { Registered_Partner_Id__c: 'globex' }, after: { Registered_Partner_Id__c: 'acme' } });
    expect((await acts.refreshRulesIndex()).protected).toBe(0); // our own restore is not a new conflict
  });

  it('extends exclusivity once, refuses a second extension', async () => {
    const before = await status('acme', ids.auto);
    const after = await handle('acme', ids.auto).executeUpdate(extendUpdate, { args: [{ by: 'cam@contoso.example', reason: 'customer asked for time' }] });
    expect(after.extensions).toBe(1);
    expect(Date.parse(after.expiresAt!) - Date.parse(before.expiresAt!)).toBe(5000);
    expect(await refusal(handle('acme', ids.auto).executeUpdate(extendUpdate, { args: [{ by: 'cam@contoso.example' }] }))).toMatch(/at most 1 extension/);
  });

  it('rejects a deal below the minimum size: never in the vendor pipeline, reason written back', async () => {
    ids.small = await createDeal('acme', { name: 'Tiny deal', amount: 500, company: { name: 'Small Shop LLC', domain: 'smallshop.com', country: 'US' } });
    await syncLink(acmeLink);
    const s = await waitStatus('acme', ids.small, (x) => x.status === 'rejected');
    expect(s.check?.ruleId).toBe('min-deal-size');
    const deal = await eventually('write-back', async () => ((await partnerDeal('acme', ids.small)).cosell_registration_status === 'rejected' ? partnerDeal('acme', ids.small) : undefined));
    // The partner reads a fixed sentence for the rule; the internal reason (with the figures) stays in the ledger.
    expect(deal.cosell_registration_reason).toBe('The deal is below the minimum size for registration.');
    expect(s.reason).toMatch(/below the minimum deal size/);
    expect(await vendorOpp('acme', ids.small)).toBeUndefined();
    expect(await handle('acme', ids.small).result()).toMatchObject({ status: 'rejected' });
  });

  it('rejects a duplicate of an open vendor opportunity and a named account, naming the matched records in the audit', async () => {
    ids.dup = await createDeal('acme', { name: 'Initrode expansion', amount: 20_000, company: { name: 'Initrode Corp', domain: 'initrode.com', country: 'US' } });
    ids.named = await createDeal('acme', { name: 'Strategic deal', amount: 20_000, company: { name: 'Strategic Holdings', domain: 'strategic-holdings.com', country: 'US' } });
    await syncLink(acmeLink);
    const dup = await waitStatus('acme', ids.dup, (x) => x.status === 'rejected');
    expect(dup.check?.ruleId).toBe('vendor-opportunity');
    const named = await waitStatus('acme', ids.named, (x) => x.status === 'rejected');
    expect(named.check?.ruleId).toBe('named-account');
    const decided = (await ledger.audit.list({ action: 'registration.decided', recordId: ids.dup }))[0]!;
    expect((decided.decisions as any[])[0].matches.map((m: any) => m.kind)).toContain('vendor-opportunity');
    expect(await vendorOpp('acme', ids.dup)).toBeUndefined();
    expect(await vendorOpp('acme', ids.named)).toBeUndefined();
  });

  it('first to register wins: a second partner registering the same customer is rejected naming the first', async () => {
    ids.conflict = await createDeal('globex', { name: 'Alpha via Globex', amount: 10_000, company: { name: 'Alpha Widgets', domain: 'www.alpha-widgets.com', country: 'DE' } });
    await syncLink(globexLink);
    const s = await waitStatus('globex', ids.conflict, (x) => x.status === 'rejected');
    expect(s.check?.ruleId).toBe('first-to-register');
    expect(s.reason).toContain(`acme:${ids.auto}`); // internal: names the first registration
    // Written back to globex: neither the other partner, its registration, nor the customer as acme typed it.
    const deal = await eventually('write-back', async () => ((await partnerDeal('globex', ids.conflict)).cosell_registration_status === 'rejected' ? partnerDeal('globex', ids.conflict) : undefined));
    expect(deal.cosell_registration_reason).toBe('The customer is already covered; the registration cannot be accepted.');
    for (const leak of ['acme', 'Acme', `acme:${ids.auto}`, 'Alpha Widgets Inc.', 'Alpha rollout']) expect(JSON.stringify(deal)).not.toContain(leak);
    expect(await vendorOpp('globex', ids.conflict)).toBeUndefined();
  });

  it('sends an out-of-territory deal to review (held), escalates when the SLA runs out, then a person rejects it', async () => {
    ids.territory = await createDeal('acme', { name: 'Gamma Germany', amount: 20_000, company: { name: 'Gamma GmbH', domain: 'gamma.de', country: 'Germany' } });
    await syncLink(acmeLink);
    const s = await waitStatus('acme', ids.territory, (x) => x.status === 'pending-review');
    expect(s.check?.ruleId).toBe('territory');
    expect(await vendorOpp('acme', ids.territory)).toBeUndefined(); // held: not in the vendor pipeline
    await eventually('pending write-back', async () => (await partnerDeal('acme', ids.territory)).cosell_registration_status === 'pending_review');
    const escalated = await waitStatus('acme', ids.territory, (x) => x.escalated, 20_000);
    expect(escalated.status).toBe('pending-review');
    // The workflow's state shows escalation before its effects activity has appended the audit: wait for it.
    const escalations = await eventually('escalation audit', async () => {
      const rows = await ledger.audit.list({ action: 'registration.escalated', recordId: ids.territory });
      return rows.length ? rows : undefined;
    });
    expect(escalations).toHaveLength(1);
    const done = await handle('acme', ids.territory).executeUpdate(decideUpdate, { args: [{ action: 'reject', by: 'cam@contoso.example', reason: 'Germany is covered by Globex' }] });
    expect(done).toMatchObject({ status: 'rejected', decidedBy: 'cam@contoso.example' });
    // A person's free-text reason names another partner: the partner reads the neutral sentence, the ledger keeps the text.
    await eventually('rejected write-back', async () => (await partnerDeal('acme', ids.territory)).cosell_registration_reason === 'The vendor did not accept the registration.');
    expect((await ledger.registrations.get(`acme:${ids.territory}`))?.reason).toBe('Germany is covered by Globex');
    expect(await vendorOpp('acme', ids.territory)).toBeUndefined();
  });

  it('review then approve: a held deal above the tier limit enters the vendor pipeline only when a person approves it', async () => {
    ids.big = await createDeal('acme', { name: 'Delta enterprise', amount: 250_000, company: { name: 'Delta Logistics', domain: 'delta-logistics.com', country: 'CA' } });
    await syncLink(acmeLink);
    await waitStatus('acme', ids.big, (x) => x.status === 'pending-review');
    expect(await refusal(handle('acme', ids.big).executeUpdate(decideUpdate, { args: [{ action: 'approve', by: '', reason: 'ok' }] }))).toMatch(/who decided/);
    expect(await vendorOpp('acme', ids.big)).toBeUndefined();
    const s = await handle('acme', ids.big).executeUpdate(decideUpdate, { args: [{ action: 'approve', by: 'cam@contoso.example', reason: 'strategic partner deal' }] });
    expect(s.status).toBe('approved');
    const opp = await eventually('approved opportunity', () => vendorOpp('acme', ids.big));
    expect(opp).toMatchObject({ Registration_Status__c: 'Approved', Registered_Partner_Id__c: 'acme' });
    await eventually('approved write-back', async () => (await partnerDeal('acme', ids.big)).cosell_registration_status === 'approved');
  });

  it('a three-partner deal: roles and splits summing to 100%, sourced vs influenced; bad splits are refused', async () => {
    const bad = await refusal(
      handle('acme', ids.big).executeUpdate(attributeUpdate, { args: [{ by: 'cam', partners: [{ partnerId: 'acme', role: 'sourcing', split: 50 }, { partnerId: 'globex', role: 'services', split: 40 }] }] }),
    );
    expect(bad).toMatch(/sum to 90%/);
    await handle('acme', ids.big).executeUpdate(attributeUpdate, {
      args: [{ by: 'cam', partners: [{ partnerId: 'acme', role: 'sourcing' }, { partnerId: 'globex', role: 'services' }, { partnerId: 'initech', role: 'reseller' }] }],
    });
    const opp = await eventually('attribution on the opportunity', async () => {
      const o = await vendorOpp('acme', ids.big);
      return String(o?.Partner_Attribution__c ?? '').includes('initech') ? o : undefined;
    });
    expect(opp.Partner_Attribution__c).toBe('acme:sourcing:60;globex:services:25;initech:reseller:15');
    expect(opp.Partner_Attribution_Type__c).toBe('sourced');
    const reg = await ledger.registrations.get(`acme:${ids.big}`);
    expect((reg!.details as any).attributionType).toBe('sourced');
  });

  it('the vendor closing the opportunity won ends the registration as won, written back to the partner', async () => {
    const opp = (await vendorOpp('acme', ids.big))!;
    await sb.jsforce('vendor').sobject('Opportunity').update({ Id: opp.Id as string, StageName: 'Closed Won' });
    expect((await acts.refreshRulesIndex()).closed).toBe(1);
    const s = await waitStatus('acme', ids.big, (x) => x.status === 'won');
    expect(s.history.at(-1)).toMatchObject({ from: 'approved', to: 'won', by: 'vendor' });
    await eventually('won write-back', async () => (await partnerDeal('acme', ids.big)).cosell_registration_status === 'won');
  });

  it('cosell registrations list / approve: a person approves a pending registration from the CLI', async () => {
    ids.cli = await createDeal('acme', { name: 'Epsilon platform', amount: 300_000, company: { name: 'Epsilon Foods', domain: 'epsilon-foods.com', country: 'US' } });
    await syncLink(acmeLink);
    await waitStatus('acme', ids.cli, (x) => x.status === 'pending-review');
    const listed = JSON.parse(await cli(['registrations', 'list', '-c', cliConfig, '--status', 'pending-review', '--json'])) as Array<{ id: string }>;
    expect(listed.map((r) => r.id)).toContain(`acme:${ids.cli}`);
    const out = await cli(['registrations', 'approve', `acme:${ids.cli}`, '--by', 'ops@contoso.example', '--reason', 'looks good']);
    expect(out).toMatch(/approved/);
    expect(out).toMatch(/by ops@contoso\.example/);
    await eventually('approved on the vendor', () => vendorOpp('acme', ids.cli));
    const again = await cli(['registrations', 'approve', `acme:${ids.cli}`, '--by', 'ops', '--reason', 'twice']);
    expect(again).toMatch(/only a registration pending review can be decided/);
  });

  it('expires when exclusivity (with its extension) runs out; the vendor opportunity and partner deal show it', async () => {
    const s = await status('acme', ids.auto);
    const wait = Math.max(0, Date.parse(s.expiresAt!) - Date.now());
    const done = await waitStatus('acme', ids.auto, (x) => x.status === 'expired', wait + 30_000);
    expect(done.history.at(-1)).toMatchObject({ to: 'expired', by: 'exclusivity-timer' });
    await eventually('expired on the vendor', async () => (await vendorOpp('acme', ids.auto))?.Registration_Status__c === 'Expired');
    await eventually('expired write-back', async () => (await partnerDeal('acme', ids.auto)).cosell_registration_status === 'expired');
  }, 90_000);
});
