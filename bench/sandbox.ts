/**
 * `npm run bench:sandbox`: throughput of the sandbox CRMs through the real clients.
 *
 * Salesforce (jsforce 3.10), on a 100k-Account org:
 *   - SOQL paging of every record (batchSize 2000, queryMore);
 *   - 100k upserts by external id in sObject Collections of 200 (creates), then again (updates).
 * HubSpot (@hubspot/api-client 13), on a 100k-company portal (when the emulator is present):
 *   - list paging of every company (limit 100, `after`);
 *   - 100k batch upserts of 100 by a unique property.
 * Baselines measured in the same run: the same operations against a 1k-record org (does per-record cost
 * grow with org size?) and the raw in-memory store without HTTP (what the wire and JSON cost).
 * Writes bench/results/sandbox.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jsforce from 'jsforce';
import { Client as HubspotClient } from '@hubspot/api-client';
import { startSandbox, type Sandbox } from '@cosell/sandbox';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';

const N = Number(process.env.BENCH_SANDBOX_RECORDS ?? 100_000);
const SMALL = 1_000;
const here = path.dirname(fileURLToPath(import.meta.url));

type SfInfo = Extract<Sandbox['orgs'][string], { kind: 'salesforce' }>;
type HsInfo = Extract<Sandbox['orgs'][string], { kind: 'hubspot' }>;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

async function sfPageAll(conn: jsforce.Connection): Promise<number> {
  const opts = { headers: { 'Sforce-Query-Options': 'batchSize=2000' } } as any;
  let page = await conn.query<any>('SELECT Id, Name, Website, BillingCountry, SystemModstamp FROM Account ORDER BY SystemModstamp, Id', opts);
  let n = page.records.length;
  while (!page.done) {
    page = await conn.queryMore<any>(page.nextRecordsUrl!, opts);
    n += page.records.length;
  }
  return n;
}

async function sfUpsertAll(conn: jsforce.Connection, n: number, tag: string): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i += 200) {
    const batch = Array.from({ length: Math.min(200, n - i) }, (_, j) => ({ Bench_Key__c: `k-${i + j}`, Name: `Bench ${tag} ${i + j}`, Website: `https://www.bench${i + j}.example.com`, NumberOfEmployees: j }));
    const res = (await conn.sobject('Account').upsert(batch, 'Bench_Key__c')) as Array<{ success: boolean }>;
    ok += res.filter((r) => r.success).length;
  }
  if (ok !== n) throw new Error(`only ${ok} of ${n} upserts succeeded`);
  return ok;
}

async function salesforce(size: number) {
  const sb = await startSandbox({ config: { orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: size, opportunities: 0, owners: 5 }, faults: { dailyLimit: 10_000_000 } }] }, seed: 1 });
  try {
    const info = sb.orgs.vendor as SfInfo;
    const conn = new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: info.accessToken, version: '62.0' });
    await conn.tooling.sobject('CustomField').create({ FullName: 'Account.Bench_Key__c', Metadata: { type: 'Text', label: 'Bench Key', length: 40, externalId: true, unique: true } } as any);
    const paging = await timed(() => sfPageAll(conn));
    const creates = await timed(() => sfUpsertAll(conn, size, 'c'));
    const updates = await timed(() => sfUpsertAll(conn, size, 'u'));
    return {
      records: size,
      soqlPagingRecordsPerSec: rate(paging.value, paging.ms),
      upsertCreateRecordsPerSec: rate(creates.value, creates.ms),
      upsertUpdateRecordsPerSec: rate(updates.value, updates.ms),
      msPer200Upsert: Number(((updates.ms / size) * 200).toFixed(2)),
    };
  } finally {
    await sb.stop();
  }
}

/** The same upserts straight into the emulator's store: no HTTP, no JSON, no jsforce. */
async function rawStore(size: number) {
  const sb = await startSandbox({ config: { orgs: [{ id: 'vendor', kind: 'salesforce', seed: { accounts: size, opportunities: 0, owners: 5 } }] }, seed: 1 });
  try {
    const org = sb.org('vendor') as SalesforceOrg;
    org.data.createCustomField('Account', 'Bench_Key__c', { type: 'Text', length: 40, externalId: true, unique: true });
    const user = [...org.data.table('User').byId.keys()][0];
    const t0 = performance.now();
    for (let i = 0; i < size; i++) {
      org.data.upsert('Account', 'Bench_Key__c', `k-${i}`, { Name: `Bench ${i}`, Website: `https://www.bench${i}.example.com`, NumberOfEmployees: i % 200 }, { now: Date.now(), userId: user });
    }
    const ms = performance.now() - t0;
    return { records: size, upsertRecordsPerSec: rate(size, ms) };
  } finally {
    await sb.stop();
  }
}

