import fc from 'fast-check';
import nock from '../helpers/nock.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isConnectorError, type ConnectorError } from '../../connectors/errors.js';
import { createHubspotConnector, type HubspotConnectorConfig } from '../../connectors/hubspot/index.js';
import type { Connector } from '../../connectors/types.js';

/*
 * nock 15 hands reply functions the fetch `Request` (read bodies with `await req.json()`) and treats a
 * two-parameter function as callback-style, so reply functions here take exactly one parameter.
 */

/**
 * Unit-level error paths of the HubSpot connector: the real @hubspot/api-client against nock 15.
 * A fake clock replaces time in the rate budget and the retry policy, so back-off waits are measured,
 * not slept, and a "10-second window" is checked exactly.
 */
const BASE = 'https://hubspot.nock.test';
const TOKEN = 'pat-na1-test-token-0123456789';
process.env.HS_NOCK_TOKEN = TOKEN;

class FakeClock {
  t = Date.parse('2026-03-10T15:00:00.000Z');
  waits: number[] = [];
  now = () => this.t;
  sleep = async (ms: number) => {
    this.waits.push(ms);
    this.t += ms;
  };
}

let seq = 0;
async function connector(extra: Partial<HubspotConnectorConfig> = {}, clock = new FakeClock()): Promise<{ c: Connector; clock: FakeClock }> {
  const c = await createHubspotConnector({
    kind: 'hubspot',
    orgId: `nock-${++seq}`,
    basePath: BASE,
    auth: { accessToken: 'env:HS_NOCK_TOKEN' },
    clock,
    retry: { jitter: false },
    requestTimeoutMs: 5_000,
    ...extra,
  });
  return { c, clock };
}

const propertiesReply = {
  results: [
    { name: 'hs_object_id', label: 'Record ID', type: 'number', fieldType: 'number' },
    { name: 'dealname', label: 'Deal name', type: 'string', fieldType: 'text' },
    { name: 'amount', label: 'Amount', type: 'number', fieldType: 'number', showCurrencySymbol: true },
    { name: 'dealstage', label: 'Stage', type: 'enumeration', fieldType: 'radio', options: [{ label: 'Won', value: 'closedwon' }, { label: 'Lost', value: 'closedlost' }] },
    { name: 'partner_deal_id', label: 'Partner deal id', type: 'string', fieldType: 'text', hasUniqueValue: true },
    { name: 'hs_lastmodifieddate', label: 'Last modified', type: 'datetime', fieldType: 'date', modificationMetadata: { readOnlyValue: true } },
  ],
};

function api() {
  return nock(BASE);
}

