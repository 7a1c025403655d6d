import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScorecard } from '../../analytics/start.js';
import { PARTNER_ID_FIELD } from '../../analytics/scorecard.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { LoadedNetwork } from '../../lib/config.js';
import { type ScorecardStatus } from '../../workflows/scorecard.js';
import { startEngineWorker, terminateWorkflows, type EngineWorker } from '../helpers/linkWorker.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { tempDir } from '../helpers/tmp.js';
import { scorecardWorkflowId, scorecardNowSignal, scorecardStatusQuery, scorecardHandle } from '../../lib/workflowClient.js';

/**
 * The scorecard workflow on the real dev server against the sandbox vendor org: `scorecard:<vendor>`
 * catches the fact store up and writes each partner's scorecard onto its vendor Account (found or
 * created by Cosell_Partner_Id__c); after a deal is won with a partner and `scorecardNow` is
 * signalled, that partner's scorecard changes and the others are not written again.
 */

/** A close date `days` ago: inside the scorecard's 365-day window whenever the test runs. */
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
let sb: TestSandbox;
let network: LoadedNetwork;
let ledger: Ledger;
let client: Client;
let w: EngineWorker;
const taskQueue = uniqueQueue('scorecard');
const vendorId = `vendor${Math.random().toString(36).slice(2, 7)}`;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 6, opportunities: 20, owners: 1 } }] });
  const dir = tempDir('cosell-scorecard-');
  writeFileSync(path.join(dir, 'roe.yaml'), `version: 1
currency: USD
tiers: { gold: { autoApproveUpTo: 100000 }, silver: { autoApproveUpTo: 0 } }
analytics:
  window: 365d
  costs: { acme: { mdf: 10000 } }
  tiers: { gold: { wonDeals: 2 }, silver: {} }
`);
  const conn = sandboxEnv(sb, 'SCWF').vendor;
  process.env.SCWF_UNUSED = 'x';
  network = testNetwork(`vendor: { id: ${vendorId}, name: Contoso Cloud, kind: salesforce, connection: ${conn} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: silver, connection: { basePath: "http://127.0.0.1:9", auth: { accessToken: env:SCWF_UNUSED } } }
  - { id: globex, name: Globex Integrators, kind: hubspot, tier: silver, connection: { basePath: "http://127.0.0.1:9", auth: { accessToken: env:SCWF_UNUSED } } }
links: []
rules: ${path.join(dir, 'roe.yaml')}
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  client = await testClient();
  w = await startEngineWorker({ network, ledger, taskQueue });
  const vendor = await w.engine.connector(vendorId);
  await vendor.ensureFields('Opportunity', [{ name: 'Partner_Attribution__c', label: 'Partner Attribution', type: 'string', length: 255 }]);
}, 120_000);
afterAll(async () => {
  await terminateWorkflows(client, [scorecardWorkflowId(vendorId)]);
  await w?.stop();
  await ledger?.close();
  await client?.connection.close();
  await sb?.stop();
});

async function waitRounds(n: number): Promise<ScorecardStatus> {
  const h = scorecardHandle(client, vendorId);
  let last: ScorecardStatus | undefined;
  for (let i = 0; i < 300; i++) {
    last = await h.query(scorecardStatusQuery).catch(() => undefined);
    if (last && last.rounds >= n && last.state === 'waiting') return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`scorecard never finished round ${n}: ${JSON.stringify(last)}`);
}

const scorecards = async () => {
  const rows = (await sb.jsforce('vendor').query<Record<string, unknown>>(`SELECT Id, Name, ${PARTNER_ID_FIELD}, Partner_Won_Deals__c, Partner_Sourced_Revenue__c, Partner_Win_Rate__c, Partner_ROPI__c, Partner_Tier_Earned__c, Partner_Tier_Recommendation__c, Partner_Scorecard_Updated__c FROM Account WHERE ${PARTNER_ID_FIELD} != null`)).records;
  return new Map(rows.map((r) => [String(r[PARTNER_ID_FIELD]), r]));
};

describe('scorecard:<vendor> workflow', () => {
  it("writes every partner's scorecard to its vendor Account, then rewrites only what a new won deal changed", async () => {
    const sf = sb.jsforce('vendor');
    const open = (await sf.query<{ Id: string }>('SELECT Id FROM Opportunity WHERE IsClosed = false ORDER BY Id')).records;
    await sf.sobject('Opportunity').update({ Id: open[0]!.Id, StageName: 'Closed Won', CloseDate: daysAgo(40), Amount: 50000, Partner_Attribution__c: 'acme:sourcing:100' } as never);

    await startScorecard(client, network, { taskQueue, everyMs: 3_600_000 });
    const first = await waitRounds(1);
    expect(first.lastError).toBeUndefined();
    expect(first.lastRefresh).toMatchObject({ source: 'feed', changed: 20 });
    expect(first.lastWrite).toMatchObject({ partners: 2, created: 2 });
    const a = await scorecards();
    expect([...a.keys()].sort()).toEqual(['acme', 'globex']);
    expect(a.get('acme')).toMatchObject({ Name: 'Acme Consulting', Partner_Won_Deals__c: 1, Partner_Sourced_Revenue__c: 50000, Partner_Win_Rate__c: 100, Partner_Tier_Earned__c: 'silver' });
    expect(a.get('acme')!.Partner_ROPI__c).toBeCloseTo((50000 - 10000) / 10000, 2);
    expect(String(a.get('acme')!.Partner_Tier_Recommendation__c)).toMatch(/^keep silver; gold needs wonDeals 1 < 2/);
    expect(a.get('globex')).toMatchObject({ Partner_Won_Deals__c: 0, Partner_Win_Rate__c: null });

    await sf.sobject('Opportunity').update({ Id: open[1]!.Id, StageName: 'Closed Won', CloseDate: daysAgo(39), Amount: 20000, Partner_Attribution__c: 'acme:sourcing:100' } as never);
    await scorecardHandle(client, vendorId).signal(scorecardNowSignal);
    const second = await waitRounds(2);
    expect(second.lastRefresh).toMatchObject({ changed: 1 });
    expect(second.lastWrite).toMatchObject({ updated: 1, unchanged: 1, created: 0 });
    const b = await scorecards();
    expect(b.get('acme')).toMatchObject({ Partner_Won_Deals__c: 2, Partner_Sourced_Revenue__c: 70000, Partner_Tier_Earned__c: 'gold' });
    expect(String(b.get('acme')!.Partner_Tier_Recommendation__c)).toMatch(/^promote to gold/);
    expect(b.get('globex')!.Partner_Scorecard_Updated__c).toBe(a.get('globex')!.Partner_Scorecard_Updated__c);
  }, 180_000);
});
