import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { HubspotPortal } from '../portal.js';

/**
 * OAuth: `POST /oauth/v1/token` (form-encoded; grant_type=refresh_token) mints a new access token,
 * and `GET /oauth/v1/access-tokens/{token}` describes one. Error bodies use HubSpot's OAuth shape
 * (`{status: "BAD_REFRESH_TOKEN", message, correlationId}`), not the CRM error shape.
 */
export function registerOauthRoutes(app: FastifyInstance, portal: HubspotPortal): void {
  app.post<{ Body: Record<string, string> }>('/oauth/v1/token', async (req, reply) => {
    const b = req.body ?? {};
    const creds = portal.tokens.credentials;
    const fail = (status: string, message: string) => reply.code(400).send({ status, message, correlationId: randomUUID(), requestId: randomUUID() });
    if (b.grant_type !== 'refresh_token') return fail('BAD_GRANT_TYPE', `unsupported grant_type ${b.grant_type ?? '(missing)'}; the sandbox supports refresh_token`);
    if (b.client_id !== creds.clientId) return fail('BAD_CLIENT_ID', 'missing or unknown client id');
    if (b.client_secret !== creds.clientSecret) return fail('BAD_CLIENT_SECRET', 'missing or invalid client secret');
    if (b.refresh_token !== creds.refreshToken) return fail('BAD_REFRESH_TOKEN', 'missing or unknown refresh token');
    const { token, expiresInSec } = portal.tokens.issue(portal.limitNow(), portal.faults.tokenTtlMs, portal.faults.tokenEpoch);
    return { token_type: 'bearer', refresh_token: creds.refreshToken, access_token: token, expires_in: expiresInSec };
  });

  app.get<{ Params: { token: string } }>('/oauth/v1/access-tokens/:token', async (req, reply) => {
    const info = portal.tokens.info(req.params.token);
    const now = portal.limitNow();
    if (!info || info.epoch < portal.faults.tokenEpoch || now >= info.expiresAt) {
      return reply.code(404).send({ status: 'error', message: 'The access token is expired or invalid', correlationId: randomUUID() });
    }
    return {
      token: req.params.token, user: 'sandbox@cosell.example', hub_domain: `${portal.id}.sandbox.cosell`, scopes: ['oauth', 'crm.objects.companies.read', 'crm.objects.companies.write', 'crm.objects.deals.read', 'crm.objects.deals.write', 'crm.schemas.companies.write', 'crm.schemas.deals.write'],
      hub_id: portal.portalId, app_id: 1, expires_in: info.expiresAt === Infinity ? 0 : Math.max(0, Math.round((info.expiresAt - now) / 1000)), user_id: 1, token_type: 'access',
    };
  });
}
