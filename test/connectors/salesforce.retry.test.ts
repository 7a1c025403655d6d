import { generateKeyPairSync, createVerify } from 'node:crypto';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jwtAssertion } from '../../connectors/salesforce/auth.js';
import { API, connectorWith, fakeClock, INSTANCE, JSON_HEADERS, queryResult, row, sfApi, sfId, tokenEnv , warmUpNock } from './salesforce-helpers.js';

beforeAll(async () => {
  nock.disableNetConnect();
  await warmUpNock();
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const OPP = (n: number) => row('Opportunity', sfId('006', n), '2026-11-22T10:00:00.000+0000', { Name: `Deal ${n}` });
const LOCK = [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' }];

describe('Salesforce retries (p-retry, Retry-After, writes too)', () => {
  it('retries a 503 on GET with exponential back-off and succeeds', async () => {
    const { connector, clock } = connectorWith();
    const scope = sfApi()
      .get(`${API}/query`).query(true).reply(503, '<html>down</html>', { 'content-type': 'text/html' })
      .get(`${API}/query`).query(true).reply(503, '<html>down</html>', { 'content-type': 'text/html' })
      .get(`${API}/query`).query(true).reply(200, queryResult([OPP(1)]), JSON_HEADERS);
    const page = await connector.changes('Opportunity', { modifiedAt: '2026-01-01T00:00:00.000Z', id: '' }, { fields: ['Name'] });
    expect(page.records.map((r) => r.id)).toEqual([sfId('006', 1)]);
    expect(clock.waits).toEqual([100, 200]); // minDelay 100, factor 2, no jitter in tests
    expect(scope.isDone()).toBe(true);
  });

  it('retries a PATCH upsert after a 500 (jsforce never does): safe because upsert is idempotent', async () => {
    const { connector } = connectorWith();
    const bodies: unknown[] = [];
    sfApi()
      .patch(`${API}/composite/sobjects/Opportunity/Cosell_Key__c`, (b) => (bodies.push(b), true)).reply(500, [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'An unexpected error occurred' }], JSON_HEADERS)
      .patch(`${API}/composite/sobjects/Opportunity/Cosell_Key__c`, (b) => (bodies.push(b), true)).reply(200, [{ id: sfId('006', 1), success: true, errors: [], created: true }], JSON_HEADERS);
    const res = await connector.upsert('Opportunity', 'Cosell_Key__c', [{ key: 'k1', fields: { Name: 'A', StageName: 'Prospecting', CloseDate: '2026-12-31' } }]);
    expect(res).toEqual([{ status: 'created', id: sfId('006', 1), key: 'k1' }]);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toEqual(bodies[1]);
    expect(bodies[0]).toEqual({ allOrNone: false, records: [{ Name: 'A', StageName: 'Prospecting', CloseDate: '2026-12-31', attributes: { type: 'Opportunity' }, Cosell_Key__c: 'k1' }] });
  });

  it('honours Retry-After (longer than the back-off) on a 429', async () => {
    const { connector, clock } = connectorWith();
    sfApi()
      .get(`${API}/sobjects`).reply(429, '', { 'retry-after': '3' })
      .get(`${API}/sobjects`).reply(200, { sobjects: [{ name: 'Account', queryable: true }] }, JSON_HEADERS);
    expect(await connector.listObjects()).toEqual(['Account']);
    expect(clock.waits).toEqual([3000]);
  });

  it('retries network errors and timeouts', async () => {
    // A timeout far below the delay, and far above what an immediate answer takes on a loaded machine
    // (50 ms once timed out the third, immediate answer too in a busy full-suite run).
    const { connector, clock } = connectorWith({ requestTimeoutMs: 1_000 });
    sfApi()
      .get(`${API}/sobjects`).replyWithError({ code: 'ECONNRESET', message: 'socket hang up' })
      .get(`${API}/sobjects`).delay(5_000).reply(200, { sobjects: [] }, JSON_HEADERS)
      .get(`${API}/sobjects`).reply(200, { sobjects: [{ name: 'Lead' }] }, JSON_HEADERS);
    expect(await connector.listObjects()).toEqual(['Lead']);
    expect(clock.waits).toHaveLength(2);
  });

  it('surfaces the last transient error once the retries are spent', async () => {
    const { connector, clock } = connectorWith({ retry: { retries: 2, jitter: false, minDelayMs: 10 } });
    sfApi().get(`${API}/sobjects`).times(3).reply(503, '', {});
    const err = await connector.listObjects().catch((e) => e);
    expect([err.kind, err.status]).toEqual(['transient', 503]);
    expect(clock.waits).toEqual([10, 20]);
  });

  it('a 429 storm: every caller of the org backs off together, then all succeed', async () => {
    const clock = fakeClock();
    const { connector } = connectorWith({ retry: { retries: 12, jitter: false, minDelayMs: 50, maxDelayMs: 400 } }, clock);
    let served = 0;
    let refused = 0;
    sfApi()
      .get(`${API}/sobjects`)
      .times(30)
      .reply(() => {
        if (refused < 10) {
          refused++;
          return [429, '', { 'retry-after': '1' }];
        }
        served++;
        return [200, JSON.stringify({ sobjects: [{ name: 'Account' }] }), JSON_HEADERS];
      });
    const results = await Promise.all([connector.listObjects(), connector.listObjects(), connector.listObjects()]);
    expect(results).toEqual([['Account'], ['Account'], ['Account']]);
    expect(refused).toBe(10);
    expect(served).toBe(3);
    // Every wait honoured the 1 s Retry-After (the back-off alone would be 50..400 ms).
    expect(clock.waits.length).toBeGreaterThanOrEqual(10);
    expect(Math.min(...clock.waits)).toBeGreaterThanOrEqual(1000);
  });

  it('a storm longer than the retry budget surfaces rate_limited with retryAfterMs for the caller to reschedule', async () => {
    const { connector } = connectorWith({ retry: { retries: 3, jitter: false, minDelayMs: 10 } });
    sfApi().get(`${API}/sobjects`).times(4).reply(429, '', { 'retry-after': '2' });
    const err = await connector.listObjects().catch((e) => e);
    expect([err.kind, err.retryAfterMs]).toEqual(['rate_limited', 2000]);
  });

  it('re-sends only the records that failed with UNABLE_TO_LOCK_ROW', async () => {
    const { connector, clock } = connectorWith();
    const sent: string[][] = [];
    sfApi()
      .patch(`${API}/composite/sobjects/Opportunity/Cosell_Key__c`, (b) => (sent.push(b.records.map((r: any) => r.Cosell_Key__c)), true))
      .reply(200, [
        { id: sfId('006', 1), success: true, errors: [], created: true },
        { id: null, success: false, errors: [{ statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access', fields: [] }] },
        { id: null, success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [StageName]', fields: ['StageName'] }] },
      ], JSON_HEADERS)
      .patch(`${API}/composite/sobjects/Opportunity/Cosell_Key__c`, (b) => (sent.push(b.records.map((r: any) => r.Cosell_Key__c)), true))
      .reply(200, [{ id: sfId('006', 2), success: true, errors: [], created: false }], JSON_HEADERS);
    const res = await connector.upsert('Opportunity', 'Cosell_Key__c', [
      { key: 'a', fields: { Name: 'A' } },
      { key: 'b', fields: { Name: 'B' } },
      { key: 'c', fields: { Name: 'C' } },
    ]);
    expect(sent).toEqual([['a', 'b', 'c'], ['b']]);
    expect(res.map((r) => r.status)).toEqual(['created', 'updated', 'failed']);
    expect(res[2].error).toMatchObject({ kind: 'validation', crmCode: 'REQUIRED_FIELD_MISSING', fields: ['StageName'] });
    expect(clock.waits).toHaveLength(1);
  });

  it('a top-level UNABLE_TO_LOCK_ROW on an update is retried', async () => {
    const { connector } = connectorWith();
    sfApi()
      .patch(`${API}/composite/sobjects`).reply(400, LOCK, JSON_HEADERS)
      .patch(`${API}/composite/sobjects`).reply(200, [{ id: sfId('006', 1), success: true, errors: [] }], JSON_HEADERS);
    expect(await connector.update('Opportunity', [{ id: sfId('006', 1), fields: { Amount: 10 } }])).toEqual([{ status: 'updated', id: sfId('006', 1) }]);
  });
});

describe('Salesforce auth', () => {
  it('client credentials: token once, re-authenticates on 401 INVALID_SESSION_ID and replays the call', async () => {
    const tokens: string[] = [];
    const login = nock(INSTANCE)
      .post('/services/oauth2/token', (b) => b.grant_type === 'client_credentials' && b.client_id === 'cid-123' && b.client_secret === 'shh-secret-value')
      .times(2)
      .reply(200, () => {
        tokens.push('client_credentials');
        return { access_token: `tok-${tokens.length}-abcdef`, instance_url: INSTANCE, token_type: 'Bearer', issued_at: String(Date.now()) };
      });
    const api = sfApi()
      .get(`${API}/sobjects`).matchHeader('authorization', 'Bearer tok-1-abcdef').reply(200, { sobjects: [{ name: 'Account' }] }, JSON_HEADERS)
      .get(`${API}/sobjects`).matchHeader('authorization', 'Bearer tok-1-abcdef').reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }], JSON_HEADERS)
      .get(`${API}/sobjects`).matchHeader('authorization', 'Bearer tok-2-abcdef').reply(200, { sobjects: [{ name: 'Contact' }] }, JSON_HEADERS);
    const { connector } = connectorWith({ auth: { clientId: tokenEnv('SF_CID', 'cid-123'), clientSecret: tokenEnv('SF_SECRET', 'shh-secret-value') } });
    expect(await connector.listObjects()).toEqual(['Account']);
    expect(await connector.listObjects()).toEqual(['Contact']);
    expect(tokens).toEqual(['client_credentials', 'client_credentials']);
    expect(api.isDone()).toBe(true);
    expect(login.isDone()).toBe(true);
  });

  it('refresh token flow posts grant_type=refresh_token', async () => {
    nock(INSTANCE)
      .post('/services/oauth2/token', (b) => b.grant_type === 'refresh_token' && b.refresh_token === 'rt-0123456789' && b.client_id === 'cid-9')
      .reply(200, { access_token: 'tok-refreshed-123', instance_url: INSTANCE });
    sfApi().get(`${API}/sobjects`).matchHeader('authorization', 'Bearer tok-refreshed-123').reply(200, { sobjects: [] }, JSON_HEADERS);
    const { connector } = connectorWith({ auth: { clientId: tokenEnv('SF_CID9', 'cid-9'), refreshToken: tokenEnv('SF_RT', 'rt-0123456789') } });
    expect(await connector.listObjects()).toEqual([]);
  });

  it('JWT bearer: an RS256 assertion the org can verify with the certificate key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    let claims: Record<string, unknown> = {};
    let header: Record<string, unknown> = {};
    // The token endpoint is the loginUrl (the login host), the API is the instance.
    nock('https://login.salesforce.com')
      .post('/services/oauth2/token', (b) => {
        if (b.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return false;
        const [h, c, s] = String(b.assertion).split('.');
        header = JSON.parse(Buffer.from(h, 'base64url').toString());
        claims = JSON.parse(Buffer.from(c, 'base64url').toString());
        return createVerify('RSA-SHA256').update(`${h}.${c}`).verify(publicKey, Buffer.from(s, 'base64url'));
      })
      .reply(200, { access_token: 'tok-jwt-abcdef', instance_url: INSTANCE });
    sfApi().get(`${API}/sobjects`).matchHeader('authorization', 'Bearer tok-jwt-abcdef').reply(200, { sobjects: [] }, JSON_HEADERS);
    const clock = fakeClock();
    const { connector } = connectorWith(
      { auth: { clientId: tokenEnv('SF_CIDJ', 'cid-jwt'), username: 'integration@acme.example', privateKey: tokenEnv('SF_KEY', pem) }, loginUrl: 'https://login.salesforce.com' },
      clock,
    );
    expect(await connector.listObjects()).toEqual([]);
    expect(header.alg).toBe('RS256');
    expect(claims).toMatchObject({ iss: 'cid-jwt', sub: 'integration@acme.example', aud: 'https://login.salesforce.com' });
    expect((claims.exp as number) - Math.floor(clock.now() / 1000)).toBe(180);
    expect(jwtAssertion({ clientId: 'a', username: 'b', audience: 'c', privateKeyPem: pem }).split('.')).toHaveLength(3);
  });

  it('an OAuth error (invalid_client) surfaces at once as auth, without retries', async () => {
    nock(INSTANCE).post('/services/oauth2/token').reply(400, { error: 'invalid_client', error_description: 'invalid client credentials' });
    const { connector, clock } = connectorWith({ auth: { clientId: tokenEnv('SF_CIDX', 'cid-x'), clientSecret: tokenEnv('SF_SECX', 'wrong-secret') } });
    const err = await connector.listObjects().catch((e) => e);
    expect([err.kind, err.crmCode]).toEqual(['auth', 'invalid_client']);
    expect(err.message).not.toContain('wrong-secret');
    expect(clock.waits).toEqual([]);
  });

  it('a plain access token cannot re-authenticate: 401 surfaces as auth', async () => {
    const { connector } = connectorWith();
    sfApi().get(`${API}/sobjects`).reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }], JSON_HEADERS);
    const err = await connector.listObjects().catch((e) => e);
    expect([err.kind, err.crmCode]).toEqual(['auth', 'INVALID_SESSION_ID']);
  });
});
