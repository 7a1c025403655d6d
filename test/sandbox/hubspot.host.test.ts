import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '@cosell/sandbox';

/** The HubSpot portal hosted by the sandbox host (startSandbox), driven through its admin endpoints. */
let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({
    config: { seed: 5, orgs: [{ id: 'partner-hs', kind: 'hubspot', role: 'partner', seed: { accounts: 15, opportunities: 25, owners: 2 } }] },
  });
});
afterAll(async () => {
  await sb.stop();
});

describe('HubSpot portal inside startSandbox', () => {
  it('prints connection info the real client can use, and seeds messy companies and deals in every stage', async () => {
    const info = sb.orgs['partner-hs'];
    expect(info.kind).toBe('hubspot');
    if (info.kind !== 'hubspot') return;
    expect(info.basePath).toBe(sb.baseUrls['partner-hs']);
    expect(info.refreshToken).toBeTruthy();
    const hs = new Client({ accessToken: info.accessToken, basePath: info.basePath });
    const companies = await hs.crm.companies.basicApi.getPage(100, undefined, ['domain']);
    expect(companies.results).toHaveLength(15);
    const deals = await hs.crm.deals.basicApi.getPage(100, undefined, ['dealstage']);
    expect(new Set(deals.results.map((d) => d.properties.dealstage)).size).toBe(7);
    // The host's own pages and admin routes are not behind the portal's auth.
    expect((await fetch(`${info.basePath}/__sandbox/info`)).status).toBe(200);
  });

  it('takes faults and clock commands through the host admin endpoints', async () => {
    const info = sb.orgs['partner-hs'];
    if (info.kind !== 'hubspot') throw new Error('kind');
    const hs = new Client({ accessToken: info.accessToken, basePath: info.basePath });
    const set = await fetch(`${info.basePath}/__sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
    expect(set.status).toBe(200);
    await expect(hs.crm.deals.basicApi.getPage(1)).rejects.toMatchObject({ code: 503 });
    await fetch(`${info.basePath}/__sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const frozen = (await (await fetch(`${info.basePath}/__sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ freeze: true, at: '2026-11-30T12:00:00.000Z' }) })).json()) as { frozen: boolean };
    expect(frozen.frozen).toBe(true);
    const res = await hs.crm.companies.batchApi.create({ inputs: [{ properties: { name: 'one' }, associations: [] }, { properties: { name: 'two' }, associations: [] }] });
    expect(res.results.map((r) => r.properties.hs_lastmodifieddate)).toEqual(['2026-11-30T12:00:00.000Z', '2026-11-30T12:00:00.000Z']);
    await fetch(`${info.basePath}/__sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ freeze: false }) });
  });
});
