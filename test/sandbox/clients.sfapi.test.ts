import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';
import { ensurePythonClients, runPythonClient, type PythonClients } from '../helpers/pyclients.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * The Salesforce APIs beyond CRUD and SOQL with a client cosell does not use: simple-salesforce
 * (clients/salesforce_api_client.py) logs in over SOAP, reads layouts, searches (SOSL), loads and queries through Bulk API 2.0, sends Composite and Composite Batch
 * requests; the test checks what it saw and the org's state. (jsforce's side: salesforce.composite,
 * salesforce.layouts and salesforce.auth tests.)
 */

type SfInfo = Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;

let sb: TestSandbox;
let py: PythonClients;
let sf: SfInfo;

beforeAll(async () => {
  py = ensurePythonClients();
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }] });
  sf = sb.orgs.vendor as SfInfo;
}, 900_000);
afterAll(() => sb?.stop());

const vendor = () => sb.org('vendor') as SalesforceOrg;
const run = (parts: string[], extra: Record<string, unknown> = {}) => runPythonClient(py, 'salesforce_api_client.py', {
  SANDBOX_SF: JSON.stringify({ instanceUrl: sf.instanceUrl, accessToken: sf.accessToken, loginUrl: sf.loginUrl, username: sf.username, password: sf.password, securityToken: sf.securityToken, parts, ...extra }),
});

describe('simple-salesforce', () => {
  it('Composite with references and allOrNone, Composite Batch with haltOnError', async () => {
    const out = await run(['composite']);
    expect(out.composite).toEqual([['acc', 201], ['opp', 201], ['read', 200]]);
    const { acc, opp } = out.compositeIds as { acc: string; opp: string };
    expect(vendor().data.table('Opportunity').byId.get(opp)?.AccountId).toBe(acc);
    expect(out.compositeRead).toBe(acc);
    expect(out.compositeRolledBack).toEqual([['ok', 400, 'PROCESSING_HALTED'], ['bad', 400, 'REQUIRED_FIELD_MISSING']]);
    expect([...vendor().data.table('Account').byId.values()].filter((r) => r.Name === 'Py Rolled Back Co')).toEqual([]);
    expect(out.batch).toEqual({ hasErrors: true, codes: [204, 200, 404, 412], website: 'https://py.example.com' });
  }, 180_000);
});

describe('simple-salesforce Bulk API 2.0', () => {
  it('sf.bulk2 insert of rows with commas, quotes and newlines, its successful/failed records, a query paged by max_records', async () => {
    const bulkRows = [
      { Name: 'PyBulk "one", first', Description: 'line 1\nline 2' },
      { Name: 'PyBulk two', Description: 'semi; colon' },
      { Name: 'PyBulk three', Description: "it's" },
      { Name: '', Description: 'no name' },
    ];
    const out = await run(['bulk2'], { bulkRows });
    expect(out.bulkInsert).toEqual({ numberRecordsProcessed: 4, numberRecordsFailed: 1, numberRecordsTotal: 4 });
    expect(out.bulkSuccessful.map((r: { Name: string; Description: string; created: string }) => [r.Name, r.Description, r.created])).toEqual(bulkRows.slice(0, 3).map((r) => [r.Name, r.Description, 'true']));
    for (const r of out.bulkSuccessful as Array<{ id: string; Name: string; Description: string }>) {
      const rec = vendor().data.table('Account').byId.get(r.id)!;
      expect([rec.Name, rec.Description]).toEqual([r.Name, r.Description]);
    }
    expect(out.bulkFailed).toEqual(['REQUIRED_FIELD_MISSING']);
    expect(out.bulkQueryPages).toEqual([2, 1]);
    expect(out.bulkQuery).toEqual([...bulkRows.slice(0, 3)].sort((a, b) => (a.Name < b.Name ? -1 : 1)));
  }, 180_000);
});

describe('simple-salesforce search', () => {
  it('SOSL with escaped reserved characters, wildcards, quick_search, parameterizedSearch, the short-term error', async () => {
    const out = await run(['search']);
    expect(out.search).toEqual(['Py Search (Ltd) & Co']);
    expect(out.searchWildcard).toEqual(['Py Search (Ltd) & Co', 'Py Searchable Two']);
    expect(out.quickSearch).toEqual(['Account']);
    expect(out.parameterized).toEqual(['Py Searchable Two']);
    expect(out.shortTerm).toBe('INVALID_SEARCH');
  }, 180_000);
});

describe('simple-salesforce login and describe', () => {
  it('SOAP login with username, password and security token; a wrong password is INVALID_LOGIN', async () => {
    const out = await run(['login']);
    const live = [...vendor().data.table('Account').byId.values()].filter((r) => !r.IsDeleted).length;
    expect(out.login).toEqual({ instance: new URL(sf.instanceUrl).host, sessionLen: expect.any(Number), count: live });
    expect(out.badLogin).toBe('INVALID_LOGIN');
  }, 180_000);

  it('describe/layouts, and the layout of the Master record type by id', async () => {
    const out = await run(['layouts']);
    expect(out.layouts.keys).toEqual(['layouts', 'recordTypeMappings', 'recordTypeSelectorRequired']);
    expect(out.layouts.recordType).toBe('012000000000000AAA');
    expect(out.layoutById).toBe(out.layouts.id);
  }, 180_000);
});
