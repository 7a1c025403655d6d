import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startConsole, type RunningConsole } from '../../console/server.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { startLinks } from '../../lib/links.js';
import type { Policy, RegistrationState } from '../../rules/index.js';
import { registrationGateFor } from '../../registrations/gate.js';
import { startEngineWorker, syncRound, terminateTaskQueue, waitForLink, type EngineWorker } from '../helpers/linkWorker.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { testPolicy } from '../helpers/registrations.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { eventually } from '../helpers/wait.js';
import { PASSWORDS, testUsers } from './helpers.js';
import { registrationStatusQuery, linkHandle, registrationHandle } from '../../lib/workflowClient.js';

/**
 * The console end to end in Debian's Chromium (playwright-core): sign in, approve one registration,
 * bulk-reject two, replay a dead letter after fixing its cause — on the real dev server (link and
 * registration workflows), the sandbox CRMs and a SQLite ledger. A screenshot of every page goes to
 * COSELL_TEST_OUTPUT (default: a temp dir), printed and attached to the test as annotations.
 */
const POLICY = `
version: 1
currency: USD
matching:
  domain: true
  name: { threshold: 0.9, requireDomainAgreement: true }
  against: { vendorAccounts: ignore, vendorOpportunities: reject, registrations: reject }
namedAccounts: { action: reject, domains: [], names: [], vendorFlag: false }
territories: { action: review, unknownCountry: review }
dealSize: { minimum: 1000, action: reject }
required: { fields: [customerName, domain, amount], action: reject }
tiers: { gold: { autoApproveUpTo: 100000 }, silver: { autoApproveUpTo: 25000 }, registered: { autoApproveUpTo: 0 } }
review: { sla: 2h, onTimeout: escalate, escalateTo: channel-ops }
exclusivity: { period: 90d, extension: 30d, maxExtensions: 1 }
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

const taskQueue = uniqueQueue('console');
const suffix = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const acmeLink = `con-acme-deals-${suffix}`;
const globexLink = `con-globex-deals-${suffix}`;
const EMPTY = { accounts: 0, opportunities: 0, owners: 1 };
const shots = process.env.COSELL_TEST_OUTPUT ? path.resolve(process.env.COSELL_TEST_OUTPUT, 'console') : mkdtempSync(path.join(os.tmpdir(), 'cosell-console-screens-'));

let sb: TestSandbox;
let ledger: Ledger;
let client: Client;
let run: EngineWorker;
let policy: Policy;
let consoleApp: RunningConsole;
let browser: BrowserContext;
let page: Page;
const deals: Record<string, string> = {};

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  console.log(`console e2e: screenshots in ${shots}`);
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 1, owners: 1 } }, { id: 'acme', kind: 'hubspot', role: 'partner', seed: EMPTY }, { id: 'globex', kind: 'hubspot', role: 'partner', seed: EMPTY }] }, { uniqueIds: true });
  const conn = sandboxEnv(sb, `CON${suffix.toUpperCase()}`);
  policy = testPolicy(POLICY).policy;
  const network = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, territories: { countries: [US, CA] }, roles: [sourcing, services], connection: ${conn.acme} }
  - { id: globex, name: Globex Integrators, kind: hubspot, tier: silver, territories: { countries: [DE, FR, GB] }, roles: [sourcing], connection: ${conn.globex} }
links:
  - { id: ${acmeLink}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, schedule: 1h }
  - { id: ${globexLink}, from: globex.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  client = await testClient();
  run = await startEngineWorker({ network, ledger, taskQueue, gateFor: registrationGateFor({ policy, client, taskQueue }), activityDeps: { policy, client } });
  await run.activities.refreshRulesIndex();
  await startLinks(client, network, { taskQueue });
  for (const id of [acmeLink, globexLink]) await waitForLink(client, id, (s) => s.state === 'idle', { timeoutMs: 60_000 });

  // Four acme deals above the gold tier's auto-approval limit: four registrations pending review.
  for (const [key, name, domain, amount] of [['a', 'Aurora Health', 'aurora-health.com', 150_000], ['b', 'Borealis Foods', 'borealis-foods.com', 210_000], ['c', 'Cascade Mining', 'cascade-mining.com', 320_000], ['d', 'Delta Shipping', 'delta-shipping.com', 180_000]] as const) {
    deals[key] = await createDeal('acme', { name: `${name} expansion`, amount, company: { name, domain, country: 'United States' } });
  }
  // A globex deal the vendor's Salesforce rejects (Amount beyond its range): a dead letter with the CRM's reason.
  deals.bad = (await sb.hubspot('globex').crm.deals.basicApi.create({ properties: { dealname: 'Oversized deal', amount: '99999999999999999999', pipeline: 'default', dealstage: 'qualifiedtobuy' } })).id;
  await syncRound(client, [acmeLink, globexLink], 90_000);
  await eventually('four registrations pending review with their due times', async () => {
    const { rows } = await ledger.registrations.page({ status: ['pending-review'], partner: 'acme', limit: 10 });
    return rows.length === 4 && rows.every((r) => r.reviewDueAt) ? rows : undefined;
  }, { timeoutMs: 60_000, retryErrors: true });
  expect(await ledger.deadLetters.bySource(globexLink, deals.bad)).toMatchObject({ status: 'pending', code: 'NUMBER_OUTSIDE_VALID_RANGE' });

  const pages = sb.pages;
  consoleApp = await startConsole({
    network,
    ledger,
    client,
    engine: async () => run.engine,
    users: await testUsers(),
    temporalUi: { url: 'http://127.0.0.1:8233', namespace: 'default' },
    recordUrl: (org, object, id) => (pages[org] ? `${pages[org]}/${encodeURIComponent(object)}/${encodeURIComponent(id)}` : undefined),
  });
  browser = await chromium.launchPersistentContext(mkdtempSync(path.join(os.tmpdir(), 'cosell-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1500, height: 900 },
    offline: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await consoleApp?.stop();
  await terminateTaskQueue(client, taskQueue);
  await run?.stop();
  await ledger?.close();
  await sb?.stop();
  await client?.connection.close();
});

async function createDeal(org: string, d: { name: string; amount: number; company: { name: string; domain: string; country: string } }): Promise<string> {
  const hs = sb.hubspot(org);
  const company = await hs.crm.companies.basicApi.create({ properties: { name: d.company.name, domain: d.company.domain, country: d.company.country }, associations: [] });
  const deal = await hs.crm.deals.basicApi.create({ properties: { dealname: d.name, amount: String(d.amount), closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy' }, associations: [] });
  await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', company.id);
  return deal.id;
}

const status = (dealId: string) => registrationHandle(client, `acme:${dealId}`).query(registrationStatusQuery);
async function waitStatus(dealId: string, pred: (s: RegistrationState) => boolean): Promise<RegistrationState> {
  return eventually(`registration acme:${dealId}`, async () => {
    const s = await status(dealId);
    return pred(s) ? s : undefined;
  }, { timeoutMs: 30_000, retryErrors: true });
}

async function screenshot(ctx: TestContext, name: string): Promise<void> {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${name}: ${file}`);
  await ctx.annotate(`screenshot ${name}: ${file}`, { path: file, contentType: 'image/png' });
}