async function caught(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    if (isConnectorError(e)) return e;
    throw e;
  }
  throw new Error('expected a ConnectorError');
}

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe('HubSpot error mapping through the real client (nock)', () => {
  it('400 VALIDATION_ERROR → validation with the offending property, not retried', async () => {
    const { c } = await connector();
    const scope = api()
      .get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply)
      .post('/crm/v3/objects/deals/batch/update')
      .reply(400, {
        status: 'error', category: 'VALIDATION_ERROR', correlationId: 'c-1',
        message: 'Property values were not valid: [{"isValid":false,"message":"bogus was not one of the allowed options","error":"INVALID_OPTION","name":"dealstage"}]',
      });
    const [r] = await c.update('deals', [{ id: '1', fields: { dealstage: 'bogus' } }]);
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ kind: 'validation', crmCode: 'VALIDATION_ERROR', fields: ['dealstage'] });
    expect(scope.isDone()).toBe(true);
  });

  it('401 with a private-app token → auth at once (exactly one request), token never in the error', async () => {
    const { c } = await connector();
    let calls = 0;
    api().post('/crm/v3/objects/deals/batch/read').query(true).times(5).reply(() => {
      calls++;
      return [401, { status: 'error', category: 'INVALID_AUTHENTICATION', message: 'Authentication credentials not found.', correlationId: 'c-2' }];
    });
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    const e = await caught(c.readByIds('deals', ['1']));
    expect(e.kind).toBe('auth');
    expect(e.status).toBe(401);
    expect(calls).toBe(1);
    expect(JSON.stringify({ m: e.message, d: e.details, s: e.stack })).not.toContain(TOKEN);
  });

  it('403 MISSING_SCOPES → auth; 404 → not_found; 409 → conflict', async () => {
    const { c } = await connector();
    api().get('/crm/v3/properties/deals').query(true).reply(403, { status: 'error', category: 'MISSING_SCOPES', message: 'This app hasn\'t been granted all required scopes', errors: [{ message: 'missing crm.schemas.deals.read' }] });
    const e403 = await caught(c.describe('deals'));
    expect(e403).toMatchObject({ kind: 'auth', status: 403, crmCode: 'MISSING_SCOPES' });

    api().get('/crm/v3/properties/widgets').query(true).reply(404, { status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Unable to infer object type from: widgets' });
    expect(await caught(c.describe('widgets'))).toMatchObject({ kind: 'not_found', status: 404 });

    api().get('/crm/v3/properties/companies').query(true).reply(200, { results: [] });
    api().post('/crm/v3/properties/companies').reply(409, { status: 'error', category: 'OBJECT_ALREADY_EXISTS', message: 'A property named \'x\' already exists.' });
    // ensureFields treats 409 as "someone created it meanwhile": not created by us, not an error.
    expect(await c.ensureFields('companies', [{ name: 'x', label: 'X', type: 'string' }])).toEqual([]);
  });

  it('5xx and network errors are transient and retried with exponential back-off until success', async () => {
    const { c, clock } = await connector();
    api().get('/crm/v3/properties/deals').query(true).reply(503, '<html>Service Unavailable</html>');
    api().get('/crm/v3/properties/deals').query(true).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    api().get('/crm/v3/properties/deals').query(true).reply(502, { status: 'error', message: 'Bad gateway', category: 'INTERNAL_ERROR' });
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    const schema = await c.describe('deals');
    expect(schema.fields.amount.type).toBe('currency');
    // minDelay 500 ms, factor 2, no jitter: 500, 1000, 2000.
    expect(clock.waits).toEqual([500, 1000, 2000]);
  });

  it('a persistent 5xx surfaces as transient once the retries are spent', async () => {
    const { c } = await connector({ retry: { retries: 2, jitter: false } });
    const scope = api().get('/crm/v3/properties/deals').query(true).times(3).reply(500, { status: 'error', message: 'internal error', category: 'INTERNAL_ERROR' });
    const e = await caught(c.describe('deals'));
    expect(e).toMatchObject({ kind: 'transient', status: 500 });
    expect(e.retryable).toBe(true);
    expect(scope.isDone()).toBe(true);
  });

  it('an unreadable 2xx body is a protocol error, not silently empty', async () => {
    const { c } = await connector({ retry: { retries: 0 } });
    api().get('/crm/v3/properties/deals').query(true).reply(200, 'not json at all', { 'Content-Type': 'application/json' });
    const e = await caught(c.describe('deals'));
    expect(e.kind).toBe('protocol');
  });
});

