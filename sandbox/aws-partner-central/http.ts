import type { FastifyInstance, FastifyReply } from 'fastify';
import { installFaults, RollingCounter, type FaultInjector } from '../faults.js';
import { AceError } from './errors.js';
import type { PartnerCentral, ReferralInput, ReviewOutcome } from './service.js';
import { verifySigV4 } from './sigv4.js';

/**
 * Partner Central's wire protocol, awsJson1_0: every operation is `POST /` with
 * `Content-Type: application/x-amz-json-1.0`, `X-Amz-Target: AWSPartnerCentralSelling.<Operation>`, a
 * SigV4 signature (service `partnercentral-selling`, us-east-1) and a JSON body; errors carry `__type`.
 * Quotas as the service enforces them per partner account (reads 10/s and 100,000 a day, writes 1/s and
 * 10,000 a day; all configurable through the org's faults), answered with ThrottlingException.
 */
export const TARGET_PREFIX = 'AWSPartnerCentralSelling.';
export const REGION = 'us-east-1';

const READS = new Set(['GetOpportunity', 'ListOpportunities', 'ListSolutions', 'GetEngagementInvitation', 'ListEngagementInvitations']);
const WRITES = new Set([
  'CreateOpportunity', 'UpdateOpportunity', 'AssociateOpportunity', 'DisassociateOpportunity', 'StartEngagementFromOpportunityTask', 'SubmitOpportunity',
  'StartEngagementByAcceptingInvitationTask', 'AcceptEngagementInvitation', 'RejectEngagementInvitation',
]);

export interface AceLimits {
  readsPerSecond: number;
  writesPerSecond: number;
  dailyReads: number;
  dailyWrites: number;
}

export const DEFAULT_ACE_LIMITS: AceLimits = { readsPerSecond: 10, writesPerSecond: 1, dailyReads: 100_000, dailyWrites: 10_000 };

export interface AceHttpOptions {
  service: PartnerCentral;
  faults: FaultInjector;
  /** accessKeyId → secretAccessKey of the credentials this account accepts. */
  credentials: ReadonlyMap<string, string>;
  limits: () => AceLimits;
  stats: { reads: number; writes: number; throttled: number };
}

function send(reply: FastifyReply, e: AceError): FastifyReply {
  const name = e.errorName;
  return reply.code(e.status).header('x-amzn-errortype', name).header('content-type', 'application/x-amz-json-1.0').send(JSON.stringify(e.body()));
}

