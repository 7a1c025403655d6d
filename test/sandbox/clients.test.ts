import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubspotSandboxOrg } from '@cosell/sandbox/hubspot';
import { resolveObjectType } from '../../sandbox/hubspot/meta.js';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';
import { ensurePythonClients, runPythonClient, type PythonClients } from '../helpers/pyclients.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * The sandbox with clients cosell does not use: Python's simple-salesforce and hubspot-api-client (pinned
 * in clients/requirements.txt, installed at test time into .temporal/pyclients), plus plain fetch for what
 * other HTTP clients send (trailing and doubled slashes, body-less writes with a JSON content type,
 * booleans spelled `True`, percent-encoded external ids). The scripts print what the client saw; the
 * tests check that and the orgs' state.
 */

type SfInfo = Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;
type HsInfo = Extract<TestSandbox['orgs'][string], { kind: 'hubspot' }>;

let sb: TestSandbox;
let py: PythonClients;
let sf: SfInfo;
let hs: HsInfo;

beforeAll(async () => {
  py = ensurePythonClients();
  sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', schema: { fields: { 'Account.Ext_Id__c': { type: 'Text', length: 255, externalId: true, unique: true } } } },
      { id: 'acme', kind: 'hubspot' },
    ],
  });
  sf = sb.orgs.vendor as SfInfo;
  hs = sb.orgs.acme as HsInfo;
}, 900_000);
afterAll(() => sb?.stop());

const vendor = () => sb.org('vendor') as SalesforceOrg;
const portal = () => (sb.org('acme') as HubspotSandboxOrg).portal;

const runPython = (script: string, env: Record<string, string>) => runPythonClient(py, script, env);

const sfFetch = (p: string, init: RequestInit = {}) =>
  fetch(`${sf.instanceUrl}${p}`, { ...init, headers: { authorization: `Bearer ${sf.accessToken}`, ...(init.headers ?? {}) } });
const hsFetch = (p: string, init: RequestInit = {}) =>
  fetch(`${hs.basePath}${p}`, { ...init, headers: { authorization: `Bearer ${hs.accessToken}`, ...(init.headers ?? {}) } });

const accountsByExtId = () => {
  const out = new Map<string, Array<Record<string, unknown>>>();
  for (const r of vendor().data.table('Account').byId.values()) {
    if (r.IsDeleted || typeof r.Ext_Id__c !== 'string') continue;
    const k = r.Ext_Id__c.toLowerCase(); // external ids are case-insensitive unless the field says otherwise
    out.set(k, [...(out.get(k) ?? []), r]);
  }
  return out;
};

/** External ids made of what URLs reserve (never only dots: a client's URL parser removes `.`/`..` segments). */
const extIdArb = fc
  .array(fc.constantFrom('a', 'B', '7', '/', '%', '2F', '?', '#', '&', '=', '+', ' ', ';', ':', '@', "'", '"', '\\', 'ü', '€', '.', '~', '*', '(', '[', '{'), { minLength: 1, maxLength: 10 })
  .map((parts) => parts.join(''))
  .filter((s) => s.trim() === s && s.trim() !== '' && !/^\.+$/.test(s));

