/**
 * bench:salesforce-connector — what the Salesforce connector costs on top of plain jsforce, against an
 * in-process sandbox org (same machine, same data, same run):
 *  - change feed: connector.changes() keyset pages of 2000 vs jsforce query + queryMore of the same rows;
 *  - writes: connector.upsert() (collections of 200, per-record results) vs jsforce's collections upsert.
 * Prints records/s and ratios; writes bench/results/salesforce-connector.json.
 *   npm run bench:salesforce-connector [-- --records 50000]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import jsforce from 'jsforce';
import { SalesforceConnector } from '../connectors/salesforce/connector.js';
import { START_CURSOR, type FeedCursor } from '../connectors/types.js';
import { startSandbox } from '@cosell/sandbox';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const RECORDS = arg('records', 50_000);
const WRITES = arg('writes', 20_000);

async function main() {
  const sb = await startSandbox({ config: { orgs: [{ id: 'bench', kind: 'salesforce', role: 'vendor', seed: { accounts: 100, opportunities: RECORDS, owners: 5 } }] }, seed: 1 });
  try {
    const info = sb.orgs.bench;
    if (info.kind !== 'salesforce') throw new Error('expected a salesforce org');
    process.env.BENCH_SF_TOKEN = info.accessToken;
    const connector = new SalesforceConnector({ kind: 'salesforce', orgId: 'bench', instanceUrl: info.instanceUrl, auth: { accessToken: 'env:BENCH_SF_TOKEN' } });
    const conn = new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: info.accessToken, version: '62.0' });
    const fields = ['Name', 'StageName', 'Amount', 'CloseDate', 'AccountId'];

    // Feed: baseline first (warms the sandbox's indexes equally for both).
    let t = performance.now();
    let res = await conn.query<Record<string, unknown>>(`SELECT Id, SystemModstamp, ${fields.join(', ')} FROM Opportunity ORDER BY SystemModstamp, Id`, { autoFetch: false });
    let baselineRows = res.records.length;
    while (!res.done && res.nextRecordsUrl) {
      res = await conn.queryMore(res.nextRecordsUrl);
      baselineRows += res.records.length;
    }
    const baselineFeedMs = performance.now() - t;

    t = performance.now();
    let cursor: FeedCursor = START_CURSOR;
    let feedRows = 0;
    let pages = 0;
    for (;;) {
      const page = await connector.changes('Opportunity', cursor, { fields, pageSize: 2000 });
      feedRows += page.records.length;
      pages++;
      cursor = page.next;
      if (page.caughtUp) break;
    }
    const feedMs = performance.now() - t;
    if (feedRows !== baselineRows) throw new Error(`feed delivered ${feedRows} rows, jsforce ${baselineRows}`);

    await connector.ensureFields('Opportunity', [{ name: 'Bench_Key__c', label: 'bench key', type: 'string', unique: true, externalId: true, length: 80 }]);
    const rec = (i: number, p: string) => ({ Name: `Bench ${p} ${i}`, StageName: 'Prospecting', CloseDate: '2027-06-30', Amount: i });

    t = performance.now();
    for (let i = 0; i < WRITES; i += 200) {
      const chunk = Array.from({ length: Math.min(200, WRITES - i) }, (_, j) => ({ Bench_Key__c: `base-${i + j}`, ...rec(i + j, 'base') }));
      await conn.sobject('Opportunity').upsert(chunk, 'Bench_Key__c', { allOrNone: false });
    }
    const baselineWriteMs = performance.now() - t;

    t = performance.now();
    let failed = 0;
    for (let i = 0; i < WRITES; i += connector.batchSize) {
      const chunk = Array.from({ length: Math.min(connector.batchSize, WRITES - i) }, (_, j) => ({ key: `conn-${i + j}`, fields: rec(i + j, 'conn') }));
      failed += (await connector.upsert('Opportunity', 'Bench_Key__c', chunk)).filter((r) => r.status === 'failed').length;
    }
    const writeMs = performance.now() - t;

    const perSec = (n: number, ms: number) => Math.round((n / ms) * 1000);
    const result = {
      records: baselineRows,
      feed: { pages, connectorRecordsPerSec: perSec(feedRows, feedMs), jsforceRecordsPerSec: perSec(baselineRows, baselineFeedMs), connectorVsJsforce: +(feedMs / baselineFeedMs).toFixed(2) },
      upsert: { writes: WRITES, failed, connectorRecordsPerSec: perSec(WRITES, writeMs), jsforceRecordsPerSec: perSec(WRITES, baselineWriteMs), connectorVsJsforce: +(writeMs / baselineWriteMs).toFixed(2) },
      rateState: connector.rateState(),
    };
    console.log(`change feed: ${baselineRows} records in ${pages} keyset pages`);
    console.log(`  connector ${result.feed.connectorRecordsPerSec} rec/s · jsforce query/queryMore ${result.feed.jsforceRecordsPerSec} rec/s · time ratio ${result.feed.connectorVsJsforce}×`);
    console.log(`upsert: ${WRITES} records in batches of 200 (${failed} failed)`);
    console.log(`  connector ${result.upsert.connectorRecordsPerSec} rec/s · jsforce collections upsert ${result.upsert.jsforceRecordsPerSec} rec/s · time ratio ${result.upsert.connectorVsJsforce}×`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/salesforce-connector.json', JSON.stringify(result, null, 2) + '\n');
  } finally {
    await sb.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
