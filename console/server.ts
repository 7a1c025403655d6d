import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerAuth, sessionStore } from './auth.js';
import type { ConsoleDeps } from './deps.js';
import type { PageContext } from './layout.js';
import { registerLinks } from './links.js';
import { registerMappings } from './mappings.js';
import { registerOverlaps } from './overlaps.js';
import { registerQueue } from './queue.js';
import { registerRegistration } from './registration.js';
import { registerRegistrationActions } from './registrationActions.js';
import { can, type Permission, type Role } from './users.js';

declare module 'fastify' {
  interface Session {
    user?: { name: string; role: Role };
    flash?: { text: string; bad?: boolean };
  }
  interface FastifyRequest {
    cspNonce: string;
  }
}

export interface ConsoleOptions {
  /** Session lifetime (default 8 h, sliding). */
  sessionMs?: number;
  /** Serve over HTTPS with these PEM files' contents (then cookies are `Secure`). */
  tls?: { key: string; cert: string };
  /** Behind a TLS-terminating proxy: trust X-Forwarded-Proto so cookies are `Secure`. */
  trustProxy?: boolean;
}

/** Routes that answer without a session (the login form and its post). */
export const PUBLIC_ROUTES = new Set(['GET /login', 'POST /login']);

/**
 * The console: one fastify app, server-rendered pages, no assets from anywhere. Every route but the
 * login form needs a session (a global onRequest hook: pages redirect to /login, /api/* answers 401);
 * every state-changing request needs the session's CSRF token; each action names the permission its
 * role needs (users.ts). Pages and actions live in one file per area (queue.ts, …).
 */
export async function buildConsole(deps: ConsoleDeps, opts: ConsoleOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, trustProxy: opts.trustProxy ?? false, ...(opts.tls ? { https: opts.tls } : {}) }) as unknown as FastifyInstance;
  const routes: string[] = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) routes.push(`${m} ${r.url}`);
  });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: deps.users.sessionSecret,
    cookieName: 'cosell_console',
    saveUninitialized: false,
    rolling: true,
    store: sessionStore(opts.sessionMs ?? 8 * 3_600_000),
    cookie: { httpOnly: true, sameSite: 'strict', secure: opts.tls || opts.trustProxy ? 'auto' : false, path: '/', maxAge: opts.sessionMs ?? 8 * 3_600_000 },
  });
  await app.register(fastifyFormbody);
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session', getToken: (req: FastifyRequest) => (req.body as Record<string, string> | undefined)?._csrf ?? (req.headers['x-csrf-token'] as string | undefined) });

  app.decorateRequest('cspNonce', '');
  app.addHook('onRequest', async (req, reply) => {
    req.cspNonce = randomBytes(16).toString('base64');
    reply.header('content-security-policy', `default-src 'none'; style-src 'nonce-${req.cspNonce}'; script-src 'nonce-${req.cspNonce}'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
  });
  // Nothing without a session, whatever the route (routes registered later are covered too).
  app.addHook('onRequest', async (req, reply) => {
    const route = `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
    if (PUBLIC_ROUTES.has(route) || req.session.user) return;
    if (req.method === 'GET' && !req.url.startsWith('/api/')) return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 302);
    return reply.code(401).send({ error: 'COSELL_CONSOLE_LOGIN', message: 'sign in first' });
  });
  // Every state-changing request carries the session's CSRF token (form field _csrf or X-CSRF-Token).
  // (preHandler: the form body, where the token travels, is parsed by then.)
  app.addHook('preHandler', (req, reply, done) => {
    if (req.method === 'GET' || req.method === 'HEAD') return done();
    app.csrfProtection(req, reply, done);
  });
  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) app.log.error(err);
    const message = err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET' ? 'the form expired or did not come from this console: reload the page and try again' : err.message;
    return reply.code(status).type('application/json').send({ error: err.code ?? (status >= 500 ? 'COSELL_UNKNOWN' : 'COSELL_INPUT_INVALID'), message });
  });

  registerAuth(app, deps);
  app.get('/', async (_req, reply) => reply.redirect('/queue', 302));
  registerQueue(app, deps);
  registerRegistration(app, deps);
  registerRegistrationActions(app, deps);
  registerLinks(app, deps);
  registerMappings(app, deps);
  registerOverlaps(app, deps);
  return app;
}

const ROUTES = new WeakMap<FastifyInstance, string[]>();
/** Every route of a console app as `METHOD /url` (the auth test walks them all). */
export function routesOf(app: FastifyInstance): string[] {
  return [...(ROUTES.get(app) ?? [])];
}

/** What every page needs from the request: who, the CSRF token, the CSP nonce, a one-time flash. */
export function pageContext(req: FastifyRequest, reply: FastifyReply): PageContext {
  const flash = req.session.flash;
  if (flash) req.session.flash = undefined;
  return { user: req.session.user, csrf: reply.generateCsrf(), nonce: req.cspNonce, path: req.url, flash };
}

/** Refuse (403) unless the signed-in user's role has this permission. */
export function requirePermission(permission: Permission) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const role = req.session.user?.role;
    if (!role || !can(role, permission)) {
      return reply.code(403).send({ error: 'COSELL_CONSOLE_FORBIDDEN', message: `your role (${role ?? 'none'}) may not ${permission === 'decide' ? 'decide registrations' : 'operate links and mappings'}` });
    }
  };
}

export interface RunningConsole {
  url: string;
  app: FastifyInstance;
  stop(): Promise<void>;
}

/** Listen (loopback by default) and return the URL to print. */
export async function startConsole(deps: ConsoleDeps, opts: ConsoleOptions & { host?: string; port?: number } = {}): Promise<RunningConsole> {
  const app = await buildConsole(deps, opts);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { url: `${opts.tls ? 'https' : 'http'}://${shown.includes(':') ? `[${shown}]` : shown}:${port}`, app, stop: () => app.close() };
}
