import nock from 'nock';
import soqlParser from 'soql-parser-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../connectors/errors.js';
import { inQuery, keysetQuery, soqlString } from '../../connectors/salesforce/soql.js';
import { API, connectorWith, fakeClock, JSON_HEADERS, queryResult, row, sfApi, sfId, warmUpNock } from './salesforce-helpers.js';

beforeAll(async () => {
  nock.disableNetConnect();
  await warmUpNock();
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

/** Decode a SOQL string literal the way Salesforce does. */
function decodeLiteral(lit: string): string {
  expect(lit.startsWith("'") && lit.endsWith("'")).toBe(true);
  const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };
  return lit.slice(1, -1).replace(/\\(.)/g, (_, c: string) => map[c] ?? c);
}

const EVIL = ["O'Brien", 'back\\slash', "' OR Name != '", "x\\' OR Name != '", "\\\\' OR Id != '", 'multi\nline\ttab', "'; DELETE"];

describe('SOQL composition (soql-parser-js + strict literals)', () => {
  it('composes the keyset feed query with the (SystemModstamp, Id) tie-break', () => {
    expect(keysetQuery({ object: 'Opportunity', fields: ['Name', 'Account.Name'], after: { modifiedAt: '2026-01-01T00:00:00.000Z', id: '006000000000001AAA' }, limit: 2000 })).toBe(
      "SELECT Id, SystemModstamp, Name, Account.Name FROM Opportunity WHERE (SystemModstamp > 2026-01-01T00:00:00.000Z OR (SystemModstamp = 2026-01-01T00:00:00.000Z AND Id > '006000000000001AAA')) ORDER BY SystemModstamp, Id LIMIT 2000",
    );
    expect(keysetQuery({ object: 'Account', fields: [], after: { modifiedAt: '1970-01-01T00:00:00.000Z', id: '' }, until: '2026-02-01T00:00:00Z', limit: 5 })).toBe(
      'SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp >= 1970-01-01T00:00:00.000Z AND SystemModstamp < 2026-02-01T00:00:00.000Z ORDER BY SystemModstamp, Id LIMIT 5',
    );
  });

  it('no SOQL injection: quotes, backslashes and "\' OR Name != \'" stay inside their literal', () => {
    const soql = inQuery('Account', ['Name'], 'Name', EVIL);
    const parsed = soqlParser.parseQuery(soql);
    // Exactly one condition (Name IN …), no OR / extra conditions smuggled in…
    expect((parsed.where as { right?: unknown } | undefined)?.right).toBeUndefined();
    expect((parsed.where?.left as any).field).toBe('Name');
    expect((parsed.where?.left as any).operator).toBe('IN');
    // …and every value decodes back to exactly what was given.
    expect(((parsed.where?.left as any).value as string[]).map(decodeLiteral)).toEqual(EVIL);
    for (const v of EVIL) expect(decodeLiteral(soqlString(v))).toBe(v);
  });

  it('refuses identifiers, ids and timestamps that are not what they claim to be', () => {
    expect(() => inQuery('Account WHERE Id != null', ['Name'], 'Name', ['x'])).toThrow(ConnectorError);
    expect(() => inQuery('Account', ['Name, (SELECT Id FROM Contacts)'], 'Name', ['x'])).toThrow(/not a valid Salesforce field name/);
    expect(() => inQuery('Account', ['Name'], 'Id', ["001' OR Id != '"], 'id')).toThrow(/not a valid Salesforce id/);
    expect(() => keysetQuery({ object: 'Account', fields: [], after: { modifiedAt: '2026-01-01 OR Id != null', id: '' }, limit: 1 })).toThrow(/not a valid timestamp/);
    expect(() => keysetQuery({ object: 'Account', fields: [], after: { modifiedAt: '2026-01-01T00:00:00Z', id: "x' OR Id != '" }, limit: 1 })).toThrow(/not a valid Salesforce id/);
  });

  it('readByField sends the escaped literals over the wire and nothing else', async () => {
    const { connector } = connectorWith();
    let sent = '';
    sfApi()
      .get(`${API}/query`)
      .query((q) => ((sent = String(q.q)), true))
      .reply(200, queryResult([]), JSON_HEADERS);
    expect(await connector.readByField('Account', 'Name', EVIL, ['Name'])).toEqual([]);
    const parsed = soqlParser.parseQuery(sent);
    expect((parsed.where as { right?: unknown } | undefined)?.right).toBeUndefined();
    expect(((parsed.where?.left as any).value as string[]).map(decodeLiteral)).toEqual(EVIL);
  });
});

describe('Salesforce change feed paging (nock)', () => {
  it('follows nextRecordsUrl explicitly (never autoFetch) and resumes from the last (SystemModstamp, Id)', async () => {
    const { connector } = connectorWith();
    const queries: string[] = [];
    const ts = '2026-11-22T10:15:30.000+0000';
    sfApi()
      .get(`${API}/query`)
      .query((q) => (queries.push(String(q.q)), true))
      .matchHeader('sforce-query-options', 'batchSize=200') // Salesforce's minimum batch size
      .reply(200, queryResult([row('Opportunity', sfId('006', 1), ts), row('Opportunity', sfId('006', 2), ts)], { done: false, totalSize: 5, nextRecordsUrl: `${API}/query/01gQ-2` }), JSON_HEADERS)
      .get(`${API}/query/01gQ-2`)
      .reply(200, queryResult([row('Opportunity', sfId('006', 3), ts), row('Opportunity', sfId('006', 4), ts)], { done: false, totalSize: 5, nextRecordsUrl: `${API}/query/01gQ-4` }), JSON_HEADERS)
      .get(`${API}/query/01gQ-4`)
      .reply(200, queryResult([row('Opportunity', sfId('006', 5), '2026-11-22T10:15:31.250+0000', { Name: 'five', Amount: 5 })], { totalSize: 5 }), JSON_HEADERS);
    const page = await connector.changes('Opportunity', { modifiedAt: '2026-11-22T00:00:00.000Z', id: '' }, { fields: ['Name', 'Amount'], pageSize: 5 });
    expect(page.records.map((r) => r.id)).toEqual([1, 2, 3, 4, 5].map((n) => sfId('006', n)));
    expect(page.records[0].modifiedAt).toBe('2026-11-22T10:15:30.000Z');
    expect(page.records[4].fields).toMatchObject({ Name: 'five', Amount: 5, SystemModstamp: '2026-11-22T10:15:31.250Z' });
    expect(page.next).toMatchObject({ modifiedAt: '2026-11-22T10:15:31.250Z', id: sfId('006', 5) }); // the high-water mark (look-back state aside)
    expect(page.caughtUp).toBe(false); // a full page: there may be more
    expect(queries[0]).toContain('LIMIT 5');
  });

  it('deletions() queries queryAll for IsDeleted rows and reports merges (MasterRecordId)', async () => {
    const { connector } = connectorWith();
    let q = '';
    sfApi()
      .get(`${API}/sobjects/Account/describe`)
      .reply(200, { name: 'Account', fields: [{ name: 'Id', type: 'id' }, { name: 'MasterRecordId', type: 'reference', referenceTo: ['Account'] }, { name: 'Name', type: 'string', nillable: false, createable: true }] }, JSON_HEADERS)
      .get(`${API}/queryAll`)
      .query((x) => ((q = String(x.q)), true))
      .reply(200, queryResult([
        row('Account', sfId('001', 1), '2026-11-22T10:00:00.000+0000', { IsDeleted: true, MasterRecordId: null }),
        row('Account', sfId('001', 2), '2026-11-22T10:00:01.000+0000', { IsDeleted: true, MasterRecordId: sfId('001', 9) }),
      ]), JSON_HEADERS);
    const page = await connector.deletions('Account', { modifiedAt: '2026-11-22T00:00:00.000Z', id: '' });
    expect(q).toContain('IsDeleted = true');
    expect(q).toContain('MasterRecordId');
    expect(page.records).toEqual([
      { id: sfId('001', 1), deletedAt: '2026-11-22T10:00:00.000Z' },
      { id: sfId('001', 2), deletedAt: '2026-11-22T10:00:01.000Z', mergedInto: sfId('001', 9) },
    ]);
    expect(page.caughtUp).toBe(true);
  });
});

describe('Salesforce daily quota (nock): pauses, does not fail, does not breach', () => {
  it('stops calling at the threshold read from Sforce-Limit-Info and resumes after the re-check', async () => {
    const clock = fakeClock();
    const { connector } = connectorWith({ dailyPauseAt: 0.8, quotaRecheckMs: 600_000 }, clock);
    const scope = sfApi()
      .get(`${API}/sobjects`).reply(200, { sobjects: [{ name: 'Account' }] }, { ...JSON_HEADERS, 'sforce-limit-info': 'api-usage=79/100' })
      .get(`${API}/sobjects`).reply(200, { sobjects: [{ name: 'Account' }] }, { ...JSON_HEADERS, 'sforce-limit-info': 'api-usage=80/100' });
    const never = sfApi().get(`${API}/sobjects/Account/describe`).reply(200, {}, JSON_HEADERS);
    await connector.listObjects();
    await connector.listObjects(); // the 80th call: allowed, and now we stand at the threshold
    expect(scope.isDone()).toBe(true);
    const err = await connector.describe('Account').catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.kind).toBe('quota_exhausted');
    expect(err.retryable).toBe(false); // the sync pauses until resetsAt instead of spinning
    expect(err.resetsAt).toBe(new Date(clock.now() + 600_000).toISOString());
    expect(never.isDone()).toBe(false); // no request went out: the allocation was not breached
    expect(connector.rateState()).toMatchObject({ dailyUsed: 80, dailyLimit: 100, pausedUntil: err.resetsAt });

    // After the re-check time a probe goes out; the window has freed up, so work resumes.
    nock.cleanAll();
    clock.advance(600_001);
    sfApi()
      .get(`${API}/sobjects`).reply(200, { sobjects: [{ name: 'Contact' }] }, { ...JSON_HEADERS, 'sforce-limit-info': 'api-usage=41/100' })
      .get(`${API}/sobjects`).reply(200, { sobjects: [{ name: 'Lead' }] }, { ...JSON_HEADERS, 'sforce-limit-info': 'api-usage=42/100' });
    expect(await connector.listObjects()).toEqual(['Contact']);
    expect(await connector.listObjects()).toEqual(['Lead']);
    expect(connector.rateState().pausedUntil).toBeUndefined();
  });

  it('a 403 REQUEST_LIMIT_EXCEEDED from the org pauses every caller of the org at once (no retry storm)', async () => {
    const clock = fakeClock();
    const { connector, cfg } = connectorWith({ quotaRecheckMs: 300_000 }, clock);
    let hits = 0;
    sfApi()
      .get(`${API}/sobjects`)
      .times(5)
      .reply(() => {
        hits++;
        return [403, JSON.stringify([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]), JSON_HEADERS];
      });
    const err = await connector.listObjects().catch((e) => e);
    expect([err.kind, err.resetsAt]).toEqual(['quota_exhausted', new Date(clock.now() + 300_000).toISOString()]);
    // A second connector for the same org in this process shares the pause.
    const { connector: sibling } = connectorWith({ orgId: cfg.orgId }, clock);
    const err2 = await sibling.listObjects().catch((e) => e);
    expect(err2.kind).toBe('quota_exhausted');
    expect(hits).toBe(1);
  });
});

