import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubspotPortal, type RunningPortal } from '@cosell/sandbox/hubspot/testing';

/**
 * Contract: objects, batch and merge endpoints of the HubSpot emulation, driven through the real
 * @hubspot/api-client 13 pointed at the sandbox by `basePath` only.
 */
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
  p = await startHubspotPortal({ id: 'hs-objects', seed: { seed: 7, accounts: 25, opportunities: 40, owners: 3 } });
  hs = new Client({ accessToken: p.accessToken, basePath: p.basePath });
});
afterAll(async () => {
  await p.close();
});

describe('HubSpot sandbox: authentication', () => {
  it('answers 401 INVALID_AUTHENTICATION for an unknown token and for none', async () => {
    const bad = new Client({ accessToken: 'pat-na1-not-a-token', basePath: p.basePath });
    const e = await apiError(() => bad.crm.companies.basicApi.getPage(1));
    expect(e.code).toBe(401);
    expect(e.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    expect(e.body.message).toMatch(/^Authentication credentials not found/);
    expect(typeof e.body.correlationId).toBe('string');
    const raw = await fetch(`${p.basePath}/crm/v3/objects/companies`);
    expect(raw.status).toBe(401);
  });

  it('expires every token on expireTokensNow and lets the client refresh through /oauth/v1/token', async () => {
    const info = p.org.connectionInfo(p.basePath);
    expect(info).toMatchObject({ kind: 'hubspot', basePath: p.basePath });
    if (info.kind !== 'hubspot') throw new Error('kind');
    p.org.setFaults({ expireTokensNow: true });
    const e = await apiError(() => hs.crm.companies.basicApi.getPage(1));
    expect(e.code).toBe(401);
    expect(e.body.category).toBe('EXPIRED_AUTHENTICATION');
    expect(e.body.message).toMatch(/^The OAuth token used to make this call expired .* ago\.$/);

    const badRefresh = await apiError(() => hs.oauth.tokensApi.create('refresh_token', undefined, undefined, info.clientId, info.clientSecret, 'nope'));
    expect(badRefresh.code).toBe(400);
    expect(badRefresh.body.status).toBe('BAD_REFRESH_TOKEN');

    const tok = await hs.oauth.tokensApi.create('refresh_token', undefined, undefined, info.clientId, info.clientSecret, info.refreshToken);
    expect(tok.tokenType).toBe('bearer');
    expect(tok.expiresIn).toBe(7200);
    expect(tok.refreshToken).toBe(info.refreshToken);
    hs = new Client({ accessToken: tok.accessToken, basePath: p.basePath });
    const page = await hs.crm.companies.basicApi.getPage(1);
    expect(page.results).toHaveLength(1);
    p.accessToken = tok.accessToken;
  });

  it('expires OAuth tokens after tokenTtlMs (clock advanced through setClock)', async () => {
    const info = p.org.connectionInfo(p.basePath);
    if (info.kind !== 'hubspot') throw new Error('kind');
    p.org.setFaults({ tokenTtlMs: 60_000 });
    const tok = await hs.oauth.tokensApi.create('refresh_token', undefined, undefined, info.clientId, info.clientSecret, info.refreshToken);
    expect(tok.expiresIn).toBe(60);
    const short = new Client({ accessToken: tok.accessToken, basePath: p.basePath });
    await short.crm.deals.basicApi.getPage(1);
    p.org.setClock({ advanceMs: 61_000 });
    const e = await apiError(() => short.crm.deals.basicApi.getPage(1));
    expect(e.code).toBe(401);
    expect(e.body.category).toBe('EXPIRED_AUTHENTICATION');
    p.org.setFaults({});
    await hs.crm.deals.basicApi.getPage(1); // the longer-lived token still works
  });
});

describe('HubSpot sandbox: basic object endpoints', () => {
  it('lists companies with after paging (limit capped at 100), default and selected properties', async () => {
    const first = await hs.crm.companies.basicApi.getPage(10);
    expect(first.results).toHaveLength(10);
    expect(Object.keys(first.results[0].properties).sort()).toEqual(['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name']);
    expect(first.paging?.next?.after).toBeTruthy();
    const ids = new Set<string>();
    let after: string | undefined;
    do {
      const page = await hs.crm.companies.basicApi.getPage(7, after, ['name', 'industry', 'nonexistent_prop']);
      for (const r of page.results) {
        ids.add(r.id);
        expect(r.properties).toHaveProperty('industry');
        expect(r.properties).toHaveProperty('hs_object_id', r.id);
        expect(r.properties).not.toHaveProperty('nonexistent_prop');
        expect(r.createdAt).toBeInstanceOf(Date);
      }
      after = page.paging?.next?.after;
    } while (after);
    expect(ids.size).toBe(25);
    const big = await hs.crm.companies.basicApi.getPage(500);
    expect(big.results).toHaveLength(25);
    const raw = (await (await fetch(`${p.basePath}/crm/v3/objects/companies?limit=101`, { headers: { authorization: `Bearer ${p.accessToken}` } })).json()) as { results: unknown[] };
    expect(raw.results.length).toBeLessThanOrEqual(100);
  });

  it('creates, reads, updates and archives a deal with server-maintained properties', async () => {
    const created = await hs.crm.deals.basicApi.createWithHttpInfo({
      properties: { dealname: 'Sandbox deal', amount: '1200.50', dealstage: 'contractsent', closedate: '2026-12-31' },
      associations: [{ to: { id: '200000001' }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 5 }] }],
    });
    expect(created.httpStatusCode).toBe(201);
    const d = created.data;
    expect(d.id).toMatch(/^\d+$/);
    expect(d.properties).toMatchObject({
      dealname: 'Sandbox deal', amount: '1200.5', pipeline: 'default', dealstage: 'contractsent', hs_object_id: d.id,
      hs_is_closed_won: 'false', hs_is_closed_lost: 'false', closedate: '2026-12-31T00:00:00.000Z', // numbers come back canonical
    });
    expect(d.properties.hs_lastmodifieddate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const got = await hs.crm.deals.basicApi.getById(d.id, ['dealname', 'dealstage'], undefined, ['companies']);
    expect(got.properties.dealname).toBe('Sandbox deal');
    expect(got.associations?.companies.results.map((r) => r.type).sort()).toEqual(['deal_to_company']);

    await new Promise((r) => setTimeout(r, 3));
    const won = await hs.crm.deals.basicApi.update(d.id, { properties: { dealstage: 'closedwon' } });
    expect(won.properties).toMatchObject({ hs_is_closed_won: 'true', hs_is_closed_lost: 'false', hs_is_closed: 'true' });
    expect(Date.parse(won.properties.hs_lastmodifieddate!)).toBeGreaterThan(Date.parse(d.properties.hs_lastmodifieddate!));
    const lost = await hs.crm.deals.basicApi.update(d.id, { properties: { dealstage: 'closedlost' } });
    expect(lost.properties).toMatchObject({ hs_is_closed_won: 'false', hs_is_closed_lost: 'true' });

    // A write that changes nothing does not bump the modification date.
    const same = await hs.crm.deals.basicApi.update(d.id, { properties: { dealstage: 'closedlost' } });
    expect(same.properties.hs_lastmodifieddate).toBe(lost.properties.hs_lastmodifieddate);

    const archived = await hs.crm.deals.basicApi.archiveWithHttpInfo(d.id);
    expect(archived.httpStatusCode).toBe(204);
    const e = await apiError(() => hs.crm.deals.basicApi.getById(d.id));
    expect(e.code).toBe(404);
    expect(e.body.category).toBe('OBJECT_NOT_FOUND');
    const ghost = await hs.crm.deals.basicApi.getById(d.id, ['dealname', 'hs_lastmodifieddate'], undefined, undefined, true);
    expect(ghost.archived).toBe(true);
    expect(ghost.archivedAt).toBeInstanceOf(Date);
    expect(ghost.properties.hs_lastmodifieddate).toBe(lost.properties.hs_lastmodifieddate); // archiving does not bump it
    const archivedList = await hs.crm.deals.basicApi.getPage(100, undefined, undefined, undefined, undefined, true);
    expect(archivedList.results.map((r) => r.id)).toContain(d.id);
    expect(archivedList.results.every((r) => r.archived)).toBe(true);
  });

  it('answers 404 for unknown ids and rejects invalid values with real VALIDATION_ERROR bodies', async () => {
    const nf = await apiError(() => hs.crm.companies.basicApi.update('999', { properties: { name: 'x' } }));
    expect(nf.code).toBe(404);
    const e = await apiError(() =>
      hs.crm.deals.basicApi.create({ properties: { dealname: 'bad', dealstage: 'nosuchstage', amount: 'ten', closedate: 'yesterday', colour: 'red' }, associations: [] }),
    );
    expect(e.code).toBe(400);
    expect(e.body.category).toBe('VALIDATION_ERROR');
    expect(e.body.message).toMatch(/^Property values were not valid: \[/);
    const problems = JSON.parse(e.body.message.slice('Property values were not valid: '.length));
    const byName = Object.fromEntries(problems.map((x: any) => [x.name, x.error]));
    expect(byName).toEqual({ amount: 'INVALID_DECIMAL', closedate: 'INVALID_DATETIME', colour: 'PROPERTY_DOESNT_EXIST', dealstage: 'INVALID_OPTION' });
    expect(problems.every((x: any) => x.isValid === false && typeof x.message === 'string')).toBe(true);
    const ro = await apiError(() => hs.crm.companies.basicApi.create({ properties: { name: 'x', hs_lastmodifieddate: '2020-01-01' }, associations: [] }));
    expect(ro.code).toBe(400);
    expect(ro.body.message).toContain('READ_ONLY_VALUE');
    const badEnum = await apiError(() => hs.crm.companies.basicApi.create({ properties: { name: 'x', industry: 'Technology' }, associations: [] }));
    expect(badEnum.body.message).toContain('INVALID_OPTION');
  });

  it('merges two companies: hs_merged_object_ids on the survivor, the other archived, old id resolves to the survivor', async () => {
    const a = await hs.crm.companies.basicApi.create({ properties: { name: 'Merge A', domain: 'a.example' }, associations: [] });
    const b = await hs.crm.companies.basicApi.create({ properties: { name: 'Merge B', city: 'Lyon' }, associations: [] });
    const deal = await hs.crm.deals.basicApi.create({ properties: { dealname: 'on B', dealstage: 'qualifiedtobuy' }, associations: [] });
    await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', b.id);
    const merged = await hs.crm.companies.basicApi.merge({ primaryObjectId: a.id, objectIdToMerge: b.id });
    expect(merged.id).toBe(a.id);
    expect(merged.properties).toMatchObject({ name: 'Merge A', city: 'Lyon', hs_merged_object_ids: b.id });
    const gone = await hs.crm.companies.basicApi.getById(b.id, undefined, undefined, undefined, true);
    expect(gone.archived).toBe(true);
    const redirected = await hs.crm.companies.basicApi.getById(b.id);
    expect(redirected.id).toBe(a.id);
    const assoc = await hs.crm.associations.v4.basicApi.getPage('deals', deal.id, 'companies');
    expect(assoc.results.map((r) => r.toObjectId)).toEqual([Number(a.id)]);
    const self = await apiError(() => hs.crm.companies.basicApi.merge({ primaryObjectId: a.id, objectIdToMerge: a.id }));
    expect(self.code).toBe(400);
  });
});

describe('HubSpot sandbox: batch endpoints', () => {
  it('batch read answers 207 with OBJECT_NOT_FOUND errors for missing ids', async () => {
    const res = await hs.crm.companies.batchApi.readWithHttpInfo({ inputs: [{ id: '200000001' }, { id: '1' }, { id: '200000002' }], properties: ['name'], propertiesWithHistory: [] });
    expect(res.httpStatusCode).toBe(207);
    const body = res.data as any;
    expect(body.status).toBe('COMPLETE');
    expect(body.results.map((r: any) => r.id).sort()).toEqual(['200000001', '200000002']);
    expect(body.numErrors).toBe(1);
    expect(body.errors[0]).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['1'] } });
    const ok = await hs.crm.companies.batchApi.readWithHttpInfo({ inputs: [{ id: '200000003' }], properties: [], propertiesWithHistory: [] });
    expect(ok.httpStatusCode).toBe(200);
  });

  it('batch create is all-or-nothing (400) unless every input has objectWriteTraceId (then 207 partial)', async () => {
    const before = p.org.portal.stores.companies.liveCount;
    const e = await apiError(() => hs.crm.companies.batchApi.create({ inputs: [{ properties: { name: 'ok' }, associations: [] }, { properties: { name: 'bad', numberofemployees: 'many' }, associations: [] }] }));
    expect(e.code).toBe(400);
    expect(e.body.category).toBe('VALIDATION_ERROR');
    expect(p.org.portal.stores.companies.liveCount).toBe(before);

    const partial = await hs.crm.companies.batchApi.createWithHttpInfo({
      inputs: [
        { properties: { name: 'traced ok' }, associations: [], objectWriteTraceId: 't1' },
        { properties: { name: 'traced bad', numberofemployees: 'many' }, associations: [], objectWriteTraceId: 't2' },
      ],
    });
    expect(partial.httpStatusCode).toBe(207);
    const body = partial.data as any;
    expect(body.results).toHaveLength(1);
    expect(body.results[0].properties.name).toBe('traced ok');
    expect(body.errors[0]).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', context: { objectWriteTraceId: ['t2'] } });

    const all = await hs.crm.companies.batchApi.createWithHttpInfo({ inputs: [{ properties: { name: 'c1' }, associations: [] }, { properties: { name: 'c2' }, associations: [] }] });
    expect(all.httpStatusCode).toBe(201);
    const createdAt = new Set(all.data.results.map((r) => r.properties.hs_lastmodifieddate));
    expect(createdAt.size).toBe(1); // one batch, one timestamp

    const tooMany = await apiError(() => hs.crm.companies.batchApi.create({ inputs: Array.from({ length: 101 }, (_, i) => ({ properties: { name: `n${i}` }, associations: [] })) }));
    expect(tooMany.code).toBe(400);
  });

  it('batch update reports unknown ids per input (207) and rejects duplicate ids (400)', async () => {
    const res = await hs.crm.companies.batchApi.updateWithHttpInfo({ inputs: [{ id: '200000004', properties: { city: 'Oslo' } }, { id: '42', properties: { city: 'Oslo' } }] });
    expect(res.httpStatusCode).toBe(207);
    expect((res.data as any).errors[0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['42'] } });
    expect(res.data.results[0].properties.city).toBe('Oslo');
    const dup = await apiError(() => hs.crm.companies.batchApi.update({ inputs: [{ id: '200000004', properties: { city: 'A' } }, { id: '200000004', properties: { city: 'B' } }] }));
    expect(dup.code).toBe(400);
    expect(dup.body.message).toMatch(/^Duplicate IDs found in batch input/);
  });

  it('batch upsert by a unique idProperty creates then updates (new: true/false); non-unique idProperty and duplicates are refused', async () => {
    await hs.crm.properties.coreApi.create('deals', { name: 'cosell_id', label: 'cosell id', type: 'string' as any, fieldType: 'text' as any, groupName: 'dealinformation', hasUniqueValue: true });
    const inputs = Array.from({ length: 3 }, (_, i) => ({ id: `ext-${i}`, idProperty: 'cosell_id', properties: { dealname: `Upserted ${i}`, dealstage: 'appointmentscheduled' } }));
    const first = await hs.crm.deals.batchApi.upsertWithHttpInfo({ inputs });
    expect(first.httpStatusCode).toBe(200);
    expect(first.data.results.map((r: any) => r._new ?? r.new)).toEqual([true, true, true]);
    expect(first.data.results[0].properties.cosell_id).toBe('ext-0');
    const second = await hs.crm.deals.batchApi.upsert({ inputs: inputs.map((x) => ({ ...x, properties: { ...x.properties, amount: '5' } })) });
    expect(second.results.map((r: any) => r._new ?? r.new)).toEqual([false, false, false]);
    expect(second.results.map((r) => r.id).sort()).toEqual(first.data.results.map((r) => r.id).sort());

    const nonUnique = await apiError(() => hs.crm.deals.batchApi.upsert({ inputs: [{ id: 'x', idProperty: 'dealname', properties: {} }] }));
    expect(nonUnique.code).toBe(400);
    expect(nonUnique.body.message).toMatch(/^Unable to perform update\/upsert by non-unique 0-3 property dealname in portal ID \d+$/);
    const byObjectId = await apiError(() => hs.crm.deals.batchApi.upsert({ inputs: [{ id: '300000001', idProperty: 'hs_object_id', properties: {} }] }));
    expect(byObjectId.code).toBe(400);
    const dup = await apiError(() => hs.crm.deals.batchApi.upsert({ inputs: [inputs[0], inputs[0]] }));
    expect(dup.code).toBe(400);
    expect(dup.body.message).toContain('ext-0');

    // A unique value held by another record is a conflict.
    const taken = await apiError(() => hs.crm.deals.basicApi.create({ properties: { dealname: 'clash', cosell_id: 'ext-1' }, associations: [] }));
    expect(taken.code).toBe(409);
    expect(taken.body.category).toBe('CONFLICT');
    // GET and PATCH by idProperty.
    const byExt = await hs.crm.deals.basicApi.getById('ext-2', ['dealname'], undefined, undefined, false, 'cosell_id');
    expect(byExt.properties.dealname).toBe('Upserted 2');
  });

  it('100-record batch upsert completes in milliseconds', async () => {
    const inputs = Array.from({ length: 100 }, (_, i) => ({ id: `perf-${i}`, idProperty: 'cosell_id', properties: { dealname: `P ${i}`, amount: String(i) } }));
    const portal = p.org.portal;
    const t0 = performance.now();
    await hs.crm.deals.batchApi.upsert({ inputs });
    const t1 = performance.now();
    expect(portal.stores.deals.findByUnique('cosell_id', 'perf-99')).toBeDefined();
    expect(t1 - t0).toBeLessThan(1000); // HTTP round trip included; in-process it is ~1-3 ms
  });

  it('batch archive answers 204 and the records leave the list', async () => {
    const c = await hs.crm.companies.basicApi.create({ properties: { name: 'to archive' }, associations: [] });
    const res = await hs.crm.companies.batchApi.archiveWithHttpInfo({ inputs: [{ id: c.id }, { id: '5' }] });
    expect(res.httpStatusCode).toBe(204);
    expect(p.org.portal.stores.companies.get(c.id)).toBeUndefined();
  });
});