export function registerPartnerCentral(app: FastifyInstance, opts: AceHttpOptions): void {
  const { service, faults } = opts;
  const windows = { read: new RollingCounter(1_000, 10), write: new RollingCounter(1_000, 10), dailyRead: new RollingCounter(86_400_000), dailyWrite: new RollingCounter(86_400_000) };

  app.addContentTypeParser('application/x-amz-json-1.0', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  installFaults(app, faults, {
    // The API is `POST /` (which the shared default counts as the web page root).
    applies: (req) => req.method === 'POST' && req.url.split('?')[0] === '/',
    serverError: (reply) => send(reply, new AceError('InternalServerException', 'An internal error occurred. Retry your request.')),
    tooManyRequests: (reply) => send(reply, new AceError('ThrottlingException', 'Rate exceeded', { ServiceCode: 'partnercentral-selling', QuotaCode: 'L-SANDBOX' })),
  });

  app.post('/', async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? {}));
    try {
      await verifySigV4({ method: req.method, host: req.headers.host ?? '', path: req.url, headers: req.headers, body: raw }, opts.credentials, REGION);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target.startsWith(TARGET_PREFIX)) throw new AceError('UnknownOperationException', `Unknown operation ${target || '(no X-Amz-Target)'}`);
      const op = target.slice(TARGET_PREFIX.length);
      const handler = (service as unknown as Record<string, unknown>)[op];
      if (!READS.has(op) && !WRITES.has(op)) throw new AceError('UnknownOperationException', `Unknown operation ${op}`);
      if (typeof handler !== 'function') throw new AceError('UnknownOperationException', `Unknown operation ${op}`);
      let body: Record<string, unknown>;
      try {
        const parsed = JSON.parse(raw.length ? raw.toString('utf8') : '{}') as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        throw new AceError('SerializationException', 'The request body is not a JSON object.');
      }
      throttle(op);
      service.tick();
      const out = (handler as (b: Record<string, unknown>) => unknown).call(service, body);
      if (WRITES.has(op)) opts.stats.writes++;
      else opts.stats.reads++;
      return reply.code(200).header('content-type', 'application/x-amz-json-1.0').send(JSON.stringify(out));
    } catch (e) {
      if (e instanceof AceError) return send(reply, e);
      return send(reply, new AceError('InternalServerException', (e as Error).message));
    }
  });

  function throttle(op: string): void {
    const l = opts.limits();
    const now = Date.now();
    const write = WRITES.has(op);
    const [win, perSec, day, perDay] = write ? [windows.write, l.writesPerSecond, windows.dailyWrite, l.dailyWrites] : [windows.read, l.readsPerSecond, windows.dailyRead, l.dailyReads];
    if (day.count(now) >= perDay) {
      opts.stats.throttled++;
      throw new AceError('ThrottlingException', `Daily ${write ? 'write' : 'read'} quota of ${perDay} per 24 hours exceeded`, { ServiceCode: 'partnercentral-selling', QuotaCode: write ? 'L-DAILY-WRITES' : 'L-DAILY-READS' });
    }
    if (win.count(now) >= perSec) {
      opts.stats.throttled++;
      throw new AceError('ThrottlingException', 'Rate exceeded', { ServiceCode: 'partnercentral-selling', QuotaCode: write ? 'L-WRITES-PER-SECOND' : 'L-READS-PER-SECOND' });
    }
    win.add(now);
    day.add(now);
  }

  // Sandbox-only controls (never faulted): what AWS's people do on their side.
  app.post<{ Body: ReferralInput }>('/__sandbox/aws/invitations', async (req, reply) => {
    const b = (req.body ?? {}) as ReferralInput;
    if (!b.companyName || !b.title) return reply.code(400).send({ error: 'companyName and title are required' });
    service.tick();
    const inv = service.addReferral(b);
    return { id: inv.Id, catalog: inv.Catalog, status: inv.Status };
  });
  app.post<{ Params: { catalog: string; id: string }; Body: ReviewOutcome }>('/__sandbox/aws/review/:catalog/:id', async (req, reply) => {
    const b = (req.body ?? {}) as ReviewOutcome;
    if (!['Approved', 'Action Required', 'Rejected'].includes(b.status)) return reply.code(400).send({ error: 'status must be Approved, Action Required or Rejected' });
    if (!service.forceReview(req.params.catalog, req.params.id, b)) return reply.code(404).send({ error: `no opportunity ${req.params.id} in ${req.params.catalog}` });
    return { ok: true };
  });
  app.post<{ Params: { catalog: string; id: string }; Body: Record<string, unknown> }>('/__sandbox/aws/edit/:catalog/:id', async (req, reply) => {
    service.tick();
    if (!service.awsEdit(req.params.catalog, req.params.id, (req.body ?? {}) as Record<string, unknown>)) return reply.code(404).send({ error: `no opportunity ${req.params.id} in ${req.params.catalog}` });
    return { ok: true };
  });
  app.post<{ Params: { catalog: string; id: string }; Body: Record<string, unknown> }>('/__sandbox/aws/edit-on-next-update/:catalog/:id', async (req, reply) => {
    if (!service.editOnNextUpdate(req.params.catalog, req.params.id, (req.body ?? {}) as Record<string, unknown>)) return reply.code(404).send({ error: `no opportunity ${req.params.id} in ${req.params.catalog}` });
    return { ok: true };
  });
  app.get('/__sandbox/aws/stats', async () => ({ ...opts.stats, conflicts: service.conflicts }));
}
