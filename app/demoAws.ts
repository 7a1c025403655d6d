import { setTimeout as sleep } from 'node:timers/promises';
import jsforce from 'jsforce';
import type { Sandbox } from '@cosell/sandbox';

/**
 * The demo's co-selling with AWS: a seller marks a few of the vendor's open opportunities "Share with
 * AWS" (AWS_Share__c, with the customer facts ACE requires), as one would in Salesforce. The
 * vendor-opps-to-aws link then creates and submits them in Partner Central; AWS's review comes back
 * onto them (AWS_Review_Status__c), and AWS referrals arrive as new vendor opportunities on their own
 * (the sandbox account refers one every 40 s; the network's invitation policy decides).
 */
const INDUSTRIES = ['Software and Internet', 'Healthcare', 'Retail', 'Financial Services', 'Manufacturing'];

export async function shareDemoOpportunities(opts: { sandbox: Sandbox; vendor?: string; aws?: string; count?: number; timeoutMs?: number; signal?: AbortSignal }): Promise<string[]> {
  const info = opts.sandbox.orgs[opts.vendor ?? 'vendor'];
  if (info?.kind !== 'salesforce') throw new Error('the demo vendor is not a Salesforce org');
  const conn = new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: info.accessToken, version: '62.0' });
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  // The link creates the AWS fields on the vendor Opportunity when it first runs.
  for (;;) {
    const fields = (await conn.sobject('Opportunity').describe()).fields.map((f) => f.name);
    if (fields.includes('AWS_Share__c')) break;
    if (Date.now() > deadline) throw new Error('the AWS fields never appeared on the vendor Opportunity (is the vendor-opps-to-aws link running?)');
    await sleep(1000, undefined, { signal: opts.signal }); // Ctrl-C ends the wait
  }
  // ACE needs the customer's website: opportunities without a customer domain get one from their name.
  const open = await conn.query<{ Id: string; Name: string; Customer_Domain__c: string | null }>(`SELECT Id, Name, Customer_Domain__c FROM Opportunity WHERE IsClosed = false AND Amount != null ORDER BY Amount DESC LIMIT ${opts.count ?? 5}`);
  const shared: string[] = [];
  for (const [i, o] of open.records.entries()) {
    // One short business problem: AWS sends that one back as Action Required, with its comment.
    const problem = i === open.records.length - 1 ? 'Needs cloud' : `${o.Name}: the customer must move its core workloads to AWS this year and needs our platform to do it.`;
    const domain = o.Customer_Domain__c || `${o.Name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'customer'}.example`;
    await conn.sobject('Opportunity').update({ Id: o.Id, Customer_Domain__c: domain, AWS_Share__c: true, AWS_Industry__c: INDUSTRIES[i % INDUSTRIES.length], AWS_Country__c: 'US', AWS_Business_Problem__c: problem });
    shared.push(`${o.Id} ${o.Name}`);
  }
  const awsPage = opts.sandbox.pages[opts.aws ?? 'aws'];
  return [
    `    shared ${shared.length} vendor opportunities (AWS_Share__c): ${shared.map((s) => s.split(' ')[0]).join(', ')}`,
    '    they are created and submitted in Partner Central; AWS reviews them in ~30 s: AWS_Review_Status__c / AWS_Review_Comments__c',
    '    on the vendor Opportunity (one comes back Action Required). AWS referrals arrive every 40 s: accepted ones become vendor',
    `    Opportunities with AWS_Origin__c = AWS Referral. See ${awsPage ?? 'the aws sandbox page'} and the vendor page;`,
    '    decide referrals yourself with `cosell aws invitations list aws` (source .cosell/demo.env first).',
  ];
}
