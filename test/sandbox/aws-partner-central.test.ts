import {
  AssociateOpportunityCommand, CreateOpportunityCommand, GetEngagementInvitationCommand, GetOpportunityCommand, ListEngagementInvitationsCommand, ListOpportunitiesCommand,
  PartnerCentralSellingClient, RejectEngagementInvitationCommand, StartEngagementByAcceptingInvitationTaskCommand, StartEngagementFromOpportunityTaskCommand, UpdateOpportunityCommand,
  type CreateOpportunityCommandInput,
} from '@aws-sdk/client-partnercentral-selling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * The emulated Partner Central through the unmodified AWS SDK: SigV4 verified, the awsJson1_0 error
 * shapes the SDK turns into its exception classes, catalogs, optimistic concurrency, ClientToken
 * idempotency, review transitions on the org's frozen clock, engagement invitations, quotas and faults.
 */
let sb: TestSandbox;
let info: { endpoint: string; accessKeyId: string; secretAccessKey: string };

function client(creds: Partial<{ accessKeyId: string; secretAccessKey: string }> = {}, id = 'aws'): PartnerCentralSellingClient {
  const i = sb.orgs[id] as typeof info;
  return new PartnerCentralSellingClient({ region: 'us-east-1', endpoint: i.endpoint, maxAttempts: 1, credentials: { accessKeyId: creds.accessKeyId ?? i.accessKeyId, secretAccessKey: creds.secretAccessKey ?? i.secretAccessKey } });
}

const valid = (n: number, extra: Partial<CreateOpportunityCommandInput> = {}): CreateOpportunityCommandInput => ({
  Catalog: 'Sandbox',
  PartnerOpportunityIdentifier: `vendor-${n}`,
  OpportunityType: 'Net New Business',
  Customer: { Account: { CompanyName: `Customer ${n}`, Industry: 'Retail', WebsiteUrl: `https://c${n}.example.com`, Address: { CountryCode: 'US' } } },
  Project: { Title: `Deal ${n}`, CustomerBusinessProblem: 'The customer must leave its data centre within a year.', DeliveryModels: ['SaaS or PaaS'] },
  LifeCycle: { TargetCloseDate: '2027-06-30' },
  ...extra,
});

async function error(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  return p.then(() => {
    throw new Error('expected the call to fail');
  }, (e: Error & Record<string, unknown>) => e);
}

beforeAll(async () => {
  sb = await startTestSandbox({
    orgs: [
      { id: 'aws', kind: 'aws-partner-central', faults: { aceWritesPerSecond: 1000, aceReadsPerSecond: 1000 }, partnerCentral: { reviewDelayMs: 60_000 } },
      { id: 'limited', kind: 'aws-partner-central', partnerCentral: { catalogs: ['Sandbox'] } },
    ],
  });
  info = sb.orgs.aws as typeof info;
});
afterAll(async () => {
  await sb?.stop();
});

