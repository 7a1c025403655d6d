import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsPartnerCentralSandboxOrg } from '@cosell/sandbox/aws-partner-central';
import type { StoredOpportunity } from '../../sandbox/aws-partner-central/service.js';
import { startLinkHarness, type LinkHarness } from '../helpers/linkWorker.js';
import { uniqueQueue } from '../helpers/temporal.js';
import { eventually } from '../helpers/wait.js';
import { linkHandle, linkStatusQuery } from '../../lib/workflowClient.js';

/**
 * Co-selling with AWS end to end: the vendor's Salesforce org and an AWS Partner Central account
 * (sandbox) linked both ways with the stock mappings, the linkSync workflows on the real dev server,
 * the unmodified jsforce and AWS SDK underneath.
 *
 * 1. share → review → approved: a seller marks an Opportunity "Share with AWS"; it is created in
 *    Partner Central, associated with the solution and submitted; AWS's review moves it to Approved,
 *    and the vendor Opportunity shows AWS's stage and review status. A thin one comes back Action
 *    Required with AWS's comments on the vendor record.
 * 2. invitation → accepted → vendor opportunity: AWS refers a Retail customer (the policy accepts
 *    Retail) and a Gaming one (rejected with the policy's reason); the accepted referral appears in
 *    the vendor CRM as an AWS Referral.
 * 3. a concurrent edit: while the vendor's close-date change is being written, an AWS seller moves the
 *    stage; the update meets a ConflictException, is re-read and re-applied: both changes stand, and
 *    AWS's stage is mirrored to the vendor.
 */
let h: LinkHarness;
const taskQueue = uniqueQueue('aws-ace');
const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-8);
const share = `ace-share-${tag}`;
const mirror = `ace-mirror-${tag}`;
const REVIEW_MS = 4_000;

