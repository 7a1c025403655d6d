import { drainFeed } from '../helpers/drain.js';
import { Client } from '@hubspot/api-client';
import { isConnectorError } from '../../connectors/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubspotConnector, type HubspotConnectorConfig } from '../../connectors/hubspot/index.js';
import { START_CURSOR, type Connector, type FeedCursor } from '../../connectors/types.js';
import { OBJECT_TYPES } from '../../sandbox/hubspot/meta.js';
import type { HsRecord } from '../../sandbox/hubspot/store.js';
import { startHubspotPortal, type RunningPortal } from '@cosell/sandbox/hubspot/testing';

/**
 * HubSpot-specific behaviour of the connector against the emulated portal, through the unmodified
 * @hubspot/api-client: search lag and the look-back, the 10,000-result cap, the search rate limit,
 * archived/merged deletions, OAuth refresh after token expiry.
 */
let seq = 0;
const portals: RunningPortal[] = [];

async function portal(faults: HubspotConnectorConfig['limits'] & Record<string, unknown> = {}, seed = true): Promise<RunningPortal> {
  const p = await startHubspotPortal({ id: `hs-conn-${++seq}`, ...(seed ? { seed: { seed: 5, accounts: 10, opportunities: 15, owners: 2 } } : {}), faults });
  portals.push(p);
  return p;
}

async function connectorFor(p: RunningPortal, extra: Partial<HubspotConnectorConfig> = {}): Promise<Connector> {
  const env = `HS_SANDBOX_TOKEN_${seq}`;
  process.env[env] = p.accessToken;
  return createHubspotConnector({
    kind: 'hubspot', orgId: `${p.org.id}-${Math.random().toString(36).slice(2, 8)}`, basePath: p.basePath,
    auth: { accessToken: `env:${env}` }, retry: { minDelayMs: 50, maxDelayMs: 500 }, ...extra,
  });
}

const drain = (c: Connector, object: string, cursor: FeedCursor, pageSize = 100, fields?: string[]) => drainFeed(c, object, cursor, { pageSize, fields });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
});

describe('HubSpot connector on the sandbox: change feed', () => {
  let p: RunningPortal;
  let c: Connector;
  beforeAll(async () => {
    p = await portal();
    c = await connectorFor(p, { feed: { lookBackMs: 60_000 } });
  });

  it('delivers every deal once from the start, then only what changed', async () => {
    const first = await drain(c, 'deals', START_CURSOR, 4);
    const ids = first.records.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(p.org.portal.store(OBJECT_TYPES.deals).liveCount);
    expect(first.pages.length).toBeGreaterThan(3);
    expect(typeof first.records[0].fields.amount === 'number' || first.records[0].fields.amount === null).toBe(true);

    // Nothing changed: a poll re-scans the look-back but delivers nothing again.
    const idle = await drain(c, 'deals', first.cursor);
    expect(idle.records).toEqual([]);

    const [changed] = await c.update('deals', [{ id: ids[2], fields: { dealname: 'changed by the test' } }]);
    expect(changed.status).toBe('updated');
    const next = await drain(c, 'deals', idle.cursor);
    expect(next.records.map((r) => [r.id, r.fields.dealname])).toEqual([[ids[2], 'changed by the test']]);
  });

  it('a record that becomes searchable late is still delivered, via the look-back, and only once', async () => {
    const start = await drain(c, 'deals', START_CURSOR);
    p.org.setFaults({ searchLagMs: 1500 });
    try {
      // The match key does not exist on a fresh portal: create it as the sync would.
      expect(await c.ensureFields('deals', [{ name: 'partner_ref', label: 'Partner ref', type: 'string', unique: true }])).toEqual(['partner_ref']);
      const [late] = await c.upsert('deals', 'partner_ref', [{ key: 'late-1', fields: { dealname: 'late arrival' } }]);
      expect(late.status).toBe('created');
      // The write is not searchable yet: the poll is caught up without it...
      const before = await drain(c, 'deals', start.cursor);
      expect(before.records.map((r) => r.id)).not.toContain(late.id);
      await sleep(1700);
      // ...and the next poll finds it through the look-back window.
      const after = await drain(c, 'deals', before.cursor);
      expect(after.records.map((r) => r.id)).toEqual([late.id]);
      const again = await drain(c, 'deals', after.cursor);
      expect(again.records).toEqual([]);
    } finally {
      p.org.setFaults({ searchLagMs: 0 });
    }
  });

  it('resumes from any page cursor after a "crash" without losing or repeating records', async () => {
    const all: string[] = [];
    let cursor: FeedCursor = START_CURSOR;
    for (;;) {
      const page = await c.changes('deals', cursor, { pageSize: 3 });
      all.push(...page.records.map((r) => r.id));
      if (page.caughtUp) break;
      // Re-reading the same page from the same cursor yields the same records (a retried activity).
      const replay = await c.changes('deals', cursor, { pageSize: 3 });
      expect(replay.records.map((r) => r.id)).toEqual(page.records.map((r) => r.id));
      cursor = page.next;
    }
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(p.org.portal.store(OBJECT_TYPES.deals).liveCount);
  });
});

