import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createConnector } from '../../connectors/index.js';
import type { Connector } from '../../connectors/types.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { parseNetwork, type LoadedNetwork } from '../../lib/config.js';
import { createOverlapActivities } from '../../activities/overlap.js';
import { overlapWorkflow } from '../../workflows/overlap.js';
import { overlapStatus, startOverlapWorkflows } from '../../overlaps/start.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, testWorker, uniqueQueue } from '../helpers/temporal.js';
import { overlapNowSignal, overlapStatusQuery, overlapWorkflowId, overlapHandle } from '../../lib/workflowClient.js';

/**
 * End to end on the real Temporal dev server and the sandbox CRMs: a vendor Salesforce org and two
 * partner HubSpot portals with hand-made messy accounts; `overlap:<partner>` workflows find the
 * overlaps, write them back natively, and clear them when they end.
 */
const NO_SEED = { accounts: 0, opportunities: 0, owners: 1 };
let sb: TestSandbox;
let network: LoadedNetwork;
let ledger: Ledger;
let client: Client;
let worker: Worker;
let workerRun: Promise<void>;
const connectors = new Map<string, Promise<Connector>>();
const taskQueue = uniqueQueue('overlaps');
const ids: Record<string, string> = {};
let networkFile: string;

function env(name: string, value: string): string {
  process.env[name] = value;
  return `env:${name}`;
}

async function createHubspotCompanies(portal: string, rows: Array<{ key: string; name: string; domain?: string; lifecyclestage?: string }>) {
  const hs = sb.hubspot(portal);
  try {
    await hs.crm.properties.coreApi.create('companies', {
      name: 'lifecyclestage',
      label: 'Lifecycle Stage',
      type: 'enumeration',
      fieldType: 'select',
      groupName: 'companyinformation',
      options: ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'].map((v, i) => ({ label: v, value: v, displayOrder: i, hidden: false })),
    } as any);
  } catch {
    /* already there */
  }
  for (const r of rows) {
    const props: Record<string, string> = { name: r.name };
    if (r.domain) props.domain = r.domain;
    if (r.lifecyclestage) props.lifecyclestage = r.lifecyclestage;
    const created = await hs.crm.companies.basicApi.create({ properties: props, associations: [] });
    ids[`${portal}:${r.key}`] = created.id;
  }
}

async function hubspotRelation(portal: string, key: string): Promise<string | null> {
  const c = await sb.hubspot(portal).crm.companies.basicApi.getById(ids[`${portal}:${key}`], ['cosell_vendor_relation']);
  return c.properties.cosell_vendor_relation || null;
}

async function vendorField(key: string): Promise<string | null> {
  const conn = sb.jsforce('vendor');
  const r = (await conn.sobject('Account').retrieve(ids[`vendor:${key}`])) as unknown as Record<string, unknown>;
  return (r.Partner_Overlaps__c as string | null) ?? null;
}

