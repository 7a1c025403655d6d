import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SandboxClock } from '../clock.js';
import type { FaultInjector } from '../faults.js';

/**
 * The org's OAuth 2.0 server (`/services/oauth2/token`): client_credentials, JWT bearer (assertion
 * verified with node:crypto against the org's certificate), refresh_token and password grants, with
 * Salesforce's response and error shapes. Access tokens expire after the fault config's tokenTtlMs
 * (org clock) and all die at once on `expireTokensNow`.
 */

export interface SalesforceCredentials {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  /** PEM public key or X.509 certificate the JWT bearer assertions are verified against. */
  certificatePem: string;
  /** Handed out in the connection info so a client can sign assertions. */
  privateKeyPem?: string;
  /** A long-lived refresh token, as if obtained once through the web-server flow. */
  refreshToken: string;
  /** The access token printed in the connection info (valid until TTL or expireTokensNow). */
  accessToken: string;
  /**
   * The users' security token: SOAP login takes the password with it appended (or alone, as from an
   * org's trusted IP range — the sandbox listens on loopback only).
   */
  securityToken: string;
}

interface Session {
  userId: string;
  issuedAt: number;
  epoch: number;
}

const keyCache = new Map<string, { publicKey: string; privateKey: string }>();

/** One RSA key pair per org id per process (key generation is slow; tests start many sandboxes). */
export function orgKeyPair(orgId: string): { publicKey: string; privateKey: string } {
  let kp = keyCache.get(orgId);
  if (!kp) {
    kp = crypto.generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    keyCache.set(orgId, kp);
  }
  return kp;
}

const digest = (s: string, n = 32) => crypto.createHash('sha256').update(s).digest('base64url').slice(0, n);

export function defaultCredentials(orgId: string, orgSfId: string, given: Record<string, string> = {}): SalesforceCredentials {
  const kp = given.certificatePem ? undefined : orgKeyPair(orgId);
  return {
    clientId: given.clientId ?? `3MVG9${digest(`client:${orgId}`, 80).replace(/[-_]/g, 'x')}`,
    clientSecret: given.clientSecret ?? crypto.createHash('sha256').update(`secret:${orgId}`).digest('hex').slice(0, 64).toUpperCase(),
    username: given.username ?? `integration@${orgId.toLowerCase()}.sandbox.example.com`,
    password: given.password ?? `Sandbox-${digest(`password:${orgId}`, 12)}`,
    certificatePem: given.certificatePem ?? kp!.publicKey,
    privateKeyPem: given.privateKeyPem ?? kp?.privateKey,
    refreshToken: given.refreshToken ?? `5Aep861${digest(`refresh:${orgId}`, 80)}`,
    accessToken: given.accessToken ?? `${orgSfId.slice(0, 15)}!AQ${digest(`access:${orgId}`, 96)}`,
    securityToken: given.securityToken ?? digest(`token:${orgId}`, 24).replace(/[-_]/g, 'X'),
  };
}

export interface AuthServer {
  /** The user id of a valid bearer token, or undefined. */
  authenticate(authorization: string | undefined): string | undefined;
  register(app: FastifyInstance): void;
  credentials: SalesforceCredentials;
  /** Username + password (with or without the security token) → the user id, or undefined. */
  checkPassword(username: string, password: string): string | undefined;
  /** A new session (access token) for a user, as a login issues. */
  createSession(userId: string): string;
  /** End a session (SOAP logout); false when there is none. */
  endSession(token: string): boolean;
}

