import type jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** SOQL, paging, describe and replication endpoints of the Salesforce emulator, through the real jsforce. */

let sb: TestSandbox;
let conn: jsforce.Connection;
type SfInfo = Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 60, opportunities: 450, owners: 4 } }] });
  conn = sb.jsforce('vendor');
});
afterAll(() => sb?.stop());

const raw = async (path: string, init: RequestInit = {}) => {
  const info = sb.orgs.vendor as SfInfo;
  const res = await fetch(`${info.instanceUrl}${path}`, { ...init, headers: { authorization: `Bearer ${info.accessToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { status: res.status, headers: res.headers, body: (res.status === 204 ? undefined : await res.json()) as any };
};

describe('describe', () => {
  it('describeGlobal lists the standard objects with urls', async () => {
    const g = await conn.describeGlobal();
    const names = g.sobjects.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['Account', 'Opportunity', 'User', 'Partner', 'OpportunityPartner']));
    expect(g.sobjects.find((s) => s.name === 'Account')).toMatchObject({ keyPrefix: '001', queryable: true, urls: { describe: '/services/data/v62.0/sobjects/Account/describe' } });
  });

  it('describe has full field metadata (types, lengths, picklists, references, flags)', async () => {
    const d = await conn.describe('Opportunity');
    const f = Object.fromEntries(d.fields.map((x) => [x.name, x]));
    expect(f.Name).toMatchObject({ type: 'string', length: 120, nillable: false, createable: true, updateable: true });
    expect(f.StageName).toMatchObject({ type: 'picklist', restrictedPicklist: true });
    expect(f.StageName.picklistValues!.map((p) => p.value)).toContain('Closed Won');
    expect(f.AccountId).toMatchObject({ type: 'reference', referenceTo: ['Account'], relationshipName: 'Account' });
    expect(f.IsClosed).toMatchObject({ type: 'boolean', createable: false, updateable: false });
    expect(f.Amount).toMatchObject({ type: 'currency', precision: 18, scale: 2 });
    expect(f.CloseDate).toMatchObject({ type: 'date', nillable: false });
    expect(f.SystemModstamp).toMatchObject({ type: 'datetime', createable: false });
    await expect(conn.describe('Nope__c')).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
  });
});

describe('SOQL', () => {
  it('selects parent relationship fields as nested objects (null when the lookup is empty)', async () => {
    const r = await conn.query<any>('SELECT Id, Name, Account.Name, Account.Owner.Email, Owner.Name FROM Opportunity ORDER BY Id LIMIT 200');
    const withAccount = r.records.find((x) => x.Account);
    expect(withAccount.Account).toMatchObject({ attributes: { type: 'Account' }, Name: expect.any(String) });
    expect(withAccount.Account.Owner.Email).toMatch(/@/);
    expect(withAccount.attributes.url).toBe(`/services/data/v62.0/sobjects/Opportunity/${withAccount.Id}`);
    const orphan = r.records.find((x) => x.Account === null);
    expect(orphan).toBeDefined();
  });

  it('WHERE with AND/OR/NOT, comparison, IN/NOT IN, LIKE, NULL', async () => {
    const all = (await conn.query<any>('SELECT Id, Name, StageName, Amount, AccountId, IsClosed, IsWon FROM Opportunity')).records;
    const count = async (where: string) => (await conn.query(`SELECT COUNT() FROM Opportunity WHERE ${where}`)).totalSize;
    expect(await count("StageName = 'Closed Won'")).toBe(all.filter((o) => o.StageName === 'Closed Won').length);
    expect(await count("StageName != 'Closed Won' AND Amount >= 100000")).toBe(all.filter((o) => o.StageName !== 'Closed Won' && o.Amount >= 100000).length);
    expect(await count("StageName IN ('Closed Won', 'Closed Lost')")).toBe(all.filter((o) => o.IsClosed).length);
    expect(await count("StageName NOT IN ('Closed Won', 'Closed Lost')")).toBe(all.filter((o) => !o.IsClosed).length);
    expect(await count('AccountId = null')).toBe(all.filter((o) => o.AccountId === null).length);
    expect(await count('NOT (IsClosed = true OR Amount < 50000)')).toBe(all.filter((o) => !(o.IsClosed || o.Amount < 50000)).length);
    expect(await count("(IsWon = true AND Amount > 200000) OR Name LIKE '%renewal%'")).toBe(all.filter((o) => (o.IsWon && o.Amount > 200000) || /renewal/i.test(o.Name)).length);
    expect(await count("Name LIKE 'a%'")).toBe(all.filter((o) => /^a/i.test(o.Name)).length);
  });

  it('date and datetime literals, date constants', async () => {
    const all = (await conn.query<any>('SELECT Id, CloseDate, CreatedDate FROM Opportunity')).records;
    const count = async (where: string) => (await conn.query(`SELECT COUNT() FROM Opportunity WHERE ${where}`)).totalSize;
    expect(await count('CloseDate >= 2026-11-01')).toBe(all.filter((o) => o.CloseDate >= '2026-11-01').length);
    expect(await count('CreatedDate < 2026-01-01T00:00:00Z')).toBe(all.filter((o) => o.CreatedDate < '2026-01-01').length);
    expect(await count('CreatedDate < 2026-01-01T01:00:00+01:00')).toBe(all.filter((o) => o.CreatedDate < '2026-01-01').length);
    // Created just now: TODAY and LAST_N_DAYS see it, YESTERDAY does not.
    const { id } = (await conn.sobject('Opportunity').create({ Name: 'Today deal', StageName: 'Prospecting', CloseDate: '2027-01-01' })) as { id: string };
    expect((await conn.query<any>('SELECT Id FROM Opportunity WHERE CreatedDate = TODAY')).records.map((r) => r.Id)).toEqual([id]);
    expect((await conn.query<any>('SELECT Id FROM Opportunity WHERE CreatedDate = LAST_N_DAYS:2')).records.map((r) => r.Id)).toContain(id);
    expect((await conn.query<any>('SELECT Id FROM Opportunity WHERE CreatedDate = YESTERDAY')).records.map((r) => r.Id)).not.toContain(id);
    await conn.sobject('Opportunity').destroy(id);
  });

  it('ORDER BY several fields with NULLS FIRST/LAST, LIMIT and OFFSET', async () => {
    const r = (await conn.query<any>('SELECT Id, AccountId, Amount FROM Opportunity ORDER BY AccountId ASC NULLS LAST, Amount DESC, Id LIMIT 500')).records;
    const firstNull = r.findIndex((x) => x.AccountId === null);
    expect(firstNull).toBeGreaterThan(0);
    expect(r.slice(firstNull).every((x) => x.AccountId === null)).toBe(true);
    for (let i = 1; i < firstNull; i++) {
      const [a, b] = [r[i - 1], r[i]];
      expect(a.AccountId <= b.AccountId).toBe(true);
      if (a.AccountId === b.AccountId) expect(a.Amount >= b.Amount).toBe(true);
    }
    const nullsFirst = (await conn.query<any>('SELECT Id, AccountId FROM Opportunity ORDER BY AccountId NULLS FIRST LIMIT 3')).records;
    expect(nullsFirst[0].AccountId).toBeNull();
    const page = (await conn.query<any>('SELECT Id FROM Opportunity ORDER BY Id LIMIT 5 OFFSET 10')).records.map((x) => x.Id);
    const all = (await conn.query<any>('SELECT Id FROM Opportunity ORDER BY Id LIMIT 15')).records.map((x) => x.Id);
    expect(page).toEqual(all.slice(10, 15));
  });

  it('COUNT() and COUNT(field) with alias', async () => {
    const c = await conn.query('SELECT COUNT() FROM Account');
    expect(c).toMatchObject({ totalSize: 60, done: true, records: [] });
    const agg = await conn.query<any>('SELECT COUNT(Id) n FROM Account');
    expect(agg.records[0]).toMatchObject({ attributes: { type: 'AggregateResult' }, n: 60 });
  });

  it('paging: nextRecordsUrl honours Sforce-Query-Options batchSize; queryMore walks every record once', async () => {
    const first = await conn.query<any>('SELECT Id FROM Opportunity ORDER BY Id', { headers: { 'Sforce-Query-Options': 'batchSize=200' } } as any);
    expect(first.done).toBe(false);
    expect(first.records).toHaveLength(200);
    expect(first.totalSize).toBe(450);
    // jsforce rewrites the locator into a full URL; the wire shape is the documented relative one.
    const wire = await raw('/services/data/v62.0/query?q=' + encodeURIComponent('SELECT Id FROM Opportunity'), { headers: { 'Sforce-Query-Options': 'batchSize=200' } });
    expect(wire.body.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g[0-9a-zA-Z]+-200$/);
    expect(wire.body).toMatchObject({ totalSize: 450, done: false });
    const ids = first.records.map((r: any) => r.Id);
    let page = first;
    while (!page.done) {
      page = await conn.queryMore<any>(page.nextRecordsUrl!, { headers: { 'Sforce-Query-Options': 'batchSize=200' } } as any);
      ids.push(...page.records.map((r: any) => r.Id));
    }
    expect(ids).toHaveLength(450);
    expect(new Set(ids).size).toBe(450);
    // Without the header the default batch is 2000: everything fits in one page.
    expect((await conn.query('SELECT Id FROM Opportunity')).done).toBe(true);
    // A batch size below the minimum is raised to 200.
    const small = await raw('/services/data/v62.0/query?q=' + encodeURIComponent('SELECT Id FROM Opportunity'), { headers: { 'Sforce-Query-Options': 'batchSize=10' } });
    expect(small.body.records).toHaveLength(200);
    await expect(conn.queryMore('01gBOGUS-200')).rejects.toMatchObject({ errorCode: 'INVALID_QUERY_LOCATOR' });
  });

  it('MALFORMED_QUERY and INVALID_FIELD in the real shape', async () => {
    await expect(conn.query('SELEC Id FROM Account')).rejects.toMatchObject({ errorCode: 'MALFORMED_QUERY' });
    // A query that stops short is pointed at its end, as Salesforce does (found with the Salesforce CLI).
    await expect(conn.query('SELECT Id FROM Account WHERE')).rejects.toMatchObject({ errorCode: 'MALFORMED_QUERY', message: expect.stringMatching(/\^\nERROR at Row:1:Column:29\nunexpected token: <EOF>$/) });
    await expect(conn.query('SELECT Id FROM Account LIMIT x')).rejects.toMatchObject({ message: expect.stringMatching(/Column:30\nunexpected token: x$/) });
    const bad = await raw('/services/data/v62.0/query?q=' + encodeURIComponent('SELECT Id, Nope__c FROM Account'));
    expect(bad.status).toBe(400);
    expect(bad.body).toHaveLength(1);
    expect(bad.body[0].errorCode).toBe('INVALID_FIELD');
    expect(bad.body[0].message).toContain("No such column 'Nope__c' on entity 'Account'");
    expect(bad.body[0].message).toMatch(/ERROR at Row:1:Column:12/);
    await expect(conn.query("SELECT Id FROM Account WHERE Foo.Bar = 'x'")).rejects.toMatchObject({ errorCode: 'INVALID_FIELD' });
    await expect(conn.query("SELECT Id FROM Opportunity WHERE CloseDate = '2026-01-01'")).rejects.toMatchObject({ errorCode: 'INVALID_FIELD' });
    await expect(conn.query('SELECT Id FROM Nope__c')).rejects.toMatchObject({ errorCode: 'INVALID_TYPE' });
  });

  it('insertSalesforce puts thousands of records on one SystemModstamp in-process', async () => {
    const at = '2026-11-20T10:00:00.123Z';
    const ids = sb.insertSalesforce('vendor', 'Account', Array.from({ length: 3000 }, (_, i) => ({ Name: `Same stamp ${i}` })), { at });
    expect(ids).toHaveLength(3000);
    const r = await conn.query<any>(`SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp = ${at} ORDER BY SystemModstamp, Id`);
    expect(r.totalSize).toBe(3000);
    expect(r.records[0].SystemModstamp).toBe('2026-11-20T10:00:00.123+0000');
    expect(r.records.map((x: any) => x.Id)).toEqual([...ids].sort().slice(0, 2000));
    expect(r.done).toBe(false); // 3000 > one 2000-record page
  });

  it('many records sharing one SystemModstamp (frozen clock) page correctly with a (SystemModstamp, Id) cursor', async () => {
    const state = await sb.clock('vendor', { freeze: true });
    expect(state.frozen).toBe(true);
    const recs = Array.from({ length: 400 }, (_, i) => ({ Name: `Tie ${i}` }));
    for (let i = 0; i < recs.length; i += 200) await conn.sobject('Account').create(recs.slice(i, i + 200));
    await sb.clock('vendor', { freeze: false });
    const stamp = state.now.replace('Z', '+0000');
    const shared = await conn.query<any>(`SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp = ${state.now}`);
    expect(shared.totalSize).toBe(400);
    expect(new Set(shared.records.map((r: any) => r.SystemModstamp))).toEqual(new Set([stamp]));
    // Walk with the tie-safe cursor in pages of 150: nothing lost, nothing repeated.
    const seen: string[] = [];
    let cursor = { stamp: '2000-01-01T00:00:00Z', id: '' };
    for (;;) {
      const q = `SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp >= ${cursor.stamp} AND (SystemModstamp > ${cursor.stamp} OR Id > '${cursor.id}') ORDER BY SystemModstamp, Id LIMIT 150`;
      const page = (await conn.query<any>(q)).records;
      if (!page.length) break;
      seen.push(...page.map((r: any) => r.Id));
      const last = page[page.length - 1];
      cursor = { stamp: last.SystemModstamp.replace('+0000', 'Z'), id: last.Id };
    }
    // The connector's keyset shape: (TS > t OR (TS = t AND Id > id)) AND TS < until — same result.
    const seen2: string[] = [];
    let c2 = { stamp: '2000-01-01T00:00:00Z', id: '' };
    for (;;) {
      const pos = c2.id ? `(SystemModstamp > ${c2.stamp} OR (SystemModstamp = ${c2.stamp} AND Id > '${c2.id}'))` : `SystemModstamp >= ${c2.stamp}`;
      const page = (await conn.query<any>(`SELECT Id, SystemModstamp FROM Account WHERE ${pos} AND SystemModstamp < 2100-01-01T00:00:00Z ORDER BY SystemModstamp, Id LIMIT 700`)).records;
      if (!page.length) break;
      seen2.push(...page.map((r: any) => r.Id));
      const last = page[page.length - 1];
      c2 = { stamp: last.SystemModstamp.replace('+0000', 'Z'), id: last.Id };
    }
    expect(seen2).toEqual(seen);
    const total = (await conn.query('SELECT COUNT() FROM Account')).totalSize;
    expect(total).toBe(60 + 3000 + 400);
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
  });
});

describe('queryAll, getUpdated, getDeleted', () => {
  it('queryAll returns soft-deleted rows with IsDeleted; query does not', async () => {
    const { id } = (await conn.sobject('Account').create({ Name: 'Short-lived Ltd' })) as { id: string };
    await conn.sobject('Account').destroy(id);
    expect((await conn.query(`SELECT Id FROM Account WHERE Id = '${id}'`)).totalSize).toBe(0);
    const all = await conn.query<any>(`SELECT Id, IsDeleted FROM Account WHERE Id = '${id}'`, { scanAll: true });
    expect(all.records).toEqual([expect.objectContaining({ Id: id, IsDeleted: true })]);
    await expect(conn.sobject('Account').retrieve(id)).rejects.toMatchObject({ errorCode: 'ENTITY_IS_DELETED' });
  });

  it('getUpdated / getDeleted return ids in the window with latestDateCovered', async () => {
    const start = new Date(Date.now() - 60_000);
    const { id } = (await conn.sobject('Account').create({ Name: 'Replicated Inc.' })) as { id: string };
    const { id: gone } = (await conn.sobject('Account').create({ Name: 'Deleted Inc.' })) as { id: string };
    await conn.sobject('Account').destroy(gone);
    // Replication covers whole minutes up to the last completed one: move the org clock past this minute.
    await sb.clock('vendor', { advanceMs: 61_000 });
    const end = new Date(Date.now() + 120_000);
    const upd = await conn.sobject('Account').updated(start, end);
    expect(upd.ids).toContain(id);
    expect(upd.ids).not.toContain(gone);
    expect(upd.latestDateCovered).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000\+0000$/);
    const del = await conn.sobject('Account').deleted(start, end);
    expect(del.deletedRecords).toEqual(expect.arrayContaining([{ id: gone, deletedDate: expect.stringMatching(/\+0000$/) }]));
    expect(del).toHaveProperty('earliestDateAvailable');
    await expect(conn.sobject('Account').updated(new Date(Date.now() - 40 * 86_400_000), end)).rejects.toMatchObject({ errorCode: 'INVALID_REPLICATION_DATE' });
  });
});
