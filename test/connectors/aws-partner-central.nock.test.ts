import nock from '../helpers/nock.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsPartnerCentralConnector, type AwsPartnerCentralConnector, type AwsPartnerCentralConnectorConfig } from '../../connectors/aws-partner-central/index.js';
import { resetAceDailyCounts } from '../../connectors/aws-partner-central/transport.js';
import { isConnectorError, type ConnectorError } from '../../connectors/errors.js';
import { resetRateBudgets } from '../../connectors/rateBudget.js';

/**
 * Unit-level error paths of the Partner Central connector: the real @aws-sdk/client-partnercentral-selling
 * against nock, answering in the service's awsJson1_0 shapes (`__type`, `x-amzn-errortype`, members).
 * Retries run with 1 ms back-off so the waits cost nothing.
 */
const BASE = 'https://ace.nock.test';
process.env.ACE_NOCK_KEY = 'AKIANOCKNOCKNOCK0000';
process.env.ACE_NOCK_SECRET = 'nock-secret-nock-secret-nock-secret-0000';
const NS = 'com.amazonaws.partnercentralselling#';

let seq = 0;
async function connector(extra: Partial<AwsPartnerCentralConnectorConfig> = {}): Promise<AwsPartnerCentralConnector> {
  return createAwsPartnerCentralConnector({
    kind: 'aws-partner-central',
    orgId: `nock-${++seq}`,
    catalog: 'Sandbox',
    endpoint: BASE,
    auth: { accessKeyId: 'env:ACE_NOCK_KEY', secretAccessKey: 'env:ACE_NOCK_SECRET' },
    limits: { readsPerSecond: 10_000, writesPerSecond: 10_000 },
    retry: { minDelayMs: 1, maxDelayMs: 2, jitter: false, retries: 3 },
    ...extra,
  });
}

type Body = Record<string, unknown>;
/** One expected call of `op`, answered with `status` and `body` (errors: `__type` + header, as AWS sends). */
function op(name: string, status: number, body: Body, check?: (req: Body) => boolean): nock.Scope {
  const type = typeof body.__type === 'string' ? String(body.__type).split('#').pop()! : undefined;
  return nock(BASE)
    .matchHeader('x-amz-target', `AWSPartnerCentralSelling.${name}`)
    .matchHeader('authorization', /^AWS4-HMAC-SHA256 Credential=AKIANOCKNOCKNOCK0000\/\d{8}\/us-east-1\/partnercentral-selling\/aws4_request/)
    .post('/', (req: Body) => (check ? check(req) : true))
    .reply(status, JSON.stringify(body), { 'content-type': 'application/x-amz-json-1.0', ...(type ? { 'x-amzn-errortype': type } : {}) });
}

