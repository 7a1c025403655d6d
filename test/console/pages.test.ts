import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { tempLedgerFile } from '../helpers/network.js';
import { testClient } from '../helpers/temporal.js';
import { login, offlineNetwork, testUsers } from './helpers.js';

/** Pages that need no workflows: overlaps (vendor view only), unknown ids, dead letters by code, hostile text escaped. */
let app: FastifyInstance;
let ledger: Ledger;
let client: Client;
let cookie: string;

beforeAll(async () => {
  ledger = await openLedger({ file: tempLedgerFile() });
  client = await testClient();
  app = await buildConsole({ network: offlineNetwork(), ledger, client, engine: () => Promise.reject(new Error('no engine here')), users: await testUsers(), recordUrl: (org, object, id) => `http://crm.test/${org}/${object}/${id}` });
  await ledger.overlaps.replace('acme', [
    { vendorAccountId: '001A', partnerRecordId: 'p-secret-1', hashedKey: 'h1', classification: 'customer/customer', score: 100, details: { vendorName: 'Initrode Corp', partnerName: 'PARTNER-ONLY-NAME', vendorRelation: 'customer', partnerRelation: 'customer', matchedOn: 'domain' } },
    { vendorAccountId: '001B', partnerRecordId: 'p-secret-2', hashedKey: 'h2', classification: 'customer/prospect', score: 80, details: { vendorName: 'Globo Gym', partnerName: 'ANOTHER-PARTNER-NAME', vendorRelation: 'customer', partnerRelation: 'prospect', matchedOn: 'name' } },
  ]);
  await ledger.deadLetters.add('acme-deals', [
    { sourceId: '42', payload: {}, reason: 'Amount: value outside of valid range <script>alert(1)</script>', code: 'NUMBER_OUTSIDE_VALID_RANGE', kind: 'validation', fields: ['Amount'] },
    { sourceId: '43', payload: {}, reason: 'no code here', kind: 'transient' },
  ]);
  ({ cookie } = await login(app, 'vic'));
}, 30_000);

afterAll(async () => {
  await app?.close();
  await ledger?.close();
  await client?.connection.close();
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie } });

describe('console pages', () => {
  it('overlaps: the relation matrix and the vendor view, never the partner\'s own records', async () => {
    const list = await get('/overlaps');
    expect(list.body).toContain('Acme Consulting');
    expect(list.body).not.toContain('Globex'); // no sharing block: not listed
    const res = await get('/overlaps/acme');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Initrode Corp');
    expect(res.body).toContain('http://crm.test/vendor/Account/001A');
    expect(/<pre>([\s\S]*?)<\/pre>/.exec(res.body)?.[1]).toMatch(/customer +1 +0 +1 +2/); // customer × customer 1, × prospect 1
    expect(res.body).not.toContain('PARTNER-ONLY-NAME');
    expect(res.body).not.toContain('p-secret-1');
    expect((await get('/overlaps/globex')).statusCode).toBe(404);
  });

  it('link health and dead letters: grouped by category, the CRM reason escaped, filtered by code; a viewer sees no replay button', async () => {
    const health = await get('/links');
    expect(health.statusCode).toBe(200);
    expect(health.body).toContain('NUMBER_OUTSIDE_VALID_RANGE');
    expect(health.body).toMatch(/not running/); // no workflow for the link on this dev server
    const dl = await get('/links/acme-deals');
    expect(dl.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(dl.body).not.toContain('<script>alert(1)');
    expect(dl.body).not.toContain('Replay');
    const none = await get('/links/acme-deals?code=none');
    expect(none.body).toContain('no code here');
    expect(none.body).not.toContain('valid range');
    expect((await get('/links/nope')).statusCode).toBe(404);
    const api = (await get('/api/links')).json() as { deadLetters: Array<{ code: string | null; count: number }> };
    expect(api.deadLetters.map((d) => [d.code, d.count]).sort()).toEqual([['NUMBER_OUTSIDE_VALID_RANGE', 1], [null, 1]].sort());
  });

  it('registration detail: unknown id 404; a registration without workflow says so', async () => {
    expect((await get('/registrations/acme%3Anope')).statusCode).toBe(404);
    await ledger.registrations.upsert({ partner: 'acme', sourceId: '777', status: 'pending-review', customerName: 'Hooli <b>', amount: 5000, currency: 'USD', details: { linkId: 'acme-deals', decision: { outcome: 'review', ruleId: 'territory', reason: 'country unknown', matches: [] } } });
    const res = await get('/registrations/acme%3A777');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Hooli &lt;b&gt;');
    expect(res.body).toContain('not running');
    expect(res.body).toContain('country unknown');
    expect(res.body).toContain('http://crm.test/acme/deals/777');
  });
});
