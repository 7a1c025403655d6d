import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../connectors/errors.js';
import { kindOfCode, mapHttpError, mapRecordErrors, mapThrown, parseRetryAfter } from '../../connectors/salesforce/errors.js';
import { API, connectorWith, INSTANCE, JSON_HEADERS, sfApi , warmUpNock } from './salesforce-helpers.js';

beforeAll(async () => {
  nock.disableNetConnect();
  await warmUpNock();
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const json = (v: unknown) => JSON.stringify(v);

describe('Salesforce error mapping (connectors/salesforce/errors.ts)', () => {
  it('maps top-level REST error arrays by errorCode, keeping fields and the HTTP status', () => {
    const e = mapHttpError({ status: 400, headers: {}, body: json([{ message: "No such column 'Foo__c' on entity 'Opportunity'", errorCode: 'INVALID_FIELD', fields: ['Foo__c'] }]) });
    expect(e).toBeInstanceOf(ConnectorError);
    expect([e.kind, e.crmCode, e.status, e.fields]).toEqual(['validation', 'INVALID_FIELD', 400, ['Foo__c']]);
    expect(e.retryable).toBe(false);

    expect(mapHttpError({ status: 400, headers: {}, body: json([{ message: 'unexpected token', errorCode: 'MALFORMED_QUERY' }]) }).kind).toBe('protocol');
    expect(mapHttpError({ status: 404, headers: {}, body: json([{ message: 'gone', errorCode: 'NOT_FOUND' }]) }).kind).toBe('not_found');
    expect(mapHttpError({ status: 404, headers: {}, body: json([{ message: 'deleted', errorCode: 'ENTITY_IS_DELETED' }]) }).kind).toBe('not_found');
    expect(mapHttpError({ status: 400, headers: {}, body: json([{ message: 'dup', errorCode: 'DUPLICATE_VALUE' }]) }).kind).toBe('conflict');
    expect(mapHttpError({ status: 401, headers: {}, body: json([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]) }).kind).toBe('auth');
    const multi = mapHttpError({ status: 400, headers: {}, body: json([{ message: 'a', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['Name'] }, { message: 'b', errorCode: 'STRING_TOO_LONG', fields: ['Type'] }]) });
    expect(multi.kind).toBe('validation');
    expect(multi.fields).toEqual(['Name', 'Type']);
    expect(multi.message).toContain('STRING_TOO_LONG');
  });

  it('tells the daily allocation from too many concurrent requests (both REQUEST_LIMIT_EXCEEDED)', () => {
    const daily = mapHttpError({ status: 403, headers: {}, body: json([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]) });
    expect(daily.kind).toBe('quota_exhausted');
    const concurrent = mapHttpError({ status: 403, headers: { 'retry-after': '3' }, body: json([{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]) });
    expect([concurrent.kind, concurrent.retryAfterMs]).toEqual(['rate_limited', 3000]);
  });

  it('maps OAuth {error, error_description} bodies', () => {
    const e = mapHttpError({ status: 400, headers: {}, body: json({ error: 'invalid_grant', error_description: 'authentication failure' }) });
    expect([e.kind, e.crmCode]).toEqual(['auth', 'invalid_grant']);
    expect(e.message).toContain('authentication failure');
    expect(mapHttpError({ status: 400, headers: {}, body: json({ error: 'invalid_client_id', error_description: 'client identifier invalid' }) }).kind).toBe('auth');
    expect(mapHttpError({ status: 503, headers: {}, body: json({ error: 'temporarily_unavailable', error_description: 'try later' }) }).kind).toBe('transient');
  });

  it('falls back to the HTTP status for HTML / text / empty bodies, with Retry-After', () => {
    const html = mapHttpError({ status: 503, headers: { 'retry-after': '7' }, body: '<html><body>Service Unavailable</body></html>' });
    expect([html.kind, html.retryAfterMs, html.crmCode]).toEqual(['transient', 7000, 'HTTP_503']);
    expect(html.message).not.toContain('<html>');
    expect(mapHttpError({ status: 500, headers: {}, body: 'oops' }).kind).toBe('transient');
    const tooMany = mapHttpError({ status: 429, headers: { 'retry-after': '2' }, body: '' });
    expect([tooMany.kind, tooMany.retryAfterMs]).toEqual(['rate_limited', 2000]);
    expect(mapHttpError({ status: 300, headers: {}, body: json(['/services/data/v62.0/sobjects/Account/001A', '/services/data/v62.0/sobjects/Account/001B']) }).kind).toBe('conflict');
    expect(mapHttpError({ status: 404, headers: {}, body: '' }).kind).toBe('not_found');
  });

  it('maps per-record collection errors (statusCode, not errorCode)', () => {
    expect(mapRecordErrors([{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [StageName]', fields: ['StageName'] }])).toEqual({
      kind: 'validation',
      crmCode: 'REQUIRED_FIELD_MISSING',
      message: 'REQUIRED_FIELD_MISSING: Required fields are missing: [StageName]',
      fields: ['StageName'],
    });
    expect(mapRecordErrors([{ statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access', fields: [] }]).kind).toBe('transient');
    expect(mapRecordErrors([{ statusCode: 'DUPLICATE_VALUE', message: 'duplicate value found', fields: [] }]).kind).toBe('conflict');
    expect(mapRecordErrors([{ statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: 'bad value', fields: ['StageName'] }]).kind).toBe('validation');
    expect(mapRecordErrors([{ statusCode: 'ENTITY_IS_DELETED', message: 'deleted', fields: [] }]).kind).toBe('not_found');
    expect(mapRecordErrors([]).kind).toBe('validation');
    expect(kindOfCode('SOMETHING_NEW')).toBe('validation');
  });

  it('maps network errors, timeouts and errors jsforce throws itself', () => {
    expect(mapThrown(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).kind).toBe('transient');
    expect(mapThrown(Object.assign(new Error('The user aborted a request.'), { name: 'AbortError' })).kind).toBe('transient');
    expect(mapThrown(new Error('Request Timeout')).crmCode).toBe('TIMEOUT');
    expect(mapThrown(Object.assign(new Error('x'), { name: 'FetchError', type: 'system' })).kind).toBe('transient');
    const undici = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect([mapThrown(undici).kind, mapThrown(undici).crmCode]).toEqual(['transient', 'ECONNREFUSED']);
    const httpApi = Object.assign(new Error('Session expired or invalid'), { name: 'INVALID_SESSION_ID', errorCode: 'INVALID_SESSION_ID' });
    expect(mapThrown(httpApi).kind).toBe('auth');
    expect(mapThrown(Object.assign(new Error('bad gateway'), { errorCode: 'ERROR_HTTP_502' })).kind).toBe('transient');
    expect(mapThrown(Object.assign(new Error('authentication failure'), { name: 'invalid_grant' })).kind).toBe('auth');
    const same = new ConnectorError('conflict', 'x');
    expect(mapThrown(same)).toBe(same);
  });

  it('parses Retry-After in seconds and as an HTTP date', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(new Date(Date.parse('2026-01-01T00:00:10Z')).toUTCString(), Date.parse('2026-01-01T00:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('Salesforce errors through the real jsforce client (nock)', () => {
  it('a non-retryable error surfaces at once: one request, mapped kind and code', async () => {
    const { connector } = connectorWith();
    const scope = sfApi()
      .get(`${API}/sobjects/Widget__c/describe`)
      .reply(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }], JSON_HEADERS);
    const err = await connector.describe('Widget__c').catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect([err.kind, err.crmCode, err.status]).toEqual(['not_found', 'NOT_FOUND', 404]);
    expect(scope.isDone()).toBe(true);
  });

  it('a query naming a missing column is a validation error with the field, not retried', async () => {
    const { connector, clock } = connectorWith();
    sfApi()
      .get(`${API}/query`)
      .query(true)
      .reply(400, [{ errorCode: 'INVALID_FIELD', message: "No such column 'Nope__c' on entity 'Opportunity'", fields: ['Nope__c'] }], JSON_HEADERS);
    const err = await connector.changes('Opportunity', { modifiedAt: '2026-01-01T00:00:00.000Z', id: '' }, { fields: ['Nope__c'] }).catch((e) => e);
    expect([err.kind, err.crmCode]).toEqual(['validation', 'INVALID_FIELD']);
    expect(clock.waits).toEqual([]);
  });

  it('done:false without nextRecordsUrl is a protocol error, never "finished"', async () => {
    const { connector } = connectorWith();
    sfApi()
      .get(`${API}/query`)
      .query(true)
      .reply(200, { totalSize: 5000, done: false, records: [{ attributes: { type: 'Opportunity' }, Id: '006000000000001AAA', SystemModstamp: '2026-01-01T00:00:00.000+0000' }] }, JSON_HEADERS);
    const err = await connector.changes('Opportunity', { modifiedAt: '2026-01-01T00:00:00.000Z', id: '' }, { fields: ['Name'] }).catch((e) => e);
    expect(err.kind).toBe('protocol');
    expect(err.message).toMatch(/done:false without nextRecordsUrl/);
  });

  it('a 300 Multiple Choices on a query maps to conflict', async () => {
    const { connector } = connectorWith();
    sfApi().get(`${API}/query`).query(true).reply(300, ['/a', '/b'], JSON_HEADERS);
    const err = await connector.readByField('Account', 'Ext_Id__c', ['k'], ['Name']).catch((e) => e);
    expect(err.kind).toBe('conflict');
  });

  it('never puts the access token in an error message', async () => {
    const { connector } = connectorWith();
    sfApi().get(`${API}/sobjects`).reply(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }], JSON_HEADERS);
    const err = await connector.listObjects().catch((e) => e);
    expect(err.kind).toBe('auth');
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('static-access-token');
    expect(INSTANCE).toContain('salesforce');
  });
});