const T1 = '2026-11-01T10:00:00.000Z';
const T2 = '2026-11-01T10:05:00.000Z';
function opportunity(lastModified: string, extra: Body = {}): Body {
  return {
    Catalog: 'Sandbox',
    Id: 'O1000001',
    PartnerOpportunityIdentifier: 'vendor-1',
    Customer: { Account: { CompanyName: 'Acme Corp', Industry: 'Retail', WebsiteUrl: 'https://acme.example.com', Address: { CountryCode: 'US' } } },
    Project: { Title: 'Acme migration', CustomerBusinessProblem: 'Acme runs out of data centre capacity next year.', DeliveryModels: ['SaaS or PaaS'] },
    LifeCycle: { Stage: 'Prospect', ReviewStatus: 'Pending Submission', TargetCloseDate: '2027-01-31' },
    OpportunityType: 'Net New Business',
    CreatedDate: T1,
    LastModifiedDate: lastModified,
    RelatedEntityIdentifiers: { Solutions: [], AwsProducts: [] },
    ...extra,
  };
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  if (!isConnectorError(e)) throw new Error(`expected a ConnectorError, got ${String(e)}`);
  return e;
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(() => {
  resetRateBudgets();
  resetAceDailyCounts();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('aws-partner-central connector: error mapping (nock)', () => {
  it('ValidationException → a failed record with kind validation, the ErrorList fields and code; the rest of the batch is written', async () => {
    const c = await connector();
    op('ListOpportunities', 200, { OpportunitySummaries: [] });
    op('CreateOpportunity', 400, { __type: `${NS}ValidationException`, Message: 'Validation failed', Reason: 'REQUEST_VALIDATION_FAILED', ErrorList: [{ FieldName: 'Customer.Account.Industry', Code: 'INVALID_ENUM_VALUE', Message: '"Mining Co" is not a valid value' }] });
    op('CreateOpportunity', 200, { Id: 'O1000002', LastModifiedDate: T1 }, (b) => b.PartnerOpportunityIdentifier === 'k2' && typeof b.ClientToken === 'string' && /^[0-9a-f]{64}$/.test(String(b.ClientToken)));
    const res = await c.upsert('Opportunity', 'PartnerOpportunityIdentifier', [
      { key: 'k1', fields: { 'Customer.Account.Industry': 'Mining Co' } },
      { key: 'k2', fields: { 'Project.Title': 'ok' } },
    ]);
    expect(res[0]).toMatchObject({ status: 'failed', key: 'k1', error: { kind: 'validation', crmCode: 'INVALID_ENUM_VALUE', fields: ['Customer.Account.Industry'] } });
    expect(res[0]!.error!.message).toContain('is not a valid value');
    expect(res[1]).toMatchObject({ status: 'created', id: 'O1000002', key: 'k2' });
  });

  it('ConflictException on update → read again, re-apply only our change onto the newer version, send its LastModifiedDate', async () => {
    const c = await connector();
    op('GetOpportunity', 200, opportunity(T1));
    op('UpdateOpportunity', 409, { __type: `${NS}ConflictException`, Message: 'modified since' }, (b) => Date.parse(String(b.LastModifiedDate)) === Date.parse(T1));
    // Meanwhile an AWS seller wrote next steps: they must survive our retry.
    op('GetOpportunity', 200, opportunity(T2, { LifeCycle: { Stage: 'Prospect', ReviewStatus: 'Pending Submission', TargetCloseDate: '2027-01-31', NextSteps: 'Call the CTO' } }));
    let sent: Body | undefined;
    op('UpdateOpportunity', 200, { Id: 'O1000001', LastModifiedDate: '2026-11-01T10:06:00.000Z' }, (b) => {
      sent = b;
      return Date.parse(String(b.LastModifiedDate)) === Date.parse(T2);
    });
    const [r] = await c.update('Opportunity', [{ id: 'O1000001', fields: { 'LifeCycle.TargetCloseDate': '2027-03-31' } }]);
    expect(r).toMatchObject({ status: 'updated', id: 'O1000001' });
    expect(sent?.LifeCycle).toMatchObject({ TargetCloseDate: '2027-03-31', NextSteps: 'Call the CTO', Stage: 'Prospect' });
    // AWS-owned members are never sent back.
    expect((sent?.LifeCycle as Body).ReviewStatus).toBeUndefined();
  });

  it('a conflict that outlasts the re-reads is a failed record of kind conflict', async () => {
    const c = await connector({ conflictRetries: 1 });
    for (let i = 0; i < 2; i++) {
      op('GetOpportunity', 200, opportunity(i ? T2 : T1));
      op('UpdateOpportunity', 409, { __type: `${NS}ConflictException`, Message: 'modified since' });
    }
    const [r] = await c.update('Opportunity', [{ id: 'O1000001', fields: { 'Project.Title': 'New title' } }]);
    expect(r).toMatchObject({ status: 'failed', error: { kind: 'conflict', crmCode: 'ConflictException' } });
  });

  it('fields locked while AWS reviews: nothing is sent, the record fails with ACE_FIELD_LOCKED naming the fields', async () => {
    const c = await connector();
    op('GetOpportunity', 200, opportunity(T1, { LifeCycle: { Stage: 'Prospect', ReviewStatus: 'In review', TargetCloseDate: '2027-01-31' } }));
    const [r] = await c.update('Opportunity', [{ id: 'O1000001', fields: { 'Project.Title': 'Renamed', 'LifeCycle.TargetCloseDate': '2027-01-31' } }]);
    // TargetCloseDate is unchanged, so only the title is locked.
    expect(r).toMatchObject({ status: 'failed', error: { kind: 'validation', crmCode: 'ACE_FIELD_LOCKED', fields: ['Project.Title'] } });
  });

  it('Action Required opens only the fields AWS names: those are written, others refused', async () => {
    const c = await connector();
    const ar = { LifeCycle: { Stage: 'Prospect', ReviewStatus: 'Action Required', ReviewComments: 'More detail', TargetCloseDate: '2027-01-31' } };
    op('GetOpportunity', 200, opportunity(T1, ar));
    const [locked] = await c.update('Opportunity', [{ id: 'O1000001', fields: { 'Customer.Account.CompanyName': 'Acme Inc' } }]);
    expect(locked).toMatchObject({ status: 'failed', error: { crmCode: 'ACE_FIELD_LOCKED', fields: ['Customer.Account.CompanyName'] } });
    op('GetOpportunity', 200, opportunity(T1, ar));
    op('UpdateOpportunity', 200, { Id: 'O1000001', LastModifiedDate: T2 }, (b) => (b.Project as Body).CustomerBusinessProblem === 'A much longer description of the problem.');
    const [ok] = await c.update('Opportunity', [{ id: 'O1000001', fields: { 'Project.CustomerBusinessProblem': 'A much longer description of the problem.' } }]);
    expect(ok).toMatchObject({ status: 'updated' });
  });

  it('a write that changes nothing is not sent (the write quota is 1/s)', async () => {
    const c = await connector();
    op('GetOpportunity', 200, opportunity(T1));
    const [r] = await c.update('Opportunity', [{ id: 'O1000001', fields: { 'Project.Title': 'Acme migration', 'Project.DeliveryModels': 'SaaS or PaaS' } }]);
    expect(r).toMatchObject({ status: 'updated', id: 'O1000001' });
  });

  it('ThrottlingException is retried (rate_limited) and the call then succeeds', async () => {
    const c = await connector();
    op('GetOpportunity', 429, { __type: `${NS}ThrottlingException`, Message: 'Rate exceeded' });
    op('GetOpportunity', 429, { __type: `${NS}ThrottlingException`, Message: 'Rate exceeded' });
    op('GetOpportunity', 200, opportunity(T1));
    const [r] = await c.readByIds('Opportunity', ['O1000001'], ['Project.Title']);
    expect(r?.fields['Project.Title']).toBe('Acme migration');
  });

  it('a throttle of the 24-hour quota is quota_exhausted with resetsAt, not retried', async () => {
    const c = await connector();
    op('ListOpportunities', 429, { __type: `${NS}ThrottlingException`, Message: 'Daily read quota of 100000 per 24 hours exceeded' });
    const e = await rejection(c.changes('Opportunity', { modifiedAt: T1, id: '' }));
    expect(e.kind).toBe('quota_exhausted');
    expect(Date.parse(e.resetsAt!)).toBeGreaterThan(Date.now());
  });

  it('the local 24-hour write cap pauses before the service would throttle', async () => {
    const c = await connector({ limits: { readsPerSecond: 10_000, writesPerSecond: 10_000, dailyWrites: 2, dailyPauseAt: 1 } });
    op('ListOpportunities', 200, { OpportunitySummaries: [] });
    op('CreateOpportunity', 200, { Id: 'O1000010', LastModifiedDate: T1 });
    op('CreateOpportunity', 200, { Id: 'O1000011', LastModifiedDate: T1 });
    op('ListOpportunities', 200, { OpportunitySummaries: [] });
    const first = await c.upsert('Opportunity', 'PartnerOpportunityIdentifier', [{ key: 'a', fields: {} }, { key: 'b', fields: {} }]);
    expect(first.map((r) => r.status)).toEqual(['created', 'created']);
    const e = await rejection(c.upsert('Opportunity', 'PartnerOpportunityIdentifier', [{ key: 'c', fields: {} }]));
    expect(e.kind).toBe('quota_exhausted');
    expect(c.rateState()).toMatchObject({ dailyUsed: 2, dailyLimit: 2 });
  });

  it.each([
    ['AccessDeniedException', 403, `${NS}AccessDeniedException`],
    ['UnrecognizedClientException', 403, 'UnrecognizedClientException'],
    ['InvalidSignatureException', 403, 'InvalidSignatureException'],
  ])('%s → auth, surfaced at once', async (_name, status, type) => {
    const c = await connector();
    op('GetOpportunity', status, { __type: type, Message: 'denied' });
    const e = await rejection(c.readByIds('Opportunity', ['O1000001']));
    expect(e.kind).toBe('auth');
  });

  it('ResourceNotFoundException on a read → the record is simply absent', async () => {
    const c = await connector();
    op('GetOpportunity', 404, { __type: `${NS}ResourceNotFoundException`, Message: 'no such opportunity' });
    expect(await c.readByIds('Opportunity', ['O1000404'])).toEqual([]);
  });

  it('InternalServerException and a reset connection are transient: retried until the call succeeds', async () => {
    const c = await connector();
    op('GetOpportunity', 500, { __type: `${NS}InternalServerException`, Message: 'oops' });
    nock(BASE).matchHeader('x-amz-target', 'AWSPartnerCentralSelling.GetOpportunity').post('/').replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    op('GetOpportunity', 200, opportunity(T1));
    expect((await c.readByIds('Opportunity', ['O1000001'])).map((r) => r.id)).toEqual(['O1000001']);
  });

  it('transient errors that outlast the retries surface as transient', async () => {
    const c = await connector({ retry: { minDelayMs: 1, maxDelayMs: 2, jitter: false, retries: 1 } });
    op('GetOpportunity', 500, { __type: `${NS}InternalServerException`, Message: 'oops' });
    op('GetOpportunity', 503, { __type: 'ServiceUnavailableException', Message: 'try later' });
    const e = await rejection(c.readByIds('Opportunity', ['O1000001']));
    expect(e.kind).toBe('transient');
  });

  it('an answer that is not the protocol (HTML from a proxy) is a protocol error', async () => {
    const c = await connector();
    nock(BASE).post('/').reply(200, '<html>captive portal</html>', { 'content-type': 'text/html' });
    const e = await rejection(c.readByIds('Opportunity', ['O1000001']));
    expect(['protocol', 'transient']).toContain(e.kind);
    expect(e.kind).toBe('protocol');
  });

  it('a submission task that comes back FAILED is a failed record with its ReasonCode', async () => {
    const c = await connector();
    op('GetOpportunity', 200, opportunity(T1));
    op('StartEngagementFromOpportunityTask', 200, { TaskId: 'task-1', TaskStatus: 'FAILED', ReasonCode: 'OpportunitySubmissionFailed', Message: 'associate at least one partner solution before submitting' });
    const [r] = await c.update('Opportunity', [{ id: 'O1000001', fields: { 'AwsSubmission.InvolvementType': 'Co-Sell' } }]);
    expect(r).toMatchObject({ status: 'failed', error: { kind: 'validation', crmCode: 'OpportunitySubmissionFailed' } });
  });

  it('read-only fields are refused before any call', async () => {
    const c = await connector();
    const [r] = await c.update('Opportunity', [{ id: 'O1000001', fields: { 'LifeCycle.ReviewStatus': 'Approved' } }]);
    expect(r).toMatchObject({ status: 'failed', error: { kind: 'validation', crmCode: 'ACE_NOT_UPDATEABLE', fields: ['LifeCycle.ReviewStatus'] } });
  });
});
