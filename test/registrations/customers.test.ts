import nock from '../helpers/nock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../connectors/index.js';
import { createHubspotConnector } from '../../connectors/hubspot/index.js';
import type { Connector } from '../../connectors/types.js';
import type { LinkConfig, LoadedNetwork } from '../../lib/config.js';
import { isCosellError } from '../../lib/errors.js';
import { resolveCustomers, type CustomerSource } from '../../registrations/customers.js';
import { sandboxEnv, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * A partner deal's customer is its HubSpot company, read through the HubSpot connector (retries, rate
 * budget, error mapping) — against the sandbox portal, and with nock for the error paths.
 */
const link = { id: 'acme-deals' } as LinkConfig;
let sb: TestSandbox;
let network: LoadedNetwork;
let hs: Connector;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'acme', kind: 'hubspot', role: 'partner' }] });
  const conn = sandboxEnv(sb, 'HSCUST');
  network = testNetwork(`
vendor: { id: acme, name: Acme, kind: hubspot, connection: ${conn.acme} }
partners: []
links: []
`);
  hs = await createConnector(network.org('acme'));
});

afterAll(async () => {
  await hs?.close();
  await sb?.stop();
  nock.cleanAll();
});

describe('resolveCustomers on HubSpot', () => {
  it('each deal gets its company (the lowest id of several: the one the sync follows) and its partner-CRM create time; a deal without one only the time', async () => {
    const client = sb.hubspot('acme');
    const type = [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 5 }];
    const [a, b, c] = await Promise.all([
      client.crm.companies.basicApi.create({ properties: { name: 'Globex GmbH', domain: 'globex.example', country: 'Germany' } }),
      client.crm.companies.basicApi.create({ properties: { name: 'Initech', domain: 'initech.example', country: 'US' } }),
      client.crm.companies.basicApi.create({ properties: { name: 'Umbrella', domain: 'umbrella.example' } }),
    ]);
    const lowest = [b, c].sort((x, y) => x.id.length - y.id.length || x.id.localeCompare(y.id))[0];
    const one = await client.crm.deals.basicApi.create({ properties: { dealname: 'One company' }, associations: [{ to: { id: a.id }, types: type }] });
    const two = await client.crm.deals.basicApi.create({ properties: { dealname: 'Two companies' }, associations: [{ to: { id: b.id }, types: type }, { to: { id: c.id }, types: type }] });
    const none = await client.crm.deals.basicApi.create({ properties: { dealname: 'No company' } });

    const rt: CustomerSource = { link, sourceOrg: network.org('acme'), source: hs, sourceObject: 'deals' };
    // No `createdate` among the page's fields: the gate reads it.
    const got = await resolveCustomers(rt, [one, two, none].map((d) => ({ sourceId: d.id, source: {} })));
    expect(got.get(one.id)).toMatchObject({ name: 'Globex GmbH', domain: 'globex.example', country: 'DE' });
    expect(got.get(two.id)).toMatchObject({ name: lowest.properties.name, domain: lowest.properties.domain });
    expect(got.get(none.id)).toMatchObject({ name: null, domain: null, country: null });
    for (const d of [one, two, none]) expect(Date.parse(got.get(d.id)!.createdAt!)).toBe(Date.parse(d.properties.createdate!));
  });
});

describe('resolveCustomers when HubSpot fails (nock)', () => {
  const BASE = 'https://hubspot-customers.nock.test';
  const READ = '/crm/v4/associations/deals/companies/batch/read';
  process.env.HS_CUSTOMERS_NOCK_TOKEN = 'pat-na1-customers-0123456789';
  const nockSource = async (retries: number): Promise<CustomerSource> => {
    const clock = { t: Date.parse('2026-03-10T15:00:00.000Z'), now: () => clock.t, sleep: async (ms: number) => void (clock.t += ms) };
    const source = await createHubspotConnector({ kind: 'hubspot', orgId: `customers-${retries}`, basePath: BASE, auth: { accessToken: 'env:HS_CUSTOMERS_NOCK_TOKEN' }, clock, retry: { retries, jitter: false }, requestTimeoutMs: 5_000 });
    return { link, sourceOrg: network.org('acme'), source, sourceObject: 'deals' };
  };
  const deal = { sourceId: '501', source: { createdate: '2026-03-01T10:00:00.000Z' } };

  it('a transient answer is retried by the connector, then the customer is read', async () => {
    const rt = await nockSource(3);
    const scope = nock(BASE)
      .post(READ).reply(503, '<html>Service Unavailable</html>')
      .post(READ).reply(200, { status: 'COMPLETE', results: [{ from: { id: '501' }, to: [{ toObjectId: 77, associationTypes: [] }] }], startedAt: '2026-03-10T15:00:00.000Z', completedAt: '2026-03-10T15:00:00.100Z' })
      .post('/crm/v3/objects/companies/batch/read').query(true).reply(200, { status: 'COMPLETE', results: [{ id: '77', properties: { name: 'Hooli', domain: 'hooli.example', country: 'US' }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', archived: false }], startedAt: '2026-03-10T15:00:00.000Z', completedAt: '2026-03-10T15:00:00.100Z' })
      .get(/\/crm\/v3\/properties\/companies/).reply(200, { results: ['name', 'domain', 'website', 'country'].map((name) => ({ name, label: name, type: 'string', fieldType: 'text' })) });
    const got = await resolveCustomers(rt, [deal]);
    expect(got.get('501')).toMatchObject({ name: 'Hooli', domain: 'hooli.example', country: 'US', createdAt: '2026-03-01T10:00:00.000Z' });
    expect(scope.isDone()).toBe(true);
  });

  it('a refused read fails closed: COSELL_RULES_DATA_UNAVAILABLE (retryable) carrying the connector\'s mapped error, after exactly one request', async () => {
    const rt = await nockSource(3);
    let calls = 0;
    nock(BASE).post(READ).times(5).reply(() => (calls++, [403, { status: 'error', category: 'MISSING_SCOPES', message: 'This app hasn\'t been granted all required scopes' }]));
    const e = await resolveCustomers(rt, [deal]).then(() => undefined, (err: unknown) => err);
    expect(isCosellError(e, 'COSELL_RULES_DATA_UNAVAILABLE')).toBe(true);
    expect((e as { details?: { retryable?: boolean } }).details?.retryable).toBe(true);
    expect((e as { cause?: { kind?: string } }).cause?.kind).toBe('auth');
    expect(calls).toBe(1);
    nock.cleanAll();
  });
});
