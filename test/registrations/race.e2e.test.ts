import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../connectors/index.js';
import { connectorConfigFromOrg } from '../../connectors/index.js';
import type { Ledger, Registration } from '../../ledger/index.js';
import { isCosellError } from '../../lib/errors.js';
import { startLinks } from '../../lib/links.js';
import { loadPolicy, type Policy } from '../../rules/index.js';
import { AccountIndexFeed, sharedAccountIndexFeed } from '../../registrations/accountIndexFeed.js';
import { Engine } from '../../sync/build.js';
import { syncChangesPage } from '../../sync/page.js';
import { ACTIVE_LEDGER_STATUSES } from '../../registrations/details.js';
import { RegistrationGate, registrationGateFor } from '../../registrations/gate.js';
import { statusQuery } from '../../workflows/index.js';
import { sandboxEnv, testNetwork } from '../helpers/network.js';
import { createTestDatabase, dropTestDatabase } from '../helpers/postgres.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { startWorkersOnOneLedger } from '../helpers/linkWorker.js';
import { tempDir } from '../helpers/tmp.js';
import { linkHandle } from '../../lib/workflowClient.js';

/**
 * Rules of Engagement under concurrency, black-box: two HubSpot partners register the same eight
 * customers within seconds; their links run on the real dev server with two workers (own engine,
 * own PostgreSQL connection each). Per customer: exactly one active registration, at most one
 * partner-sourced vendor opportunity, and — where nobody could be auto-approved — the deal the
 * partners created first in their own CRMs wins, whichever arrived first. Then: a decision on one
 * worker sees a vendor opportunity only the other worker's feed read, and a failing vendor lookup
 * decides nothing (the page is retried).
 */
const POLICY = `
version: 1
currency: USD
matching:
  against: { vendorAccounts: ignore, vendorOpportunities: reject, registrations: reject }
dealSize: { minimum: 1000, action: reject }
required: { fields: [customerName, domain, amount], action: reject }
tiers: { gold: { autoApproveUpTo: 100000 } }
review: { sla: 1h, onTimeout: escalate }
exclusivity: { period: 1h }
`;
const CUSTOMERS = 8;
const REVIEW_FROM = 4; // customers 4..7 get amounts above the auto-approval limit: every deal waits for review

const taskQueue = uniqueQueue('roe-race');
const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const links = { acme: `acme-deals-${tag}`, globex: `globex-deals-${tag}`, initech: `initech-deals-${tag}` };

let sb: TestSandbox;
let dbUrl: string;
let client: Client;
let policy: Policy;
let ledgers: Ledger[] = [];
let engines: Engine[] = [];
let fleet: Awaited<ReturnType<typeof startWorkersOnOneLedger>> | undefined;

beforeAll(async () => {
  const empty = { accounts: 0, opportunities: 0, owners: 1 };
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 1, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: empty },
      { id: 'globex', kind: 'hubspot', role: 'partner', seed: empty },
      { id: 'initech', kind: 'hubspot', role: 'partner', seed: empty },
    ],
  }, { uniqueIds: true });
  const conn = sandboxEnv(sb, `RACE${tag.toUpperCase()}`);
  const dir = tempDir('cosell-race-');
  writeFileSync(path.join(dir, 'roe.yaml'), POLICY);
  policy = loadPolicy(path.join(dir, 'roe.yaml'));
  const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme, kind: hubspot, tier: gold, connection: ${conn.acme} }
  - { id: globex, name: Globex, kind: hubspot, tier: gold, connection: ${conn.globex} }
  - { id: initech, name: Initech, kind: hubspot, tier: gold, connection: ${conn.initech} }
links:
${Object.entries(links)
  .map(([p, id]) => `  - { id: ${id}, from: ${p}.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, schedule: 1s }`)
  .join('\n')}
