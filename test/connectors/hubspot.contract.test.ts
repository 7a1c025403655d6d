import { createHubspotConnector } from '../../connectors/hubspot/index.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { runConnectorContract } from '@cosell/connector-contract';

/**
 * The connector contract against an emulated HubSpot portal, through the unmodified
 * @hubspot/api-client, with a realistic search indexing lag. The ties case writes its deals under a
 * frozen portal clock; the 30,000-deal / 10,000-per-timestamp case lives in hubspot.sandbox.test.ts.
 */
const SEARCH_LAG_MS = 300;
let sb: TestSandbox | undefined;

runConnectorContract('hubspot', async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'acme', kind: 'hubspot', role: 'partner', faults: { searchLagMs: SEARCH_LAG_MS } }] });
  const info = sb.orgs.acme;
  if (info.kind !== 'hubspot') throw new Error('expected a hubspot org');
  process.env.HS_CONTRACT_TOKEN = info.accessToken;
  const connector = await createHubspotConnector({
    kind: 'hubspot',
    orgId: `contract-${process.pid}`,
    basePath: info.basePath,
    auth: { accessToken: 'env:HS_CONTRACT_TOKEN' },
    // The sandbox has no search limit configured here; let the test run at full speed.
    limits: { searchPerSecond: 200, tenSecondLimit: 5000 },
    feed: { lookBackMs: 30_000 },
  });
  const sandbox = sb;
  const raw = sandbox.hubspot('acme');
  return {
    connector,
    objects: { deal: 'deals', company: 'companies' },
    fields: { matchKey: 'cosell_contract_key', flag: 'cosell_contract_flag', dealName: 'dealname', companyName: 'name' },
    dealFields: (n) => ({ dealname: `Contract deal ${n}`, pipeline: 'default', dealstage: 'appointmentscheduled', amount: 1000 + n }),
    companyFields: (n) => ({ name: `Contract company ${n}`, domain: `c${n}.example.com` }),
    invalidDealFields: () => ({ dealstage: 'not_a_real_stage' }),
    associatedCompany: async (dealId) => {
      const page = await raw.crm.associations.v4.basicApi.getPage('deals', dealId, 'companies');
      const first = page.results[0];
      return first ? String(first.toObjectId) : undefined;
    },
    freezeClock: async (frozen) => {
      await sandbox.clock('acme', { freeze: frozen });
    },
    tieCount: 5_000,
    tiePageSize: 200,
    settle: () => new Promise((r) => setTimeout(r, SEARCH_LAG_MS + 200)),
    teardown: async () => {
      await sandbox.stop();
    },
  };
});