beforeAll(async () => {
  h = await startLinkHarness({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor' },
      { id: 'aws', kind: 'aws-partner-central', faults: { aceWritesPerSecond: 50 }, partnerCentral: { reviewDelayMs: REVIEW_MS } },
    ],
    envPrefix: `ACE${tag.toUpperCase()}`,
    taskQueue,
    startLinks: true,
    network: (conn) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - id: aws
    name: AWS co-sell
    kind: aws-partner-central
    tier: cloud
    connection: ${conn.aws!.replace(/ }$/, ', limits: { writesPerSecond: 20 }, invitations: { mode: accept-or-reject, industries: [Retail], rejectReason: Outside our focus industries } }')}
links:
  - { id: ${share}, from: vendor.Opportunity, to: aws.Opportunity, mapping: $STOCK/salesforce-opportunity-to-aws-opportunity.yaml, pairedWith: ${mirror}, share: all, deletes: ignore, schedule: 1s }
  - { id: ${mirror}, from: aws.Opportunity, to: vendor.Opportunity, mapping: $STOCK/aws-opportunity-to-salesforce-opportunity.yaml, pairedWith: ${share}, deletes: ignore, schedule: 1s }
`,
  });
}, 180_000);

afterAll(() => h?.close());

const ace = () => h.sb.org('aws') as AwsPartnerCentralSandboxOrg;
const aceByKey = (key: string): StoredOpportunity | undefined => ace().service.all().opportunities.find((o) => o.data.PartnerOpportunityIdentifier === key);
const lifeCycle = (o: StoredOpportunity | undefined) => (o?.data.LifeCycle ?? {}) as Record<string, unknown>;
const vendor = () => h.sb.jsforce('vendor');
const readVendor = async (id: string) => (await vendor().sobject('Opportunity').retrieve(id)) as unknown as Record<string, unknown>;
const admin = async (path: string, body: unknown) => {
  const res = await fetch(`${h.sb.baseUrls.aws}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
};

async function shareOpportunity(name: string, problem: string): Promise<string> {
  // The share link created the AWS fields on its first run.
  await eventually('the AWS fields on the vendor Opportunity', async () => ((await vendor().sobject('Opportunity').describe()).fields.some((f) => f.name === 'AWS_Share__c') ? true : undefined), { timeoutMs: 60_000 });
  const res = (await vendor().sobject('Opportunity').create({
    Name: name, StageName: 'Qualification', CloseDate: '2027-03-31', Amount: 120000, Customer_Domain__c: `${name.toLowerCase().replace(/[^a-z]/g, '')}.com`,
    AWS_Share__c: true, AWS_Industry__c: 'Healthcare', AWS_Country__c: 'DE', AWS_Business_Problem__c: problem,
  })) as { id: string; success: boolean };
  expect(res.success).toBe(true);
  return res.id;
}

/** Both links' status, what Partner Central holds and what the vendor records show — for a wait that timed out. */
async function whereItStands(vendorIds: string[]): Promise<string> {
  const links = await Promise.all([share, mirror].map(async (id) => {
    const s = await linkHandle(h.client, id).query(linkStatusQuery).catch((x: unknown) => String(x));
    return `${id}: ${JSON.stringify(s).slice(0, 800)}`;
  }));
  const vendorRows = await Promise.all(vendorIds.map(async (id) => {
    const v = await readVendor(id).catch((x: unknown) => ({ error: String(x) }) as Record<string, unknown>);
    const a = aceByKey(id);
    return `${id}: vendor ${JSON.stringify({ review: v.AWS_Review_Status__c, stage: v.AWS_Stage__c, awsId: v.AWS_Opportunity_Id__c, modified: v.LastModifiedDate })}; ace ${JSON.stringify({ id: a?.Id, lifeCycle: lifeCycle(a), modified: a ? new Date(a.LastModifiedDate).toISOString() : null })}`;
  }));
  const parked = (await h.ledger.deadLetters.list({ status: 'pending' })).map((d) => `dead letter ${d.linkId} ${d.sourceId} ${d.code ?? ''}: ${d.reason}`.slice(0, 300));
  const audit = (await h.ledger.audit.list({ linkId: mirror })).slice(-12).map((a) => `${a.at} ${a.action} ${a.sourceId}→${a.targetId} ${JSON.stringify(a.after ?? a.details ?? {}).slice(0, 200)}`);
  return [...links, ...vendorRows, ...parked, 'mirror audit (last 12):', ...audit].join('\n  ');
}

describe('co-selling with AWS Partner Central (e2e, dev server)', () => {
  it('share → AWS review → Approved mirrored onto the vendor Opportunity; a thin one comes back Action Required with AWS comments', async () => {
    const good = await shareOpportunity('Contoso Health Lake', 'The hospital group must move 2 PB of imaging archives out of its data centre by next year.');
    const thin = await shareOpportunity('Contoso Thin Deal', 'Needs cloud');
    const created = await eventually('both in Partner Central, submitted', async () => {
      const a = aceByKey(good);
      const b = aceByKey(thin);
      return a && b && lifeCycle(a).ReviewStatus !== 'Pending Submission' && lifeCycle(b).ReviewStatus !== 'Pending Submission' ? { a, b } : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    expect(created.a.data).toMatchObject({ OpportunityType: 'Net New Business', Customer: { Account: { CompanyName: 'Contoso Health Lake', Industry: 'Healthcare', WebsiteUrl: 'https://contosohealthlake.com', Address: { CountryCode: 'DE' } } }, Project: { DeliveryModels: ['SaaS or PaaS'], ExpectedCustomerSpend: [{ Amount: '10000', CurrencyCode: 'USD' }] }, LifeCycle: { Stage: 'Qualified', TargetCloseDate: '2027-03-31' } });
    expect(created.a.related.Solutions).toEqual(['S-0000001']);

    const mirrored = await eventually('AWS review mirrored onto the vendor', async () => {
      const [a, b] = await Promise.all([readVendor(good), readVendor(thin)]);
      return a.AWS_Review_Status__c === 'Approved' && b.AWS_Review_Status__c === 'Action Required' ? { a, b } : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1000 }).catch(async (e: Error) => {
      // Seconds alone, but >120 s in two full fresh-clone runs (2026-12-07): say where each side stood.
      throw new Error(`${e.message}\n  ${await whereItStands([good, thin])}`);
    });
    expect(mirrored.a).toMatchObject({ AWS_Stage__c: 'Qualified', AWS_Origin__c: 'Partner Referral', Name: 'Contoso Health Lake', StageName: 'Qualification', Amount: 120000 });
    expect(String(mirrored.b.AWS_Review_Comments__c)).toContain('business problem');
    // Mirrored onto the same records, no second Opportunity per shared one.
    const copies = await vendor().query<{ Id: string }>(`SELECT Id FROM Opportunity WHERE Name = 'Contoso Health Lake'`);
    expect(copies.records.map((r) => r.Id)).toEqual([good]);
  }, 300_000);

  it('AWS referrals: the Retail one is accepted by policy and appears in the vendor CRM; the Gaming one is rejected with the reason', async () => {
    const retail = await admin('/__sandbox/aws/invitations', { companyName: 'Northwind Traders', title: 'Northwind retail analytics', industry: 'Retail', amount: '4000', websiteUrl: 'https://www.northwindtraders.com' });
    const gaming = await admin('/__sandbox/aws/invitations', { companyName: 'Tailspin Games', title: 'Tailspin game backend', industry: 'Gaming' });
    const inVendor = await eventually('the accepted referral in the vendor CRM', async () => {
      const res = await vendor().query<Record<string, unknown>>(`SELECT Id, Name, AWS_Origin__c, AWS_Opportunity_Id__c, AWS_Industry__c, Amount, StageName, Customer_Domain__c FROM Opportunity WHERE Name = 'Northwind retail analytics'`);
      return res.records[0];
    }, { timeoutMs: 120_000, intervalMs: 1000 });
    const invitations = ace().service.all().invitations;
    const r = invitations.find((i) => i.Id === retail.id)!;
    const g = invitations.find((i) => i.Id === gaming.id)!;
    expect(r).toMatchObject({ Status: 'ACCEPTED' });
    expect(g).toMatchObject({ Status: 'REJECTED', RejectionReason: 'Outside our focus industries' });
    expect(inVendor).toMatchObject({ AWS_Origin__c: 'AWS Referral', AWS_Opportunity_Id__c: r.OpportunityId, AWS_Industry__c: 'Retail', Amount: 48000, StageName: 'Prospecting', Customer_Domain__c: 'northwindtraders.com' });
    // The referral is not shared back as a new Partner Central opportunity (it is paired with its origin).
    expect(ace().service.all().opportunities.filter((o) => (o.data.Project as { Title?: string })?.Title === 'Northwind retail analytics')).toHaveLength(1);
  }, 300_000);

  it('a concurrent edit: the vendor changes the close date while an AWS seller moves the stage — conflict re-read, both changes stand', async () => {
    const id = await shareOpportunity('Contoso Race Deal', 'The retailer needs its order platform to scale 10x for the holiday season.');
    const opp = await eventually('approved in Partner Central', async () => {
      const o = aceByKey(id);
      return lifeCycle(o).ReviewStatus === 'Approved' ? o : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    // The AWS seller's edit lands between the connector's read and its write.
    await admin(`/__sandbox/aws/edit-on-next-update/Sandbox/${opp!.Id}`, { Stage: 'Technical Validation', NextSteps: 'AWS SA joins the next call' });
    const conflictsBefore = ace().service.conflicts;
    await vendor().sobject('Opportunity').update({ Id: id, CloseDate: '2027-05-15' });
    await eventually('both changes in Partner Central', async () => {
      const lc = lifeCycle(aceByKey(id));
      return lc.TargetCloseDate === '2027-05-15' && lc.Stage === 'Technical Validation' ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    expect(ace().service.conflicts).toBeGreaterThan(conflictsBefore);
    expect(lifeCycle(aceByKey(id)).NextSteps).toBe('AWS SA joins the next call');
    const v = await eventually('AWS stage mirrored', async () => {
      const r = await readVendor(id);
      return r.AWS_Stage__c === 'Technical Validation' ? r : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}\n  ${await whereItStands([id])}`);
    });
    // The vendor's own pipeline is untouched by AWS's stage.
    expect(v).toMatchObject({ CloseDate: '2027-05-15', StageName: 'Qualification' });
  }, 300_000);
});