describe('simple-salesforce', () => {
  it('probes, describes, creates, upserts by external id, queries, pages, deletes — and the org agrees', async () => {
    const sampled = fc.sample(extIdArb, { numRuns: 8, seed: 17 });
    // Case-insensitive: one of two ids that differ only in case would update the other's record.
    const extIds = [...new Map(['a/b', 'a%2Fb', 'x y', 'q?&#=+', 'ünï€', ...sampled].map((e) => [e.toLowerCase(), e])).values()];
    const out = await runPython('salesforce_client.py', { SANDBOX_SF: JSON.stringify({ instanceUrl: sf.instanceUrl, accessToken: sf.accessToken, extIds }) });

    const org = vendor().data.table('Organization');
    const orgRow = [...org.byId.values()][0]!;
    expect(out.isSandbox).toBe(true);
    expect(out.organization).toEqual({ Id: orgRow.Id, Name: 'vendor', OrganizationType: 'Enterprise Edition', IsSandbox: true });
    expect(out.limits.DailyApiRequests.Max).toBe(1_000_000);
    expect(out.limits.keys).toEqual(expect.arrayContaining(['DailyApiRequests', 'DailyBulkApiBatches', 'DataStorageMB', 'FileStorageMB', 'SingleEmail']));
    expect(out.apiUsage).toBeGreaterThan(0);

    expect(out.globalNames).toEqual(expect.arrayContaining(['Account', 'Opportunity', 'Organization']));
    expect(out.describe.fieldKeys).toEqual(expect.arrayContaining(['calculatedFormula', 'compoundFieldName', 'controllerName', 'extraTypeInfo', 'inlineHelpText', 'referenceTargetField', 'polymorphicForeignKey', 'writeRequiresMasterRead']));
    expect(out.describe.topKeys).toEqual(expect.arrayContaining(['recordTypeInfos', 'childRelationships', 'namedLayoutInfos', 'supportedScopes', 'urls', 'fields']));
    expect(out.describe.recordTypes).toEqual([['Master', true, '012000000000000AAA']]);
    expect(out.describe.children).toEqual(expect.arrayContaining([['Opportunity', 'AccountId', 'Opportunities'], ['Account', 'ParentId', 'ChildAccounts']]));
    expect(out.describe.extId).toEqual(['Ext_Id__c']);

    // POST to .../sobjects/Account/ (trailing slash) created it; DELETE with a JSON content type and no body removed it.
    expect(out.create).toMatchObject({ success: true });
    expect(out.get).toEqual({ Name: 'Python Co', Website: 'https://python.example.com', Industry: 'Technology' });
    expect(out.calls).toContainEqual(expect.objectContaining({ method: 'POST', url: '/services/data/v59.0/sobjects/Account/', status: 201 }));
    expect(out.calls).toContainEqual({ method: 'DELETE', url: `/services/data/v59.0/sobjects/Account/${out.deletedId}`, status: 204, contentType: 'application/json', body: false });
    expect(vendor().data.table('Account').byId.get(out.deletedId)?.IsDeleted).toBe(true);
    expect(out.getDeleted).toBe('ENTITY_IS_DELETED');
    expect(out.badColumn).toBe('INVALID_FIELD');

    // Every external id, however it needed encoding, made one record (201) then updated that same one (200).
    const state = accountsByExtId();
    const ids = new Set<string>();
    for (const u of out.upserts) {
      expect(u).toMatchObject({ first: 201, second: 200, readBack: u.ext, name: `Ext ${u.ext} v2` });
      // '+' in a path is a plus sign (as in Salesforce): quote_plus's spaces miss, unless a record holds the '+' spelling.
      const plus = u.ext.replaceAll(' ', '+').toLowerCase();
      expect(u.byCustomId, u.ext).toBe(!u.ext.includes(' ') ? u.id : (out.upserts.find((o: { ext: string }) => o.ext.toLowerCase() === plus)?.id ?? 'NOT_FOUND'));
      const rows = state.get(u.ext.toLowerCase())!;
      expect(rows.map((r) => [r.Id, r.Ext_Id__c, r.Name])).toEqual([[u.id, u.ext, `Ext ${u.ext} v2`]]);
      ids.add(u.id);
    }
    expect(ids.size).toBe(new Set(extIds.map((e) => e.toLowerCase())).size);

    // LIKE with the client's escapes: '100\% real\_%' matches the literal percent and underscore only.
    expect(out.like).toEqual(['100% real_deal']);
    expect(out.quoted).toEqual(['O\'Brien \\ "Sons"']);
    expect(out.recentCount).toBeGreaterThan(extIds.length);

    expect(out.fieldsAll.n).toBe(3);
    expect(out.fieldsAll.keys).toEqual([...vendor().data.object('Account')!.order].sort());
    expect(out.fieldsCustom).toEqual(['Ext_Id__c']);
    expect(out.fieldsUnbounded).toBe('MALFORMED_QUERY');
    expect(out.columns).toEqual([['Id', []], ['Name', []], ['Owner', ['Email']]]);
    expect(out.calls).toContainEqual(expect.objectContaining({ method: 'GET', url: expect.stringMatching(/\/query\/\?q=.*&columns=True$/), status: 200 }));
    expect(out.queryAllCount).toBe(vendor().data.table('Opportunity').byId.size - 2); // the tree's two came later
    expect(out.deleted).toEqual(['deletedRecords', 'earliestDateAvailable', 'latestDateCovered']);

    // sObject Tree: parents and children in one transaction; a tree with an invalid record writes nothing.
    expect(out.tree.hasErrors).toBe(false);
    const refs = Object.fromEntries(out.tree.results.map((r: { referenceId: string; id: string }) => [r.referenceId, r.id]));
    expect(Object.keys(refs)).toEqual(['acc1', 'opp1', 'opp2']);
    const opps = vendor().data.table('Opportunity');
    expect([refs.opp1, refs.opp2].map((id) => [opps.byId.get(id)?.AccountId, opps.byId.get(id)?.IsWon])).toEqual([[refs.acc1, false], [refs.acc1, true]]);
    expect(out.badTree).toMatchObject({ hasErrors: true, results: [{ referenceId: 'oppX', errors: [{ statusCode: 'REQUIRED_FIELD_MISSING' }] }] });
    expect([...vendor().data.table('Account').byId.values()].filter((r) => r.Name === 'Tree Rollback Co')).toEqual([]);

    expect(out.collectionDelete).toEqual([true, true, true]);
    expect(out.calls).toContainEqual(expect.objectContaining({ method: 'DELETE', url: expect.stringMatching(/composite\/sobjects\?ids=.*&allOrNone=True$/), status: 200 }));
  }, 180_000);
});