describe('HubSpot rate limits (nock)', () => {
  it('a 429 storm (TEN_SECONDLY_ROLLING) is waited out: every retry honours the rate-limit window, then succeeds', async () => {
    const { c, clock } = await connector({ retry: { retries: 8, jitter: false } });
    const storm = {
      status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT',
      correlationId: 'c-429', policyName: 'TEN_SECONDLY_ROLLING',
    };
    const headers = { 'X-HubSpot-RateLimit-Max': '190', 'X-HubSpot-RateLimit-Remaining': '0', 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000' };
    const stamps: number[] = [];
    api().get('/crm/v3/properties/deals').query(true).times(5).reply(() => {
      stamps.push(clock.t);
      return [429, storm, headers];
    });
    api().get('/crm/v3/properties/deals').query(true).reply(() => {
      stamps.push(clock.t);
      return [200, propertiesReply];
    });
    await c.describe('deals');
    expect(stamps).toHaveLength(6);
    // Each attempt after a 429 starts at least one full 10 s window later.
    for (let i = 1; i < stamps.length; i++) expect(stamps[i] - stamps[i - 1]).toBeGreaterThanOrEqual(10_000);
  });

  it('Retry-After is honoured when present, and a secondly (search) 429 waits 1 s', async () => {
    const { c, clock } = await connector();
    api().get('/crm/v3/properties/deals').query(true).reply(429, { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
    api().get('/crm/v3/properties/deals').query(true).reply(429, { status: 'error', message: 'slow down', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' }, { 'Retry-After': '7' });
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    await c.describe('deals');
    // max(back-off, Retry-After): 1000 (secondly, back-off 500) then 7000 (Retry-After, back-off 1000).
    expect(clock.waits.slice(0, 2)).toEqual([1000, 7000]);
  });

  it('stays under the 10-second limit proactively: 45 calls with a limit of 10/10 s never put 11 in one window', async () => {
    const { c, clock } = await connector({ limits: { tenSecondLimit: 10 } });
    const stamps: number[] = [];
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    api().post('/crm/v3/objects/deals/batch/read').query(true).times(45).reply(() => {
      stamps.push(clock.t);
      return [200, { status: 'COMPLETE', results: [], startedAt: new Date().toISOString(), completedAt: new Date().toISOString() }];
    });
    for (let i = 0; i < 45; i++) await c.readByIds('deals', [String(i + 1)]);
    expect(stamps).toHaveLength(45);
    for (const s of stamps) expect(stamps.filter((x) => x >= s && x < s + 10_000).length).toBeLessThanOrEqual(10);
    // ...and it did not crawl: 45 calls at 10 per 10 s take about 40 s of (fake) time.
    expect(stamps[44] - stamps[0]).toBeLessThan(50_000);
  });

  it('search calls respect the search window (e.g. 5/s) on top of the 10-second window', async () => {
    const { c, clock } = await connector({ limits: { searchPerSecond: 5 } });
    const stamps: number[] = [];
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    api().post('/crm/v3/objects/deals/search').times(12).reply(() => {
      stamps.push(clock.t);
      return [200, { total: 0, results: [] }];
    });
    // readByField on a non-unique property goes through search.
    for (let i = 0; i < 12; i++) await c.readByField('deals', 'dealname', [`deal ${i}`]);
    expect(stamps).toHaveLength(12);
    for (const s of stamps) expect(stamps.filter((x) => x >= s && x < s + 1000).length).toBeLessThanOrEqual(5);
  });

  it('DAILY 429 → quota_exhausted until the portal\'s midnight; never retried, later calls do not touch the API, resumes after reset', async () => {
    const { c, clock } = await connector();
    let requests = 0;
    api().get('/crm/v3/properties/deals').query(true).reply(() => {
      requests++;
      return [429, { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', correlationId: 'c-d', policyName: 'DAILY' },
        { 'X-HubSpot-RateLimit-Daily': '250000', 'X-HubSpot-RateLimit-Daily-Remaining': '0' }];
    });
    const e = await caught(c.describe('deals'));
    expect(e.kind).toBe('quota_exhausted');
    expect(e.retryable).toBe(false);
    expect(e.resetsAt).toBe('2026-03-11T00:00:00.000Z');
    expect(requests).toBe(1);
    expect(c.rateState().pausedUntil).toBe('2026-03-11T00:00:00.000Z');

    // Paused: fails fast with the same reset time and without any HTTP request (nock has none left).
    const again = await caught(c.readByIds('deals', ['1']));
    expect(again).toMatchObject({ kind: 'quota_exhausted', resetsAt: '2026-03-11T00:00:00.000Z' });
    expect(requests).toBe(1);

    // After midnight the org resumes.
    clock.t = Date.parse('2026-03-11T00:00:01.000Z');
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply, { 'X-HubSpot-RateLimit-Daily': '250000', 'X-HubSpot-RateLimit-Daily-Remaining': '249999' });
    expect((await c.describe('deals')).fields.dealname.type).toBe('string');
    expect(c.rateState().pausedUntil).toBeUndefined();
  });

  it('daily allocation: pauses proactively at the threshold (does not breach), with resetsAt at midnight in the portal time zone', async () => {
    const { c } = await connector({ limits: { dailyPauseAt: 0.8, timeZone: 'America/New_York' } });
    let requests = 0;
    api().get('/crm/v3/properties/deals').query(true).reply(() => {
      requests++;
      // 800 of 1000 used: at the 80 % threshold.
      return [200, propertiesReply, { 'X-HubSpot-RateLimit-Daily': '1000', 'X-HubSpot-RateLimit-Daily-Remaining': '200' }];
    });
    await c.describe('deals');
    const e = await caught(c.readByIds('deals', ['1']));
    expect(e.kind).toBe('quota_exhausted');
    // 2026-03-10 15:00Z is 11:00 in New York (EDT since 8 March): next midnight there is 04:00Z.
    expect(e.resetsAt).toBe('2026-03-11T04:00:00.000Z');
    expect(requests).toBe(1);
  });
});

describe('HubSpot OAuth (nock)', () => {
  it('gets an access token from /oauth/v1/token, refreshes it on 401 and retries with the new one', async () => {
    process.env.HS_NOCK_CLIENT_ID = 'client-id-123456';
    process.env.HS_NOCK_CLIENT_SECRET = 'client-secret-abcdef';
    process.env.HS_NOCK_REFRESH = 'refresh-token-zyxwvu';
    const { c } = await connector({
      auth: { clientId: 'env:HS_NOCK_CLIENT_ID', clientSecret: 'env:HS_NOCK_CLIENT_SECRET', refreshToken: 'env:HS_NOCK_REFRESH' },
    });
    const grants: string[] = [];
    let n = 0;
    api().post('/oauth/v1/token').times(2).reply(async (req: Request) => {
      grants.push(await req.text());
      n++;
      return [200, { access_token: `access-token-${n}-xxxxxx`, refresh_token: 'refresh-token-zyxwvu', expires_in: 1800, token_type: 'bearer' }];
    });
    const seen: string[] = [];
    api().get('/crm/v3/properties/deals').query(true).times(2).reply((req: Request) => {
      const auth = String(req.headers.get('authorization'));
      seen.push(auth);
      return auth === 'Bearer access-token-1-xxxxxx'
        ? [401, { status: 'error', category: 'EXPIRED_AUTHENTICATION', message: 'The OAuth token used to make this call expired.' }]
        : [200, propertiesReply];
    });
    await c.describe('deals');
    expect(seen).toEqual(['Bearer access-token-1-xxxxxx', 'Bearer access-token-2-xxxxxx']);
    expect(grants).toHaveLength(2);
    expect(grants[0]).toContain('grant_type=refresh_token');
    expect(grants[0]).toContain('refresh_token=refresh-token-zyxwvu');
  });

  it('a rejected refresh token is an auth error that names no secret', async () => {
    process.env.HS_NOCK_CLIENT_ID = 'client-id-123456';
    process.env.HS_NOCK_CLIENT_SECRET = 'client-secret-abcdef';
    process.env.HS_NOCK_REFRESH = 'refresh-token-revoked';
    const { c } = await connector({
      auth: { clientId: 'env:HS_NOCK_CLIENT_ID', clientSecret: 'env:HS_NOCK_CLIENT_SECRET', refreshToken: 'env:HS_NOCK_REFRESH' },
    });
    api().post('/oauth/v1/token').reply(400, { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token' });
    const e = await caught(c.describe('deals'));
    expect(e.kind).toBe('auth');
    expect(JSON.stringify({ m: e.message, d: e.details })).not.toMatch(/refresh-token-revoked|client-secret-abcdef/);
  });
});

describe('HubSpot batch writes (nock)', () => {
  it('upsert maps 207 errors back onto their inputs and reports created / updated per record', async () => {
    const { c } = await connector();
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    let sent: Array<{ id: string; idProperty: string }> = [];
    api().post('/crm/v3/objects/deals/batch/upsert').reply(async (req: Request) => {
      const body = await req.json();
      sent = (body as { inputs: Array<{ id: string; idProperty: string }> }).inputs;
      return [207, {
        status: 'COMPLETE',
        results: [
          { id: '11', new: true, properties: { partner_deal_id: 'p-1', dealname: 'A' }, createdAt: '2026-03-10T15:00:00Z', updatedAt: '2026-03-10T15:00:00Z' },
          { id: '13', new: false, properties: { partner_deal_id: 'p-3', dealname: 'C' }, createdAt: '2026-03-10T15:00:00Z', updatedAt: '2026-03-10T15:00:00Z' },
        ],
        numErrors: 1,
        errors: [{ status: 'error', category: 'VALIDATION_ERROR', message: 'Property values were not valid: [{"isValid":false,"message":"x was not one of the allowed options","error":"INVALID_OPTION","name":"dealstage"}]', context: { ids: ['p-2'] }, errors: [] }],
        startedAt: '2026-03-10T15:00:00Z', completedAt: '2026-03-10T15:00:01Z',
      }];
    });
    const res = await c.upsert('deals', 'partner_deal_id', [
      { key: 'p-1', fields: { dealname: 'A', amount: 10 } },
      { key: 'p-2', fields: { dealname: 'B', dealstage: 'x' } },
      { key: 'p-3', fields: { dealname: 'C' } },
    ]);
    expect(sent.map((i) => [i.id, i.idProperty])).toEqual([['p-1', 'partner_deal_id'], ['p-2', 'partner_deal_id'], ['p-3', 'partner_deal_id']]);
    expect(res.map((r) => [r.key, r.status, r.id])).toEqual([['p-1', 'created', '11'], ['p-2', 'failed', undefined], ['p-3', 'updated', '13']]);
    expect(res[1].error).toMatchObject({ kind: 'validation', fields: ['dealstage'] });
  });

  it('update sends objectWriteTraceId and maps traced 207 errors and not-found ids back onto their inputs', async () => {
    const { c } = await connector();
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    let traces: string[] = [];
    api().post('/crm/v3/objects/deals/batch/update').reply(async (req: Request) => {
      const body = (await req.json()) as { inputs: Array<{ id: string; objectWriteTraceId: string }> };
      traces = body.inputs.map((i) => i.objectWriteTraceId);
      return [207, {
        status: 'COMPLETE',
        // Results and errors in an order unrelated to the inputs, as HubSpot does not promise one.
        results: [{ id: '3', objectWriteTraceId: '2', properties: { dealname: 'c' } }],
        errors: [
          { status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not find some DEAL objects to update: 1', context: { ids: ['1'] }, errors: [] },
          { status: 'error', category: 'VALIDATION_ERROR', message: 'Property values were not valid: [{"isValid":false,"message":"x","error":"INVALID_OPTION","name":"dealstage"}]', context: { objectWriteTraceId: ['1'] }, errors: [] },
        ],
        startedAt: 'x', completedAt: 'y',
      }];
    });
    const res = await c.update('deals', [{ id: '1', fields: { dealname: 'a' } }, { id: '2', fields: { dealstage: 'x' } }, { id: '3', fields: { dealname: 'c' } }]);
    expect(traces).toEqual(['0', '1', '2']);
    expect(res.map((r) => [r.status, r.error?.kind])).toEqual([['failed', 'not_found'], ['failed', 'validation'], ['updated', undefined]]);
    expect(res[1].error?.fields).toEqual(['dealstage']);
  });

  it('a whole batch rejected with 400 is split until the bad record is isolated; the good ones land', async () => {
    const { c } = await connector();
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    const batches: string[][] = [];
    api().post('/crm/v3/objects/deals/batch/upsert').times(10).reply(async (req: Request) => {
      const body = await req.json();
      const inputs = (body as { inputs: Array<{ id: string; properties: Record<string, string> }> }).inputs;
      batches.push(inputs.map((i) => i.id));
      if (inputs.some((i) => i.properties.dealstage === 'nope')) {
        return [400, { status: 'error', category: 'VALIDATION_ERROR', message: 'Property values were not valid: [{"isValid":false,"message":"nope","error":"INVALID_OPTION","name":"dealstage"}]' }];
      }
      return [200, { status: 'COMPLETE', results: inputs.map((i, k) => ({ id: String(100 + Number(i.id.slice(2))), new: k % 2 === 0, properties: { partner_deal_id: i.id } })), startedAt: 'x', completedAt: 'y' }];
    });
    const inputs = ['p-0', 'p-1', 'p-2', 'p-3', 'p-4'].map((key) => ({ key, fields: { dealstage: key === 'p-3' ? 'nope' : 'closedwon' } }));
    const res = await c.upsert('deals', 'partner_deal_id', inputs);
    expect(res.map((r) => r.status === 'failed')).toEqual([false, false, false, true, false]);
    expect(res[3].error?.fields).toEqual(['dealstage']);
    expect(batches[0]).toHaveLength(5);
    expect(batches.length).toBeLessThanOrEqual(7);
  });

  it('duplicate keys in one call go to separate batches (HubSpot rejects duplicates in one batch)', async () => {
    const { c } = await connector();
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    const batches: string[][] = [];
    api().post('/crm/v3/objects/deals/batch/upsert').times(3).reply(async (req: Request) => {
      const body = await req.json();
      const inputs = (body as { inputs: Array<{ id: string }> }).inputs;
      batches.push(inputs.map((i) => i.id));
      return [200, { status: 'COMPLETE', results: inputs.map((i) => ({ id: '1', new: false, properties: { partner_deal_id: i.id } })), startedAt: 'x', completedAt: 'y' }];
    });
    const res = await c.upsert('deals', 'partner_deal_id', [{ key: 'a', fields: {} }, { key: 'b', fields: {} }, { key: 'a', fields: { dealname: 'later' } }]);
    expect(batches).toEqual([['a', 'b'], ['a']]);
    expect(res.map((r) => r.status)).toEqual(['updated', 'updated', 'updated']);
  });

  it('upsert by a property that is not unique is refused before any write', async () => {
    const { c } = await connector();
    api().get('/crm/v3/properties/deals').query(true).reply(200, propertiesReply);
    const e = await caught(c.upsert('deals', 'dealname', [{ key: 'x', fields: {} }]));
    expect(e).toMatchObject({ kind: 'validation', fields: ['dealname'] });
  });
});

describe('HubSpot association reads (nock)', () => {
  const READ = '/crm/v4/associations/deals/companies/batch/read';
  /** A v4 batch-read answer for the asked ids from `assoc` (deal → company ids), 207 + NO_ASSOCIATIONS_FOUND for the rest, as HubSpot answers. */
  const answer = (assoc: Map<string, string[]>) => async (req: Request) => {
    const { inputs } = (await req.json()) as { inputs: Array<{ id: string }> };
    const results = inputs.filter((i) => assoc.get(i.id)?.length).map((i) => ({ from: { id: i.id }, to: assoc.get(i.id)!.map((c) => ({ toObjectId: Number(c), associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 5, label: null }] })) }));
    const errors = inputs.filter((i) => !assoc.get(i.id)?.length).map((i) => ({ status: 'error', category: 'OBJECT_NOT_FOUND', subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND', message: `No company is associated with deal ${i.id}.`, context: { fromObjectId: [i.id] } }));
    return [errors.length ? 207 : 200, { status: 'COMPLETE', results, errors, numErrors: errors.length, startedAt: '2026-03-10T15:00:00.000Z', completedAt: '2026-03-10T15:00:00.100Z' }] as [number, unknown];
  };

  it('associationsOf retries a 503 and a 429 like every call (the rate window honoured), then gives each deal its lowest company id; none → null', async () => {
    const { c, clock } = await connector();
    const stamps: number[] = [];
    api().post(READ).reply(() => (stamps.push(clock.t), [503, '<html>Service Unavailable</html>']));
    api().post(READ).reply(() => (stamps.push(clock.t), [429, { status: 'error', message: 'slow down', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' }, { 'X-HubSpot-RateLimit-Max': '190', 'X-HubSpot-RateLimit-Remaining': '0', 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000' }]));
    const ok = answer(new Map([['11', ['902', '81', '700']], ['12', []]]));
    const scope = api().post(READ).reply(async (req: Request) => (stamps.push(clock.t), ok(req)));
    const got = await c.associationsOf!('deals', ['11', '12', '13'], 'associations.companies');
    expect(Object.fromEntries(got)).toEqual({ '11': '81', '12': null, '13': null });
    expect(scope.isDone()).toBe(true);
    expect(stamps).toHaveLength(3);
    // The 429 said the 10-second window (opened by the first call) is spent: the retry waits for the next one.
    expect(stamps[2] - stamps[0]).toBeGreaterThanOrEqual(10_000);
  });

  it('associationsOf: 403 MISSING_SCOPES → auth at once (one request, token never in the error); a plain property → validation, no request', async () => {
    const { c } = await connector();
    let calls = 0;
    api().post(READ).times(5).reply(() => (calls++, [403, { status: 'error', category: 'MISSING_SCOPES', message: 'This app hasn\'t been granted all required scopes', errors: [{ message: 'missing crm.objects.companies.read' }] }]));
    const e = await caught(c.associationsOf!('deals', ['11'], 'associations.companies'));
    expect(e).toMatchObject({ kind: 'auth', status: 403, crmCode: 'MISSING_SCOPES' });
    expect(calls).toBe(1);
    expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain(TOKEN);
    expect(await caught(c.associationsOf!('deals', ['11'], 'dealname'))).toMatchObject({ kind: 'validation' });
    expect(calls).toBe(1);
  });

  it('associationsOf (property): any ids and associations — one request per 1,000 distinct ids, each id its lowest associated id or null', async () => {
    const { c } = await connector();
    const id = fc.integer({ min: 1, max: 3_000 }).map(String);
    await fc.assert(
      fc.asyncProperty(fc.array(id, { maxLength: 2_600 }), fc.array(fc.tuple(id, fc.array(fc.integer({ min: 1, max: 10 ** 9 }).map(String), { maxLength: 4 })), { maxLength: 400 }), async (ids, pairs) => {
        const assoc = new Map(pairs);
        const distinct = new Set(ids);
        const sizes: number[] = [];
        const ok = answer(assoc);
        const calls = Math.ceil(distinct.size / 1000);
        if (calls) api().post(READ).times(calls).reply(async (req: Request) => {
          sizes.push(((await req.clone().json()) as { inputs: unknown[] }).inputs.length);
          return ok(req);
        });
        const got = await c.associationsOf!('deals', ids, 'associations.companies');
        expect(nock.pendingMocks()).toEqual([]);
        expect(sizes).toHaveLength(calls);
        expect(sizes.every((n) => n <= 1000)).toBe(true);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(distinct.size);
        expect(new Set(got.keys())).toEqual(distinct);
        for (const d of distinct) {
          const companies = assoc.get(d) ?? [];
          const lowest = companies.length ? [...companies].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))[0] : null;
          expect(got.get(d)).toBe(lowest);
        }
      }),
      { numRuns: 30 },
    );
  });
});
