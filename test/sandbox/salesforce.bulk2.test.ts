import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import type jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceOrg } from '../../sandbox/salesforce/index.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** Bulk API 2.0 ingest and query jobs through the real jsforce (`conn.bulk2`), against the org's state. */

let sb: TestSandbox;
let conn: jsforce.Connection;
type SfInfo = Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', schema: { fields: { 'Account.Ext_Id__c': { type: 'Text', length: 255, externalId: true, unique: true } } } }] });
  conn = sb.jsforce('vendor');
});
afterAll(() => sb?.stop());

const org = () => sb.org('vendor') as SalesforceOrg;
const poll = { pollInterval: 20, pollTimeout: 20_000 };
const raw = async (method: string, path: string, body?: string, contentType = 'application/json') => {
  const info = sb.orgs.vendor as SfInfo;
  const res = await fetch(`${info.instanceUrl}/services/data/v62.0${path}`, { method, headers: { authorization: `Bearer ${info.accessToken}`, 'content-type': contentType }, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as any };
};
const waitState = async (kind: 'ingest' | 'query', id: string, states: string[]) => {
  for (let i = 0; i < 500; i++) {
    const info = (await raw('GET', `/jobs/${kind}/${id}`)).json();
    if (states.includes(info.state)) return info;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${id} never reached ${states.join('/')}`);
};
const accounts = (pred: (r: Record<string, unknown>) => boolean) => [...org().data.table('Account').byId.values()].filter((r) => !r.IsDeleted && pred(r));

describe('Bulk API 2.0 ingest', () => {
  it('insert: quoted commas, quotes and newlines land as written; failed rows come back with sf__Error', async () => {
    const csv = 'Name,Description,NumberOfEmployees\n"Bulk ""Quoted"", Inc.","line one\nline two",12\nBulk Plain,,7\n,no name,3\n';
    const r = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: csv, ...poll });
    expect(r.successfulResults.map((x: any) => [x.sf__Created, x.Name])).toEqual([['true', 'Bulk "Quoted", Inc.'], ['true', 'Bulk Plain']]);
    expect(r.failedResults).toEqual([{ sf__Id: '', sf__Error: 'REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --', Name: '', Description: 'no name', NumberOfEmployees: '3' }]);
    const quoted = org().data.table('Account').byId.get(r.successfulResults[0]!.sf__Id)!;
    expect([quoted.Name, quoted.Description, quoted.NumberOfEmployees]).toEqual(['Bulk "Quoted", Inc.', 'line one\nline two', 12]);
    expect(org().data.table('Account').byId.get(r.successfulResults[1]!.sf__Id)!.Description ?? null).toBeNull();
  });

  it('update (#N/A sets null, an empty cell leaves the field), upsert by external id, delete', async () => {
    const [a, b] = await conn.sobject('Account').create([{ Name: 'Upd A', Description: 'keep', Website: 'https://a.example.com' }, { Name: 'Upd B' }]);
    const upd = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'update', input: `Id,Name,Description,Website\n${a!.id},Upd A2,,#N/A\n${b!.id},Upd B2,desc,\n001000000000000AAA,Nobody,,\n`, ...poll });
    expect(upd.successfulResults.map((x: any) => x.sf__Created)).toEqual(['false', 'false']);
    expect(upd.failedResults[0]!.sf__Error).toMatch(/^INVALID_CROSS_REFERENCE_KEY:/);
    const ra = org().data.table('Account').byId.get(a!.id!)!;
    expect([ra.Name, ra.Description, ra.Website ?? null]).toEqual(['Upd A2', 'keep', null]);

    const ups = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'upsert', externalIdFieldName: 'Ext_Id__c', input: 'Ext_Id__c,Name\nbulk-1,Bulk One\nbulk-2,Bulk Two\nbulk-dup,D1\nbulk-dup,D2\n', ...poll });
    expect(ups.successfulResults.map((x: any) => [x.Ext_Id__c, x.sf__Created])).toEqual([['bulk-1', 'true'], ['bulk-2', 'true']]);
    expect(ups.failedResults.map((x: any) => x.sf__Error)).toEqual(['DUPLICATE_VALUE:Duplicate external id specified: bulk-dup:Ext_Id__c --', 'DUPLICATE_VALUE:Duplicate external id specified: bulk-dup:Ext_Id__c --']);
    const again = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'upsert', externalIdFieldName: 'Ext_Id__c', input: 'Ext_Id__c,Name\nbulk-1,Bulk One v2\n', ...poll });
    expect(again.successfulResults).toMatchObject([{ sf__Id: ups.successfulResults[0]!.sf__Id, sf__Created: 'false' }]);
    expect(accounts((r) => r.Ext_Id__c === 'bulk-1').map((r) => r.Name)).toEqual(['Bulk One v2']);

    const del = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'delete', input: `Id\n${b!.id}\n`, ...poll });
    expect(del.successfulResults).toHaveLength(1);
    expect(org().data.table('Account').byId.get(b!.id!)!.IsDeleted).toBe(true);
  });

  it('job lifecycle: Open → UploadComplete → JobComplete; a bad header fails the job; abort; wrong states are refused', async () => {
    const created = await raw('POST', '/jobs/ingest', JSON.stringify({ object: 'Account', operation: 'insert', lineEnding: 'CRLF', columnDelimiter: 'SEMICOLON' }));
    const job = created.json();
    expect(job).toMatchObject({ state: 'Open', object: 'Account', operation: 'insert', contentType: 'CSV', lineEnding: 'CRLF', columnDelimiter: 'SEMICOLON', contentUrl: `services/data/v62.0/jobs/ingest/${job.id}/batches` });
    expect(job.id).toMatch(/^750/);
    expect((await raw('PUT', `/jobs/ingest/${job.id}/batches`, 'Name;Description\r\nSemi Co;"a;b"\r\n', 'text/csv')).status).toBe(201);
    expect((await raw('PATCH', `/jobs/ingest/${job.id}`, JSON.stringify({ state: 'UploadComplete' }))).json().state).toBe('UploadComplete');
    expect((await raw('PUT', `/jobs/ingest/${job.id}/batches`, 'Name\r\nLate\r\n', 'text/csv')).status).toBe(409);
    const done = await waitState('ingest', job.id, ['JobComplete']);
    expect(done).toMatchObject({ numberRecordsProcessed: 1, numberRecordsFailed: 0, jobType: 'V2Ingest' });
    expect(accounts((r) => r.Name === 'Semi Co').map((r) => r.Description)).toEqual(['a;b']);
    const ok = await raw('GET', `/jobs/ingest/${job.id}/successfulResults`);
    expect(ok.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(ok.text).toMatch(/^"sf__Id";"sf__Created";"Name";"Description"\r\n"001[0-9A-Za-z]{15}";"true";"Semi Co";"a;b"\r\n$/);
    expect((await raw('GET', '/jobs/ingest')).json().records.map((j: { id: string }) => j.id)).toContain(job.id);

    const bad = (await raw('POST', '/jobs/ingest', JSON.stringify({ object: 'Account', operation: 'insert' }))).json();
    await raw('PUT', `/jobs/ingest/${bad.id}/batches`, 'Name,Nope__c\nX,1\n', 'text/csv');
    await raw('PATCH', `/jobs/ingest/${bad.id}`, JSON.stringify({ state: 'UploadComplete' }));
    expect(await waitState('ingest', bad.id, ['Failed', 'JobComplete'])).toMatchObject({ state: 'Failed', errorMessage: 'InvalidBatch : Field name not found : Nope__c' });
    expect(accounts((r) => r.Name === 'X')).toEqual([]);

    const aborted = (await raw('POST', '/jobs/ingest', JSON.stringify({ object: 'Account', operation: 'insert' }))).json();
    await raw('PUT', `/jobs/ingest/${aborted.id}/batches`, 'Name\nNever One\nNever Two\n', 'text/csv');
    expect((await raw('PATCH', `/jobs/ingest/${aborted.id}`, JSON.stringify({ state: 'Aborted' }))).json().state).toBe('Aborted');
    expect(parse((await raw('GET', `/jobs/ingest/${aborted.id}/unprocessedrecords`)).text, { columns: true })).toEqual([{ Name: 'Never One' }, { Name: 'Never Two' }]);
    expect(accounts((r) => String(r.Name).startsWith('Never'))).toEqual([]);
    expect((await raw('DELETE', `/jobs/ingest/${aborted.id}`)).status).toBe(204);
    expect((await raw('GET', `/jobs/ingest/${aborted.id}`)).status).toBe(404);

    for (const body of [{ object: 'Nope__c', operation: 'insert' }, { object: 'Account', operation: 'merge' }, { object: 'Account', operation: 'upsert', externalIdFieldName: 'Name' }, { object: 'Account', operation: 'insert', columnDelimiter: 'SPACE' }]) {
      const r = await raw('POST', '/jobs/ingest', JSON.stringify(body));
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json()[0].errorCode).toBe('INVALIDJOB');
    }
  });
});