describe('HubSpot connector on the sandbox: past the 10,000-result search cap', () => {
  it('delivers 30,000 deals changed in one window — 25,000 of them sharing one timestamp — exactly once, oldest first', async () => {
    const p = await portal({}, false);
    const store = p.org.portal.store(OBJECT_TYPES.deals);
    // Seed straight into the emulator's store: 25,000 deals on one timestamp, 5,000 on five later ones.
    const t0 = Date.now() - 3_600_000;
    const recs: HsRecord[] = [];
    for (let i = 0; i < 30_000; i++) {
      const idNum = store.allocateId();
      const modified = i < 25_000 ? t0 : t0 + 1000 * (1 + (i % 5));
      const iso = new Date(modified).toISOString();
      recs.push({
        id: String(idNum), idNum, createdAt: modified, updatedAt: modified, archived: false,
        props: { hs_object_id: String(idNum), dealname: `bulk ${i}`, pipeline: 'default', dealstage: 'appointmentscheduled', createdate: iso, hs_lastmodifieddate: iso },
      });
    }
    store.bulkLoad(recs);
    const c = await connectorFor(p, { limits: { searchPerSecond: 1000, tenSecondLimit: 10_000 } });
    const started = Date.now();
    const { records, pages: { length: pages } } = await drain(c, 'deals', START_CURSOR, 200, ['dealname']);
    const ids = records.map((r) => r.id);
    expect(ids.length).toBe(30_000);
    expect(new Set(ids).size).toBe(30_000);
    // Oldest first, ties by id — across 10,000-record tie groups.
    for (let i = 1; i < records.length; i++) {
      const a = records[i - 1];
      const b = records[i];
      expect(a.modifiedAt < b.modifiedAt || (a.modifiedAt === b.modifiedAt && Number(a.id) < Number(b.id))).toBe(true);
    }
    expect(pages).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(45_000);
  });
});

describe('HubSpot connector on the sandbox: search rate limit', () => {
  it('keeps searches under the portal\'s 5/s limit proactively (no 429 ever reaches the retry policy)', async () => {
    const p = await portal({ searchPerSecond: 5 });
    // No retries: a single 429 from the portal would fail the test.
    const c = await connectorFor(p, { limits: { searchPerSecond: 4 }, retry: { retries: 0 } });
    const started = Date.now();
    const { pages: { length: pages } } = await drain(c, 'deals', START_CURSOR, 1);
    const elapsed = Date.now() - started;
    expect(pages).toBeGreaterThanOrEqual(15);
    // 4 per second: n searches need at least (n - 4) / 4 seconds.
    expect(elapsed).toBeGreaterThanOrEqual(((pages - 4) / 4) * 1000 - 250);
  });
});

describe('HubSpot connector on the sandbox: deletions and merges', () => {
  it('reports archived deals, and merged ones with the survivor as mergedInto', async () => {
    const p = await portal();
    const c = await connectorFor(p);
    const first = await c.deletions('deals', START_CURSOR);
    expect(first.caughtUp).toBe(true);
    const ids = (await drain(c, 'deals', START_CURSOR)).records.map((r) => r.id);
    const [gone, survivor, mergedAway] = ids;
    expect((await c.remove('deals', [gone]))[0].status).toBe('deleted');
    // The client has no typed merge method in 13.x: its raw apiRequest, as a user's script would.
    const res = await new Client({ accessToken: p.accessToken, basePath: p.basePath }).apiRequest({
      method: 'POST', path: '/crm/v3/objects/deals/merge', body: { primaryObjectId: survivor, objectIdToMerge: mergedAway },
    });
    expect(res.status).toBe(200);

    const page = await c.deletions('deals', first.next);
    const byId = Object.fromEntries(page.records.map((r) => [r.id, r]));
    expect(Object.keys(byId).sort()).toEqual([gone, mergedAway].sort());
    expect(byId[gone].mergedInto).toBeUndefined();
    expect(byId[mergedAway].mergedInto).toBe(survivor);
    // Idempotent: the next sweep does not repeat them.
    const again = await c.deletions('deals', page.next);
    expect(again.records).toEqual([]);
  });
});

