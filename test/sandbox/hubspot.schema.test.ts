import { Client } from '@hubspot/api-client';
import fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubspotOrg } from '@cosell/sandbox/hubspot';
import { startHubspotPortal, type RunningPortal } from '@cosell/sandbox/hubspot/testing';
import { generateSeed } from '@cosell/sandbox';

/** Contract: properties, pipelines, owners, associations v4, rate limits, faults, persistence, list view. */
let p: RunningPortal;
let hs: Client;

async function apiError(fn: () => Promise<unknown>): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await fn();
  } catch (e: any) {
    if (typeof e?.code === 'number') return { code: e.code, body: e.body, headers: e.headers };
    throw e;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  p = await startHubspotPortal({
    id: 'hs-schema',
    seed: { seed: 3, accounts: 12, opportunities: 20, owners: 3 },
    schema: { properties: { companies: [{ name: 'partner_tier', label: 'Partner tier', type: 'enumeration', fieldType: 'select', groupName: 'companyinformation', options: [{ label: 'Gold', value: 'gold' }, { label: 'Silver', value: 'silver' }] }] } },
  });
  hs = new Client({ accessToken: p.accessToken, basePath: p.basePath });
});
afterAll(async () => {
  await p.close();
});

describe('HubSpot sandbox: properties API and write validation', () => {
  it('lists and gets property definitions, including config-defined ones', async () => {
    const all = await hs.crm.properties.coreApi.getAll('companies');
    const names = all.results.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['name', 'domain', 'industry', 'hs_object_id', 'hs_lastmodifieddate', 'partner_tier']));
    const industry = await hs.crm.properties.coreApi.getByName('companies', 'industry');
    expect(industry).toMatchObject({ name: 'industry', type: 'enumeration', fieldType: 'select', hubspotDefined: true });
    expect(industry.options.map((o) => o.value)).toContain('COMPUTER_SOFTWARE');
    const stage = await hs.crm.properties.coreApi.getByName('deals', 'dealstage');
    expect(stage.externalOptions).toBe(true);
    const missing = await apiError(() => hs.crm.properties.coreApi.getByName('deals', 'nope'));
    expect(missing.code).toBe(404);
    const groups = await hs.crm.properties.groupsApi.getAll('deals');
    expect(groups.results.map((g) => g.name)).toContain('dealinformation');
  });

  it('creates properties (enumeration options, hasUniqueValue), 409 on a duplicate name, 400 on a bad definition', async () => {
    const created = await hs.crm.properties.coreApi.create('companies', {
      name: 'cosell_partner_status', label: 'Partner status', type: 'enumeration' as any, fieldType: 'select' as any, groupName: 'companyinformation',
      options: [{ label: 'Registered', value: 'registered', hidden: false }, { label: 'Approved', value: 'approved', hidden: false }],
    });
    expect(created).toMatchObject({ name: 'cosell_partner_status', type: 'enumeration', hubspotDefined: false, hasUniqueValue: false });
    expect(created.options.map((o) => o.value)).toEqual(['registered', 'approved']);
    const uniq = await hs.crm.properties.coreApi.create('companies', { name: 'cosell_ref', label: 'ref', type: 'string' as any, fieldType: 'text' as any, groupName: 'companyinformation', hasUniqueValue: true });
    expect(uniq.hasUniqueValue).toBe(true);
    const dup = await apiError(() => hs.crm.properties.coreApi.create('companies', { name: 'cosell_ref', label: 'again', type: 'string' as any, fieldType: 'text' as any, groupName: 'companyinformation' }));
    expect(dup.code).toBe(409);
    expect(dup.body).toMatchObject({ status: 'error', category: 'OBJECT_ALREADY_EXISTS' });
    const bad = await apiError(() => hs.crm.properties.coreApi.create('companies', { name: 'Bad Name', label: 'x', type: 'enumeration' as any, fieldType: 'text' as any, groupName: 'nogroup' }));
    expect(bad.code).toBe(400);
    expect(bad.body.category).toBe('VALIDATION_ERROR');
    // hasUniqueValue cannot change later (the client's PropertyUpdate model has no such field: raw HTTP).
    const change = await fetch(`${p.basePath}/crm/v3/properties/companies/cosell_ref`, {
      method: 'PATCH', headers: { authorization: `Bearer ${p.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ hasUniqueValue: false }),
    });
    expect(change.status).toBe(400);
    expect(((await change.json()) as { category: string }).category).toBe('VALIDATION_ERROR');
  });

  it('creates, reads and archives properties in batches', async () => {
    const created = await hs.crm.properties.batchApi.create('deals', {
      inputs: [
        { name: 'cosell_partner_org', label: 'Partner org', type: 'string' as any, fieldType: 'text' as any, groupName: 'dealinformation' },
        { name: 'cosell_partner_amount', label: 'Partner amount', type: 'number' as any, fieldType: 'number' as any, groupName: 'dealinformation' },
      ],
    });
    expect(created.results.map((r) => r.name).sort()).toEqual(['cosell_partner_amount', 'cosell_partner_org']);
    const read = await hs.crm.properties.batchApi.read('deals', { archived: false, inputs: [{ name: 'cosell_partner_org' }, { name: 'dealname' }] } as any);
    expect(read.results.map((r) => r.name).sort()).toEqual(['cosell_partner_org', 'dealname']);
    const again = await apiError(() => hs.crm.properties.batchApi.create('deals', { inputs: [{ name: 'cosell_partner_org', label: 'x', type: 'string' as any, fieldType: 'text' as any, groupName: 'dealinformation' }] }));
    expect(again.code).toBe(409);
    await hs.crm.properties.batchApi.archive('deals', { inputs: [{ name: 'cosell_partner_amount' }] });
    expect((await apiError(() => hs.crm.properties.coreApi.getByName('deals', 'cosell_partner_amount'))).code).toBe(404);
  });

  it('validates writes against the definitions: enumeration options, numbers, dates, bools, owners', async () => {
    const ok = await hs.crm.companies.basicApi.create({ properties: { name: 'Valid Co', cosell_partner_status: 'approved', partner_tier: 'gold', numberofemployees: '42' }, associations: [] });
    expect(ok.properties).toMatchObject({ cosell_partner_status: 'approved', partner_tier: 'gold', numberofemployees: '42' });
    const e = await apiError(() =>
      hs.crm.companies.basicApi.update(ok.id, { properties: { cosell_partner_status: 'maybe', numberofemployees: '4x', hubspot_owner_id: '1' } }),
    );
    expect(e.code).toBe(400);
    const problems = JSON.parse(e.body.message.replace(/^Property values were not valid: /, ''));
    expect(problems.map((x: any) => [x.name, x.error]).sort()).toEqual([
      ['cosell_partner_status', 'INVALID_OPTION'], ['hubspot_owner_id', 'INVALID_OWNER_ID'], ['numberofemployees', 'INVALID_DECIMAL'],
    ]);
    expect(e.body.errors.map((x: any) => x.code).sort()).toEqual(['INVALID_DECIMAL', 'INVALID_OPTION', 'INVALID_OWNER_ID']);
    // Nothing was written.
    expect((await hs.crm.companies.basicApi.getById(ok.id, ['cosell_partner_status'])).properties.cosell_partner_status).toBe('approved');
    // Clearing a value with '' is allowed.
    const cleared = await hs.crm.companies.basicApi.update(ok.id, { properties: { partner_tier: '' } });
    expect(cleared.properties.partner_tier).toBeUndefined();
    await hs.crm.properties.coreApi.create('deals', { name: 'cosell_registered_on', label: 'Registered on', type: 'date' as any, fieldType: 'date' as any, groupName: 'dealinformation' });
    const notMidnight = await apiError(() => hs.crm.deals.basicApi.create({ properties: { dealname: 'd', cosell_registered_on: String(Date.UTC(2026, 0, 2, 13)) }, associations: [] }));
    expect(notMidnight.body.message).toContain('INVALID_DATE');
    const midnight = await hs.crm.deals.basicApi.create({ properties: { dealname: 'd', cosell_registered_on: String(Date.UTC(2026, 0, 2)) }, associations: [] });
    expect(midnight.properties.cosell_registered_on).toBe('2026-01-02');
  });
});

describe('HubSpot sandbox: pipelines and owners', () => {
  it('serves the default deal pipeline with stage metadata', async () => {
    const all = await hs.crm.pipelines.pipelinesApi.getAll('deals');
    expect(all.results).toHaveLength(1);
    const def = all.results[0];
    expect(def).toMatchObject({ id: 'default', label: 'Sales Pipeline', archived: false });
    expect(def.stages.map((s) => s.id)).toEqual(['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost']);
    expect(def.stages.find((s) => s.id === 'closedwon')!.metadata).toEqual({ isClosed: 'true', probability: '1' });
    const stages = await hs.crm.pipelines.pipelineStagesApi.getAll('deals', 'default');
    expect(stages.results).toHaveLength(7);
    const nf = await apiError(() => hs.crm.pipelines.pipelinesApi.getById('deals', 'nope'));
    expect(nf.code).toBe(404);
  });

  it('lists owners (paging, email filter) and gets one by id or userId', async () => {
    const page = await hs.crm.owners.ownersApi.getPage(undefined, undefined, 2);
    expect(page.results).toHaveLength(2);
    expect(page.paging?.next?.after).toBeTruthy();
    const rest = await hs.crm.owners.ownersApi.getPage(undefined, page.paging!.next!.after, 2);
    expect(rest.results).toHaveLength(1);
    const o = page.results[0];
    expect(o).toMatchObject({ archived: false, type: 'PERSON' });
    expect(o.email).toMatch(/@hsschema\.example\.com$/);
    const byEmail = await hs.crm.owners.ownersApi.getPage(o.email);
    expect(byEmail.results.map((x) => x.id)).toEqual([o.id]);
    expect((await hs.crm.owners.ownersApi.getById(Number(o.id))).email).toBe(o.email);
    expect((await hs.crm.owners.ownersApi.getById(o.userId!, 'userId')).id).toBe(o.id);
  });
});

describe('HubSpot sandbox: associations v4', () => {
  it('reads seeded deal→company associations with numeric toObjectId and the labels endpoint', async () => {
    const labels = await hs.crm.associations.v4.schema.definitionsApi.getAll('deals', 'companies');
    expect(labels.results).toEqual(expect.arrayContaining([
      expect.objectContaining({ category: 'HUBSPOT_DEFINED', typeId: 341 }),
      expect.objectContaining({ category: 'HUBSPOT_DEFINED', typeId: 5, label: 'Primary' }),
    ]));
    const deals = await hs.crm.deals.basicApi.getPage(20, undefined, undefined, undefined, ['companies']);
    const withCompany = deals.results.find((d) => d.associations?.companies);
    expect(withCompany).toBeDefined();
    const page = await hs.crm.associations.v4.basicApi.getPage('deals', withCompany!.id, 'companies');
    expect(page.results).toHaveLength(1);
    expect(typeof page.results[0].toObjectId).toBe('number');
    expect(page.results[0].associationTypes.map((t) => t.typeId).sort((a, b) => a - b)).toEqual([5, 341]);
    // The inverse direction exists too (company→deal 342 / 6).
    const back = await hs.crm.associations.v4.basicApi.getPage('companies', String(page.results[0].toObjectId), 'deals');
    const mine = back.results.find((r) => String(r.toObjectId) === withCompany!.id)!;
    expect(mine.associationTypes.map((t) => t.typeId).sort((a, b) => a - b)).toEqual([6, 342]);
  });

  it('creates default and labelled associations singly and in batches, reads them in batch (207 for none), archives them', async () => {
    const c1 = await hs.crm.companies.basicApi.create({ properties: { name: 'Assoc 1' }, associations: [] });
    const c2 = await hs.crm.companies.basicApi.create({ properties: { name: 'Assoc 2' }, associations: [] });
    const d1 = await hs.crm.deals.basicApi.create({ properties: { dealname: 'A1' }, associations: [] });
    const d2 = await hs.crm.deals.basicApi.create({ properties: { dealname: 'A2' }, associations: [] });
    const lonely = await hs.crm.deals.basicApi.create({ properties: { dealname: 'alone' }, associations: [] });

    const def = await hs.crm.associations.v4.basicApi.createDefault('deals', d1.id, 'companies', c1.id);
    expect(def.status).toBe('COMPLETE');
    expect(def.results[0].associationSpec).toMatchObject({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 341 });
    const labelled = await hs.crm.associations.v4.basicApi.create('deals', d1.id, 'companies', c1.id, [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 5 }]);
    expect(labelled.labels).toEqual(['Primary']);
    const badType = await apiError(() => hs.crm.associations.v4.basicApi.create('deals', d1.id, 'companies', c1.id, [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 279 }]));
    expect(badType.code).toBe(400);
    const nf = await apiError(() => hs.crm.associations.v4.basicApi.createDefault('deals', d1.id, 'companies', '1'));
    expect(nf.code).toBe(404);

    const batch = await hs.crm.associations.v4.batchApi.createWithHttpInfo('deals', 'companies', {
      inputs: [
        { _from: { id: d2.id }, to: { id: c2.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 5 }] },
        { _from: { id: d2.id }, to: { id: '123' }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 341 }] },
      ],
    } as any);
    expect(batch.httpStatusCode).toBe(207);
    expect(batch.data.results[0]).toMatchObject({ fromObjectTypeId: '0-3', toObjectTypeId: '0-2', labels: ['Primary'] });
    expect(typeof batch.data.results[0].toObjectId).toBe('number');
    await hs.crm.associations.v4.batchApi.createDefault('deals', 'companies', { inputs: [{ _from: { id: d2.id }, to: { id: c1.id } }] } as any);

    const read = await hs.crm.associations.v4.batchApi.getPageWithHttpInfo('deals', 'companies', { inputs: [{ id: d1.id }, { id: d2.id }, { id: lonely.id }] });
    expect(read.httpStatusCode).toBe(207);
    const byFrom = Object.fromEntries(read.data.results.map((r) => [r._from.id, r.to.map((t) => t.toObjectId).sort()]));
    expect(byFrom).toEqual({ [d1.id]: [Number(c1.id)], [d2.id]: [Number(c1.id), Number(c2.id)].sort() });
    expect((read.data as any).errors[0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND' });

    // Labels: a user-defined one.
    const made = await hs.crm.associations.v4.schema.definitionsApi.create('deals', 'companies', { label: 'Registered partner', name: 'registered_partner' } as any);
    const userType = made.results.find((t) => t.label === 'Registered partner')!;
    expect(userType.category).toBe('USER_DEFINED');
    const withLabel = await hs.crm.associations.v4.basicApi.create('deals', d1.id, 'companies', c1.id, [{ associationCategory: 'USER_DEFINED' as any, associationTypeId: userType.typeId }]);
    expect(withLabel.labels.sort()).toEqual(['Primary', 'Registered partner']);

    await hs.crm.associations.v4.batchApi.archive('deals', 'companies', { inputs: [{ _from: { id: d2.id }, to: [{ id: c2.id }] }] } as any);
    expect((await hs.crm.associations.v4.basicApi.getPage('deals', d2.id, 'companies')).results.map((r) => r.toObjectId)).toEqual([Number(c1.id)]);
    await hs.crm.associations.v4.basicApi.archive('deals', d1.id, 'companies', c1.id);
    expect((await hs.crm.associations.v4.basicApi.getPage('deals', d1.id, 'companies')).results).toEqual([]);
  });
});

describe('HubSpot sandbox: rate limits and faults', () => {
  it('enforces the rolling ten-second limit with headers and the TEN_SECONDLY_ROLLING body; limits change at runtime', async () => {
    const fresh = await startHubspotPortal({ id: 'hs-limits', faults: { tenSecondLimit: 3, dailyLimit: 1000 } });
    try {
      const c = new Client({ accessToken: fresh.accessToken, basePath: fresh.basePath });
      const first = await c.crm.companies.basicApi.getPageWithHttpInfo(1);
      expect(first.headers).toMatchObject({
        'x-hubspot-ratelimit-max': '3', 'x-hubspot-ratelimit-remaining': '2', 'x-hubspot-ratelimit-interval-milliseconds': '10000',
        'x-hubspot-ratelimit-daily': '1000', 'x-hubspot-ratelimit-daily-remaining': '999',
      });
      await c.crm.companies.basicApi.getPage(1);
      await c.crm.companies.basicApi.getPage(1);
      const e = await apiError(() => c.crm.companies.basicApi.getPage(1));
      expect(e.code).toBe(429);
      expect(e.body).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' });
      expect(typeof e.body.correlationId).toBe('string');
      expect(e.headers['x-hubspot-ratelimit-remaining']).toBe('0');
      fresh.org.setFaults({ tenSecondLimit: 100, dailyLimit: 1000 });
      await c.crm.companies.basicApi.getPage(1);
    } finally {
      await fresh.close();
    }
  });

  it('enforces the daily limit with the DAILY body', async () => {
    const fresh = await startHubspotPortal({ id: 'hs-daily', faults: { dailyLimit: 2 } });
    try {
      const c = new Client({ accessToken: fresh.accessToken, basePath: fresh.basePath });
      await c.crm.deals.basicApi.getPage(1);
      await c.crm.deals.searchApi.doSearch({ limit: 1 } as any); // search counts against the daily allocation too
      const e = await apiError(() => c.crm.deals.basicApi.getPage(1));
      expect(e.code).toBe(429);
      expect(e.body).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'DAILY', message: 'You have reached your daily limit.' });
      expect(e.headers['x-hubspot-ratelimit-daily-remaining']).toBe('0');
    } finally {
      await fresh.close();
    }
  });

  it('injects 5xx, 429 bursts, latency and timeouts per FaultConfig', async () => {
    const fresh = await startHubspotPortal({ id: 'hs-faults' });
    try {
      const c = new Client({ accessToken: fresh.accessToken, basePath: fresh.basePath });
      fresh.org.setFaults({ errorRate: 1 });
      const e5 = await apiError(() => c.crm.companies.basicApi.getPage(1));
      expect(e5.code).toBe(503);
      fresh.org.setFaults({ burst429Rate: 1, burst429Length: 2 });
      const e429 = await apiError(() => c.crm.companies.basicApi.getPage(1));
      expect(e429.code).toBe(429);
      expect(e429.body.policyName).toBe('TEN_SECONDLY_ROLLING');
      fresh.org.setFaults({ latencyMs: 150 });
      const t0 = Date.now();
      await c.crm.companies.basicApi.getPage(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      fresh.org.setFaults({ timeoutRate: 1, timeoutMs: 100 });
      await expect(fetch(`${fresh.basePath}/crm/v3/objects/companies`, { headers: { authorization: `Bearer ${fresh.accessToken}` } })).rejects.toThrow();
      fresh.org.setFaults({});
      expect(fresh.org.faults()).toEqual({});
      await c.crm.companies.basicApi.getPage(1);
    } finally {
      await fresh.close();
    }
  });
});

describe('HubSpot sandbox: persistence and list view', () => {
  it('snapshots and restores records, custom properties and associations into a new org', async () => {
    const snap = JSON.parse(JSON.stringify(p.org.snapshot()));
    const copy = createHubspotOrg({ id: 'hs-schema', kind: 'hubspot' });
    copy.restore(snap);
    const app = fastify();
    await copy.register(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const addr = app.server.address() as { port: number };
      const c = new Client({ accessToken: (copy.connectionInfo('') as { accessToken: string }).accessToken, basePath: `http://127.0.0.1:${addr.port}` });
      const orig = await hs.crm.companies.basicApi.getPage(100, undefined, ['name', 'cosell_partner_status']);
      const restored = await c.crm.companies.basicApi.getPage(100, undefined, ['name', 'cosell_partner_status']);
      expect(restored.results.map((r) => [r.id, r.properties])).toEqual(orig.results.map((r) => [r.id, r.properties]));
      await c.crm.properties.coreApi.getByName('companies', 'cosell_ref');
      const deal = (await hs.crm.deals.basicApi.getPage(1)).results[0];
      expect((await c.crm.associations.v4.basicApi.getPage('deals', deal.id, 'companies')).results).toEqual(
        (await hs.crm.associations.v4.basicApi.getPage('deals', deal.id, 'companies')).results,
      );
      const created = await c.crm.companies.basicApi.create({ properties: { name: 'after restore' }, associations: [] });
      expect(Number(created.id)).toBeGreaterThan(Math.max(...orig.results.map((r) => Number(r.id))));
    } finally {
      await app.close();
    }
  });

  it('offers a list view of companies and deals for the web pages', () => {
    const org = createHubspotOrg({ id: 'hs-view', kind: 'hubspot' }, generateSeed({ accounts: 5, opportunities: 8 }, { orgId: 'hs-view' }));
    const view = org.listView();
    expect(view.objects()).toEqual(['companies', 'deals']);
    expect(view.count('deals')).toBe(8);
    const rows = view.list('companies', 1, 2);
    expect(rows).toHaveLength(2);
    expect(rows[0].title).toBe(rows[0].fields.name);
    expect(view.columns('deals')).toContain('dealstage');
    const one = view.get('companies', rows[0].id)!;
    expect(one.domain).toBe(rows[0].fields.domain);
    expect(view.get('companies', 'nope')).toBeUndefined();
  });
});
