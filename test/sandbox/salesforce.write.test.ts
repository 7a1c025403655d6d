import type jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** Writes, org behaviours, custom fields through the Tooling API and faults, through the real jsforce. */

let sb: TestSandbox;
let conn: jsforce.Connection;
type SfInfo = Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;
const SF_DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/;

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [{
      id: 'vendor', kind: 'salesforce', role: 'vendor',
      schema: {
        fields: {
          'Opportunity.Partner_Deal_Id__c': { type: 'Text', length: 64, externalId: true, unique: true, label: 'Partner Deal Id' },
          'Account.Legacy_Key__c': { type: 'Text', length: 20, externalId: true },
          'Opportunity.Partner_Status__c': { type: 'Picklist', values: ['Submitted', 'Approved', 'Rejected'], restricted: true },
        },
        validationRules: [
          { object: 'Opportunity', message: 'Amount cannot be negative', errorField: 'Amount', when: { field: 'Amount', op: '<', value: 0 } },
        ],
        objects: {
          Registration__c: { label: 'Registration', fields: { Opportunity__c: { type: 'Lookup', referenceTo: 'Opportunity', relationshipName: 'Opportunity' }, Claim_Id__c: { type: 'Text', length: 40, externalId: true, unique: true } } },
        },
      },
    }],
  });
  conn = sb.jsforce('vendor');
});
afterAll(() => sb?.stop());