describe('HubSpot sandbox: contacts (lastmodifieddate, unique email)', () => {
  it('creates contacts, refuses a duplicate email with 409 CONFLICT, upserts by email and searches by lastmodifieddate', async () => {
    const c = await hs.crm.contacts.basicApi.create({ properties: { email: 'Ada@Example.com', firstname: 'Ada' }, associations: [] });
    expect(Object.keys(c.properties)).toContain('lastmodifieddate');
    expect(c.properties).not.toHaveProperty('hs_lastmodifieddate');
    const dup = await apiError(() => hs.crm.contacts.basicApi.create({ properties: { email: 'ada@example.com' }, associations: [] }));
    expect(dup.code).toBe(409);
    expect(dup.body).toMatchObject({ status: 'error', category: 'CONFLICT', message: `Contact already exists. Existing ID: ${c.id}` });
    const up = await hs.crm.contacts.batchApi.upsert({ inputs: [{ id: 'ada@example.com', idProperty: 'email', properties: { lastname: 'Lovelace' } }] });
    expect(up.results[0].id).toBe(c.id);
    const found = await hs.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE' as any, value: String(Date.parse(c.properties.lastmodifieddate!)) }] }],
      properties: ['lastname'], limit: 10, after: '0',
    } as any);
    expect(found.results.map((r) => [r.id, r.properties.lastname])).toEqual([[c.id, 'Lovelace']]);
  });
});
