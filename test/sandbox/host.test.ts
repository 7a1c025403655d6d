import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SandboxConfigError, startSandbox, type Sandbox } from '@cosell/sandbox';
import { ErrorCodes, exitCodeOf, toCosellError, type ErrorCode } from '../../lib/errors.js';
import { parseSandboxConfig } from '../../app/sandboxConfig.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** The sandbox host: several orgs in one process, web pages, admin endpoints, persistence, config, CLI. */

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cosell-sandbox-host-'));

describe('one process, several orgs', () => {
  let sb: TestSandbox;
  beforeAll(async () => {
    sb = await startTestSandbox({ orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor' },
      { id: 'acme', kind: 'hubspot', role: 'partner' },
      { id: 'initech', kind: 'salesforce', role: 'partner' },
    ] });
  });
  afterAll(() => sb?.stop());

  it('each org has its own base URL, credentials and data', async () => {
    expect(Object.keys(sb.orgs)).toEqual(['vendor', 'acme', 'initech']);
    expect(sb.orgs.acme).toMatchObject({ kind: 'hubspot', basePath: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), accessToken: expect.any(String) });
    const v = sb.orgs.vendor as Extract<typeof sb.orgs.vendor, { kind: 'salesforce' }>;
    const i = sb.orgs.initech as typeof v;
    expect(v.instanceUrl).not.toBe(i.instanceUrl);
    expect(v.accessToken).not.toBe(i.accessToken);
    // A token of one org is not valid at another.
    const res = await fetch(`${i.instanceUrl}/services/data/v62.0/sobjects`, { headers: { authorization: `Bearer ${v.accessToken}` } });
    expect(res.status).toBe(401);
    const vendorNames = (await sb.jsforce('vendor').query<any>('SELECT Name FROM Account')).records.map((r) => r.Name);
    const initechNames = (await sb.jsforce('initech').query<any>('SELECT Name FROM Account')).records.map((r) => r.Name);
    expect(vendorNames).not.toEqual(initechNames);
    const companies = await sb.hubspot('acme').crm.companies.basicApi.getPage(10);
    expect(companies.results.length).toBeGreaterThan(0);
  });

  it('serves read-only web pages: object index, list view newest first, record page with every field', async () => {
    const index = await (await fetch(sb.pages.vendor)).text();
    expect(index).toContain('Opportunity');
    const { id } = (await sb.jsforce('vendor').sobject('Account').create({ Name: 'Freshly Synced <Partner> GmbH' })) as { id: string };
    const list = await fetch(`${sb.baseUrls.vendor}/__sandbox/ui/Account`);
    expect(list.headers.get('content-type')).toContain('text/html');
    const html = await list.text();
    const firstRow = html.indexOf('<td><a href="/__sandbox/ui/Account/');
    expect(html.slice(firstRow, firstRow + 200)).toContain(id); // newest first
    expect(html).toContain('Freshly Synced &lt;Partner&gt; GmbH'); // escaped
    const rec = await (await fetch(`${sb.baseUrls.vendor}/__sandbox/ui/Account/${id}`)).text();
    expect(rec).toContain('SystemModstamp');
    expect(rec).toContain('BillingCountry');
    expect((await fetch(`${sb.baseUrls.vendor}/__sandbox/ui/Account/001000000000000AAA`)).status).toBe(404);
    const root = await fetch(`${sb.baseUrls.vendor}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect((await fetch(sb.pages.acme)).status).toBe(200);
  });

  it('admin endpoints: faults round-trip, clock, info', async () => {
    const set = await fetch(`${sb.baseUrls.initech}/__sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 5, dailyLimit: 10 }) });
    expect(await set.json()).toEqual({ latencyMs: 5, dailyLimit: 10 });
    sb.setFaults('initech', {});
    expect(sb.org('initech').faults()).toEqual({});
    const frozen = await sb.clock('initech', { at: '2030-01-01T00:00:00.000Z', freeze: true });
    expect(frozen).toEqual({ now: '2030-01-01T00:00:00.000Z', frozen: true });
    // Years later every earlier token has expired: the OAuth-configured connection refreshes by itself.
    const conn = sb.jsforce('initech', { oauth: true });
    const { id } = (await conn.sobject('Account').create({ Name: 'Future Inc.' })) as { id: string };
    expect(await conn.sobject('Account').retrieve(id)).toMatchObject({ CreatedDate: '2030-01-01T00:00:00.000+0000' });
    await sb.clock('initech', { freeze: false });
    const info = await (await fetch(`${sb.baseUrls.initech}/__sandbox/info`)).json();
    expect(info).toMatchObject({ id: 'initech', kind: 'salesforce', instanceUrl: sb.baseUrls.initech });
    expect(() => sb.org('nope')).toThrow(/no org "nope"/);
  });
});