const raw = async (method: string, path: string, body?: unknown) => {
  const info = sb.orgs.vendor as SfInfo;
  const res = await fetch(`${info.instanceUrl}${path}`, { method, headers: { authorization: `Bearer ${info.accessToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};
const opp = (over: Record<string, unknown> = {}) => ({ Name: 'Deal', StageName: 'Prospecting', CloseDate: '2027-03-31', Amount: 1000, ...over });

describe('single-record CRUD', () => {
  it('create / retrieve / update / delete with server-maintained fields in the real format', async () => {
    const created = (await conn.sobject('Opportunity').create(opp({ Name: 'Alpha' }))) as any;
    expect(created).toEqual({ id: expect.stringMatching(/^006[0-9A-Za-z]{15}$/), success: true, errors: [] });
    const rec: any = await conn.sobject('Opportunity').retrieve(created.id);
    expect(rec.attributes).toEqual({ type: 'Opportunity', url: `/services/data/v62.0/sobjects/Opportunity/${created.id}` });
    expect(rec).toMatchObject({ Name: 'Alpha', IsClosed: false, IsWon: false, Probability: 10, IsDeleted: false });
    expect(rec.CreatedDate).toMatch(SF_DATETIME);
    expect(rec.SystemModstamp).toBe(rec.LastModifiedDate);
    expect(rec.OwnerId).toMatch(/^005/);
    await new Promise((r) => setTimeout(r, 5));
    await conn.sobject('Opportunity').update({ Id: created.id, StageName: 'Closed Won' });
    const won: any = await conn.sobject('Opportunity').retrieve(created.id);
    expect(won).toMatchObject({ StageName: 'Closed Won', IsClosed: true, IsWon: true, Probability: 100 });
    expect(won.SystemModstamp > rec.SystemModstamp).toBe(true);
    await conn.sobject('Opportunity').update({ Id: created.id, StageName: 'Closed Lost' });
    expect(await conn.sobject('Opportunity').retrieve(created.id)).toMatchObject({ IsClosed: true, IsWon: false });
    await conn.sobject('Opportunity').destroy(created.id);
    await expect(conn.sobject('Opportunity').retrieve(created.id)).rejects.toMatchObject({ errorCode: 'ENTITY_IS_DELETED' });
    await expect(conn.sobject('Opportunity').retrieve('006000000000000AAA')).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
  });

  it('org validation: required, lengths, restricted picklists, types, read-only fields, unknown fields, references', async () => {
    const so = conn.sobject('Opportunity');
    await expect(so.create({ Name: 'x' })).rejects.toMatchObject({ errorCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [StageName, CloseDate]' });
    await expect(so.create(opp({ Name: 'x'.repeat(121) }))).rejects.toMatchObject({ errorCode: 'STRING_TOO_LONG' });
    await expect(so.create(opp({ StageName: 'Dreaming' }))).rejects.toMatchObject({ errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: 'Stage: bad value for restricted picklist field: Dreaming' });
    await expect(so.create(opp({ Amount: 'lots' }))).rejects.toMatchObject({ errorCode: 'JSON_PARSER_ERROR' });
    await expect(so.create(opp({ IsWon: true }))).rejects.toMatchObject({ errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE' });
    await expect(so.create(opp({ Bogus__c: 1 }))).rejects.toMatchObject({ errorCode: 'INVALID_FIELD', message: "No such column 'Bogus__c' on sobject of type Opportunity" });
    await expect(so.create(opp({ AccountId: 'not-an-id' }))).rejects.toMatchObject({ errorCode: 'MALFORMED_ID' });
    await expect(so.create(opp({ AccountId: '001000000000000AAA' }))).rejects.toMatchObject({ errorCode: 'INVALID_CROSS_REFERENCE_KEY' });
    await expect(so.create(opp({ Partner_Status__c: 'Maybe' }))).rejects.toMatchObject({ errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST' });
    // A configured validation rule, on create and on update, per record in collections.
    await expect(so.create(opp({ Amount: -5 }))).rejects.toMatchObject({ errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Amount cannot be negative' });
    const { id: vid } = (await so.create(opp({ Amount: 5 }))) as any;
    const upd = (await so.update([{ Id: vid, Amount: -1 }])) as any[];
    expect(upd[0].errors).toEqual([{ statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Amount cannot be negative', fields: ['Amount'] }]);
    const bad = await raw('POST', '/services/data/v62.0/sobjects/Opportunity', { Name: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual([{ message: 'Required fields are missing: [StageName, CloseDate]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['StageName', 'CloseDate'] }]);
  });
});

describe('upsert by external id', () => {
  it('201 created, 200 updated, 300 when several records match, DUPLICATE_VALUE on unique ids', async () => {
    const first = await raw('PATCH', '/services/data/v62.0/sobjects/Opportunity/Partner_Deal_Id__c/acme-1', opp({ Name: 'From Acme' }));
    expect(first).toEqual({ status: 201, body: { id: expect.stringMatching(/^006/), success: true, errors: [], created: true } });
    const again = await raw('PATCH', '/services/data/v62.0/sobjects/Opportunity/Partner_Deal_Id__c/ACME-1', { Amount: 5000 });
    expect(again).toEqual({ status: 200, body: { id: first.body.id, success: true, errors: [], created: false } });
    expect(await conn.sobject('Opportunity').retrieve(first.body.id)).toMatchObject({ Amount: 5000, Partner_Deal_Id__c: 'acme-1' });
    // jsforce single upsert (parallel path) resolves with the same shape.
    const viaJsforce = await conn.sobject('Opportunity').upsert({ Partner_Deal_Id__c: 'acme-2', ...opp() }, 'Partner_Deal_Id__c');
    expect(viaJsforce).toMatchObject({ success: true, created: true });

    await conn.sobject('Account').create([{ Name: 'Twin A', Legacy_Key__c: 'L-1' }, { Name: 'Twin B', Legacy_Key__c: 'L-1' }]);
    const multi = await raw('PATCH', '/services/data/v62.0/sobjects/Account/Legacy_Key__c/L-1', { Name: 'Which?' });
    expect(multi.status).toBe(300);
    expect(multi.body).toHaveLength(2);
    expect(multi.body[0]).toMatch(/^\/services\/data\/v62\.0\/sobjects\/Account\/001/);
    await expect(conn.sobject('Account').upsert({ Legacy_Key__c: 'L-1', Name: 'x' }, 'Legacy_Key__c')).rejects.toMatchObject({ errorCode: 'MULTIPLE_CHOICES' });

    await expect(conn.sobject('Opportunity').create(opp({ Partner_Deal_Id__c: 'acme-1' }))).rejects.toMatchObject({ errorCode: 'DUPLICATE_VALUE', message: `duplicate value found: Partner_Deal_Id__c duplicates value on record with id: ${first.body.id}` });
  });
});

describe('sObject Collections', () => {
  it('create / update / delete up to 200 records with per-record results', async () => {
    const recs = Array.from({ length: 200 }, (_, i) => opp({ Name: `Bulk ${i}` }));
    const created = (await conn.sobject('Opportunity').create(recs)) as any[];
    expect(created).toHaveLength(200);
    expect(created.every((r) => r.success && r.errors.length === 0)).toBe(true);
    const ids = created.map((r) => r.id);
    const stamps = (await conn.query<any>(`SELECT SystemModstamp FROM Opportunity WHERE Id IN ('${ids.slice(0, 50).join("','")}')`)).records.map((r) => r.SystemModstamp);
    expect(new Set(stamps).size).toBe(1); // one call = one transaction = one timestamp
    const updated = (await conn.sobject('Opportunity').update(ids.map((Id, i) => ({ Id, Amount: i })))) as any[];
    expect(updated.every((r) => r.success)).toBe(true);
    const deleted = (await conn.sobject('Opportunity').destroy(ids)) as any[];
    expect(deleted.every((r) => r.success)).toBe(true);
    const tooMany = await raw('POST', '/services/data/v62.0/composite/sobjects', { records: Array.from({ length: 201 }, () => ({ attributes: { type: 'Account' }, Name: 'x' })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body[0].errorCode).toBe('EXCEEDED_ID_LIMIT');
  });

  it('partial failure: per-record {statusCode, message, fields}; allOrNone rolls everything back', async () => {
    const res = (await conn.sobject('Opportunity').create([opp({ Name: 'ok 1' }), { Name: 'missing' }, opp({ Name: 'ok 2', StageName: 'Nope' })])) as any[];
    expect(res[0]).toMatchObject({ success: true });
    expect(res[1]).toEqual({ id: null, success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [StageName, CloseDate]', fields: ['StageName', 'CloseDate'] }] });
    expect(res[2].errors[0]).toMatchObject({ statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['StageName'] });
    const before = (await conn.query("SELECT COUNT() FROM Opportunity WHERE Name LIKE 'aon %'")).totalSize;
    const aon = (await conn.sobject('Opportunity').create([opp({ Name: 'aon 1' }), { Name: 'aon 2' }], { allOrNone: true })) as any[];
    expect(aon[0]).toMatchObject({ success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' }] });
    expect(aon[1].errors[0].statusCode).toBe('REQUIRED_FIELD_MISSING');
    expect((await conn.query("SELECT COUNT() FROM Opportunity WHERE Name LIKE 'aon %'")).totalSize).toBe(before);
    // An allOrNone update that fails leaves the earlier record untouched too.
    const [a] = (await conn.sobject('Opportunity').create([opp({ Name: 'aon keep', Amount: 1 })])) as any[];
    await conn.sobject('Opportunity').update([{ Id: a.id, Amount: 2 }, { Id: a.id.replace(/.{3}$/, 'XXX'), Amount: 3 }], { allOrNone: true });
    expect(await conn.sobject('Opportunity').retrieve(a.id)).toMatchObject({ Amount: 1 });
  });

  it('collection upsert by external id (jsforce sobject().upsert(records[], extId)): created flags, duplicates in one call', async () => {
    const batch = Array.from({ length: 200 }, (_, i) => ({ Partner_Deal_Id__c: `glb-${i}`, ...opp({ Name: `Globex ${i}` }) }));
    const t0 = performance.now();
    const res = (await conn.sobject('Opportunity').upsert(batch, 'Partner_Deal_Id__c')) as any[];
    const ms = performance.now() - t0;
    expect(res.every((r) => r.success && r.created === true)).toBe(true);
    expect(ms).toBeLessThan(2000);
    const again = (await conn.sobject('Opportunity').upsert(batch.map((b) => ({ ...b, Amount: 7 })), 'Partner_Deal_Id__c')) as any[];
    expect(again.every((r) => r.success && r.created === false)).toBe(true);
    expect(again.map((r) => r.id)).toEqual(res.map((r) => r.id));
    const dup = (await conn.sobject('Opportunity').upsert([{ Partner_Deal_Id__c: 'd-1', ...opp() }, { Partner_Deal_Id__c: 'D-1', ...opp() }, { Partner_Deal_Id__c: 'd-2', ...opp() }], 'Partner_Deal_Id__c')) as any[];
    expect(dup[0].errors[0]).toEqual({ statusCode: 'DUPLICATE_VALUE', message: 'Duplicate external id specified: d-1', fields: ['Partner_Deal_Id__c'] });
    expect(dup[1].errors[0].statusCode).toBe('DUPLICATE_VALUE');
    expect(dup[2]).toMatchObject({ success: true, created: true });
  });
});

describe('custom fields through the Tooling API', () => {
  it('POST tooling/sobjects/CustomField creates a field that describe, writes, upserts and SOQL see', async () => {
    const body = { FullName: 'Account.Cosell_Key__c', Metadata: { type: 'Text', label: 'Cosell Key', length: 80, externalId: true, unique: true } };
    const res = (await conn.tooling.sobject('CustomField').create(body as any)) as any;
    expect(res).toMatchObject({ id: expect.stringMatching(/^00N/), success: true, errors: [] });
    const field = (await conn.describe('Account')).fields.find((f) => f.name === 'Cosell_Key__c');
    expect(field).toMatchObject({ type: 'string', length: 80, externalId: true, unique: true, custom: true, label: 'Cosell Key' });
    const up = (await conn.sobject('Account').upsert([{ Cosell_Key__c: 'k-1', Name: 'Keyed Ltd' }], 'Cosell_Key__c')) as any[];
    expect(up[0]).toMatchObject({ success: true, created: true });
    expect((await conn.query<any>("SELECT Name FROM Account WHERE Cosell_Key__c = 'K-1'")).records[0].Name).toBe('Keyed Ltd');
    await expect(conn.tooling.sobject('CustomField').create(body as any)).rejects.toMatchObject({ errorCode: 'DUPLICATE_DEVELOPER_NAME' });
    const list = await conn.tooling.query<any>("SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = 'Account'");
    expect(list.records.map((r) => r.DeveloperName)).toEqual(expect.arrayContaining(['Cosell_Key', 'Legacy_Key']));
  });
});

describe('custom objects', () => {
  it('config-defined custom objects are described, written and queried with their lookups', async () => {
    const d = await conn.describe('Registration__c');
    expect(d).toMatchObject({ name: 'Registration__c', custom: true, keyPrefix: expect.stringMatching(/^a0/) });
    expect(d.fields.find((f) => f.name === 'Opportunity__c')).toMatchObject({ type: 'reference', referenceTo: ['Opportunity'], relationshipName: 'Opportunity__r' });
    const { id: oppId } = (await conn.sobject('Opportunity').create(opp({ Name: 'Registered deal' }))) as any;
    const up = (await conn.sobject('Registration__c').upsert([{ Claim_Id__c: 'c-1', Name: 'Claim 1', Opportunity__c: oppId }], 'Claim_Id__c')) as any[];
    expect(up[0]).toMatchObject({ success: true, created: true });
    const q = await conn.query<any>("SELECT Name, Opportunity__r.Name FROM Registration__c WHERE Claim_Id__c = 'c-1'");
    expect(q.records[0]).toMatchObject({ Name: 'Claim 1', Opportunity__r: { Name: 'Registered deal' } });
    const created = (await conn.tooling.sobject('CustomObject').create({ FullName: 'Territory_Claim__c', Metadata: { label: 'Territory Claim', pluralLabel: 'Territory Claims' } } as any)) as any;
    expect(created).toMatchObject({ success: true, id: expect.stringMatching(/^01I/) });
    expect((await conn.describeGlobal()).sobjects.map((s) => s.name)).toContain('Territory_Claim__c');
  });
});

describe('Partner / OpportunityPartner', () => {
  it('a Partner on an opportunity appears as the OpportunityPartner row; one primary per opportunity', async () => {
    const [acc, partnerAcc] = (await conn.sobject('Account').create([{ Name: 'Customer Co' }, { Name: 'Partner Co' }])) as any[];
    const { id: oppId } = (await conn.sobject('Opportunity').create(opp({ AccountId: acc.id }))) as any;
    await conn.sobject('Partner').create({ OpportunityId: oppId, AccountToId: partnerAcc.id, Role: 'System Integrator', IsPrimary: true });
    const op = await conn.query<any>(`SELECT Id, AccountToId, Role, IsPrimary, AccountTo.Name FROM OpportunityPartner WHERE OpportunityId = '${oppId}'`);
    expect(op.records).toEqual([expect.objectContaining({ AccountToId: partnerAcc.id, Role: 'System Integrator', IsPrimary: true, AccountTo: expect.objectContaining({ Name: 'Partner Co' }) })]);
    const [other] = (await conn.sobject('Account').create([{ Name: 'Second Partner' }])) as any[];
    await conn.sobject('Partner').create({ OpportunityId: oppId, AccountToId: other.id, IsPrimary: true });
    const prim = await conn.query<any>(`SELECT AccountToId FROM OpportunityPartner WHERE OpportunityId = '${oppId}' AND IsPrimary = true`);
    expect(prim.records.map((r) => r.AccountToId)).toEqual([other.id]);
    await expect(conn.sobject('Partner').create({ OpportunityId: oppId })).rejects.toMatchObject({ errorCode: 'REQUIRED_FIELD_MISSING' });
    await expect(conn.sobject('OpportunityPartner').create({ OpportunityId: oppId, AccountToId: other.id })).rejects.toMatchObject({ errorCode: 'INVALID_TYPE_FOR_OPERATION' });
  });
});

describe('faults', () => {
  it('5xx, 403 bursts, UNABLE_TO_LOCK_ROW, latency and timeouts, set through the admin endpoint', async () => {
    await sb.faults('vendor', { errorRate: 1 });
    // A POST: jsforce itself retries 5xx on GETs (with back-off), never on POST/PATCH.
    const err = await conn.sobject('Account').create({ Name: 'x' }).catch((e) => e);
    expect(['UNKNOWN_EXCEPTION', 'SERVER_UNAVAILABLE']).toContain(err.errorCode);
    const r5 = await raw('GET', '/services/data/v62.0/limits');
    expect([500, 503]).toContain(r5.status);
    await sb.faults('vendor', { burst429Rate: 1, burst429Length: 2 });
    await expect(conn.query('SELECT Id FROM Account LIMIT 1')).rejects.toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'ConcurrentPerOrgLongTxn Limit exceeded.' });
    await sb.faults('vendor', { lockRowRate: 1 });
    const locked = (await conn.sobject('Account').create([{ Name: 'L1' }, { Name: 'L2' }])) as any[];
    expect(locked.map((r) => r.errors[0]?.statusCode)).toEqual(['UNABLE_TO_LOCK_ROW', 'UNABLE_TO_LOCK_ROW']);
    await sb.faults('vendor', { latencyMs: 150 });
    const t0 = performance.now();
    await conn.query('SELECT Id FROM Account LIMIT 1');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    await sb.faults('vendor', { timeoutRate: 1, timeoutMs: 100 });
    await expect(fetch(`${(sb.orgs.vendor as SfInfo).instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${(sb.orgs.vendor as SfInfo).accessToken}` } })).rejects.toThrow();
    // The admin and web pages are never subject to faults.
    expect((await fetch(sb.pages.vendor)).status).toBe(200);
    await sb.faults('vendor', {});
    expect(await (await fetch(`${sb.baseUrls.vendor}/__sandbox/faults`)).json()).toEqual({});
    await expect(conn.query('SELECT Id FROM Account LIMIT 1')).resolves.toMatchObject({ done: true });
  });
});

describe('Recycle Bin undelete (POST /__sandbox/restore/{type}/{id}, the UI\'s Restore)', () => {
  const restore = async (type: string, id: string) => {
    const info = sb.orgs.vendor as SfInfo;
    return fetch(`${info.instanceUrl}/__sandbox/restore/${type}/${id}`, { method: 'POST' });
  };

  it('brings the record back with the same Id, IsDeleted false, SystemModstamp bumped; gone from getDeleted', async () => {
    const id = ((await conn.sobject('Opportunity').create(opp({ Name: 'Restore me', Partner_Deal_Id__c: 'restore-1' }))) as { id: string }).id;
    const before: any = await conn.sobject('Opportunity').retrieve(id);
    await new Promise((r) => setTimeout(r, 5));
    await conn.sobject('Opportunity').destroy(id);
    expect((await conn.query(`SELECT Id FROM Opportunity WHERE Id = '${id}'`)).totalSize).toBe(0);
    await new Promise((r) => setTimeout(r, 5));
    expect((await restore('Opportunity', id)).status).toBe(200);
    const after: any = await conn.sobject('Opportunity').retrieve(id);
    expect(after).toMatchObject({ Id: id, Name: 'Restore me', IsDeleted: false });
    expect(after.SystemModstamp > before.SystemModstamp).toBe(true);
    const all = await conn.query<{ Id: string; IsDeleted: boolean }>(`SELECT Id, IsDeleted FROM Opportunity WHERE Id = '${id}'`, { scanAll: true });
    expect(all.records.map((r) => r.IsDeleted)).toEqual([false]);
    const end = new Date(Date.now() + 120_000);
    const del = await conn.sobject('Opportunity').deleted(new Date(Date.now() - 3_600_000), end);
    expect(del.deletedRecords.map((d) => d.id)).not.toContain(id);
    // Restoring what is not deleted is refused; so is a record whose unique value was taken meanwhile.
    expect((await restore('Opportunity', id)).status).toBe(404);
    await conn.sobject('Opportunity').destroy(id);
    await conn.sobject('Opportunity').create(opp({ Name: 'Took the key', Partner_Deal_Id__c: 'restore-1' }));
    expect((await restore('Opportunity', id)).status).toBe(404);
  });

  it('an Account brings back the Opportunities its delete cascaded to, not ones deleted before', async () => {
    const acc = ((await conn.sobject('Account').create({ Name: 'Cascade Co' })) as { id: string }).id;
    const [a, b] = (await conn.sobject('Opportunity').create([opp({ Name: 'A', AccountId: acc }), opp({ Name: 'B', AccountId: acc })])) as Array<{ id: string }>;
    await conn.sobject('Opportunity').destroy(b!.id); // deleted on its own, earlier
    await new Promise((r) => setTimeout(r, 5));
    await conn.sobject('Account').destroy(acc);
    expect((await restore('Account', acc)).status).toBe(200);
    const back = await conn.query<{ Id: string }>(`SELECT Id FROM Opportunity WHERE AccountId = '${acc}'`);
    expect(back.records.map((r) => r.Id)).toEqual([a!.id]);
  });
});