async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: NO_SEED },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: NO_SEED },
      { id: 'globex', kind: 'hubspot', role: 'partner', seed: NO_SEED },
      { id: 'initech', kind: 'salesforce', role: 'partner', seed: NO_SEED },
    ],
  });
  const v = sb.orgs.vendor;
  const a = sb.orgs.acme;
  const g = sb.orgs.globex;
  const i = sb.orgs.initech;
  if (v.kind !== 'salesforce' || a.kind !== 'hubspot' || g.kind !== 'hubspot' || i.kind !== 'salesforce') throw new Error('unexpected sandbox org kinds');
  const yaml = `
vendor:
  id: vendor
  name: Vendor
  kind: salesforce
  connection: { instanceUrl: ${v.instanceUrl}, auth: { accessToken: ${env('OVL_SF_TOKEN', v.accessToken)} } }
partners:
  - id: acme
    name: Acme
    kind: hubspot
    tier: gold
    connection: { basePath: ${a.basePath}, auth: { accessToken: ${env('OVL_ACME_TOKEN', a.accessToken)} } }
    sharing: { vendor: [customers, opportunities], partner: [customers, prospects], secret: ${env('OVL_SECRET_ACME', 'acme-partnership-secret-0123456789')} }
  - id: globex
    name: Globex
    kind: hubspot
    tier: silver
    connection: { basePath: ${g.basePath}, auth: { accessToken: ${env('OVL_GLOBEX_TOKEN', g.accessToken)} } }
    sharing: { vendor: [customers, opportunities, prospects], partner: [customers, prospects], secret: ${env('OVL_SECRET_GLOBEX', 'globex-partnership-secret-0123456789')} }
  - id: initech
    name: Initech Partners
    kind: salesforce
    tier: silver
    connection: { instanceUrl: ${i.instanceUrl}, auth: { accessToken: ${env('OVL_INITECH_TOKEN', i.accessToken)} } }
    sharing: { vendor: [customers], partner: [customers, opportunities], secret: ${env('OVL_SECRET_INITECH', 'initech-partnership-secret-0123456789')} }
`;
  networkFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cosell-overlaps-e2e-')), 'cosell.yaml');
  writeFileSync(networkFile, `${yaml}ledger: { file: cli-ledger.sqlite }\n`);
  const parsed = parseNetwork(yaml, 'overlap-test.yaml');
  if (!parsed.loaded) throw new Error(JSON.stringify(parsed.problems));
  network = parsed.loaded;
  ledger = await openLedger({ file: ':memory:' });

  // Vendor accounts (Salesforce): messy websites, Types and opportunities decide the populations.
  const conn = sb.jsforce('vendor');
  const accounts = [
    { key: 'acme', Name: 'Acme Widgets Corporation', Website: 'https://www.Acme-Widgets.com/about', Type: 'Customer - Direct' },
    { key: 'globex', Name: 'Globex GmbH', Website: 'globex.de', Type: 'Prospect' }, // + open opportunity below
    { key: 'initech', Name: 'Initech Ltd', Website: 'http://eu.sales.INITECH.co.uk/', Type: 'Customer - Channel' },
    { key: 'umbrella', Name: 'Umbrella Corp', Website: 'umbrella.com', Type: 'Prospect' }, // acme does not see vendor prospects
    { key: 'hooli', Name: 'Hooli, Inc.', Type: 'Customer - Direct' },
    { key: 'stark', Name: 'Stark Industries', Website: 'stark.io', Type: 'Customer - Direct' },
  ];
  for (const { key, ...fields } of accounts) {
    const r = (await conn.sobject('Account').create(fields)) as { id: string };
    ids[`vendor:${key}`] = r.id;
  }
  await conn.sobject('Opportunity').create({ Name: 'Globex expansion', StageName: 'Qualification', CloseDate: '2027-03-31', AccountId: ids['vendor:globex'] });

  await createHubspotCompanies('acme', [
    { key: 'acme', name: 'ACME WIDGETS INC', domain: 'acme-widgets.com', lifecyclestage: 'customer' },
    { key: 'globex', name: 'Globex', domain: 'WWW.GLOBEX.COM', lifecyclestage: 'lead' },
    { key: 'initech', name: 'INITECH', domain: 'initech.co.uk', lifecyclestage: 'customer' },
    { key: 'umbrella', name: 'Umbrella Corporation', domain: 'umbrella.com', lifecyclestage: 'customer' },
    { key: 'hooli', name: 'hooli', lifecyclestage: 'lead' },
    { key: 'wayne', name: 'Wayne Enterprises', domain: 'wayne.com', lifecyclestage: 'customer' },
  ]);
  await createHubspotCompanies('globex', [{ key: 'acme', name: 'Acme Widgets', domain: 'acme-widgets.com', lifecyclestage: 'customer' }]);
  // A partner on Salesforce: its open opportunity makes the account an "opportunity" for the vendor to see.
  const ini = sb.jsforce('initech');
  ids['initech:acme'] = ((await ini.sobject('Account').create({ Name: 'ACME Widgets S.A.', Website: 'acme-widgets.fr', Type: 'Prospect' })) as { id: string }).id;
  ids['initech:globex'] = ((await ini.sobject('Account').create({ Name: 'Globex', Website: 'globex.de', Type: 'Customer - Direct' })) as { id: string }).id;
  await ini.sobject('Opportunity').create({ Name: 'Acme rollout', StageName: 'Prospecting', CloseDate: '2027-06-30', AccountId: ids['initech:acme'] });

  client = await testClient();
  const deps = {
    network,
    ledger,
    connector(orgId: string) {
      let c = connectors.get(orgId);
      if (!c) connectors.set(orgId, (c = createConnector(network.org(orgId))));
      return c;
    },
  };
  worker = await testWorker({ taskQueue, activities: createOverlapActivities(deps) });
  workerRun = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  for (const c of connectors.values()) await (await c).close();
  await ledger?.close();
  await client?.connection.close();
  await sb?.stop();
});