describe('how far the Salesforce feed has read', () => {
  it('a finished scan records when it began (`through`); the pages of the next scan keep it until that one finishes', async () => {
    const { salesforceChangesPage } = await import('../../connectors/salesforce/feed.js');
    const { readThroughOf, START_CURSOR } = await import('../../connectors/types.js');
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: `006${String(i).padStart(15, '0')}`, modifiedAt: new Date(900_000 + i).toISOString(), fields: {} }));
    const clock = { t: 1_000_000 };
    const o = {
      object: 'Opportunity', fields: [], limit: 3, lookBackMs: 1_000, maxSeenChars: 10_000, now: () => clock.t,
      // The keyset query's own filter, in memory: rows after the position, oldest first.
      query: async (soql: string) => {
        const after = /SystemModstamp > (\S+) OR \(SystemModstamp = \S+ AND Id > '(\w*)'\)/.exec(soql);
        const from = after ? { t: after[1]!, id: after[2]! } : undefined;
        const limit = Number(/LIMIT (\d+)/.exec(soql)![1]);
        return rows.filter((r) => !from || r.modifiedAt > from.t || (r.modifiedAt === from.t && r.id > from.id)).slice(0, limit);
      },
    };
    let page = await salesforceChangesPage(START_CURSOR, o);
    expect(page.caughtUp).toBe(false);
    expect(readThroughOf(page.next)).toBeUndefined();
    page = await salesforceChangesPage(page.next, o);
    expect(page.caughtUp).toBe(true);
    expect(readThroughOf(page.next)).toBe(1_000_000);
    rows.push(...Array.from({ length: 5 }, (_, i) => ({ id: `006${String(10 + i).padStart(15, '0')}`, modifiedAt: new Date(1_100_000 + i).toISOString(), fields: {} })));
    clock.t = 1_200_000;
    page = await salesforceChangesPage(page.next, o);
    expect(page.caughtUp).toBe(false);
    expect(readThroughOf(page.next)).toBe(1_000_000);
    for (let i = 0; i < 5 && !page.caughtUp; i++) page = await salesforceChangesPage(page.next, o);
    expect(page.caughtUp).toBe(true);
    expect(readThroughOf(page.next)).toBe(1_200_000);
  });
});
