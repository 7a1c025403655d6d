import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceAuth, SalesforceConnectorConfig } from '../../connectors/salesforce/config.js';
import { SalesforceConnector } from '../../connectors/salesforce/connector.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { tokenEnv, uniqueOrg } from './salesforce-helpers.js';

/**
 * The Salesforce connector against an emulated org that misbehaves: every auth flow, expired
 * sessions, 5xx and UNABLE_TO_LOCK_ROW storms, and a small daily allocation.
 */
let sb: TestSandbox;
let info: Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'sf', kind: 'salesforce', role: 'partner' }] });
  const i = sb.orgs.sf;
  if (i.kind !== 'salesforce') throw new Error('expected a salesforce org');
  info = i;
}, 120_000);
afterAll(async () => {
  await sb?.stop();
});

function connector(auth: SalesforceAuth, extra: Partial<SalesforceConnectorConfig> = {}) {
  return new SalesforceConnector({
    kind: 'salesforce',
    orgId: uniqueOrg('sbx'),
    instanceUrl: info.instanceUrl,
    loginUrl: info.loginUrl,
    auth,
    retry: { retries: 10, minDelayMs: 5, maxDelayMs: 50 },
    ...extra,
  });
}

const clientCredentials = (): SalesforceAuth => ({ clientId: tokenEnv('SBX_CID', info.clientId), clientSecret: tokenEnv('SBX_SECRET', info.clientSecret) });

describe('Salesforce connector on the sandbox: auth flows', () => {
  it('client credentials, JWT bearer, refresh token, password and a plain access token all reach the API', async () => {
    const flows: SalesforceAuth[] = [
      clientCredentials(),
      { clientId: tokenEnv('SBX_CID', info.clientId), username: info.username!, privateKey: tokenEnv('SBX_KEY', info.privateKeyPem!) },
      { clientId: tokenEnv('SBX_CID', info.clientId), clientSecret: tokenEnv('SBX_SECRET', info.clientSecret), refreshToken: tokenEnv('SBX_RT', info.refreshToken!) },
      { clientId: tokenEnv('SBX_CID', info.clientId), clientSecret: tokenEnv('SBX_SECRET', info.clientSecret), username: info.username!, password: tokenEnv('SBX_PW', info.password!) },
      { accessToken: tokenEnv('SBX_AT', info.accessToken) },
    ];
    for (const auth of flows) {
      const c = connector(auth);
      expect(await c.listObjects()).toContain('Opportunity');
    }
  });

  it('a wrong client secret is an auth error, surfaced at once', async () => {
    const c = connector({ clientId: tokenEnv('SBX_CID', info.clientId), clientSecret: tokenEnv('SBX_BAD', 'definitely-wrong') });
    const err = await c.listObjects().catch((e) => e);
    expect(err.kind).toBe('auth');
  });

  it('re-authenticates when every session is revoked (401 INVALID_SESSION_ID) and carries on', async () => {
    const c = connector(clientCredentials());
    expect(await c.listObjects()).toContain('Account');
    await sb.faults('sf', { expireTokensNow: true });
    expect(await c.listObjects()).toContain('Account');
    await sb.faults('sf', {});
  });
});

describe('Salesforce connector on the sandbox: faults and quota', () => {
  it('5xx, timeouts and UNABLE_TO_LOCK_ROW are retried until every record is written exactly once', async () => {
    const c = connector(clientCredentials(), { requestTimeoutMs: 500 });
    await c.ensureFields('Opportunity', [{ name: 'Chaos_Key__c', label: 'chaos key', type: 'string', unique: true, externalId: true, length: 80 }]);
    await sb.faults('sf', { errorRate: 0.25, lockRowRate: 0.25, timeoutRate: 0.1, timeoutMs: 3_000 });
    try {
      const inputs = Array.from({ length: 450 }, (_, i) => ({ key: `chaos-${i}`, fields: { Name: `Chaos ${i}`, StageName: 'Qualification', CloseDate: '2027-01-31' } }));
      const first = await c.upsert('Opportunity', 'Chaos_Key__c', inputs);
      expect(first.filter((r) => r.status === 'failed')).toEqual([]);
      // Writing again after failures and retries creates nothing new: every write was an idempotent upsert.
      const again = await c.upsert('Opportunity', 'Chaos_Key__c', inputs);
      expect(again.filter((r) => r.status !== 'updated')).toEqual([]);
      expect(again.map((r) => r.id)).toEqual(first.map((r) => r.id));
    } finally {
      await sb.faults('sf', {});
    }
    const read = await c.readByField('Opportunity', 'Chaos_Key__c', Array.from({ length: 450 }, (_, i) => `chaos-${i}`), ['Chaos_Key__c']);
    expect(new Set(read.map((r) => r.fields.Chaos_Key__c)).size).toBe(450);
    expect(read).toHaveLength(450);
  });

  it('a small daily allocation: pauses at the threshold with resetsAt, never reaches the org limit', async () => {
    const c = connector(clientCredentials(), { dailyPauseAt: 0.5 });
    await c.listObjects();
    const used = c.rateState().dailyUsed!;
    const limit = 2 * (used + 10); // threshold = used + 10 calls from now
    await sb.faults('sf', { dailyLimit: limit });
    try {
      let calls = 0;
      let err: any;
      for (; calls < 100; calls++) {
        err = await c.listObjects().then(
          () => undefined,
          (e) => e,
        );
        if (err) break;
      }
      expect(err?.kind).toBe('quota_exhausted');
      expect(Date.parse(err.resetsAt)).toBeGreaterThan(Date.now());
      const state = c.rateState();
      expect(state.dailyUsed).toBeLessThanOrEqual(limit / 2);
      expect(state.dailyLimit).toBe(limit);
      expect(state.pausedUntil).toBe(err.resetsAt);
    } finally {
      await sb.faults('sf', {});
    }
  });
});
