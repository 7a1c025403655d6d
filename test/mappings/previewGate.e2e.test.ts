import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../../connectors/types.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { LoadedNetwork } from '../../lib/config.js';
import { previewLive } from '../../lib/mappingPreview.js';
import { Engine } from '../../sync/build.js';
import { AccountIndexFeed } from '../../registrations/accountIndexFeed.js';
import { registrationGateFor } from '../../registrations/gate.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { testPolicy } from '../helpers/registrations.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { drain } from '../helpers/drain.js';
import { testClient } from '../helpers/temporal.js';
import { buildConsole } from '../../console/server.js';
import { login, testUsers } from '../console/helpers.js';

/**
 * `cosell mapping preview` on a registration link tells what the Rules-of-Engagement gate would do:
 * a deal above the tier limit is "held: pending review (…)", one below the minimum or duplicating a
 * vendor opportunity "rejected (…)", only the rest "create" — and the preview writes nothing (no
 * registration, audit event, account-index cursor or vendor record). Before this change the preview
 * said "create" for all of them. A property test checks the preview against the real gate: random
 * deals are previewed, then synced through the gate, and every status matches.
 */
const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;
const STOCK = path.resolve(new URL('../../mappings/stock', import.meta.url).pathname);
const MAPPING = path.join(STOCK, 'hubspot-deal-to-salesforce-opportunity.yaml');

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
tiers: { gold: { autoApproveUpTo: 100000 } }
`;

let sb: TestSandbox;
let ledger: Ledger;
let network: LoadedNetwork;
let networkFile: string;
let acme: Connector;
let vendor: Connector;
let engine: Engine;

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 0, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
    ],
  });
  const conn = sandboxEnv(sb, 'PREVIEWGATE');
  const roe = testPolicy(POLICY);
  const ledgerFile = tempLedgerFile();
  const text = `
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, territories: { countries: [US, CA] }, roles: [sourcing], connection: ${conn.acme} }
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: ${MAPPING}, registration: true, schedule: 1h }
ledger: { file: ${ledgerFile} }
rules: ${roe.file}
`;
  networkFile = path.join(roe.dir, 'cosell.yaml');
  writeFileSync(networkFile, text);
  network = testNetwork(text);
  ledger = await openLedger({ file: ledgerFile });
  engine = new Engine({ network, ledger, gateFor: registrationGateFor({ policy: roe.policy }) });
  // The engine's connectors: its link runtime creates the fields the mapping needs (what a worker does first).
  acme = await engine.connector('acme');
  vendor = await engine.connector('vendor');
  // The vendor's truth the rules match: an account with an open opportunity, in the ledger's index.
  const sf = sb.jsforce('vendor');
  const initrode = (await sf.sobject('Account').create({ Name: 'Initrode Corporation', Website: 'https://www.initrode.com', BillingCountry: 'United States' })) as { id: string };
  await sf.sobject('Opportunity').create({ Name: 'Initrode - direct', AccountId: initrode.id, StageName: 'Qualification', CloseDate: '2027-03-01', Amount: 90000 });
  await indexCatchUp();
  await engine.link('acme-deals');
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await ledger?.close();
  await sb?.stop();
});

/** What the rules-index workflow does continuously: the vendor feed into the ledger's account index. */
async function indexCatchUp(): Promise<void> {
  const feed = new AccountIndexFeed(ledger, vendor, 'vendor');
  await feed.ensureLoaded();
  await feed.catchUp();
}

async function createDeal(name: string, amount: number, company: { name: string; domain: string; country: string }): Promise<string> {
  const hs = sb.hubspot('acme');
  const c = await hs.crm.companies.basicApi.create({ properties: { name: company.name, domain: company.domain, country: company.country }, associations: [] });
  const deal = await hs.crm.deals.basicApi.create({ properties: { dealname: name, amount: String(amount), closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy' }, associations: [] });
  await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', c.id);
  return deal.id;
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [bin, ...args], { encoding: 'utf8', env: process.env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** Everything a preview could have written: registrations, audit, cursors, vendor opportunities. */
async function footprint() {
  const [regs, audit, cursors, accounts, opps] = await Promise.all([
    ledger.registrations.list({}),
    ledger.audit.list({ limit: 100_000 }),
    ledger.db.selectFrom('link_cursors').selectAll().execute(),
    ledger.db.selectFrom('vendor_accounts').selectAll().execute(),
    sb.jsforce('vendor').query('SELECT COUNT() FROM Opportunity'),
  ]);
  return { registrations: regs.map((r) => `${r.id}:${r.status}`).sort(), audit: audit.length, cursors: JSON.stringify(cursors), accounts: JSON.stringify(accounts), opportunities: opps.totalSize };
}

const ids: Record<string, string> = {};

describe('mapping preview on a registration link runs the Rules-of-Engagement gate', () => {
  it('says held / rejected / create as the gate would, and writes nothing (CLI and library)', async () => {
    ids.fine = await createDeal('Alpha rollout', 20_000, { name: 'Alpha Widgets', domain: 'alpha-widgets.com', country: 'United States' });
    ids.big = await createDeal('Beta platform', 500_000, { name: 'Beta Systems', domain: 'beta-systems.com', country: 'United States' });
    ids.tiny = await createDeal('Gamma pilot', 100, { name: 'Gamma Labs', domain: 'gamma-labs.com', country: 'United States' });
    ids.dup = await createDeal('Initrode expansion', 20_000, { name: 'Initrode', domain: 'initrode.com', country: 'United States' });
    ids.abroad = await createDeal('Delta rollout', 20_000, { name: 'Delta GmbH', domain: 'delta-gmbh.de', country: 'Germany' });
    ids.twiceA = await createDeal('Epsilon phase 1', 10_000, { name: 'Epsilon', domain: 'epsilon.io', country: 'Canada' });
    ids.twiceB = await createDeal('Epsilon phase 2', 10_000, { name: 'Epsilon', domain: 'epsilon.io', country: 'Canada' });
    const before = await footprint();

    const p = await run(['mapping', 'preview', MAPPING, '--org', 'acme', '--config', networkFile, '--sample', '50']);
    expect(p.code, p.stderr).toBe(0);
    const line = (id: string) => p.stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';
    expect(p.stdout).toContain('registration link acme-deals: each record as the Rules-of-Engagement gate');
    expect(p.stdout).toMatch(/create 2 · update 0 · held 2 · rejected 3 ·/);
    expect(line(ids.fine)).toMatch(/ create /);
    expect(line(ids.big)).toContain('held: pending review (amount 500,000 USD is above the gold auto-approval limit of 100,000 USD)');
    expect(line(ids.tiny)).toContain('rejected (amount 100 USD is below the minimum deal size of 1,000 USD)');
    expect(line(ids.dup)).toContain('rejected (duplicate of a vendor opportunity');
    expect(line(ids.abroad)).toContain("held: pending review (DE is outside acme's territory (CA, US))");
    expect(line(ids.twiceA)).toMatch(/ create /);
    expect(line(ids.twiceB)).toContain('rejected ("Epsilon" was registered first by acme');
    expect(await footprint()).toEqual(before);

    const lib = await previewLive({ network, file: MAPPING, sourceOrg: 'acme', targetOrg: 'vendor', source: acme, target: vendor, sample: 50, ledger: async () => ledger });
    const byId = new Map(lib.rows.map((r) => [r.sourceId, r]));
    expect(lib.gate?.link).toBe('acme-deals');
    expect(byId.get(ids.big)).toMatchObject({ action: 'held', gate: { action: 'hold', status: 'pending-review', ruleId: 'tier-auto-approval', existing: false } });
    expect(byId.get(ids.dup)).toMatchObject({ action: 'rejected', gate: { ruleId: 'vendor-opportunity' } });
    expect(byId.get(ids.fine)).toMatchObject({ action: 'create', gate: { action: 'write', status: 'auto-approved' } });
    expect(await footprint()).toEqual(before);
  });

  it('the console\'s mappings page validates and previews the link on live records as a diff, with the gate (admins only)', async () => {
    const client = await testClient();
    const app = await buildConsole({ network, ledger, client, engine: async () => engine, users: await testUsers() });
    try {
      const before = await footprint();
      const ana = await login(app, 'ana');
      const list = await app.inject({ method: 'GET', url: '/mappings', headers: { cookie: ana.cookie } });
      expect(list.body).toContain('href="/mappings/acme-deals"');
      const res = await app.inject({ method: 'GET', url: '/mappings/acme-deals?sample=50', headers: { cookie: ana.cookie } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body).toContain('<span class="pill ok">valid</span> no errors');
      expect(res.body).toMatch(/create 2 · update 0 · held 2 · rejected 3 ·/);
      const row = (id: string) => new RegExp(`<tr data-source="${id}">([\\s\\S]*?)</tr>`).exec(res.body)?.[1] ?? '';
      expect(row(ids.big)).toContain('held: pending review (amount 500,000 USD is above the gold auto-approval limit of 100,000 USD)');
      expect(row(ids.tiny)).toContain('rejected (amount 100 USD is below the minimum deal size of 1,000 USD)');
      expect(row(ids.fine)).toContain('<span class="pill ok">create</span>');
      expect(row(ids.fine)).toContain('<td><code>Name</code></td><td class="small diff-del"></td><td class="small diff-add">&quot;Alpha rollout&quot;</td>');
      expect(await footprint()).toEqual(before);
      const vic = await login(app, 'vic');
      expect((await app.inject({ method: 'GET', url: '/mappings/acme-deals', headers: { cookie: vic.cookie } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url: '/mappings', headers: { cookie: vic.cookie } })).body).not.toContain('href="/mappings/acme-deals"');
    } finally {
      await app.close();
      await client.connection.close();
    }
  });

  it('an existing registration is shown with its status: what the sync decided stands', async () => {
    await drain(engine, 'acme-deals');
    const regs = new Map((await ledger.registrations.list({ partner: 'acme' })).map((r) => [r.sourceId, r.status]));
    expect(regs.get(ids.big)).toBe('pending-review');
    expect(regs.get(ids.fine)).toBe('auto-approved');
    const lib = await previewLive({ network, file: MAPPING, sourceOrg: 'acme', targetOrg: 'vendor', source: acme, target: vendor, sample: 50, ledger: async () => ledger });
    expect(lib.problems.filter((x) => x.severity === 'error')).toEqual([]);
    const byId = new Map(lib.rows.map((r) => [r.sourceId, r]));
    expect(byId.get(ids.big)).toMatchObject({ action: 'held', gate: { existing: true, status: 'pending-review' } });
    expect(byId.get(ids.tiny)?.gate).toMatchObject({ existing: true, status: 'rejected', action: 'reject' });
    // The approved deal's opportunity exists now: nothing more to write, whatever the gate says.
    expect(byId.get(ids.fine)?.gate).toMatchObject({ existing: true, action: 'write' });
    expect(byId.get(ids.fine)?.targetId).toBeTruthy();
  });

  it('property: for random deals the preview says what the gate then decides', async () => {
    const domains = ['initrode.com', 'bigbank.com', 'zeta.io', 'eta.io', 'theta.io', 'iota.io'];
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            amount: fc.constantFrom(0, 500, 1000, 40_000, 100_000, 100_001, 750_000),
            domain: fc.constantFrom(...domains),
            country: fc.constantFrom('United States', 'Canada', 'Germany', ''),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        async (deals) => {
          round++;
          const created: string[] = [];
          for (const [i, d] of deals.entries()) {
            // A fresh customer per round (domain suffix) or, for the vendor's own customers, the same one.
            const domain = d.domain === 'initrode.com' || d.domain === 'bigbank.com' ? d.domain : `r${round}-${d.domain}`;
            created.push(await createDeal(`Deal ${round}.${i}`, d.amount, { name: domain.split('.')[0]!, domain, country: d.country }));
          }
          await indexCatchUp();
          const preview = await previewLive({ network, file: MAPPING, sourceOrg: 'acme', targetOrg: 'vendor', source: acme, target: vendor, sample: 1000, ledger: async () => ledger });
          const said = new Map(preview.rows.map((r) => [r.sourceId, r.gate?.status]));
          await drain(engine, 'acme-deals');
          for (const id of created) {
            const reg = await ledger.registrations.get(`acme:${id}`);
            expect({ id, status: said.get(id) }).toEqual({ id, status: reg?.status });
          }
        },
      ),
      { numRuns: 6 },
    );
  }, 180_000);
});
