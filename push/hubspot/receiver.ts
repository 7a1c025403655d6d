import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Ledger } from '../../ledger/index.js';
import { log as rootLog } from '../../lib/logger.js';
import { batchProblem, parseBatch } from './events.js';
import { verifyV3, type Verdict } from './signature.js';

/**
 * The HTTP endpoint a HubSpot app's webhooks are delivered to, for one org. In order:
 *   1. the v3 signature over method + URI + raw body + timestamp, and the timestamp's age (≤ 5 min) —
 *      anything else is 401 and nothing is stored;
 *   2. the body: a JSON array of event objects (else 400);
 *   3. every event written to the ledger (push_events) in one transaction, once per dedupe key —
 *      events that cannot be used are kept as `rejected` with the reason;
 *   4. only then 200. No CRM call happens here: the forwarder hands the changes on afterwards, so the
 *      answer is fast (HubSpot gives up on a delivery after 5 s and retries it).
 * If the ledger write fails the answer is 503 and HubSpot delivers the batch again.
 */
export interface HubspotReceiverOptions {
  org: string;
  /** URL path the app's target URL points at. */
  path: string;
  clientSecret: string;
  /** The target URL as configured in the HubSpot app (what HubSpot signs); default: this request's own URL. */
  publicUrl?: string;
  /** Only accept events of this app. */
  appId?: number;
  ledger: Ledger;
  /** Told after every stored batch (the forwarder's kick). */
  onStored?: (inserted: number) => void;
  now?: () => number;
}

export interface ReceiverStats {
  requests: number;
  unauthorized: number;
  badRequests: number;
  storeFailures: number;
  /** Events stored (new), duplicates (already stored), rejected (kept, not notified). */
  stored: number;
  duplicates: number;
  rejected: number;
  lastUnauthorized?: string;
}

export async function registerHubspotReceiver(app: FastifyInstance, opts: HubspotReceiverOptions): Promise<ReceiverStats> {
  const stats: ReceiverStats = { requests: 0, unauthorized: 0, badRequests: 0, storeFailures: 0, stored: 0, duplicates: 0, rejected: 0 };
  const log = rootLog.child({ component: 'hubspot-webhooks', org: opts.org });
  const now = opts.now ?? Date.now;
  await app.register(async (scope) => {
    // The signature covers the body byte for byte: keep it as received, parse it ourselves.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post(opts.path, async (req, reply) => {
      stats.requests++;
      const raw = typeof req.body === 'string' ? req.body : '';
      const verdict: Verdict = verifyV3({
        clientSecret: opts.clientSecret,
        method: req.method,
        uri: signedUri(req, opts.publicUrl),
        body: raw,
        timestamp: header(req, 'x-hubspot-request-timestamp'),
        signature: header(req, 'x-hubspot-signature-v3'),
        now: now(),
      });
      if (!verdict.ok) {
        stats.unauthorized++;
        stats.lastUnauthorized = verdict.reason;
        log.warn({ reason: verdict.reason }, 'webhook delivery refused (401)');
        return reply.code(401).send({ status: 'error', message: `X-HubSpot-Signature-v3 check failed: ${verdict.reason}` });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (e) {
        stats.badRequests++;
        return reply.code(400).send({ status: 'error', message: `the body is not JSON: ${(e as Error).message}` });
      }
      const problem = batchProblem(body);
      if (problem) {
        stats.badRequests++;
        return reply.code(400).send({ status: 'error', message: problem });
      }
      const events = parseBatch(opts.org, body as unknown[], { appId: opts.appId });
      let result: { inserted: string[]; duplicates: number };
      try {
        result = await opts.ledger.pushEvents.accept(events);
      } catch (e) {
        stats.storeFailures++;
        log.error({ err: e }, 'webhook batch not stored; answering 503 so HubSpot delivers it again');
        return reply.code(503).send({ status: 'error', message: 'not stored, deliver again' });
      }
      const fresh = new Set(result.inserted);
      const rejected = events.filter((e) => e.rejected && fresh.has(e.dedupeKey));
      for (const e of rejected) log.warn({ eventId: e.eventId, type: e.eventType, reason: e.rejected }, 'webhook event kept as rejected');
      stats.stored += result.inserted.length - rejected.length;
      stats.rejected += rejected.length;
      stats.duplicates += result.duplicates;
      if (result.inserted.length > 0) opts.onStored?.(result.inserted.length);
      return reply.code(200).send({ stored: result.inserted.length, duplicates: result.duplicates });
    });
  });
  return stats;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The URI HubSpot signed: the configured public URL (with this request's query), or the URL as called. */
function signedUri(req: FastifyRequest, publicUrl: string | undefined): string {
  const q = req.url.indexOf('?');
  const query = q >= 0 ? req.url.slice(q) : '';
  if (publicUrl) return publicUrl.replace(/\?.*$/, '') + query;
  return `${req.protocol}://${req.headers.host ?? 'localhost'}${req.url}`;
}
