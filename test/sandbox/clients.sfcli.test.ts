import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';
import { ensureSalesforceCli, sf, type SalesforceCli } from '../helpers/sfcli.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * The sandbox's Salesforce org with the Salesforce CLI (`sf`, pinned in clients/sfcli/package.json and run
 * on the Node 22 it needs), a client cosell does not use and that touches what jsforce never asks for:
 * access-token login (userinfo, the API version list, the Organization row), describe, limits, record
 * commands by --where, sObject Tree import/export, Bulk API 2.0 import/upsert/export/delete and SOSL.
 * Each test checks what sf printed against the org's own tables.
 */

type SfInfo = Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;

let sb: TestSandbox;
let cli: SalesforceCli;
let info: SfInfo;
let home: string;

const vendor = () => sb.org('vendor') as SalesforceOrg;
const live = (type: string) => [...vendor().data.table(type).byId.values()].filter((r) => !r.IsDeleted);
/** One sf command against the org logged in as `sbx`. */
const sbx = (...args: string[]) => sf(cli, home, [...args, '--target-org', 'sbx']);

beforeAll(async () => {
  cli = ensureSalesforceCli();
  sb = await startTestSandbox({
    orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', schema: { fields: { 'Account.Ext_Id__c': { type: 'Text', length: 255, externalId: true, unique: true } } } }],
  });
  info = sb.orgs.vendor as SfInfo;
  home = mkdtempSync(path.join(tmpdir(), 'cosell-sfcli-'));
  const login = await sf(cli, home, ['org', 'login', 'access-token', '--instance-url', info.instanceUrl, '--alias', 'sbx', '--no-prompt'], { SF_ACCESS_TOKEN: info.accessToken });
  if (login.code !== 0) throw new Error(`sf could not log in to the sandbox: ${JSON.stringify(login.out)}`);
}, 900_000);
afterAll(() => {
  sb?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('Salesforce CLI', () => {
  it('logs in with an access token and sees the org as it is: id, user, newest API version, describe, limits', async () => {
    const org = live('Organization')[0]!;
    const versions = (await (await fetch(`${info.instanceUrl}/services/data`)).json()) as Array<{ version: string }>;
    const shown = await sbx('org', 'display');
    expect(shown.code).toBe(0);
    expect(shown.out.result).toMatchObject({ id: org.Id, username: info.username, apiVersion: versions.at(-1)!.version, connectedStatus: 'Connected' });

    const described = await sbx('sobject', 'describe', '--sobject', 'Account');
    expect(described.code).toBe(0);
    expect(described.out.result.fields.map((f: { name: string }) => f.name).sort()).toEqual([...vendor().data.object('Account')!.order].sort());
    const listed = await sbx('sobject', 'list', '--sobject', 'all');
    expect(listed.out.result).toEqual(expect.arrayContaining(['Account', 'Opportunity', 'Organization']));

    // What sf shows is the org's own counter: between two reads of /limits around it.
    const remaining = async () => ((await (await fetch(`${info.instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${info.accessToken}` } })).json()) as { DailyApiRequests: { Remaining: number } }).DailyApiRequests.Remaining;
    const before = await remaining();
    const limits = await sbx('org', 'list', 'limits');
    const after = await remaining();
    const daily = limits.out.result.find((l: { name: string }) => l.name === 'DailyApiRequests');
    expect(daily.max).toBe(1_000_000);
    expect(daily.remaining).toBeLessThan(before);
    expect(daily.remaining).toBeGreaterThan(after);

    // A well-formed token the org never issued: no login, and no alias left behind.
    const bad = await sf(cli, home, ['org', 'login', 'access-token', '--instance-url', info.instanceUrl, '--alias', 'bad', '--no-prompt'], { SF_ACCESS_TOKEN: `${String(org.Id).slice(0, 15)}!not-a-session` });
    expect(bad.code).toBe(1);
    expect((await sf(cli, home, ['org', 'display', '--target-org', 'bad'])).code).not.toBe(0);
  }, 180_000);

  it('record commands by --where, a query across a relationship, and the errors a bad query gets', async () => {
    // sf quotes the --where value into SOQL itself: the apostrophe reaches the org escaped.
    const name = "CLI O'Brien & Sons";
    const created = await sbx('data', 'create', 'record', '--sobject', 'Account', '--values', `Name="${name}" Industry=Technology`);
    expect(created.code).toBe(0);
    const id = created.out.result.id as string;
    expect(vendor().data.table('Account').byId.get(id)).toMatchObject({ Name: name, Industry: 'Technology' });

    const got = await sbx('data', 'get', 'record', '--sobject', 'Account', '--where', `Name="${name}"`);
    expect(got.out.result).toMatchObject({ Id: id, Name: name });
    const updated = await sbx('data', 'update', 'record', '--sobject', 'Account', '--where', `Name="${name}"`, '--values', 'Industry=Energy Website=cli.example.com');
    expect(updated.code).toBe(0);
    expect(vendor().data.table('Account').byId.get(id)).toMatchObject({ Industry: 'Energy', Website: 'cli.example.com' });

    const opps = await sbx('data', 'query', '--query', 'SELECT Id, Name, Account.Name FROM Opportunity WHERE AccountId != null ORDER BY Name LIMIT 5');
    expect(opps.code).toBe(0);
    const accounts = vendor().data.table('Account').byId;
    const expected = live('Opportunity').filter((o) => o.AccountId).sort((a, b) => String(a.Name).localeCompare(String(b.Name), 'en')).slice(0, 5);
    expect(opps.out.result.records.map((r: { Id: string; Account: { Name: string } }) => [r.Id, r.Account.Name])).toEqual(expected.map((o) => [o.Id, accounts.get(o.AccountId as string)!.Name]));

    const deleted = await sbx('data', 'delete', 'record', '--sobject', 'Account', '--record-id', id);
    expect(deleted.code).toBe(0);
    expect(accounts.get(id)?.IsDeleted).toBe(true);
    expect((await sbx('data', 'get', 'record', '--sobject', 'Account', '--record-id', id)).code).toBe(1);

    const short = await sbx('data', 'query', '--query', 'SELECT Id FROM Account WHERE');
    expect(short).toMatchObject({ code: 1, out: { name: 'MALFORMED_QUERY', message: expect.stringContaining('ERROR at Row:1:Column:29\nunexpected token: <EOF>') } });
    const unknown = await sbx('data', 'query', '--query', 'SELECT Nope__c FROM Account');
    expect(unknown).toMatchObject({ code: 1, out: { name: 'INVALID_FIELD', message: expect.stringContaining("No such column 'Nope__c' on entity 'Account'") } });
  }, 180_000);

  it('tree import links children to their new parents, and tree export reads them back', async () => {
    const file = path.join(home, 'tree.json');
    writeFileSync(file, JSON.stringify({
      records: [{
        attributes: { type: 'Account', referenceId: 'AccRef' },
        Name: 'Tree CLI Co',
        Opportunities: { records: [
          { attributes: { type: 'Opportunity', referenceId: 'OppRef1' }, Name: 'Tree CLI one', StageName: 'Prospecting', CloseDate: '2027-01-31' },
          { attributes: { type: 'Opportunity', referenceId: 'OppRef2' }, Name: 'Tree CLI two', StageName: 'Closed Won', CloseDate: '2027-02-28', Amount: 1200.5 },
        ] },
      }],
    }));
    const imported = await sbx('data', 'import', 'tree', '--files', file);
    expect(imported.code).toBe(0);
    const ids = Object.fromEntries(imported.out.result.map((r: { refId: string; id: string }) => [r.refId, r.id]));
    expect(Object.keys(ids).sort()).toEqual(['AccRef', 'OppRef1', 'OppRef2']);
    const opps = vendor().data.table('Opportunity').byId;
    expect([opps.get(ids.OppRef1)!, opps.get(ids.OppRef2)!].map((o) => [o.AccountId, o.IsWon, o.Amount ?? null])).toEqual([[ids.AccRef, false, null], [ids.AccRef, true, 1200.5]]);

    const exported = await sbx('data', 'export', 'tree', '--query', "SELECT Name, (SELECT Name, StageName FROM Opportunities ORDER BY Name) FROM Account WHERE Name = 'Tree CLI Co'", '--output-dir', path.join(home, 'export'));
    expect(exported.code).toBe(0);
    const [account] = exported.out.result.records;
    expect(account).toMatchObject({ Name: 'Tree CLI Co', Opportunities: { records: [{ Name: 'Tree CLI one', StageName: 'Prospecting' }, { Name: 'Tree CLI two', StageName: 'Closed Won' }] } });
    // Bulk API 2.0 takes no sub-queries: the job is refused with the reason, not run without the children.
    const bulk = await sbx('data', 'export', 'bulk', '--query', 'SELECT Name, (SELECT Name FROM Opportunities) FROM Account', '--output-file', path.join(home, 'nested.csv'), '--wait', '5');
    expect(bulk).toMatchObject({ code: 1, out: { message: expect.stringContaining('sub-queries are not supported by Bulk API 2.0') } });
  }, 180_000);

  it('bulk: random rows imported from CSV, upserted by an external id, exported back byte for byte, then deleted', async () => {
    // Text that CSV has to quote: commas, quotes, newlines (in the long text), non-ASCII.
    const text = (multiline: boolean) => fc.array(fc.constantFrom('a', 'Z', '7', ' ', ',', '"', "'", ';', '\\', 'ü', '€', '日', '😀', ...(multiline ? ['\n'] : [])), { minLength: 1, maxLength: 12 })
      .map((c) => c.join('')).filter((s) => s.trim() === s && s !== '');
    const rows = fc.uniqueArray(fc.record({ ext: text(false), name: text(false), description: text(true) }), { minLength: 1, maxLength: 6, selector: (r) => r.ext.toLowerCase() });
    let run = 0;
    await fc.assert(fc.asyncProperty(rows, async (sample) => {
      const tag = `bulkcli${++run}x${Date.now()}`;
      const csv = (records: Array<Record<string, string>>) => {
        const file = path.join(home, `${tag}-${Math.random().toString(36).slice(2)}.csv`);
        writeFileSync(file, stringify(records, { header: true }));
        return file;
      };
      const first = sample.map((r) => ({ Ext_Id__c: `${tag}:${r.ext}`, Name: `${tag} ${r.name}`, Description: r.description }));
      const imported = await sbx('data', 'import', 'bulk', '--sobject', 'Account', '--file', csv(first), '--wait', '5');
      expect(imported.out.result).toMatchObject({ processedRecords: sample.length, successfulRecords: sample.length, failedRecords: 0 });

      // The same external ids in other case: every row updates the record it made, none is created.
      const second = first.map((r) => ({ ...r, Ext_Id__c: r.Ext_Id__c.toUpperCase(), Name: `${r.Name} v2` }));
      const upserted = await sbx('data', 'upsert', 'bulk', '--sobject', 'Account', '--file', csv(second), '--external-id', 'Ext_Id__c', '--wait', '5');
      expect(upserted.out.result.jobInfo).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: sample.length, numberRecordsFailed: 0 });
      expect(upserted.out.result.records.successfulResults.map((r: { sf__Created: string }) => r.sf__Created)).toEqual(sample.map(() => 'false'));
      const ours = () => live('Account').filter((a) => String(a.Ext_Id__c).toLowerCase().startsWith(`${tag}:`));
      const mine = ours();
      // Matched without regard to case (which case the matched record then keeps is not asserted: unverified).
      const lower = (rows: Array<Record<string, unknown>>) => rows.map((r) => [String(r.Ext_Id__c).toLowerCase(), r.Name, r.Description]).sort();
      expect(lower(mine)).toEqual(lower(second));

      const outFile = path.join(home, `${tag}-export.csv`);
      const exported = await sbx('data', 'export', 'bulk', '--query', `SELECT Id, Ext_Id__c, Name, Description FROM Account WHERE Name LIKE '${tag}%'`, '--output-file', outFile, '--result-format', 'csv', '--wait', '5');
      expect(exported.out.result.totalSize).toBe(sample.length);
      const back = parse(readFileSync(outFile), { columns: true }) as Array<Record<string, string>>;
      expect(back.map((r) => [r.Id, r.Ext_Id__c, r.Name, r.Description]).sort()).toEqual(mine.map((a) => [a.Id, a.Ext_Id__c, a.Name, a.Description]).sort());

      const removed = await sbx('data', 'delete', 'bulk', '--sobject', 'Account', '--file', csv(back.map((r) => ({ Id: r.Id! }))), '--wait', '5');
      expect(removed.out.result.jobInfo).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: sample.length, numberRecordsFailed: 0 });
      expect(ours()).toEqual([]);
    }), { numRuns: 3 });
  }, 300_000);

  it('SOSL search finds what the org holds', async () => {
    const names = live('Account').map((a) => String(a.Name));
    const word = names[0]!.split(' ')[0]!;
    const found = await sbx('data', 'search', '--query', `FIND {${word}} IN NAME FIELDS RETURNING Account(Name)`);
    expect(found.code).toBe(0);
    const hits = found.out.result.searchRecords.map((r: { Name: string }) => r.Name).sort();
    expect(hits).toEqual(names.filter((n) => n.toLowerCase().split(/\W+/).includes(word.toLowerCase())).sort());
  }, 120_000);
});