export function createAuthServer(opts: {
  orgSfId: string;
  credentials: SalesforceCredentials;
  clock: SandboxClock;
  faults: FaultInjector;
  /** Id of the user a username maps to (integration user or any active User). */
  userByUsername(username: string): string | undefined;
  integrationUserId(): string;
  baseUrl(): string;
}): AuthServer {
  const { credentials: cred, clock, faults } = opts;
  const sessions = new Map<string, Session>();
  const refreshTokens = new Map<string, string>();
  refreshTokens.set(cred.refreshToken, 'integration');
  // The printed token is issued at start (and re-issued at every start, so restarts keep it working).
  sessions.set(cred.accessToken, { userId: 'integration', issuedAt: clock.now(), epoch: faults.tokenEpoch });

  const resolveUser = (u: string) => (u === 'integration' ? opts.integrationUserId() : u);

  const createSession = (userId: string) => {
    const token = `${opts.orgSfId.slice(0, 15)}!AQ${crypto.randomBytes(72).toString('base64url')}`;
    sessions.set(token, { userId, issuedAt: clock.now(), epoch: faults.tokenEpoch });
    return token;
  };
  const checkPassword = (username: string, password: string) => {
    const user = opts.userByUsername(username);
    return user && (password === cred.password || password === cred.password + cred.securityToken) ? user : undefined;
  };

  const issue = (userId: string, reply: FastifyReply, extra: Record<string, unknown> = {}) => {
    const token = createSession(userId);
    const issuedAt = sessions.get(token)!.issuedAt;
    const base = opts.baseUrl();
    const uid = resolveUser(userId);
    const signature = crypto.createHmac('sha256', cred.clientSecret).update(`${base}/id/${opts.orgSfId}/${uid}${issuedAt}`).digest('base64');
    return reply.code(200).header('content-type', 'application/json;charset=UTF-8').send({
      access_token: token,
      ...extra,
      signature,
      scope: 'api',
      instance_url: base,
      id: `${base}/id/${opts.orgSfId}/${uid}`,
      token_type: 'Bearer',
      issued_at: String(issuedAt),
    });
  };

  const oauthError = (reply: FastifyReply, error: string, description: string, status = 400) =>
    reply.code(status).header('content-type', 'application/json;charset=UTF-8').send({ error, error_description: description });

  const verifyJwt = (assertion: string): { ok: true; sub: string } | { ok: false; error: string; description: string } => {
    const parts = assertion.split('.');
    if (parts.length !== 3) return { ok: false, error: 'invalid_grant', description: 'invalid assertion' };
    let header: any;
    let claims: any;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return { ok: false, error: 'invalid_grant', description: 'invalid assertion' };
    }
    if (header.alg !== 'RS256') return { ok: false, error: 'invalid_grant', description: 'invalid assertion' };
    let valid = false;
    try {
      valid = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), crypto.createPublicKey(cred.certificatePem), Buffer.from(parts[2], 'base64url'));
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, error: 'invalid_grant', description: 'invalid assertion' };
    if (claims.iss !== cred.clientId) return { ok: false, error: 'invalid_client_id', description: 'client identifier invalid' };
    const audiences = new Set([opts.baseUrl(), 'https://login.salesforce.com', 'https://test.salesforce.com']);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a: unknown) => typeof a === 'string' && audiences.has(a.replace(/\/$/, '')))) return { ok: false, error: 'invalid_grant', description: 'audience is invalid' };
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < clock.now()) return { ok: false, error: 'invalid_grant', description: 'expired authorization code' };
    const user = typeof claims.sub === 'string' ? opts.userByUsername(claims.sub) : undefined;
    if (!user) return { ok: false, error: 'invalid_grant', description: "user hasn't approved this consumer" };
    return { ok: true, sub: user };
  };

  const authenticate = (authorization: string | undefined): string | undefined => {
    const m = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const s = sessions.get(m[1].trim());
    if (!s) return undefined;
    if (s.epoch !== faults.tokenEpoch || clock.now() > s.issuedAt + faults.tokenTtlMs) {
      sessions.delete(m[1].trim());
      return undefined;
    }
    return resolveUser(s.userId);
  };

  return {
    credentials: cred,
    authenticate,
    checkPassword,
    createSession,
    endSession: (token) => sessions.delete(token),
    register(app) {
      app.post('/services/oauth2/token', async (req, reply) => {
        const body = (req.body ?? {}) as Record<string, string>;
        let clientId = body.client_id;
        let clientSecret = body.client_secret;
        const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
        if (basic) [clientId, clientSecret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
        const checkClient = (needSecret: boolean) => {
          if (clientId !== cred.clientId) return oauthError(reply, 'invalid_client_id', 'client identifier invalid');
          if (needSecret && clientSecret !== cred.clientSecret) return oauthError(reply, 'invalid_client', 'invalid client credentials');
          return undefined;
        };
        switch (body.grant_type) {
          case 'client_credentials':
            return checkClient(true) ?? issue('integration', reply);
          case 'password': {
            const bad = checkClient(true);
            if (bad) return bad;
            const user = checkPassword(body.username ?? '', body.password ?? '');
            if (!user) return oauthError(reply, 'invalid_grant', 'authentication failure');
            return issue(user, reply);
          }
          case 'refresh_token': {
            if (clientId !== cred.clientId) return oauthError(reply, 'invalid_client_id', 'client identifier invalid');
            if (clientSecret !== undefined && clientSecret !== cred.clientSecret) return oauthError(reply, 'invalid_client', 'invalid client credentials');
            const user = refreshTokens.get(body.refresh_token ?? '');
            if (!user) return oauthError(reply, 'invalid_grant', 'expired access/refresh token');
            return issue(user, reply);
          }
          case 'urn:ietf:params:oauth:grant-type:jwt-bearer': {
            const v = verifyJwt(body.assertion ?? '');
            if (!v.ok) return oauthError(reply, v.error, v.description);
            return issue(v.sub, reply);
          }
          default:
            return oauthError(reply, 'unsupported_grant_type', 'grant type not supported');
        }
      });
      app.post('/services/oauth2/revoke', async (req, reply) => {
        const token = String(((req.body ?? {}) as Record<string, string>).token ?? (req.query as Record<string, string>).token ?? '');
        if (!sessions.delete(token) && !refreshTokens.delete(token)) return oauthError(reply, 'unsupported_token_type', 'this token type is not supported');
        return reply.code(200).send();
      });
      const identity = (userId: string) => {
        const base = opts.baseUrl();
        return { id: `${base}/id/${opts.orgSfId}/${userId}`, user_id: userId, organization_id: opts.orgSfId, username: cred.username, active: true, urls: { rest: `${base}/services/data/v{version}/`, sobjects: `${base}/services/data/v{version}/sobjects/`, query: `${base}/services/data/v{version}/query/` } };
      };
      app.get('/services/oauth2/userinfo', async (req, reply) => {
        const user = authenticate(req.headers.authorization);
        if (!user) return reply.code(403).type('text/plain').send('Forbidden');
        const id = identity(user);
        return { sub: id.id, user_id: user, organization_id: opts.orgSfId, preferred_username: cred.username };
      });
      app.get('/id/:org/:user', async (req, reply) => {
        const q = req.query as Record<string, string>;
        const user = authenticate(req.headers.authorization ?? (q.oauth_token ? `Bearer ${q.oauth_token}` : undefined));
        if (!user) return reply.code(403).type('text/plain').send('Bad_OAuth_Token');
        return identity((req.params as { user: string }).user);
      });
    },
  };
}