/** Every request the pages made went to the console itself (nothing from the network). */
const foreign: string[] = [];

describe('the channel console in Chromium', () => {
  it('sign in: the queue redirects to the login form; a wrong password is refused; the right one opens the queue', async (ctx) => {
    page.on('request', (r) => {
      if (!r.url().startsWith(consoleApp.url)) foreign.push(r.url());
    });
    await page.goto(`${consoleApp.url}/queue`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await screenshot(ctx, '01-login');
    await page.fill('#name', 'ana');
    await page.fill('#password', 'not-her-password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('body')).toContain('wrong user name or password');
    await page.fill('#name', 'ana');
    await page.fill('#password', PASSWORDS.ana);
    await page.click('button[type=submit]');
    await page.waitForURL(`${consoleApp.url}/queue`);
    const cookies = await browser.cookies(consoleApp.url);
    expect(cookies.find((c) => c.name === 'cosell_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.locator('tbody tr[data-id]').count()).toBe(4);
    const text = await page.textContent('main');
    for (const name of ['Aurora Health', 'Borealis Foods', 'Cascade Mining', 'Delta Shipping']) expect(text).toContain(name);
    expect(text).toContain('tier-auto-approval'); // the RoE explanation
    expect(text).toMatch(/in (\d+ min|\d+ h)/); // the SLA due time
    // The Temporal Web UI lists registrations by customer, partner and amount, and links by what they sync.
    const described = await registrationHandle(client, `acme:${deals.a}`).describe();
    expect(await described.staticSummary()).toBe('Aurora Health · acme · 150,000 USD');
    expect(await described.staticDetails()).toContain(`**Registration** acme:${deals.a}`);
    const link = await linkHandle(client, acmeLink).describe();
    expect(await link.staticSummary()).toBe(`link ${acmeLink}: acme.deals → vendor.Opportunity (registrations)`);
    await screenshot(ctx, '02-review-queue');
  });

  it('approve one: through the workflow update, audited with the signed-in user, the vendor opportunity created', async (ctx) => {
    await page.fill('#reason', 'strategic account, approved in review');
    await page.click(`tr[data-id="acme:${deals.a}"] button[value="approve acme:${deals.a}"]`);
    await expect.poll(() => page.textContent('.flash')).toContain('approved 1 of 1');
    const s = await waitStatus(deals.a, (x) => x.status === 'approved');
    expect(s).toMatchObject({ decidedBy: 'ana', reason: 'strategic account, approved in review' });
    const audit = await eventually('the approval audited', async () => (await ledger.audit.list({ recordId: deals.a, linkId: acmeLink })).find((e) => e.actor === 'ana' && /approved/.test(e.action)), { timeoutMs: 15_000 });
    expect(audit).toBeDefined();
    await eventually('the approved registration in the vendor pipeline', async () => (await ledger.registrations.get(`acme:${deals.a}`))?.vendorOpportunityId, { timeoutMs: 30_000 });
    expect(await page.locator('tbody tr[data-id]').count()).toBe(3);
    await screenshot(ctx, '03-after-approve');
  });

  it('bulk-reject two: each through its own workflow update, the rest left pending', async (ctx) => {
    await page.check(`input[name=ids][value="acme:${deals.b}"]`);
    await page.check(`input[name=ids][value="acme:${deals.c}"]`);
    await page.fill('#reason', 'duplicate of a direct deal');
    await page.click('button[name=bulk][value=reject]');
    await expect.poll(() => page.textContent('.flash')).toContain('rejected 2 of 2');
    for (const id of [deals.b, deals.c]) expect(await waitStatus(id, (x) => x.status === 'rejected')).toMatchObject({ decidedBy: 'ana', reason: 'duplicate of a direct deal' });
    expect((await status(deals.d)).status).toBe('pending-review');
    expect(await page.locator('tbody tr[data-id]').count()).toBe(1);
    await screenshot(ctx, '04-after-bulk-reject');
  });

  it('registration detail: lifecycle, decision, matched records, audit and links to the CRM records and workflow', async (ctx) => {
    await page.goto(`${consoleApp.url}/registrations/${encodeURIComponent(`acme:${deals.a}`)}`);
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('Aurora Health');
    expect(text).toMatch(/pending-review\s*approved\s*ana/);
    expect(text).toContain('strategic account, approved in review');
    const hrefs = await page.locator('main a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
    expect(hrefs.some((h) => h.includes('/__sandbox/ui/deals/'))).toBe(true); // the partner's deal
    expect(hrefs.some((h) => h.includes('/__sandbox/ui/Opportunity/'))).toBe(true); // the vendor opportunity
    expect(hrefs.some((h) => h.includes(`/workflows/${encodeURIComponent(`registration:acme:${deals.a}`)}`))).toBe(true);
    await screenshot(ctx, '05-registration-detail');
    await page.goto(`${consoleApp.url}/registrations?status=rejected`);
    expect(await page.locator('tbody tr[data-id]').count()).toBe(2);
    await screenshot(ctx, '06-registrations-rejected');
    // Approving a rejected one is refused by the workflow's validator, and the console says why.
    await page.fill('#reason', 'second thoughts');
    await page.click(`button[value="approve acme:${deals.b}"]`);
    await expect.poll(() => page.textContent('.flash')).toContain(`approved 0 of 1 — refused: acme:${deals.b}: its workflow has finished`);
    expect((await status(deals.b)).status).toBe('rejected');
  });

  it('request info, dispute on the partner\'s behalf, resolve it: the CLI\'s functions, audited with the signed-in user', async (ctx) => {
    // Request info on the one still pending: "Action Required", asked by ana.
    await page.goto(`${consoleApp.url}/registrations/${encodeURIComponent(`acme:${deals.d}`)}`);
    await page.check('#request-info input[name=fields][value=amount]');
    await page.fill('#request-info input[name=more]', 'closeDate');
    await page.fill('#request-info input[name=reason]', 'confirm the budget and timing');
    await page.click('#request-info button[type=submit]');
    await expect.poll(() => page.textContent('.flash')).toContain('asked the partner for amount, closeDate');
    expect(await waitStatus(deals.d, (x) => !!x.infoRequest)).toMatchObject({ status: 'pending-review', infoRequest: { by: 'ana', fields: ['amount', 'closeDate'], reason: 'confirm the budget and timing' } });
    expect(await page.textContent('main')).toContain('action required');
    await screenshot(ctx, '07-request-info');
    // Dispute the bulk-rejected one on the partner's behalf, then uphold the rejection.
    await page.goto(`${consoleApp.url}/registrations/${encodeURIComponent(`acme:${deals.c}`)}`);
    await page.fill('#open-dispute input[name=reason]', 'acme says the direct deal closed months ago');
    await page.click('#open-dispute button[type=submit]');
    await expect.poll(() => page.textContent('.flash')).toContain(`dispute opened for acme:${deals.c} on acme's behalf`);
    await page.fill('#dispute input[name=reason]', 'the direct deal is still open');
    await page.click('#dispute button[value=uphold]');
    await expect.poll(() => page.textContent('.flash')).toContain(`dispute of acme:${deals.c} resolved: uphold`);
    expect(await page.textContent('#dispute')).toMatch(/resolved\s*uphold\s*by ana/);
    const audited = await eventually('the dispute audited with ana', async () => {
      const events = await ledger.audit.list({ recordId: deals.c, linkId: acmeLink });
      const opened = events.find((e) => e.action === 'dispute.opened');
      const resolved = events.find((e) => e.action === 'dispute.resolved');
      return opened && resolved ? { opened, resolved } : undefined;
    }, { timeoutMs: 15_000, retryErrors: true });
    expect(audited.opened).toMatchObject({ actor: 'ana' });
    expect(audited.resolved).toMatchObject({ actor: 'ana' });
    expect((await status(deals.c)).status).toBe('rejected');
    await screenshot(ctx, '08-dispute-resolved');
  });

  it('link health and dead letters: the CRM reason by category, replayed after the cause is fixed (the CLI\'s replay path)', async (ctx) => {
    await page.goto(`${consoleApp.url}/links`);
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain(acmeLink);
    expect(text).toContain('NUMBER_OUTSIDE_VALID_RANGE');
    expect(await page.locator(`tr[data-link="${globexLink}"]`).textContent()).toMatch(/idle/);
    await screenshot(ctx, '09-link-health');
    await page.click(`tr[data-link="${globexLink}"] a[href="/links/${globexLink}"]`);
    await page.waitForURL(`${consoleApp.url}/links/${globexLink}`);
    expect(await page.textContent('main')).toMatch(/Amount: value outside of valid range/);
    await screenshot(ctx, '10-dead-letters');
    // Fix the cause in the partner's CRM, then replay that one record.
    await sb.hubspot('globex').crm.deals.basicApi.update(deals.bad, { properties: { amount: '12500' } });
    const dl = await ledger.deadLetters.bySource(globexLink, deals.bad);
    await page.click(`tr[data-dead-letter="${dl!.id}"] button`);
    await expect.poll(() => page.textContent('.flash')).toContain('1 landed (1 created');
    expect((await ledger.deadLetters.bySource(globexLink, deals.bad))?.status).toBe('resolved');
    const opp = await sb.jsforce('vendor').query<{ Amount: number }>(`SELECT Amount FROM Opportunity WHERE Partner_Deal_Id__c = 'globex:${deals.bad}'`);
    expect(opp.records[0]?.Amount).toBe(12500);
    expect((await ledger.audit.list({ linkId: globexLink, action: 'deadletters.replayed' }))[0]).toMatchObject({ actor: 'ana' });
    await screenshot(ctx, '11-after-replay');
  });

  it('loaded nothing from the network', () => {
    expect(foreign).toEqual([]);
  });
});
