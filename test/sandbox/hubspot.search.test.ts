import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubspotPortal, type RunningPortal } from '@cosell/sandbox/hubspot/testing';

/** Contract: CRM search (operators, groups, sorts, paging, total, 10k cap, lag, search rate limit). */
let p: RunningPortal;
let hs: Client;
type Rec = { id: string; properties: Record<string, string | null> };
let deals: Rec[];
let companies: Rec[];

async function apiError(fn: () => Promise<unknown>): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await fn();
  } catch (e: any) {
    if (typeof e?.code === 'number') return { code: e.code, body: e.body, headers: e.headers };
    throw e;
  }
  throw new Error('expected the call to fail');
}

async function listAll(type: 'deals' | 'companies', props: string[]): Promise<Rec[]> {
  const out: Rec[] = [];
  let after: string | undefined;
  do {
    const page = await hs.crm[type].basicApi.getPage(100, after, props);
    out.push(...(page.results as Rec[]));
    after = page.paging?.next?.after;
  } while (after);
  return out;
}

/** Page through a search (limit 200) and return every result id in order. */
async function searchIds(type: 'deals' | 'companies', body: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined = '0';
  let total = -1;
  while (after !== undefined) {
    const res = (await hs.crm[type].searchApi.doSearch({ limit: 200, ...body, after } as any)) as { total: number; results: Array<{ id: string }>; paging?: { next?: { after?: string } } };
    total = res.total;
    ids.push(...res.results.map((r) => r.id));
    after = res.paging?.next?.after;
  }
  expect(ids.length).toBe(total);
  return ids;
}

const f = (propertyName: string, operator: string, extra: Record<string, unknown> = {}) => ({ propertyName, operator, ...extra });
const sortedIds = (xs: Rec[]) => xs.map((x) => x.id).sort();

beforeAll(async () => {
  p = await startHubspotPortal({ id: 'hs-search', seed: { seed: 11, accounts: 60, opportunities: 150, owners: 4 } });
  hs = new Client({ accessToken: p.accessToken, basePath: p.basePath });
  deals = await listAll('deals', ['dealname', 'amount', 'dealstage', 'closedate', 'hs_lastmodifieddate', 'hs_is_closed_won']);
  companies = await listAll('companies', ['name', 'domain', 'website', 'country']);
});
afterAll(async () => {
  await p.close();
});

