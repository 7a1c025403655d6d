import https from 'node:https';
import nock from '../helpers/nock.js';
import type { SalesforceConnectorConfig } from '../../connectors/salesforce/config.js';
import { SalesforceConnector } from '../../connectors/salesforce/connector.js';

export const INSTANCE = 'https://acme.my.salesforce.com';
export const API = '/services/data/v62.0';

/** A clock that only moves when someone sleeps: retries and pauses run instantly and are measurable. */
export function fakeClock(start = Date.parse('2026-11-22T12:00:00.000Z')) {
  let t = start;
  const waits: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
    waits,
  };
}

let orgSeq = 0;
/** A fresh org id per connector, so the process-wide rate budgets of tests never mix. */
export function uniqueOrg(prefix = 'sf'): string {
  return `${prefix}-${process.pid}-${++orgSeq}`;
}

export function tokenEnv(name: string, value: string): string {
  process.env[name] = value;
  return `env:${name}`;
}

export function connectorWith(overrides: Partial<SalesforceConnectorConfig> = {}, clock = fakeClock()) {
  const cfg: SalesforceConnectorConfig = {
    kind: 'salesforce',
    orgId: uniqueOrg(),
    instanceUrl: INSTANCE,
    auth: { accessToken: tokenEnv('SF_TEST_ACCESS_TOKEN', '00Dtest!static-access-token') },
    retry: { jitter: false, minDelayMs: 100, maxDelayMs: 5_000 },
    now: clock.now,
    sleep: clock.sleep,
    ...overrides,
  };
  return { connector: new SalesforceConnector(cfg), clock, cfg };
}

export function sfApi() {
  return nock(INSTANCE);
}

export function queryResult(records: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  return { totalSize: records.length, done: true, records, ...extra };
}

export function row(type: string, id: string, modstamp: string, fields: Record<string, unknown> = {}) {
  return { attributes: { type, url: `${API}/sobjects/${type}/${id}` }, Id: id, SystemModstamp: modstamp, ...fields };
}

/** 18-character ids that sort in creation order. */
export function sfId(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(12, '0')}AAA`;
}

export const JSON_HEADERS = { 'content-type': 'application/json;charset=UTF-8' };

/**
 * nock 15 under vitest drops the answer to the very first request of a process when that request
 * has a body (seen with jsforce's PATCH): one GET first avoids it. Call in beforeAll.
 */
export async function warmUpNock(): Promise<void> {
  nock('https://warm-up.nock.test').get('/').reply(200, 'ok');
  await new Promise<void>((resolve, reject) => https.get('https://warm-up.nock.test/', (res) => res.resume().on('end', resolve)).on('error', reject));
}
