import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { installFaults } from '../faults.js';
import { isTrueParam } from '../http.js';
import { HubspotHttpError, errorBody, httpError } from './errors.js';
import { rateLimitBody } from './limits.js';
import { resolveObjectType, type ObjectTypeMeta } from './meta.js';
import type { HubspotPortal } from './portal.js';
import { registerAssociationRoutes } from './routes/associations.js';
import { registerBatchRoutes } from './routes/batch.js';
import { registerObjectRoutes } from './routes/objects.js';
import { registerOauthRoutes } from './routes/oauth.js';
import { registerSchemaRoutes } from './routes/schema.js';
import { registerSearchRoutes } from './routes/search.js';

/**
 * The portal's HTTP surface, in one encapsulated fastify plugin so its hooks (faults, auth, limits) and
 * error handler never touch the host's own routes (`/__sandbox/*`, web pages) on the same instance.
 * Order per request, as in HubSpot: injected faults → authentication (401) → rate limits (429) → handler.
 */
const API_PREFIXES = ['/crm/', '/oauth/'];

function isApi(url: string): boolean {
  return API_PREFIXES.some((p) => url.startsWith(p));
}

function isSearch(req: FastifyRequest): boolean {
  return req.method === 'POST' && /^\/crm\/v3\/objects\/[^/]+\/search(\?|$)/.test(req.url);
}

export async function registerPortal(app: FastifyInstance, portal: HubspotPortal): Promise<void> {
  await app.register(async (scope) => {
    if (!scope.hasContentTypeParser('application/x-www-form-urlencoded')) {
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      });
    }

    installFaults(scope, portal.faults, {
      applies: (req) => isApi(req.url),
      serverError: (reply) => reply.code(503).send(errorBody('INTERNAL_ERROR', 'Service Unavailable: the sandbox injected a 5xx (errorRate fault)')),
      tooManyRequests: (reply) => reply.code(429).send(rateLimitBody('TEN_SECONDLY_ROLLING', randomUUID())),
    });

    scope.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/crm/')) return; // the OAuth endpoints authenticate with client credentials
      const now = portal.limitNow();
      const check = portal.tokens.check(req.headers.authorization, now, portal.faults.tokenEpoch);
      if (!check.ok) {
        const body =
          check.reason === 'expired'
            ? errorBody('EXPIRED_AUTHENTICATION', `The OAuth token used to make this call expired ${ago(check.expiredAgoMs)} ago.`)
            : errorBody(
                'INVALID_AUTHENTICATION',
                'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
              );
        return reply.code(401).header('x-hubspot-auth-failure', '401 Unauthorized').send(body);
      }
      const verdict = portal.limiter.admit(now, isSearch(req));
      reply.headers(verdict.headers);
      if (!verdict.ok) return reply.code(429).send(rateLimitBody(verdict.policy, randomUUID()));
    });

    scope.setErrorHandler((err: any, req, reply) => {
      if (err instanceof HubspotHttpError) return reply.code(err.statusCode).headers(err.headers).send(err.body);
      if (err?.statusCode === 400 || err?.statusCode === 415 || err instanceof SyntaxError) {
        return reply.code(400).send(errorBody('VALIDATION_ERROR', `Invalid input JSON: ${err.message}`));
      }
      if (err?.statusCode === 413) return reply.code(413).send(errorBody('VALIDATION_ERROR', err.message));
      req.log.error({ err }, 'hubspot sandbox: unexpected error');
      return reply.code(500).send(errorBody('INTERNAL_ERROR', 'internal error'));
    });

    registerObjectRoutes(scope, portal);
    registerBatchRoutes(scope, portal);
    registerSearchRoutes(scope, portal);
    registerSchemaRoutes(scope, portal);
    registerAssociationRoutes(scope, portal);
    registerOauthRoutes(scope, portal);
  });
}

function ago(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} second(s)`;
  if (s < 3600) return `${Math.floor(s / 60)} minute(s)`;
  if (s < 86_400) return `${Math.floor(s / 3600)} hour(s)`;
  return `${Math.floor(s / 86_400)} day(s)`;
}

// ---------- helpers shared by the route files ----------

export function objectType(segment: string): ObjectTypeMeta {
  const meta = resolveObjectType(segment);
  if (!meta) throw httpError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${segment}`);
  return meta;
}

/** A multi-valued query parameter: repeated (`?properties=a&properties=b`) or comma-separated. */
export function listParam(q: Record<string, unknown>, name: string): string[] | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  const arr = Array.isArray(v) ? v : [v];
  return arr.flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean);
}

export function boolParam(q: Record<string, unknown>, name: string): boolean {
  return isTrueParam(q[name]);
}

export function strParam(q: Record<string, unknown>, name: string): string | undefined {
  const v = q[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : String(s);
}

export function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? 'localhost'}`;
}

export type Query = Record<string, unknown>;
export type Reply = FastifyReply;