async function hubspot(size: number) {
  let sb: Sandbox;
  try {
    sb = await startSandbox({ config: { orgs: [{ id: 'acme', kind: 'hubspot', seed: { accounts: size, opportunities: 0, owners: 5 }, faults: { tenSecondLimit: 0, dailyLimit: 100_000_000, searchPerSecond: 0 } }] }, seed: 1 });
  } catch (e) {
    return { skipped: `HubSpot emulator unavailable: ${(e as Error).message}` };
  }
  try {
    const info = sb.orgs.acme as HsInfo;
    const client = new HubspotClient({ accessToken: info.accessToken, basePath: info.basePath });
    await client.crm.properties.coreApi.create('companies', { name: 'bench_key', label: 'Bench key', type: 'string' as any, fieldType: 'text' as any, groupName: 'companyinformation', hasUniqueValue: true });
    const paging = await timed(async () => {
      let n = 0;
      let after: string | undefined;
      do {
        const page = await client.crm.companies.basicApi.getPage(100, after, ['name', 'domain']);
        n += page.results.length;
        after = page.paging?.next?.after;
      } while (after);
      return n;
    });
    const upserts = await timed(async () => {
      let ok = 0;
      for (let i = 0; i < size; i += 100) {
        const inputs = Array.from({ length: Math.min(100, size - i) }, (_, j) => ({ id: `k-${i + j}`, idProperty: 'bench_key', properties: { name: `Bench ${i + j}`, domain: `bench${i + j}.example.com` } }));
        const res = await client.crm.companies.batchApi.upsert({ inputs });
        ok += res.results.length;
      }
      return ok;
    });
    return { records: size, listPagingRecordsPerSec: rate(paging.value, paging.ms), batchUpsertRecordsPerSec: rate(upserts.value, upserts.ms), pagedRecords: paging.value, upserted: upserts.value };
  } finally {
    await sb.stop();
  }
}

async function main() {
  const startedAt = new Date().toISOString();
  const loadAtStart = (await import('node:os')).loadavg().map((x) => Number(x.toFixed(1)));
  console.log(`sandbox bench: ${N.toLocaleString()}-record orgs, baselines on ${SMALL.toLocaleString()}-record orgs and the raw store\n`);
  // Baselines run twice and keep the second run, so JIT warm-up does not flatter the big runs.
  await salesforce(SMALL);
  const sfBase = await salesforce(SMALL);
  console.log('salesforce  1k org ', sfBase);
  const sfBig = await salesforce(N);
  console.log('salesforce big org ', sfBig);
  const raw = await rawStore(N);
  console.log('salesforce raw store', raw);
  await hubspot(SMALL);
  const hsBase = await hubspot(SMALL);
  console.log('hubspot     1k portal', hsBase);
  const hsBig = await hubspot(N);
  console.log('hubspot    big portal', hsBig);

  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? Number((a / b).toFixed(2)) : null);
  const ratios = {
    sfPagingBigVs1k: ratio(sfBig.soqlPagingRecordsPerSec, sfBase.soqlPagingRecordsPerSec),
    sfUpsertBigVs1k: ratio(sfBig.upsertUpdateRecordsPerSec, sfBase.upsertUpdateRecordsPerSec),
    sfUpsertHttpVsRawStore: ratio(sfBig.upsertCreateRecordsPerSec, raw.upsertRecordsPerSec),
    hsPagingBigVs1k: ratio((hsBig as any).listPagingRecordsPerSec, (hsBase as any).listPagingRecordsPerSec),
    hsUpsertBigVs1k: ratio((hsBig as any).batchUpsertRecordsPerSec, (hsBase as any).batchUpsertRecordsPerSec),
  };
  console.log('\nratios (big org rate / 1k org rate: 1.0 = no slow-down at 100x the data; HTTP vs raw = share of the raw store speed kept through HTTP + JSON + jsforce)');
  console.log(ratios);
  const os = await import('node:os');
  // The machine is shared: record how busy it was, since absolute rates scale with the CPU share we got.
  const result = { startedAt, records: N, machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg().map((x) => Number(x.toFixed(1))) }, salesforce: { big: sfBig, baseline1k: sfBase, rawStore: raw }, hubspot: { big: hsBig, baseline1k: hsBase }, ratios };
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'sandbox.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('\nwrote bench/results/sandbox.json');
}

await main();