describe('HubSpot sandbox: search operators', () => {
  it('EQ / NEQ (strings compare case-insensitively), IN / NOT_IN', async () => {
    const stage = 'closedwon';
    expect((await searchIds('deals', { filterGroups: [{ filters: [f('dealstage', 'EQ', { value: 'CLOSEDWON' })] }] })).sort()).toEqual(
      sortedIds(deals.filter((d) => d.properties.dealstage === stage)),
    );
    expect((await searchIds('deals', { filterGroups: [{ filters: [f('dealstage', 'NEQ', { value: stage })] }] })).sort()).toEqual(
      sortedIds(deals.filter((d) => d.properties.dealstage !== stage)),
    );
    const set = ['closedwon', 'closedlost'];
    expect((await searchIds('deals', { filterGroups: [{ filters: [f('dealstage', 'IN', { values: set })] }] })).sort()).toEqual(
      sortedIds(deals.filter((d) => set.includes(d.properties.dealstage!))),
    );
    expect((await searchIds('deals', { filterGroups: [{ filters: [f('dealstage', 'NOT_IN', { values: set })] }] })).sort()).toEqual(
      sortedIds(deals.filter((d) => !set.includes(d.properties.dealstage!))),
    );
    // Every default-pipeline stage is present in the seed.
    expect(new Set(deals.map((d) => d.properties.dealstage)).size).toBe(7);
  });

  it('LT / LTE / GT / GTE / BETWEEN compare numbers and dates by value', async () => {
    const amt = (d: Rec) => Number(d.properties.amount);
    const pivot = [...deals].map(amt).sort((a, b) => a - b)[70];
    const cases: Array<[string, (x: number) => boolean]> = [
      ['LT', (x) => x < pivot], ['LTE', (x) => x <= pivot], ['GT', (x) => x > pivot], ['GTE', (x) => x >= pivot],
    ];
    for (const [op, pred] of cases) {
      const got = await searchIds('deals', { filterGroups: [{ filters: [f('amount', op, { value: String(pivot) })] }] });
      expect(got.sort(), op).toEqual(sortedIds(deals.filter((d) => pred(amt(d)))));
    }
    const lo = Date.parse('2026-01-01T00:00:00.000Z');
    const hi = Date.parse('2026-06-30T00:00:00.000Z');
    const between = await searchIds('deals', { filterGroups: [{ filters: [f('closedate', 'BETWEEN', { value: String(lo), highValue: '2026-06-30' })] }] });
    const expected = deals.filter((d) => {
      const t = Date.parse(d.properties.closedate!);
      return t >= lo && t <= hi;
    });
    expect(expected.length).toBeGreaterThan(0);
    expect(between.sort()).toEqual(sortedIds(expected));
  });

  it('HAS_PROPERTY / NOT_HAS_PROPERTY, CONTAINS_TOKEN / NOT_CONTAINS_TOKEN (words and * wildcards)', async () => {
    const withSite = companies.filter((c) => !!c.properties.website);
    expect(withSite.length).toBeGreaterThan(0);
    expect(withSite.length).toBeLessThan(companies.length);
    expect((await searchIds('companies', { filterGroups: [{ filters: [f('website', 'HAS_PROPERTY')] }] })).sort()).toEqual(sortedIds(withSite));
    expect((await searchIds('companies', { filterGroups: [{ filters: [f('website', 'NOT_HAS_PROPERTY')] }] })).sort()).toEqual(
      sortedIds(companies.filter((c) => !c.properties.website)),
    );
    const word = 'renewal';
    const hasWord = (d: Rec) => d.properties.dealname!.toLowerCase().split(/[^a-z0-9]+/).includes(word);
    expect(deals.some(hasWord)).toBe(true);
    expect((await searchIds('deals', { filterGroups: [{ filters: [f('dealname', 'CONTAINS_TOKEN', { value: 'Renewal' })] }] })).sort()).toEqual(sortedIds(deals.filter(hasWord)));
    expect((await searchIds('deals', { filterGroups: [{ filters: [f('dealname', 'NOT_CONTAINS_TOKEN', { value: word })] }] })).sort()).toEqual(
      sortedIds(deals.filter((d) => !hasWord(d))),
    );
    const tld = companies.find((c) => c.properties.domain!.toLowerCase().endsWith('.de'));
    if (tld) {
      const got = await searchIds('companies', { filterGroups: [{ filters: [f('domain', 'CONTAINS_TOKEN', { value: '*.de' })] }] });
      expect(got.sort()).toEqual(sortedIds(companies.filter((c) => c.properties.domain!.toLowerCase().endsWith('.de'))));
    }
  });

  it('filterGroups are ORed, filters inside a group ANDed', async () => {
    const body = {
      filterGroups: [
        { filters: [f('dealstage', 'EQ', { value: 'closedwon' }), f('amount', 'GT', { value: '100000' })] },
        { filters: [f('dealstage', 'EQ', { value: 'appointmentscheduled' })] },
      ],
    };
    const expected = deals.filter(
      (d) => (d.properties.dealstage === 'closedwon' && Number(d.properties.amount) > 100000) || d.properties.dealstage === 'appointmentscheduled',
    );
    expect((await searchIds('deals', body)).sort()).toEqual(sortedIds(expected));
    const tooMany = await apiError(() => hs.crm.deals.searchApi.doSearch({ filterGroups: Array.from({ length: 6 }, () => ({ filters: [f('amount', 'GT', { value: '1' })] })) } as any));
    expect(tooMany.code).toBe(400);
    const badOp = await apiError(() => hs.crm.deals.searchApi.doSearch({ filterGroups: [{ filters: [f('amount', 'LIKE', { value: '1' })] }] } as any));
    expect(badOp.code).toBe(400);
    expect(badOp.body.category).toBe('VALIDATION_ERROR');
  });
});