describe('overlap:<partner> workflow on the sandbox CRMs', () => {
  it('finds overlaps across messy data, writes them back natively, keeps non-shared populations out, and clears ended overlaps', async () => {
    const handle = await client.workflow.start(overlapWorkflow, { taskQueue, workflowId: overlapWorkflowId(`acme-${taskQueue}`), args: [{ partnerId: 'acme', everyMs: 3_600_000 }] });
    const first = await waitFor(() => handle.query(overlapStatusQuery), (s) => s.passes >= 1);
    expect(first.lastError).toBeUndefined();
    expect(first.last?.stats.byPair).toEqual({ 'customer/customer': 2, 'opportunity/prospect': 1, 'customer/prospect': 1 });
    expect(first.last?.stats.byMatch).toEqual({ domain: 2, 'domain-label': 1, name: 1 });

    // Vendor side: the partner's relation on the vendor's accounts.
    expect(await vendorField('acme')).toBe('acme: customer');
    expect(await vendorField('globex')).toBe('acme: prospect'); // globex.de ~ www.globex.com
    expect(await vendorField('initech')).toBe('acme: customer'); // eu.sales.initech.co.uk ~ initech.co.uk
    expect(await vendorField('hooli')).toBe('acme: prospect'); // name only: "Hooli, Inc." ~ "hooli"
    expect(await vendorField('umbrella')).toBeNull(); // vendor prospects are not shared with acme
    expect(await vendorField('stark')).toBeNull();
    // Partner side: the vendor's relation, only for populations the vendor shares.
    expect(await hubspotRelation('acme', 'acme')).toBe('customer');
    expect(await hubspotRelation('acme', 'globex')).toBe('opportunity');
    expect(await hubspotRelation('acme', 'initech')).toBe('customer');
    expect(await hubspotRelation('acme', 'umbrella')).toBeNull(); // the vendor's prospect never reaches acme
    expect(await hubspotRelation('acme', 'wayne')).toBeNull();
    const stored = await ledger.overlaps.list('acme');
    expect(stored).toHaveLength(4);
    expect(stored.every((o) => /^[A-Za-z0-9_-]{22}$/.test(o.hashedKey))).toBe(true);

    // The overlap with Initech ends on the partner side (no longer a sales target for acme) …
    await sb.hubspot('acme').crm.companies.basicApi.update(ids['acme:initech'], { properties: { lifecyclestage: 'other' } });
    await handle.signal(overlapNowSignal);
    const second = await waitFor(() => handle.query(overlapStatusQuery), (s) => s.passes >= 2);
    expect(second.lastError).toBeUndefined();
    // … and is cleared on both sides, while the others stay.
    expect(await vendorField('initech')).toBeNull();
    expect(await hubspotRelation('acme', 'initech')).toBeNull();
    expect(await vendorField('acme')).toBe('acme: customer');
    expect(second.last?.writes).toMatchObject({ vendor: { set: 0, cleared: 1, failed: 0 }, partner: { set: 0, cleared: 1, failed: 0 } });
    expect(second.last?.ledger).toMatchObject({ added: 0, removed: 1 });
    await handle.terminate('test done');
  });

  it('keeps every partner in its own segment and keys the hashes per partnership', async () => {
    const handle = await client.workflow.start(overlapWorkflow, { taskQueue, workflowId: overlapWorkflowId(`globex-${taskQueue}`), args: [{ partnerId: 'globex', everyMs: 3_600_000, maxPasses: 1 }] });
    const status = await handle.result();
    expect(status.lastError).toBeUndefined();
    expect(status.state).toBe('done');
    expect(await vendorField('acme')).toBe('acme: customer; globex: customer');
    expect(await hubspotRelation('globex', 'acme')).toBe('customer');
    // The same vendor account matched on the same domain in both partnerships, under different keyed hashes.
    const [a] = (await ledger.overlaps.list('acme')).filter((o) => o.vendorAccountId === ids['vendor:acme']);
    const [g] = (await ledger.overlaps.list('globex')).filter((o) => o.vendorAccountId === ids['vendor:acme']);
    expect(a.details).toMatchObject({ matchedOn: 'domain' });
    expect(g.details).toMatchObject({ matchedOn: 'domain' });
    expect(a.hashedKey).not.toBe(g.hashedKey);
  });

  it('works with a partner on Salesforce: vendor relation on its Account, vendor-unshared populations stay out', async () => {
    const handle = await client.workflow.start(overlapWorkflow, { taskQueue, workflowId: overlapWorkflowId(`initech-${taskQueue}`), args: [{ partnerId: 'initech', everyMs: 3_600_000, maxPasses: 1 }] });
    const status = await handle.result();
    expect(status.lastError).toBeUndefined();
    // acme-widgets.fr ~ www.Acme-Widgets.com (country TLD); the partner's open opportunity reads "opportunity".
    expect(await vendorField('acme')).toBe('acme: customer; globex: customer; initech: opportunity');
    const ini = sb.jsforce('initech');
    const acme = (await ini.sobject('Account').retrieve(ids['initech:acme'])) as unknown as Record<string, unknown>;
    expect(acme.Vendor_Relation__c).toBe('customer');
    // The vendor's Globex is an open opportunity/prospect, which the vendor does not share with initech.
    const globex = (await ini.sobject('Account').retrieve(ids['initech:globex'])) as unknown as Record<string, unknown>;
    expect(globex.Vendor_Relation__c ?? null).toBeNull();
    // … and initech's customer Globex is therefore not shown on the vendor's Globex either.
    expect(await vendorField('globex')).toBe('acme: prospect');
  });

  it('startOverlapWorkflows starts overlap:<partner> once per sharing partner, idempotently, filterable by search attributes', async () => {
    // On a shared cluster (TEMPORAL_ADDRESS) an earlier run may have left one behind.
    await overlapHandle(client, 'globex').terminate('fresh start for the test').catch(() => undefined);
    const started = await startOverlapWorkflows(client, network, { taskQueue, only: ['globex'] });
    expect(started).toEqual(['globex']);
    const handle = overlapHandle(client, 'globex');
    const firstRun = (await handle.describe()).runId;
    await startOverlapWorkflows(client, network, { taskQueue, only: ['globex'] });
    expect((await handle.describe()).runId).toBe(firstRun);
    const status = await waitFor(() => overlapStatus(client, 'globex'), (s) => (s?.passes ?? 0) >= 1);
    expect(status?.state).toBe('waiting');
    expect(status?.everyMs).toBe(3_600_000); // sharing.every defaults to 1h
    const desc = await handle.describe();
    expect(desc.searchAttributes.CosellKind).toEqual(['overlap']);
    expect(desc.searchAttributes.CosellPartner).toEqual(['globex']);
    await handle.terminate('test done');
  });

  it('cosell overlaps PARTNER --refresh --dry-run computes from the live CRMs and writes nothing', async () => {
    const before = await vendorField('stark');
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await (await buildProgram()).exitOverride().parseAsync(['node', 'cosell', 'overlaps', 'acme', '--refresh', '--dry-run', '-c', networkFile]);
    } finally {
      spy.mockRestore();
    }
    expect(out).toMatch(/Overlaps between Vendor and acme — 3 \(computed now in \d+ ms \(dry run: nothing written\)\)/);
    expect(out).toMatch(/customer\s+1\s+0\s+1\s+2/);
    expect(out).toContain('Acme Widgets Corporation');
    expect(out).not.toContain('ACME WIDGETS INC'); // vendor view: the partner's record names stay out
    expect(await vendorField('stark')).toBe(before);
    const cliLedger = await openLedger({ file: path.join(path.dirname(networkFile), 'cli-ledger.sqlite') });
    expect(await cliLedger.overlaps.list('acme')).toEqual([]);
    await cliLedger.close();
  });
});
