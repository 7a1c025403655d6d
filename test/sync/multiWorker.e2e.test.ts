import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../ledger/index.js';
import { startLinks } from '../../lib/links.js';
import { statusQuery } from '../../workflows/index.js';
import { sandboxEnv, testNetwork } from '../helpers/network.js';
import { createTestDatabase, dropTestDatabase } from '../helpers/postgres.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { startWorkersOnOneLedger } from '../helpers/linkWorker.js';
import { linkWorkflowId, linkHandle } from '../../lib/workflowClient.js';

/**
 * Two workers on one task queue, each with its own engine and its own connection to ONE PostgreSQL
 * ledger, run four links (two partners × companies then deals, parents first) to completion: every
 * expected record lands exactly once, with the right parent — the same result one worker gives.
 */
const PARTNERS = ['acme', 'beta'];
const taskQueue = uniqueQueue('multi-worker');
const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
const linkIds = PARTNERS.flatMap((p) => [`${p}-companies-${tag}`, `${p}-deals-${tag}`]);

let sb: TestSandbox;
let dbUrl: string;
let client: Client;
let ledgers: Ledger[] = [];
let fleet: Awaited<ReturnType<typeof startWorkersOnOneLedger>> | undefined;
const activityCalls = [0, 0];

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor' },
      ...PARTNERS.map((id) => ({ id, kind: 'hubspot' as const, role: 'partner' as const, seed: { accounts: 40, opportunities: 150, owners: 3 } })),
    ],
  });
  const conn = sandboxEnv(sb, 'MULTIW');
  const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
${PARTNERS.map((p) => `  - { id: ${p}, name: ${p} partner, kind: hubspot, tier: gold, connection: ${conn[p]} }`).join('\n')}
links:
${PARTNERS.map(
  (p) => `  - { id: ${p}-companies-${tag}, from: ${p}.companies, to: vendor.Account, mapping: $STOCK/hubspot-company-to-salesforce-account.yaml, schedule: 1s }
  - id: ${p}-deals-${tag}
    from: ${p}.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
    schedule: 1s
    parent: { link: ${p}-companies-${tag}, sourceField: associations.companies, targetField: AccountId }`,
).join('\n')}
`);
  dbUrl = await createTestDatabase('cosell_multiworker');
  client = await testClient();
  fleet = await startWorkersOnOneLedger(2, {
    url: dbUrl,
    network,
    taskQueue,
    pageSize: 25, // small pages so both workers get a share of the activities
    wrap: (acts, i) => Object.fromEntries(Object.entries(acts).map(([name, fn]) => [name, (...args: unknown[]) => ((activityCalls[i] += 1), (fn as (...a: unknown[]) => unknown)(...args))])),
  });
  ledgers = fleet.ledgers;
  await startLinks(client, network, { taskQueue });
}, 60_000);

afterAll(async () => {
  for (const id of linkIds) await client?.workflow.getHandle(linkWorkflowId(id)).terminate('test over').catch(() => undefined);
  await fleet?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
  await sb?.stop();
  await client?.connection.close();
});

async function settled(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(linkIds.map((id) => linkHandle(client, id).query(statusQuery)));
    const pending = (await Promise.all(linkIds.map((id) => ledgers[0].deadLetters.list({ linkId: id, status: 'pending' })))).flat();
    if (states.every((s) => s.state === 'idle') && pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify(states.map((s) => [s.linkId, s.state, s.lastError]))}, ${pending.length} pending dead letters`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('two workers, one task queue, one PostgreSQL ledger', () => {
  it('every deal lands exactly once with its account, and both workers did work', async () => {
    await settled(90_000);
    const sf = sb.jsforce('vendor');
    for (const p of PARTNERS) {
      const hs = sb.hubspot(p);
      const deals = await hs.crm.deals.getAll(undefined, undefined, ['dealname', 'pipeline']);
      const expected = deals.filter((d) => (d.properties.pipeline ?? 'default') === 'default' && (d.properties.dealname ?? '').trim() !== '').map((d) => `${p}:${d.id}`);
      const opps = await sf.query<{ Partner_Deal_Id__c: string; AccountId: string | null }>(`SELECT Partner_Deal_Id__c, AccountId FROM Opportunity WHERE Registered_Partner_Id__c = '${p}'`);
      const got = opps.records.map((r) => r.Partner_Deal_Id__c);
      expect(got.length).toBe(new Set(got).size); // no duplicates
      expect(new Set(got)).toEqual(new Set(expected)); // all records, nothing else
      expect(await ledgers[1].pairs.count(`${p}-deals-${tag}`)).toBe(expected.length);

      // Parents: every opportunity's AccountId is its deal's company's account.
      const assoc = await hs.crm.associations.v4.batchApi.getPage('deals', 'companies', { inputs: opps.records.map((r) => ({ id: r.Partner_Deal_Id__c.split(':')[1] })) });
      const companyOf = new Map(assoc.results.map((r) => [String(r._from.id), r.to.map((t) => String(t.toObjectId)).sort((a, b) => a.length - b.length || a.localeCompare(b))[0]]));
      const accountPairs = await ledgers[0].pairs.bySource(`${p}-companies-${tag}`, [...companyOf.values()].filter(Boolean));
      for (const r of opps.records) {
        const company = companyOf.get(r.Partner_Deal_Id__c.split(':')[1]);
        expect(r.AccountId).toBe(company ? (accountPairs.get(company)?.targetId ?? null) : null);
      }
      const accounts = await sf.query<{ Partner_Account_Id__c: string }>(`SELECT Partner_Account_Id__c FROM Account WHERE Partner_Account_Id__c LIKE '${p}:%'`);
      expect(accounts.totalSize).toBe(new Set(accounts.records.map((r) => r.Partner_Account_Id__c)).size);
      expect(accounts.totalSize).toBe(await ledgers[0].pairs.count(`${p}-companies-${tag}`));
    }
    expect(activityCalls[0]).toBeGreaterThan(0);
    expect(activityCalls[1]).toBeGreaterThan(0);
  }, 120_000);
});
