import { SalesforceConnector } from '../../connectors/salesforce/connector.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { runConnectorContract } from '@cosell/connector-contract';
import { tokenEnv, uniqueOrg } from './salesforce-helpers.js';

/**
 * The connector contract against an emulated Salesforce org, through the real jsforce stack and the
 * client-credentials flow. The ties case writes 25,000 Opportunities under a frozen org clock.
 */
let sb: TestSandbox | undefined;

runConnectorContract('salesforce', async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }] });
  const info = sb.orgs.vendor;
  if (info.kind !== 'salesforce') throw new Error('expected a salesforce org');
  const connector = new SalesforceConnector({
    kind: 'salesforce',
    orgId: uniqueOrg('contract'),
    instanceUrl: info.instanceUrl,
    loginUrl: info.loginUrl,
    auth: { clientId: tokenEnv('SF_CONTRACT_CLIENT_ID', info.clientId), clientSecret: tokenEnv('SF_CONTRACT_CLIENT_SECRET', info.clientSecret) },
  });
  const sandbox = sb;
  return {
    connector,
    objects: { deal: 'Opportunity', company: 'Account' },
    fields: { matchKey: 'Cosell_Contract_Key__c', flag: 'Cosell_Contract_Flag__c', dealName: 'Name', companyName: 'Name' },
    dealFields: (n) => ({ Name: `Contract deal ${n}`, StageName: 'Prospecting', CloseDate: '2026-12-31', Amount: 1000 + n }),
    companyFields: (n) => ({ Name: `Contract company ${n}`, Website: `https://c${n}.example.com` }),
    invalidDealFields: () => ({ StageName: 'Not A Real Stage' }),
    associatedCompany: async (dealId) => {
      const [rec] = await connector.readByIds('Opportunity', [dealId], ['AccountId']);
      return (rec?.fields.AccountId as string | null) ?? undefined;
    },
    freezeClock: async (frozen) => {
      await sandbox.clock('vendor', { freeze: frozen });
    },
    tieCount: 25_000,
    tiePageSize: 2000,
    teardown: async () => {
      await sandbox.stop();
    },
  };
});