describe('HubSpot sandbox: search sorting, paging, cap', () => {
  it('sorts by a property either way (ties by id), defaults to id order, pages with after and reports total', async () => {
    const desc = await searchIds('deals', { sorts: [{ propertyName: 'amount', direction: 'DESCENDING' }] });
    const expected = [...deals].sort((a, b) => Number(b.properties.amount) - Number(a.properties.amount) || Number(a.id) - Number(b.id)).map((d) => d.id);
    expect(desc).toEqual(expected);
    const byModified = await searchIds('deals', { sorts: ['hs_lastmodifieddate'] });
    const exp2 = [...deals].sort((a, b) => Date.parse(a.properties.hs_lastmodifieddate!) - Date.parse(b.properties.hs_lastmodifieddate!) || Number(a.id) - Number(b.id)).map((d) => d.id);
    expect(byModified).toEqual(exp2);
    const byId = await searchIds('deals', {});
    expect(byId).toEqual(deals.map((d) => d.id)); // list order is id order too

    const first = await hs.crm.deals.searchApi.doSearch({ limit: 10, after: '0', properties: ['dealname'] } as any);
    expect(first.total).toBe(deals.length);
    expect(first.results).toHaveLength(10);
    expect(first.paging?.next?.after).toBe('10');
    expect(Object.keys(first.results[0].properties).sort()).toEqual(['createdate', 'dealname', 'hs_lastmodifieddate', 'hs_object_id']);
    const noProps = await hs.crm.deals.searchApi.doSearch({ limit: 1 } as any);
    expect(Object.keys(noProps.results[0].properties).sort()).toEqual(['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline']);
    const last = await hs.crm.deals.searchApi.doSearch({ limit: 200, after: '0' } as any);
    expect(last.paging).toBeUndefined();
  });

  it('uses the hs_object_id / hs_lastmodifieddate indexes for windows and agrees with a full scan', async () => {
    const mid = deals[75].id;
    const gt = await searchIds('deals', { filterGroups: [{ filters: [f('hs_object_id', 'GT', { value: mid })] }], sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }] });
    expect(gt).toEqual(deals.filter((d) => Number(d.id) > Number(mid)).map((d) => d.id));
    const t = Date.parse([...deals].map((d) => d.properties.hs_lastmodifieddate!).sort()[100]);
    const windowed = await searchIds('deals', {
      filterGroups: [{ filters: [f('hs_lastmodifieddate', 'GTE', { value: String(t) }), f('amount', 'GT', { value: '0' })] }],
      sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'DESCENDING' }],
    });
    const exp = deals
      .filter((d) => Date.parse(d.properties.hs_lastmodifieddate!) >= t)
      .sort((a, b) => Date.parse(b.properties.hs_lastmodifieddate!) - Date.parse(a.properties.hs_lastmodifieddate!) || Number(b.id) - Number(a.id))
      .map((d) => d.id);
    expect(windowed).toEqual(exp);
    const iso = await searchIds('deals', { filterGroups: [{ filters: [f('hs_lastmodifieddate', 'LT', { value: new Date(t).toISOString() })] }] });
    expect(iso.length + exp.length).toBe(deals.length);
  });

  it('refuses limit > 200 and paging beyond the 10,000th result with 400', async () => {
    const big = await apiError(() => hs.crm.deals.searchApi.doSearch({ limit: 201 } as any));
    expect(big.code).toBe(400);
    expect(big.body.category).toBe('VALIDATION_ERROR');
    const edge = await hs.crm.deals.searchApi.doSearch({ limit: 100, after: '9900' } as any);
    expect(edge.results).toHaveLength(0);
    expect(edge.total).toBe(deals.length);
    const beyond = await apiError(() => hs.crm.deals.searchApi.doSearch({ limit: 100, after: '10000' } as any));
    expect(beyond.code).toBe(400);
    expect(beyond.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
  });

  it('answers free-text query on the default searchable properties', async () => {
    const target = companies[3].properties.name!.split(/\s+/)[0];
    const ids = await searchIds('companies', { query: target });
    expect(ids).toContain(companies[3].id);
  });
});