describe('hubspot-api-client (Python)', () => {
  it('properties, CRUD, search, associations, batch upsert/read by a unique property, archive — and the portal agrees', async () => {
    const out = await runPython('hubspot_client.py', { SANDBOX_HS: JSON.stringify({ basePath: hs.basePath, accessToken: hs.accessToken }) });
    const p = portal();
    expect(out.propertyNames).toContain('py_ext_id');
    expect(out.created).toMatchObject({ name: 'Py Co', archived: false });
    expect(out.got).toBe('py.example.com');
    expect(out.updated).toBe('py2.example.com');
    expect(out.pageSize).toBe(5);
    expect(out.search).toEqual({ total: 1, ids: [out.companyId] });
    expect(out.deal.amount).toBe('1200.5');
    expect(out.associations).toEqual([{ to: out.companyId, types: [341] }]);
    expect(out.labelledTypes).toEqual([5, 341]);
    expect(out.dealAssociations).toEqual([out.companyId]);
    expect(out.associationsAfterArchive).toBe(0);
    expect(p.assoc.list('deals', out.dealId, 'companies')).toEqual([]);

    expect(out.upserted).toEqual([['py-1', true], ['py/2?', true]]);
    expect(out.batchRead).toEqual(['Batch one', 'Batch two']);
    expect(out.byUniqueId).toBe('Batch two');

    // archived=False / archived=True as Python sends them.
    expect(out.afterArchive).toBe(404);
    expect(out.archivedRead).toEqual({ id: out.companyId, archived: true });
    expect(out.archivedIds).toEqual([out.companyId]);
    const meta = resolveObjectType('companies')!;
    expect(p.store(meta).get(out.companyId)).toBeUndefined();
    expect(p.store(meta).get(out.companyId, true)?.archived).toBe(true);
    expect(out.pipelines).toEqual([['default', expect.any(Number)]]);
    expect(out.owners).toBeGreaterThan(0);
  }, 180_000);
});

