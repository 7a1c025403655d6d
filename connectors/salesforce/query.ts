import { ConnectorError } from '../errors.js';
import type { SalesforceApi } from './api.js';

interface QueryResponse {
  totalSize?: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Array<Record<string, unknown>>;
}

/**
 * Run one SOQL query and follow `nextRecordsUrl` explicitly until `done` — never jsforce's autoFetch,
 * which silently stops at maxFetch. The SOQL itself carries a LIMIT, so this is bounded.
 * `done: false` without a next URL is a protocol error, never "finished".
 */
export async function queryAll(api: SalesforceApi, soql: string, opts: { includeDeleted?: boolean; batchSize?: number } = {}): Promise<Array<Record<string, unknown>>> {
  const endpoint = opts.includeDeleted ? 'queryAll' : 'query';
  const headers = opts.batchSize ? { 'Sforce-Query-Options': `batchSize=${Math.min(2000, Math.max(200, opts.batchSize))}` } : undefined;
  let page = check(await api.request<QueryResponse>(endpoint, { method: 'GET', url: `/${endpoint}?q=${encodeURIComponent(soql)}`, headers }));
  const records = [...page.records];
  while (!page.done) {
    if (!page.nextRecordsUrl) {
      throw new ConnectorError('protocol', `${endpoint}: Salesforce answered done:false without nextRecordsUrl after ${records.length} records`);
    }
    page = check(await api.request<QueryResponse>('queryMore', { method: 'GET', url: page.nextRecordsUrl, headers }));
    records.push(...page.records);
  }
  return records;
}

function check(res: QueryResponse): QueryResponse {
  if (!res || typeof res !== 'object' || !Array.isArray(res.records) || typeof res.done !== 'boolean') {
    throw new ConnectorError('protocol', 'query: the response is not a query result ({done, records})');
  }
  return res;
}