describe('HubSpot sandbox: search consistency and limits', () => {
  it('shows writes only after searchLagMs, keeps the old version until then, never returns archived records', async () => {
    p.org.setFaults({ searchLagMs: 1000 }); // long enough that a busy machine still searches inside the lag
    try {
      const d = await hs.crm.deals.basicApi.create({ properties: { dealname: 'laggy', dealstage: 'qualifiedtobuy', amount: '1' }, associations: [] });
      const byId = { filterGroups: [{ filters: [f('hs_object_id', 'EQ', { value: d.id })] }], properties: ['dealname'] };
      expect((await hs.crm.deals.searchApi.doSearch(byId as any)).total).toBe(0);
      expect((await hs.crm.deals.basicApi.getById(d.id)).id).toBe(d.id); // reads are immediate
      await new Promise((r) => setTimeout(r, 1050));
      const seen = await hs.crm.deals.searchApi.doSearch(byId as any);
      expect(seen.total).toBe(1);
      await hs.crm.deals.basicApi.update(d.id, { properties: { dealname: 'renamed' } });
      expect((await hs.crm.deals.searchApi.doSearch(byId as any)).results[0].properties.dealname).toBe('laggy');
      await new Promise((r) => setTimeout(r, 1050));
      expect((await hs.crm.deals.searchApi.doSearch(byId as any)).results[0].properties.dealname).toBe('renamed');
      await hs.crm.deals.basicApi.archive(d.id);
      expect((await hs.crm.deals.searchApi.doSearch(byId as any)).total).toBe(0);
    } finally {
      p.org.setFaults({});
    }
  });

  it('lets many writes share one hs_lastmodifieddate under a frozen clock', async () => {
    const state = p.org.setClock({ freeze: true });
    expect(state.frozen).toBe(true);
    try {
      const a = await hs.crm.companies.basicApi.create({ properties: { name: 'frozen 1' }, associations: [] });
      const b = await hs.crm.companies.basicApi.create({ properties: { name: 'frozen 2' }, associations: [] });
      await hs.crm.companies.basicApi.update(a.id, { properties: { city: 'Bern' } });
      const ts = a.properties.hs_lastmodifieddate!;
      expect(b.properties.hs_lastmodifieddate).toBe(ts);
      const same = await hs.crm.companies.searchApi.doSearch({ filterGroups: [{ filters: [f('hs_lastmodifieddate', 'EQ', { value: String(Date.parse(ts)) })] }] } as any);
      expect(same.results.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    } finally {
      expect(p.org.setClock({ freeze: false }).frozen).toBe(false);
    }
  });

  it('limits search to searchPerSecond with the real SECONDLY 429 body and no rate-limit headers', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    p.org.setFaults({ searchPerSecond: 2 });
    try {
      // Fired together so that a slow, busy machine cannot spread them over more than a second.
      const settled = await Promise.allSettled([1, 2, 3, 4].map(() => hs.crm.deals.searchApi.doSearch({ limit: 1 } as any)));
      const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.length).toBeGreaterThanOrEqual(1);
      expect(settled.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(2);
      const e = { code: rejected[0].reason.code, body: rejected[0].reason.body, headers: rejected[0].reason.headers as Record<string, string> };
      expect(e.code).toBe(429);
      expect(e.body).toMatchObject({ status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
      expect(e.headers['x-hubspot-ratelimit-max']).toBeUndefined();
      await hs.crm.deals.basicApi.getPage(1); // other endpoints are not affected
      await new Promise((r) => setTimeout(r, 1100));
      await hs.crm.deals.searchApi.doSearch({ limit: 1 } as any);
    } finally {
      p.org.setFaults({});
    }
  });
});