describe('sandbox: AWS Partner Central through the unmodified SDK', () => {
  it('verifies SigV4: a wrong secret, an unknown key and a tampered body are refused', async () => {
    const wrong = await error(client({ secretAccessKey: 'x'.repeat(40) }).send(new ListOpportunitiesCommand({ Catalog: 'Sandbox' })));
    expect(wrong.name).toBe('InvalidSignatureException');
    const unknown = await error(client({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00' }).send(new ListOpportunitiesCommand({ Catalog: 'Sandbox' })));
    expect(unknown.name).toBe('UnrecognizedClientException');
    const c = client();
    c.middlewareStack.add((next) => async (args) => {
      const req = args.request as { body: string };
      req.body = req.body.replace('Sandbox', 'Sandbo1'); // changed after signing (same length)
      return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'tamper' });
    const tampered = await error(c.send(new ListOpportunitiesCommand({ Catalog: 'Sandbox' })));
    expect(tampered.name).toBe('InvalidSignatureException');
    expect((await client().send(new ListOpportunitiesCommand({ Catalog: 'Sandbox' }))).OpportunitySummaries).toEqual([]);
  });

  it('catalogs: credentials without the AWS catalog get AccessDeniedException; catalogs are separate', async () => {
    const denied = await error(client({}, 'limited').send(new ListOpportunitiesCommand({ Catalog: 'AWS' })));
    expect(denied.name).toBe('AccessDeniedException');
    const created = await client().send(new CreateOpportunityCommand({ ...valid(1), Catalog: 'AWS' }));
    const inSandbox = await error(client().send(new GetOpportunityCommand({ Catalog: 'Sandbox', Identifier: created.Id! })));
    expect(inSandbox.name).toBe('ResourceNotFoundException');
  });

  it('ValidationException names every field with its code', async () => {
    const bad = valid(2, { Customer: { Account: { CompanyName: 'X', Industry: 'Mining Co' as 'Mining', WebsiteUrl: 'not a url', Address: { CountryCode: 'ZZ' as 'US' } } }, Project: { Title: 'T' } });
    const e = await error(client().send(new CreateOpportunityCommand(bad)));
    expect(e.name).toBe('ValidationException');
    const list = e.ErrorList as Array<{ FieldName: string; Code: string }>;
    expect(list).toEqual(expect.arrayContaining([
      expect.objectContaining({ FieldName: 'Customer.Account.Industry', Code: 'INVALID_ENUM_VALUE' }),
      expect.objectContaining({ FieldName: 'Customer.Account.Address.CountryCode', Code: 'INVALID_ENUM_VALUE' }),
      expect.objectContaining({ FieldName: 'Customer.Account.WebsiteUrl', Code: 'INVALID_STRING_FORMAT' }),
      expect.objectContaining({ FieldName: 'Project.CustomerBusinessProblem', Code: 'REQUIRED_FIELD_MISSING' }),
    ]));
  });

  it('ClientToken: the same request twice creates one opportunity; the token with another request conflicts', async () => {
    const a = await client().send(new CreateOpportunityCommand({ ...valid(3), ClientToken: 'token-3' }));
    const b = await client().send(new CreateOpportunityCommand({ ...valid(3), ClientToken: 'token-3' }));
    expect(b.Id).toBe(a.Id);
    const other = await error(client().send(new CreateOpportunityCommand({ ...valid(4), ClientToken: 'token-3' })));
    expect(other.name).toBe('ConflictException');
  });

  it('optimistic concurrency: an update with a stale LastModifiedDate is a ConflictException', async () => {
    const c = client();
    const { Id } = await c.send(new CreateOpportunityCommand(valid(5)));
    const v1 = await c.send(new GetOpportunityCommand({ Catalog: 'Sandbox', Identifier: Id! }));
    await sb.clock('aws', { advanceMs: 5 });
    await c.send(new UpdateOpportunityCommand({ Catalog: 'Sandbox', Identifier: Id!, LastModifiedDate: v1.LastModifiedDate!, LifeCycle: { ...v1.LifeCycle, NextSteps: 'first' } }));
    const stale = await error(c.send(new UpdateOpportunityCommand({ Catalog: 'Sandbox', Identifier: Id!, LastModifiedDate: v1.LastModifiedDate!, LifeCycle: { ...v1.LifeCycle, NextSteps: 'second' } })));
    expect(stale.name).toBe('ConflictException');
    expect((await c.send(new GetOpportunityCommand({ Catalog: 'Sandbox', Identifier: Id! }))).LifeCycle?.NextSteps).toBe('first');
  });

  it('review: submitted → In review → Approved on the org clock, locked meanwhile; a thin problem → Action Required with comments, then only open fields', async () => {
    const c = client();
    await sb.clock('aws', { freeze: true });
    try {
      const good = (await c.send(new CreateOpportunityCommand(valid(6)))).Id!;
      const thin = (await c.send(new CreateOpportunityCommand(valid(7, { Project: { Title: 'Thin', CustomerBusinessProblem: 'Too short', DeliveryModels: ['Resell'] } })))).Id!;
      const noSolution = await c.send(new StartEngagementFromOpportunityTaskCommand({ Catalog: 'Sandbox', Identifier: good, AwsSubmission: { InvolvementType: 'Co-Sell' } }));
      expect(noSolution).toMatchObject({ TaskStatus: 'FAILED', ReasonCode: 'OpportunitySubmissionFailed' });
      for (const id of [good, thin]) {
        await c.send(new AssociateOpportunityCommand({ Catalog: 'Sandbox', OpportunityIdentifier: id, RelatedEntityType: 'Solutions', RelatedEntityIdentifier: 'S-0000001' }));
        const task = await c.send(new StartEngagementFromOpportunityTaskCommand({ Catalog: 'Sandbox', Identifier: id, AwsSubmission: { InvolvementType: 'Co-Sell', Visibility: 'Full' } }));
        expect(task.TaskStatus).toBe('COMPLETE');
      }
      const status = async (id: string) => (await c.send(new GetOpportunityCommand({ Catalog: 'Sandbox', Identifier: id }))).LifeCycle;
      expect((await status(good))?.ReviewStatus).toBe('Submitted');
      const submitted = await c.send(new GetOpportunityCommand({ Catalog: 'Sandbox', Identifier: good }));
      const locked = await error(c.send(new UpdateOpportunityCommand({ Catalog: 'Sandbox', Identifier: good, LastModifiedDate: submitted.LastModifiedDate!, Project: { ...submitted.Project, Title: 'Renamed' } })));
      expect(locked.name).toBe('ValidationException');
      expect(locked.ErrorList).toEqual([expect.objectContaining({ FieldName: 'Project.Title', Code: 'INVALID_RESOURCE_STATE' })]);
      await sb.clock('aws', { advanceMs: 30_000 });
      expect((await status(good))?.ReviewStatus).toBe('In review');
      await sb.clock('aws', { advanceMs: 30_000 });
      expect((await status(good))?.ReviewStatus).toBe('Approved');
      const ar = await status(thin);
      expect(ar).toMatchObject({ ReviewStatus: 'Action Required', ReviewComments: expect.stringContaining('business problem') });

      const v = await c.send(new GetOpportunityCommand({ Catalog: 'Sandbox', Identifier: thin }));
      const notOpen = await error(c.send(new UpdateOpportunityCommand({ Catalog: 'Sandbox', Identifier: thin, LastModifiedDate: v.LastModifiedDate!, Customer: { Account: { ...v.Customer!.Account!, CompanyName: 'Someone else' } } })));
      expect(notOpen.ErrorList).toEqual([expect.objectContaining({ FieldName: 'Customer.Account.CompanyName', Code: 'ACTION_NOT_PERMITTED' })]);
      await c.send(new UpdateOpportunityCommand({ Catalog: 'Sandbox', Identifier: thin, LastModifiedDate: v.LastModifiedDate!, Project: { ...v.Project, CustomerBusinessProblem: 'Now a problem described at proper length.' } }));
      expect((await status(thin))?.ReviewStatus).toBe('Submitted');
      await sb.clock('aws', { advanceMs: 60_000 });
      expect((await status(thin))?.ReviewStatus).toBe('Approved');
    } finally {
      await sb.clock('aws', { freeze: false });
    }
  });

  it('invitations: an AWS referral arrives PENDING; accepting creates an AWS Referral opportunity; rejecting keeps the reason', async () => {
    const c = client();
    const admin = async (body: unknown) => (await fetch(`${info.endpoint}/__sandbox/aws/invitations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<{ id: string }>;
    const a = await admin({ companyName: 'Northwind Traders', title: 'Northwind data lake', industry: 'Retail', amount: '25000' });
    const b = await admin({ companyName: 'Tailspin Air', title: 'Tailspin migration' });
    const pending = await c.send(new ListEngagementInvitationsCommand({ Catalog: 'Sandbox', ParticipantType: 'RECEIVER', Status: ['PENDING'] }));
    expect(pending.EngagementInvitationSummaries?.map((s) => s.Id)).toEqual(expect.arrayContaining([a.id, b.id]));
    const inv = await c.send(new GetEngagementInvitationCommand({ Catalog: 'Sandbox', Identifier: a.id }));
    expect(inv.Payload?.OpportunityInvitation?.Customer).toMatchObject({ CompanyName: 'Northwind Traders', Industry: 'Retail' });
    const task = await c.send(new StartEngagementByAcceptingInvitationTaskCommand({ Catalog: 'Sandbox', Identifier: a.id, ClientToken: 'accept-a' }));
    expect(task.TaskStatus).toBe('COMPLETE');
    const opp = await c.send(new GetOpportunityCommand({ Catalog: 'Sandbox', Identifier: task.OpportunityId! }));
    // (GetOpportunity's answer has no Origin member: a referral shows as an opportunity without our PartnerOpportunityIdentifier.)
    expect(opp).toMatchObject({ Customer: { Account: { CompanyName: 'Northwind Traders' } }, Project: { Title: 'Northwind data lake' }, LifeCycle: { Stage: 'Prospect' } });
    expect(opp.PartnerOpportunityIdentifier).toBeUndefined();
    const again = await c.send(new StartEngagementByAcceptingInvitationTaskCommand({ Catalog: 'Sandbox', Identifier: a.id, ClientToken: 'accept-a-again' }));
    expect(again).toMatchObject({ TaskStatus: 'FAILED', ReasonCode: 'EngagementInvitationConflict' });
    await c.send(new RejectEngagementInvitationCommand({ Catalog: 'Sandbox', Identifier: b.id, RejectionReason: 'Outside our territory' }));
    expect(await c.send(new GetEngagementInvitationCommand({ Catalog: 'Sandbox', Identifier: b.id }))).toMatchObject({ Status: 'REJECTED', RejectionReason: 'Outside our territory' });
  });

  it('quotas: the default 1 write/s answers a second write in the same second with ThrottlingException', async () => {
    const c = client({}, 'limited');
    const info2 = sb.orgs.limited as typeof info;
    expect(info2.endpoint).not.toBe(info.endpoint);
    const results = await Promise.allSettled([1, 2, 3].map((n) => c.send(new CreateOpportunityCommand(valid(100 + n)))));
    const throttled = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.name);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    expect(new Set(throttled)).toEqual(new Set(['ThrottlingException']));
  });

  it('faults: injected 5xx are InternalServerException, then clear', async () => {
    await sb.faults('aws', { errorRate: 1 });
    const e = await error(client().send(new ListOpportunitiesCommand({ Catalog: 'Sandbox' })));
    expect(e.name).toBe('InternalServerException');
    await sb.faults('aws', { aceWritesPerSecond: 1000, aceReadsPerSecond: 1000 });
    expect((await client().send(new ListOpportunitiesCommand({ Catalog: 'Sandbox' }))).OpportunitySummaries).toBeDefined();
  });
});
