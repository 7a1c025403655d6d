import { createAwsPartnerCentralConnector } from '../../connectors/aws-partner-central/index.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { runConnectorContract } from '@cosell/connector-contract';

/**
 * The connector contract against an emulated Partner Central account (Sandbox catalog), through the
 * unmodified @aws-sdk/client-partnercentral-selling with SigV4-signed requests. The emulator's quotas
 * are raised here so the suite runs at full speed (the 1 write/s quota has its own tests in
 * aws-partner-central.sandbox.test.ts). Partner Central has a fixed schema, no account object and no
 * delete: those parts are declared and their refusals checked.
 */
let sb: TestSandbox | undefined;

runConnectorContract(
  'aws-partner-central',
  async () => {
    sb = await startTestSandbox({ orgs: [{ id: 'aws', kind: 'aws-partner-central', faults: { aceReadsPerSecond: 100_000, aceWritesPerSecond: 100_000 } }] });
    const info = sb.orgs.aws;
    if (info?.kind !== 'aws-partner-central') throw new Error('expected an aws-partner-central org');
    process.env.ACE_CONTRACT_KEY_ID = info.accessKeyId;
    process.env.ACE_CONTRACT_SECRET = info.secretAccessKey;
    const connector = await createAwsPartnerCentralConnector({
      kind: 'aws-partner-central',
      orgId: `ace-contract-${process.pid}`,
      catalog: 'Sandbox',
      endpoint: info.endpoint,
      auth: { accessKeyId: 'env:ACE_CONTRACT_KEY_ID', secretAccessKey: 'env:ACE_CONTRACT_SECRET' },
      limits: { readsPerSecond: 100_000, writesPerSecond: 100_000 },
    });
    const sandbox = sb;
    return {
      connector,
      objects: { deal: 'Opportunity', company: 'Account' },
      fields: { matchKey: 'PartnerOpportunityIdentifier', flag: 'Cosell_Contract_Flag', dealName: 'Project.Title', companyName: 'Customer.Account.CompanyName' },
      dealFields: (n) => ({
        'Project.Title': `Contract deal ${n}`,
        'Customer.Account.CompanyName': `Contract customer ${n}`,
        'Customer.Account.Industry': 'Software and Internet',
        'Customer.Account.WebsiteUrl': `https://c${n}.example.com`,
        'Customer.Account.Address.CountryCode': 'US',
        'Project.CustomerBusinessProblem': `Customer ${n} needs to modernise its data platform on AWS.`,
        'Project.DeliveryModels': 'SaaS or PaaS',
        'Project.ExpectedCustomerSpend.Amount': 1000 + n,
        'LifeCycle.TargetCloseDate': '2027-06-30',
        OpportunityType: 'Net New Business',
      }),
      companyFields: (n) => ({ 'Customer.Account.CompanyName': `Contract company ${n}` }),
      invalidDealFields: () => ({ 'Customer.Account.Industry': 'Not an industry' }),
      associatedCompany: async () => undefined,
      freezeClock: async (frozen) => {
        await sandbox.clock('aws', { freeze: frozen });
      },
      tieCount: 300,
      tiePageSize: 100,
      teardown: async () => {
        await sandbox.stop();
      },
    };
  },
  {
    customFields: 'Partner Central has a fixed schema, AWS’s own',
    companies: 'Partner Central has no account object; the customer is part of the opportunity',
    deletes: 'Partner Central has no delete; opportunities are closed (Closed Lost) instead',
  },
);
