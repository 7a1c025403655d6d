import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectorConfigFromOrg, createConnector } from '../../connectors/index.js';
import type { OrgConfig } from '../../lib/config.js';
import { isCosellError } from '../../lib/errors.js';
import { API, INSTANCE, JSON_HEADERS, sfApi, tokenEnv, warmUpNock } from './salesforce-helpers.js';

beforeAll(async () => {
  nock.disableNetConnect();
  await warmUpNock();
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('connector registry (connectors/index.ts)', () => {
  it('builds a Salesforce connector straight from a network-file org, credentials resolved from their reference', async () => {
    const org = {
      id: 'vendor-reg',
      name: 'Vendor',
      kind: 'salesforce',
      connection: { instanceUrl: INSTANCE, auth: { accessToken: tokenEnv('REG_SF_TOKEN', 'reg-token-0123456789') }, dailyPauseAt: 0.7 },
    } as OrgConfig;
    expect(connectorConfigFromOrg(org)).toMatchObject({ kind: 'salesforce', orgId: 'vendor-reg', instanceUrl: INSTANCE, dailyPauseAt: 0.7 });
    const c = await createConnector(org);
    expect([c.kind, c.orgId, c.batchSize]).toEqual(['salesforce', 'vendor-reg', 200]);
    sfApi().get(`${API}/sobjects`).matchHeader('authorization', 'Bearer reg-token-0123456789').reply(200, { sobjects: [{ name: 'Account' }] }, JSON_HEADERS);
    expect(await c.listObjects()).toEqual(['Account']);
  });

  it('builds a HubSpot connector from its config, and refuses an unknown kind', async () => {
    const org = {
      id: 'acme-reg',
      name: 'Acme',
      kind: 'hubspot',
      tier: 'gold',
      connection: { basePath: 'https://hubspot.reg.test', auth: { accessToken: tokenEnv('REG_HS_TOKEN', 'pat-reg-0123456789') }, tenSecondLimit: 100 },
    } as OrgConfig;
    expect(connectorConfigFromOrg(org)).toMatchObject({ kind: 'hubspot', orgId: 'acme-reg', basePath: 'https://hubspot.reg.test', limits: { tenSecondLimit: 100 } });
    const hs = await createConnector(org);
    expect([hs.kind, hs.orgId, hs.batchSize]).toEqual(['hubspot', 'acme-reg', 100]);
    const err = await createConnector({ kind: 'pipedrive', orgId: 'x' } as never).catch((e) => e);
    expect(isCosellError(err, 'COSELL_CONFIG_INVALID')).toBe(true);
  });
});