describe('HubSpot connector on the sandbox: associations and reads', () => {
  it('associates deals with companies in one batch, failing only the pair whose company does not exist', async () => {
    const p = await portal();
    const c = await connectorFor(p);
    const deals = (await drain(c, 'deals', START_CURSOR)).records.map((r) => r.id).slice(0, 2);
    const companies = (await drain(c, 'companies', START_CURSOR)).records.map((r) => r.id).slice(0, 1);
    const res = await c.associate([
      { fromObject: 'deals', fromId: deals[0], toObject: 'companies', toId: companies[0] },
      { fromObject: 'Opportunity', fromId: deals[1], toObject: 'Account', toId: '299999999' },
    ]);
    expect(res[0].status).toBe('created');
    expect(res[1]).toMatchObject({ status: 'failed', error: { kind: 'validation' } });
    const page = await new Client({ accessToken: p.accessToken, basePath: p.basePath }).crm.associations.v4.basicApi.getPage('deals', deals[0], 'companies');
    expect(page.results.map((r) => String(r.toObjectId))).toContain(companies[0]);
  });

  it('readByField on a non-unique property goes through search IN; unknown ids are simply absent', async () => {
    const p = await portal();
    const c = await connectorFor(p);
    const all = (await drain(c, 'deals', START_CURSOR, 100, ['dealname'])).records;
    const names = all.slice(0, 3).map((r) => String(r.fields.dealname));
    const found = await c.readByField('deals', 'dealname', names, ['dealname']);
    expect(found.map((r) => r.fields.dealname).sort()).toEqual(expect.arrayContaining([...names].sort()));
    const byIds = await c.readByIds('deals', [all[0].id, '399999999'], ['dealname']);
    expect(byIds.map((r) => r.id)).toEqual([all[0].id]);
  });
});

describe('HubSpot connector on the sandbox: faults', () => {
  it('5xx, 429 bursts and dropped connections are retried inside the connector: writes and the feed lose and repeat nothing', async () => {
    const p = await portal({ errorRate: 0.15, burst429Rate: 0.03, burst429Length: 1, timeoutRate: 0.03, timeoutMs: 300 });
    const c = await connectorFor(p, { requestTimeoutMs: 2_000 });
    await c.ensureFields('deals', [{ name: 'chaos_key', label: 'Chaos key', type: 'string', unique: true }]);
    const inputs = Array.from({ length: 250 }, (_, i) => ({ key: `chaos-${i}`, fields: { dealname: `Chaos ${i}`, pipeline: 'default', dealstage: 'qualifiedtobuy' } }));
    const res = await c.upsert('deals', 'chaos_key', inputs);
    expect(res.filter((r) => r.status === 'failed')).toEqual([]);
    // A retried batch upsert is idempotent: exactly one deal per key.
    const found = await c.readByField('deals', 'chaos_key', inputs.map((i) => i.key), ['chaos_key']);
    expect(found).toHaveLength(250);
    const { records } = await drain(c, 'deals', START_CURSOR, 50, ['chaos_key']);
    const ours = records.filter((r) => String(r.fields.chaos_key ?? '').startsWith('chaos-'));
    expect(ours).toHaveLength(250);
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
  }, 120_000);

  it('daily allocation: pauses before the portal\'s limit (never breaches it) and reports when it resets', async () => {
    const p = await portal({ dailyLimit: 40 });
    const c = await connectorFor(p, { limits: { dailyPauseAt: 0.9 } });
    let paused: unknown;
    let calls = 0;
    try {
      for (let i = 0; i < 100; i++) {
        calls++;
        await c.readByIds('deals', [String(300_000_001 + i)]);
      }
    } catch (e) {
      paused = e;
    }
    expect(isConnectorError(paused, 'quota_exhausted')).toBe(true);
    const resetsAt = (paused as { resetsAt?: string }).resetsAt!;
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    expect(resetsAt).toBe(midnight.toISOString());
    expect(c.rateState().pausedUntil).toBe(resetsAt);
    // Paused at 90 %: the portal never had to refuse a call.
    expect(p.org.portal.limiter.usage().daily).toBeLessThanOrEqual(36);
    expect(calls).toBeLessThan(40);
  });
});

describe('HubSpot connector on the sandbox: OAuth', () => {
  it('refreshes the access token at /oauth/v1/token when the portal expires every token', async () => {
    const p = await portal();
    const info = p.org.connectionInfo(p.basePath) as { clientId: string; clientSecret: string; refreshToken: string };
    process.env.HS_SB_CLIENT_ID = info.clientId;
    process.env.HS_SB_CLIENT_SECRET = info.clientSecret;
    process.env.HS_SB_REFRESH = info.refreshToken;
    const c = await connectorFor(p, { auth: { clientId: 'env:HS_SB_CLIENT_ID', clientSecret: 'env:HS_SB_CLIENT_SECRET', refreshToken: 'env:HS_SB_REFRESH' } });
    expect((await c.describe('deals')).fields.dealname.type).toBe('string');
    p.org.setFaults({ expireTokensNow: true });
    const recs = await c.readByIds('deals', [(await drain(c, 'deals', START_CURSOR)).records[0].id]);
    expect(recs).toHaveLength(1);
  });
});
