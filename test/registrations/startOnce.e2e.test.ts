import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, registrationId, type Ledger } from '../../ledger/index.js';
import { loadPolicy } from '../../rules/index.js';
import { Engine } from '../../sync/build.js';
import { syncChangesPage } from '../../sync/page.js';
import { registrationGateFor } from '../../registrations/gate.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { tempDir } from '../helpers/tmp.js';
import { registrationHandle } from '../../lib/workflowClient.js';

/**
 * A crash between starting a registration's workflow and recording the start in the ledger must not
 * restart a registration whose workflow already ran to its end: the next page that sees the deal
 * finds the closed workflow and only records it. On the real dev server (no worker is needed: the
 * workflow is closed before anything would run it).
 */
const POLICY = `
version: 1
currency: USD
tiers: { gold: { autoApproveUpTo: 100000 } }
review: { sla: 1h, onTimeout: escalate, escalateTo: channel-ops }
exclusivity: { period: 1h, extension: 1h, maxExtensions: 1 }
`;

let sb: TestSandbox;
let ledger: Ledger;
let engine: Engine;
let client: Client;
const taskQueue = uniqueQueue('reg-once');
const linkId = `acme-deals-${taskQueue.replace(/[^a-z0-9]/g, '').slice(-6)}`;

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 1, opportunities: 0, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
    ],
  }, { uniqueIds: true });
  const conn = sandboxEnv(sb, 'REGONCE');
  const dir = tempDir('cosell-reg-once-');
  writeFileSync(path.join(dir, 'roe.yaml'), POLICY);
  const network = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  client = await testClient();
  engine = new Engine({ network, ledger, gateFor: registrationGateFor({ policy: loadPolicy(path.join(dir, 'roe.yaml')), client, taskQueue }) });
}, 60_000);

afterAll(async () => {
  await engine?.close();
  await ledger?.close();
  await sb?.stop();
  await client?.connection.close();
});

async function syncLink(): Promise<void> {
  const rt = await engine.link(linkId);
  for (let i = 0; i < 20; i++) if ((await syncChangesPage(rt)).caughtUp) return;
}

describe('registration workflow start', () => {
  it('a closed registration whose start was never recorded is not started again', async () => {
    const hs = sb.hubspot('acme');
    const deal = await hs.crm.deals.basicApi.create({ properties: { dealname: 'Started once', amount: '5000', closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy' }, associations: [] });
    await syncLink();
    const id = registrationId('acme', deal.id);
    const handle = registrationHandle(client, id);
    const first = await handle.describe();
    // The registration ran to its end (here: ended by ops) ...
    await handle.terminate('registration over');
    // ... and the worker died before the ledger recorded the start.
    const reg = (await ledger.registrations.get(id))!;
    expect(reg.details?.workflowStarted).toBe(true);
    await ledger.registrations.update(id, { details: { ...reg.details, workflowStarted: false } });

    // The partner edits the deal: the next page sees the registration again.
    await hs.crm.deals.basicApi.update(deal.id, { properties: { dealname: 'Started once (edited)' } });
    await syncLink();

    const after = await registrationHandle(client, id).describe();
    expect(after.runId).toBe(first.runId); // no fresh run
    expect(after.status.name).toBe('TERMINATED');
    expect((await ledger.registrations.get(id))?.details?.workflowStarted).toBe(true); // recorded now
  });
});
