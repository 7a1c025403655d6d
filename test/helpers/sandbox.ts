import jsforce from 'jsforce';
import { Client as HubspotClient } from '@hubspot/api-client';
import { startSandbox, type Sandbox } from '@cosell/sandbox';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';
import type { FaultConfig, OrgConfig, SandboxConfig } from '@cosell/sandbox';

/**
 * Start a sandbox in-process for a test file, with small data, and hand out real clients:
 *
 *   const sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }] });
 *   const conn = sb.jsforce('vendor');           // jsforce.Connection (instanceUrl + accessToken, API 62.0)
 *   const hs = sb.hubspot('acme');               // @hubspot/api-client Client (basePath + accessToken)
 *   await sb.faults('vendor', { errorRate: 0.2 });
 *   await sb.stop();                              // in afterAll
 *
 * Orgs default to tiny seeds (20 accounts, 30 opportunities, 3 owners) so tests start in well under a second.
 */
export interface TestSandbox extends Sandbox {
  jsforce(orgId: string, opts?: { version?: string; oauth?: boolean }): jsforce.Connection;
  hubspot(orgId: string, opts?: { retries?: number }): HubspotClient;
  /** Replace an org's faults through the admin endpoint (as an out-of-process test would). */
  faults(orgId: string, faults: FaultConfig): Promise<void>;
  /** Freeze / move an org's clock through the admin endpoint. */
  clock(orgId: string, cmd: { freeze?: boolean; at?: string; advanceMs?: number }): Promise<{ now: string; frozen: boolean }>;
  /**
   * Insert many Salesforce records straight into the org's store in ONE transaction (all share one
   * CreatedDate/SystemModstamp, `at` or now), with the org's validation. Seconds faster than the API for
   * set-ups like "25,000 records on one SystemModstamp". Returns the new ids in order.
   */
  insertSalesforce(orgId: string, type: string, records: Array<Record<string, unknown>>, opts?: { at?: string }): string[];
}

const SMALL_SEED = { accounts: 20, opportunities: 30, owners: 3 };

/**
 * A HubSpot id offset of this test file's own. Every test sandbox numbers deals alike (300000001…), and
 * registration workflows are named `registration:<partner>:<deal id>` on the ONE shared dev server —
 * test files running registration links side by side must not start each other's workflows.
 */
export function uniqueIdOffset(): number {
  return (1 + Math.floor(Math.random() * 99_999)) * 1_000_000;
}

export async function startTestSandbox(
  config: Partial<SandboxConfig> & { orgs: Array<Partial<OrgConfig> & Pick<OrgConfig, 'id' | 'kind'>> },
  opts: { seed?: number; /** Give every HubSpot portal ids of this file's own (see uniqueIdOffset). */ uniqueIds?: boolean } = {},
): Promise<TestSandbox> {
  const offset = opts.uniqueIds ? uniqueIdOffset() : undefined;
  const orgs = config.orgs.map((o) => ({ ...o, seed: o.seed ?? SMALL_SEED, ...(offset !== undefined && o.kind === 'hubspot' && o.idOffset === undefined ? { idOffset: offset } : {}) })) as OrgConfig[];
  const sb = await startSandbox({ config: { ...config, orgs }, seed: opts.seed ?? 7 });
  const admin = async (orgId: string, path: string, body: unknown) => {
    const res = await fetch(`${sb.baseUrls[orgId]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path} on ${orgId}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    ...sb,
    jsforce(orgId, o = {}) {
      const info = sb.orgs[orgId];
      if (info?.kind !== 'salesforce') throw new Error(`${orgId} is not a salesforce org`);
      if (o.oauth) {
        return new jsforce.Connection({
          instanceUrl: info.instanceUrl, accessToken: info.accessToken, refreshToken: info.refreshToken, version: o.version ?? '62.0',
          oauth2: { loginUrl: info.loginUrl, clientId: info.clientId, clientSecret: info.clientSecret },
        });
      }
      return new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: info.accessToken, version: o.version ?? '62.0' });
    },
    hubspot(orgId, o = {}) {
      const info = sb.orgs[orgId];
      if (info?.kind !== 'hubspot') throw new Error(`${orgId} is not a hubspot org`);
      return new HubspotClient({ accessToken: info.accessToken, basePath: info.basePath, numberOfApiCallRetries: o.retries ?? 0 });
    },
    async faults(orgId, faults) {
      await admin(orgId, '/__sandbox/faults', faults);
    },
    clock: (orgId, cmd) => admin(orgId, '/__sandbox/clock', cmd) as Promise<{ now: string; frozen: boolean }>,
    insertSalesforce(orgId, type, records, o = {}) {
      const org = sb.org(orgId) as SalesforceOrg;
      if (org.kind !== 'salesforce') throw new Error(`${orgId} is not a salesforce org`);
      const now = o.at ? Date.parse(o.at) : org.clock.now();
      const userId = [...org.data.table('User').byId.keys()][0];
      return records.map((r) => org.data.create(type, r, { now, userId }).Id);
    },
  };
}