`);
  dbUrl = await createTestDatabase('cosell_roe_race');
  client = await testClient();
  fleet = await startWorkersOnOneLedger(2, { url: dbUrl, network, taskQueue, pageSize: 3, gateFor: registrationGateFor({ policy, client, taskQueue }), activityDeps: { policy, client } });
  ledgers = fleet.ledgers;
  engines = fleet.runs.map((r) => r.engine);
}, 120_000);

afterAll(async () => {
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    await client.workflow.getHandle(wf.workflowId).terminate('test over').catch(() => undefined);
  }
  await fleet?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
  await sb?.stop();
  await client?.connection.close();
});

async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A deal on `org` for a company with `domain`, created (in the partner's CRM) at `createdAt`. */
async function createDeal(org: string, d: { name: string; domain: string; amount: number; createdAt?: string }): Promise<string> {
  const hs = sb.hubspot(org);
  const company = await hs.crm.companies.basicApi.create({ properties: { name: d.name, domain: d.domain, country: 'US' }, associations: [] });
  const deal = await hs.crm.deals.basicApi.create({
    properties: { dealname: `${d.name} rollout`, amount: String(d.amount), closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy', ...(d.createdAt ? { createdate: d.createdAt } : {}) },
    associations: [],
  });
  await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', company.id);
  return deal.id;
}

const domainOf = (i: number) => `customer${i}-${tag}.com`;

describe('first to register under concurrency (two partners, two workers, one PostgreSQL ledger)', () => {
  it('per customer exactly one active registration and at most one partner-sourced vendor opportunity; pending races go to the earliest-created deal', async () => {
    // The partners create their deals within seconds. Who created first alternates per customer and
    // is the opposite of who creates (and so syncs) first for half of them.
    const t0 = Date.now() - 60_000;
    const created: Record<string, Record<number, { id: string; at: string }>> = { acme: {}, globex: {} };
    for (const p of ['acme', 'globex'] as const) {
      for (let i = 0; i < CUSTOMERS; i++) {
        const acmeFirst = i % 2 === 0;
        const at = new Date(t0 + i * 2_000 + ((p === 'acme') === acmeFirst ? 0 : 700)).toISOString();
        const id = await createDeal(p, { name: `Customer ${i} ${tag}`, domain: domainOf(i), amount: i >= REVIEW_FROM ? 500_000 : 20_000, createdAt: at });
        created[p][i] = { id, at };
      }
    }
    await startLinks(client, engines[0].network, { taskQueue, only: [links.acme, links.globex] });

    const regsOf = async (i: number) => (await ledgers[0].registrations.list({ customerDomain: domainOf(i) })).filter((r) => r.partner === 'acme' || r.partner === 'globex');
    await eventually('every deal decided', async () => {
      const all = await Promise.all(Array.from({ length: CUSTOMERS }, (_, i) => regsOf(i)));
      return all.every((rs) => rs.length === 2 && rs.every((r) => r.status !== 'submitted'));
    }, 90_000);
    await eventually('both links idle', async () => {
      const states = await Promise.all([links.acme, links.globex].map((id) => linkHandle(client, id).query(statusQuery)));
      return states.every((s) => s.state === 'idle');
    });

    const sf = sb.jsforce('vendor');
    const opps = await sf.query<{ Partner_Deal_Id__c: string; Registered_Partner_Id__c: string | null }>(`SELECT Partner_Deal_Id__c, Registered_Partner_Id__c FROM Opportunity WHERE Partner_Deal_Id__c != null`);
    const problems: string[] = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const regs = await regsOf(i);
      const active = regs.filter((r) => ACTIVE_LEDGER_STATUSES.includes(r.status));
      if (active.length !== 1) problems.push(`customer ${i}: ${active.length} active registrations (${regs.map((r) => `${r.id}=${r.status}`).join(', ')})`);
      const dealIds = new Set(['acme', 'globex'].map((p) => `${p}:${created[p][i]!.id}`));
      const sourced = opps.records.filter((o) => dealIds.has(o.Partner_Deal_Id__c) && o.Registered_Partner_Id__c);
      if (sourced.length > 1) problems.push(`customer ${i}: ${sourced.length} partner-sourced vendor opportunities`);
      if (i < REVIEW_FROM && sourced.length !== 1) problems.push(`customer ${i}: auto-approved, but ${sourced.length} vendor opportunities`);
      // Approved or pending, the deal created first in the partners' CRMs holds the customer — also
      // when the later one was read (and would have been auto-approved) first: the auto-approval
      // waited for the other link to read past it (registrations/firstToRegister.ts).
      const first = created.acme[i]!.at < created.globex[i]!.at ? `acme:${created.acme[i]!.id}` : `globex:${created.globex[i]!.id}`;
      if (active.length === 1 && active[0]!.id !== first) problems.push(`customer ${i}: ${active[0]!.id} (${active[0]!.status}) holds it, but ${first} was created first`);
      if (i < REVIEW_FROM && sourced.length === 1 && sourced[0]!.Partner_Deal_Id__c !== first) problems.push(`customer ${i}: the vendor opportunity is ${sourced[0]!.Partner_Deal_Id__c}'s, but ${first} was created first`);
      if (i >= REVIEW_FROM && sourced.length) problems.push(`customer ${i}: a pending registration reached the vendor pipeline`);
    }
    expect(problems).toEqual([]);

    // The registration time is the partner's own create time, and each loser's partner sees "rejected".
    for (let i = 0; i < CUSTOMERS; i++) {
      for (const r of await regsOf(i)) expect(r.submittedAt).toBe(created[r.partner]![i]!.at);
    }
    const losers = (await Promise.all(Array.from({ length: CUSTOMERS }, (_, i) => regsOf(i)))).flat().filter((r) => r.status === 'rejected');
    expect(losers).toHaveLength(CUSTOMERS);
    for (const r of losers) {
      await eventually(`rejection written back to ${r.id}`, async () => {
        const d = await sb.hubspot(r.partner).crm.deals.basicApi.getById(r.sourceId, ['cosell_registration_status']);
        return d.properties.cosell_registration_status === 'rejected';
      }, 30_000);
    }
    for (const id of [links.acme, links.globex]) await linkHandle(client, id).terminate('race checked');
  }, 240_000);

  it('a decision on worker 2 sees a vendor opportunity that only worker 1 read from the vendor feed', async () => {
    const vendor = await engines[1].connector('vendor');
    const feed2 = sharedAccountIndexFeed(ledgers[1], vendor, 'vendor', client);
    await feed2.catchUp(); // worker 2's index is loaded and current …
    const sf = sb.jsforce('vendor');
    const acc = (await sf.sobject('Account').create({ Name: `Stale Corp ${tag}`, Website: `https://stale-${tag}.com`, BillingCountry: 'US' })) as { id: string };
    await sf.sobject('Opportunity').create({ Name: 'Stale - direct', AccountId: acc.id, StageName: 'Qualification', CloseDate: '2027-03-01', Amount: 90_000 });
    // … then worker 1's feed reads the new opportunity (advancing the shared cursors).
    const seen = await sharedAccountIndexFeed(ledgers[0], await engines[0].connector('vendor'), 'vendor', client).catchUp();
    expect(seen.opportunities).toBeGreaterThanOrEqual(1);
    expect(feed2.index.getAccount(acc.id)).toBeUndefined();

    const dealId = await createDeal('initech', { name: `Stale Corp ${tag}`, domain: `stale-${tag}.com`, amount: 20_000 });
    const rt = await engines[1].link(links.initech);
    for (let i = 0; i < 10 && !(await syncChangesPage(rt)).caughtUp; i++);
    const reg = await ledgers[1].registrations.get(`initech:${dealId}`);
    expect(reg?.status).toBe('rejected');
    expect((reg?.details as { decision?: { ruleId?: string } } | null)?.decision?.ruleId).toBe('vendor-opportunity');
  }, 60_000);

  it('a failing vendor lookup decides nothing: the page fails retryably and is decided once the vendor answers', async () => {
    const rt0 = await engines[1].link(links.initech);
    const { gate: _gate, ...rest } = rt0;
    // A vendor connector that does not back off for minutes, and a feed of its own (loaded under the fault).
    const vendor = await createConnector({ ...connectorConfigFromOrg(rt0.targetOrg), retry: { retries: 0 } } as Parameters<typeof createConnector>[0]);
    const gate = new RegistrationGate(rest, new AccountIndexFeed(ledgers[1], vendor, 'vendor', client), { policy, client, taskQueue });
    const rt = { ...rt0, gate };
    for (let i = 0; i < 10 && !(await syncChangesPage(rt)).caughtUp; i++);
    const before = await ledgers[1].cursors.get(links.initech, 'changes');

    const dealId = await createDeal('initech', { name: `Fault Corp ${tag}`, domain: `fault-${tag}.com`, amount: 20_000 });
    await sb.faults('vendor', { errorRate: 1 });
    let failure: unknown;
    try {
      await syncChangesPage(rt);
    } catch (e) {
      failure = e;
    } finally {
      await sb.faults('vendor', {});
    }
    expect(isCosellError(failure, 'COSELL_RULES_DATA_UNAVAILABLE')).toBe(true);
    expect(await ledgers[1].registrations.get(`initech:${dealId}`)).toBeUndefined();
    expect(await ledgers[1].cursors.get(links.initech, 'changes')).toEqual(before);

    for (let i = 0; i < 10 && !(await syncChangesPage(rt)).caughtUp; i++);
    const reg: Registration | undefined = await ledgers[1].registrations.get(`initech:${dealId}`);
    expect(reg?.status).toBe('auto-approved');
  }, 60_000);
});