describe('Bulk API 2.0 query', () => {
  it('jsforce bulk2.query reads every record with relationship columns; results page with Sforce-Locator', async () => {
    const want = accounts(() => true).length;
    const stream = await conn.bulk2.query('SELECT Id, Name, Owner.Name, CreatedDate FROM Account', poll);
    const got: Array<Record<string, string>> = [];
    for await (const r of stream) got.push(r as Record<string, string>);
    expect(got).toHaveLength(want);
    expect(Object.keys(got[0]!)).toEqual(['Id', 'Name', 'Owner.Name', 'CreatedDate']);
    expect(got[0]!.CreatedDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const job = (await raw('POST', '/jobs/query', JSON.stringify({ operation: 'query', query: 'SELECT Id, Name FROM Account ORDER BY Name' }))).json();
    expect(job).toMatchObject({ operation: 'query', object: 'Account', state: 'UploadComplete' });
    await waitState('query', job.id, ['JobComplete']);
    const seen: string[] = [];
    let locator = '';
    let pages = 0;
    do {
      const page = await raw('GET', `/jobs/query/${job.id}/results?maxRecords=7${locator ? `&locator=${locator}` : ''}`);
      const rows = parse(page.text, { columns: true }) as Array<{ Id: string }>;
      expect(Number(page.headers.get('sforce-numberofrecords'))).toBe(rows.length);
      seen.push(...rows.map((r) => r.Id));
      locator = page.headers.get('sforce-locator')!;
      pages++;
    } while (locator !== 'null');
    expect(pages).toBe(Math.ceil(want / 7));
    expect(new Set(seen).size).toBe(want);

    const bad = await raw('POST', '/jobs/query', JSON.stringify({ operation: 'query', query: 'SELECT Nope__c FROM Account' }));
    expect(bad.status).toBe(400);
    expect(bad.json()[0].errorCode).toBe('INVALID_FIELD');
  });
});

describe('Bulk API 2.0 properties', () => {
  /** Text with what CSV must quote: commas, quotes, both newlines, the delimiter, leading/trailing spaces, unicode. */
  const textArb = fc.string({ unit: fc.constantFrom('a', 'B', ' ', ',', '"', "'", '\n', '\r\n', ';', '|', 'é', '€', '#', '\\', '0'), minLength: 1, maxLength: 12 })
    .filter((s) => s.trim() !== '' && s !== '#N/A');
  const rowsArb = fc.array(fc.record({ name: textArb, description: fc.option(textArb, { nil: undefined }) }), { minLength: 1, maxLength: 30 });

  it('an ingest of random CSV rows yields exactly those records, and a query job reads them back unchanged (property)', async () => {
    let run = 0;
    await fc.assert(
      // jsforce parses results as comma-separated whatever the job's delimiter (the lifecycle test covers SEMICOLON).
      fc.asyncProperty(rowsArb, fc.constantFrom('LF' as const, 'CRLF' as const), async (rows, lineEnding) => {
        const tag = `bulkprop${run++}`;
        const csv = stringify([['Name', 'Description', 'Ext_Id__c'], ...rows.map((r, i) => [r.name, r.description ?? '', `${tag}-${i}`])], { record_delimiter: lineEnding === 'CRLF' ? '\r\n' : '\n' });
        const res = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: csv, lineEnding, ...poll });
        expect(res.failedResults).toEqual([]);
        const mine = accounts((r) => String(r.Ext_Id__c ?? '').startsWith(`${tag}-`)).sort((x, y) => Number(String(x.Ext_Id__c).split('-')[1]) - Number(String(y.Ext_Id__c).split('-')[1]));
        expect(mine.map((r) => [r.Name, r.Description ?? undefined])).toEqual(rows.map((r) => [r.name, r.description]));

        const stream = await conn.bulk2.query(`SELECT Name, Description, Ext_Id__c FROM Account WHERE Ext_Id__c LIKE '${tag}-%' ORDER BY Ext_Id__c`, { ...poll, lineEnding });
        const back: Array<Record<string, string>> = [];
        for await (const r of stream) back.push(r as Record<string, string>);
        const byExt = new Map(back.map((r) => [r.Ext_Id__c, r]));
        rows.forEach((r, i) => {
          const b = byExt.get(`${tag}-${i}`)!;
          expect([b.Name, b.Description || undefined]).toEqual([r.name, r.description]);
        });
      }),
      { numRuns: 20, seed: 3131 },
    );
  });

  it('more than 200 rows are processed 200 to a transaction: each transaction shares one SystemModstamp', async () => {
    const n = 450;
    const csv = `Name\n${Array.from({ length: n }, (_, i) => `Chunked ${i}`).join('\n')}\n`;
    const res = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: csv, ...poll });
    expect(res.successfulResults).toHaveLength(n);
    const stamps = res.successfulResults.map((r: any) => org().data.table('Account').byId.get(r.sf__Id)!.SystemModstamp as number);
    for (let i = 0; i < n; i++) expect(stamps[i], String(i)).toBe(stamps[Math.floor(i / 200) * 200]);
    expect([...stamps].sort((x, y) => x - y)).toEqual(stamps); // transactions commit in row order
  });
});