describe('persistence', () => {
  it('snapshots every org on stop and restores data, custom fields and credentials on start', async () => {
    const persistFile = path.join(tmp, 'state.json');
    const config = { orgs: [{ id: 'vendor', kind: 'salesforce' as const, seed: { accounts: 5, opportunities: 5, owners: 1 } }] };
    let sb: Sandbox = await startSandbox({ config, persistFile, seed: 3 });
    const info = sb.orgs.vendor as Extract<Sandbox['orgs'][string], { kind: 'salesforce' }>;
    const jsforce = (await import('jsforce')).default;
    let conn = new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: info.accessToken, version: '62.0' });
    await conn.tooling.sobject('CustomField').create({ FullName: 'Account.Ext__c', Metadata: { type: 'Text', length: 10, externalId: true, unique: true } } as any);
    const { id } = (await conn.sobject('Account').create({ Name: 'Survivor Ltd', Ext__c: 'S-1' })) as { id: string };
    await sb.stop();
    sb = await startSandbox({ config, persistFile, seed: 3 });
    try {
      const again = sb.orgs.vendor as typeof info;
      conn = new jsforce.Connection({ instanceUrl: again.instanceUrl, accessToken: again.accessToken, version: '62.0' });
      expect(await conn.sobject('Account').retrieve(id)).toMatchObject({ Name: 'Survivor Ltd', Ext__c: 'S-1' });
      expect(again.privateKeyPem).toBe(info.privateKeyPem);
      expect(again.clientSecret).toBe(info.clientSecret);
      expect((await conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(6);
      await expect(conn.sobject('Account').create({ Name: 'Dup', Ext__c: 's-1' })).rejects.toMatchObject({ errorCode: 'DUPLICATE_VALUE' });
      const { id: next } = (await conn.sobject('Account').create({ Name: 'After restart' })) as { id: string };
      expect(next > id).toBe(true); // id counters survive too
    } finally {
      await sb.stop();
    }
  });
});

describe('config', () => {
  it('reports every problem as file:line:col: CODE: message', () => {
    const text = 'orgs:\n  - id: Vendor\n    kind: salesforce\n  - id: acme\n    kind: dynamics\n    colour: red\n';
    let message = '';
    try {
      parseSandboxConfig(text, 'net.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^net\.yaml:2:9: SANDBOX_CONFIG_INVALID: .*lower-case/m);
    expect(message).toMatch(/^net\.yaml:5:11: SANDBOX_CONFIG_INVALID: /m);
    expect(message).toMatch(/^net\.yaml:6:5: SANDBOX_CONFIG_INVALID: unknown key "colour"/m);
  });

  // The package cannot import cosell's catalogue; its errors carry the catalogue's code by value, and
  // cosell turns them into the same CosellError (exit 2, the hint) as its own.
  it('a bad config object or an unknown org is COSELL_CONFIG_INVALID with a hint, through cosell as from the package', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<unknown[]>([], [{ id: 'Vendor', kind: 'salesforce' }], [{ id: 'v', kind: 'dynamics' }], [{ id: 'v', kind: 'salesforce', colour: 'red' }], [{ id: 'v', kind: 'salesforce' }, { id: 'v', kind: 'hubspot' }]), async (orgs) => {
        const err = await startSandbox({ config: { orgs } as never }).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(SandboxConfigError);
        const cosell = toCosellError(err);
        expect(cosell.code).toBe('COSELL_CONFIG_INVALID');
        expect(exitCodeOf(cosell.code)).toBe(2);
        expect(cosell.message).toMatch(/^<config>:1:1: SANDBOX_CONFIG_INVALID: orgs/m);
        expect(cosell.describe()).toMatch(/hint: see default-network\.yaml/);
      }),
      { numRuns: 10 },
    );
    const sb = await startSandbox({ config: { orgs: [{ id: 'vendor', kind: 'salesforce', seed: { accounts: 1, opportunities: 1 } }] } });
    try {
      const err = toCosellError((() => { try { sb.org('nope'); } catch (e) { return e; } })());
      expect([err.code, err.message, err.hint]).toEqual(['COSELL_CONFIG_INVALID', 'no org "nope" in this sandbox', 'orgs: vendor']);
    } finally {
      await sb.stop();
    }
  });

  it('cosell keeps any catalogue code an error carries, and only those', () => {
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(ErrorCodes) as ErrorCode[])), fc.string(), fc.option(fc.string(), { nil: undefined }), (code, message, hint) => {
        const e = Object.assign(new Error(message), { code, hint });
        expect(toCosellError(e)).toMatchObject({ code, message, hint, cause: e });
      }),
    );
    fc.assert(
      fc.property(fc.string().filter((c) => !Object.hasOwn(ErrorCodes, c)), (code) => {
        expect(toCosellError(Object.assign(new Error('x'), { code })).code).toBe('COSELL_UNKNOWN');
      }),
    );
  });
});

describe('cosell sandbox --json', () => {
  it('prints exactly one JSON line once ready and stops on SIGTERM', async () => {
    const cfg = path.join(tmp, 'small.yaml');
    writeFileSync(cfg, 'orgs:\n  - id: vendor\n    kind: salesforce\n    seed: { accounts: 3, opportunities: 3 }\n  - id: acme\n    kind: hubspot\n    seed: { accounts: 3, opportunities: 3 }\n');
    const child = spawn(process.execPath, ['bin/cosell.js', 'sandbox', '--json', '--config', cfg, '--seed', '5'], { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    const parsed = JSON.parse(line);
    expect(Object.keys(parsed)).toEqual(['orgs']);
    expect(parsed.orgs.vendor).toMatchObject({ kind: 'salesforce', instanceUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), accessToken: expect.any(String), clientId: expect.any(String), clientSecret: expect.any(String) });
    expect(parsed.orgs.acme).toMatchObject({ kind: 'hubspot', basePath: expect.any(String), accessToken: expect.any(String) });
    const res = await fetch(`${parsed.orgs.vendor.instanceUrl}/services/data/v62.0/query?q=SELECT+COUNT()+FROM+Account`, { headers: { authorization: `Bearer ${parsed.orgs.vendor.accessToken}` } });
    expect(await res.json()).toMatchObject({ totalSize: 3 });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
  });
});
