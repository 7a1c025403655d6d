import { createSign } from 'node:crypto';
import { resolveSecret } from '../../lib/secrets.js';
import { registerSecret } from '../../lib/logger.js';
import { ConnectorError } from '../errors.js';
import type { SalesforceAuth, SalesforceConnectorConfig } from './config.js';
import type { SalesforceTransport } from './transport.js';

/**
 * Getting an access token for each supported OAuth flow. Secrets are resolved from their references
 * only here, registered with the logger (scrubbed from every line) and never put in a message.
 */
export interface Token {
  accessToken: string;
  instanceUrl?: string;
}

export type AuthFlow = 'accessToken' | 'clientCredentials' | 'refreshToken' | 'jwtBearer' | 'password';

export function flowOf(auth: SalesforceAuth): AuthFlow {
  if ('accessToken' in auth) return 'accessToken';
  if ('privateKey' in auth) return 'jwtBearer';
  if ('password' in auth) return 'password';
  if ('refreshToken' in auth && auth.refreshToken !== undefined) return 'refreshToken';
  return 'clientCredentials';
}

/** Whether the flow can mint a new token when the current one expires. */
export function canReauthenticate(auth: SalesforceAuth): boolean {
  return flowOf(auth) !== 'accessToken';
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

/** An RS256-signed JWT bearer assertion (iss = client id, sub = username, aud = login host, 3 min expiry). */
export function jwtAssertion(opts: { clientId: string; username: string; audience: string; privateKeyPem: string; nowMs?: number }): string {
  const now = Math.floor((opts.nowMs ?? Date.now()) / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({ iss: opts.clientId, sub: opts.username, aud: opts.audience, exp: now + 180, iat: now }));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${base64url(signer.sign(opts.privateKeyPem))}`;
}

export async function obtainToken(cfg: SalesforceConnectorConfig, transport: SalesforceTransport): Promise<Token> {
  const auth = cfg.auth;
  const where = `org ${cfg.orgId} auth`;
  const flow = flowOf(auth);
  if ('accessToken' in auth) return { accessToken: resolveSecret(auth.accessToken, where) };

  const loginUrl = (cfg.loginUrl ?? cfg.instanceUrl).replace(/\/+$/, '');
  const params = new URLSearchParams();
  const clientId = resolveSecret(auth.clientId, where);
  switch (flow) {
    case 'clientCredentials': {
      const a = auth as { clientSecret: string };
      params.set('grant_type', 'client_credentials');
      params.set('client_id', clientId);
      params.set('client_secret', resolveSecret(a.clientSecret, where));
      break;
    }
    case 'refreshToken': {
      const a = auth as { clientSecret?: string; refreshToken: string };
      params.set('grant_type', 'refresh_token');
      params.set('client_id', clientId);
      if (a.clientSecret) params.set('client_secret', resolveSecret(a.clientSecret, where));
      params.set('refresh_token', resolveSecret(a.refreshToken, where));
      break;
    }
    case 'jwtBearer': {
      const a = auth as { username: string; privateKey: string; audience?: string };
      params.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
      params.set(
        'assertion',
        jwtAssertion({ clientId, username: a.username, audience: a.audience ?? loginUrl, privateKeyPem: resolveSecret(a.privateKey, where), nowMs: cfg.now?.() }),
      );
      break;
    }
    case 'password': {
      const a = auth as { clientSecret: string; username: string; password: string };
      params.set('grant_type', 'password');
      params.set('client_id', clientId);
      params.set('client_secret', resolveSecret(a.clientSecret, where));
      params.set('username', a.username);
      params.set('password', resolveSecret(a.password, where));
      break;
    }
  }
  const res = await transport.httpRequest({
    method: 'POST',
    url: `${loginUrl}/services/oauth2/token`,
    body: params.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  });
  let body: { access_token?: string; instance_url?: string };
  try {
    body = JSON.parse(res.body);
  } catch {
    throw new ConnectorError('protocol', `${where}: the token endpoint did not answer JSON`, { status: res.statusCode });
  }
  if (!body.access_token) throw new ConnectorError('protocol', `${where}: the token response has no access_token`, { status: res.statusCode });
  registerSecret(body.access_token);
  return { accessToken: body.access_token, instanceUrl: body.instance_url };
}