describe('requests any reasonable client sends', () => {
  it('trailing and doubled slashes reach the same routes, and still need a session', async () => {
    for (const p of ['/services/data/v62.0/sobjects/', '//services/data/v62.0//sobjects', '/services/data/v62.0/sobjects//']) {
      const r = await sfFetch(p);
      expect(r.status, p).toBe(200);
      expect(((await r.json()) as { sobjects: unknown[] }).sobjects.length).toBeGreaterThan(0);
      const anon = await fetch(`${sf.instanceUrl}${p}`);
      expect(anon.status, p).toBe(401);
    }
    expect((await hsFetch('/crm/v3/objects/companies/?limit=2')).status).toBe(200);
    expect((await fetch(`${hs.basePath}//crm/v3//objects/companies`)).status).toBe(401);
  });

  it('body-less DELETE, PATCH and PUT with Content-Type: application/json', async () => {
    const { id } = (await (await sfFetch('/services/data/v62.0/sobjects/Account', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Name: 'Empty body Co' }) })).json()) as { id: string };
    const patch = await sfFetch(`/services/data/v62.0/sobjects/Account/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' } });
    expect(patch.status).toBe(204);
    const del = await sfFetch(`/services/data/v62.0/sobjects/Account/${id}`, { method: 'DELETE', headers: { 'content-type': 'application/json; charset=UTF-8' } });
    expect(del.status).toBe(204);
    expect(vendor().data.table('Account').byId.get(id)?.IsDeleted).toBe(true);
    // A POST still needs its body, and a body that is there is still JSON: both are Salesforce's JSON_PARSER_ERROR.
    const empty = await sfFetch('/services/data/v62.0/sobjects/Account', { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as Array<{ errorCode: string }>)[0]!.errorCode).toBe('JSON_PARSER_ERROR');
    const emptyHs = await hsFetch('/crm/v3/objects/companies', { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(((await emptyHs.json()) as { category: string }).category).toBe('VALIDATION_ERROR');
    const bad = await sfFetch('/services/data/v62.0/sobjects/Account', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"Name":' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Array<{ errorCode: string }>)[0]!.errorCode).toBe('JSON_PARSER_ERROR');

    const company = (await (await hsFetch('/crm/v3/objects/companies', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties: { name: 'Put Co' } }) })).json()) as { id: string };
    const deal = (await (await hsFetch('/crm/v3/objects/deals', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties: { dealname: 'Put deal' } }) })).json()) as { id: string };
    const put = await hsFetch(`/crm/v4/objects/deals/${deal.id}/associations/default/companies/${company.id}`, { method: 'PUT', headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(200);
    expect(portal().assoc.list('deals', deal.id, 'companies').map((l) => l.toId)).toEqual([company.id]);
    const archive = await hsFetch(`/crm/v3/objects/deals/${deal.id}`, { method: 'DELETE', headers: { 'content-type': 'application/json' } });
    expect(archive.status).toBe(204);
  });

  it('booleans spelled True / FALSE in query strings', async () => {
    const { id } = (await (await hsFetch('/crm/v3/objects/companies', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties: { name: 'Bool Co' } }) })).json()) as { id: string };
    await hsFetch(`/crm/v3/objects/companies/${id}`, { method: 'DELETE' });
    for (const spelled of ['true', 'True', 'TRUE']) {
      const r = await hsFetch(`/crm/v3/objects/companies/${id}?archived=${spelled}`);
      expect(r.status, spelled).toBe(200);
    }
    expect((await hsFetch(`/crm/v3/objects/companies/${id}?archived=False`)).status).toBe(404);
    const cols = await sfFetch(`/services/data/v62.0/query?q=${encodeURIComponent('SELECT Id, Account.Name FROM Opportunity')}&columns=TRUE`);
    expect(((await cols.json()) as { entityName: string; idSelected: boolean }).idSelected).toBe(true);
  });

  it('sObject Tree refuses a malformed request whole: duplicate or missing reference ids, more than 200 records', async () => {
    const post = async (records: unknown[]) => {
      const r = await sfFetch('/services/data/v62.0/composite/tree/Account', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records }) });
      return { status: r.status, body: (await r.json()) as Array<{ errorCode: string }> };
    };
    const before = vendor().data.table('Account').byId.size;
    const acc = (ref?: string) => ({ attributes: { type: 'Account', ...(ref ? { referenceId: ref } : {}) }, Name: `Shape ${ref ?? '-'}` });
    expect(await post([acc('r1'), acc('R1')])).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_INPUT' }] });
    expect(await post([acc()])).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_INPUT' }] });
    expect(await post(Array.from({ length: 201 }, (_, i) => acc(`n${i}`)))).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_INPUT' }] });
    expect(vendor().data.table('Account').byId.size).toBe(before);
  });

  it('upsert by external id: any value, percent-encoded once by the client, hits its own record (property)', async () => {
    const written = new Map<string, { name: string; id: string }>(); // by lower-cased external id
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(extIdArb, fc.integer({ min: 0, max: 999 })), { minLength: 1, maxLength: 6 }), async (ops) => {
        for (const [raw, n] of ops) {
          const ext = `p-${raw}`; // apart from the ids the Python test wrote
          const name = `P ${n}`;
          const res = await sfFetch(`/services/data/v62.0/sobjects/Account/Ext_Id__c/${encodeURIComponent(ext)}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Name: name }) });
          const body = (await res.json()) as { id: string; created: boolean };
          const before = written.get(ext.toLowerCase());
          expect(res.status, ext).toBe(before ? 200 : 201);
          if (before) expect(body.id, ext).toBe(before.id);
          written.set(ext.toLowerCase(), { name, id: body.id });
          const read = await sfFetch(`/services/data/v62.0/sobjects/Account/Ext_Id__c/${encodeURIComponent(ext)}`);
          expect(((await read.json()) as { Id: string }).Id, ext).toBe(body.id);
        }
        const state = accountsByExtId();
        for (const [k, w] of written) {
          expect(state.get(k)!.map((r) => [r.Id, r.Name]), k).toEqual([[w.id, w.name]]);
        }
      }),
      { numRuns: 40, seed: 4242 },
    );
  });
});
