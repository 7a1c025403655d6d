import type { FastifyInstance } from 'fastify';
import QuickLRU from 'quick-lru';
import type { SessionStore } from '@fastify/session';
import type { ConsoleDeps } from './deps.js';
import { html } from './html.js';
import { page } from './layout.js';
import { pageContext } from './server.js';
import { DUMMY_HASH, verifyPassword } from './users.js';

/**
 * Sessions live in this process (one console process per deployment): an LRU with a time-to-live, so
 * idle sessions end and memory stays bounded — @fastify/session's default store never forgets.
 */
export function sessionStore(ttlMs: number, maxSessions = 10_000): SessionStore {
  const lru = new QuickLRU<string, unknown>({ maxSize: maxSessions, maxAge: ttlMs });
  return {
    set: (id, session, cb) => (lru.set(id, session), cb()),
    get: (id, cb) => cb(null, (lru.get(id) ?? null) as never),
    destroy: (id, cb) => (lru.delete(id), cb()),
  };
}

/** Login throttling: after this many failures for one name within the window, that name waits it out. */
const MAX_FAILURES = 5;
const FAILURE_WINDOW_MS = 15 * 60_000;

/** A local path to return to after signing in (never another origin: `//host`, `/\\host`, schemes). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) && !next.startsWith('/login') ? next : '/queue';
}

export function registerAuth(app: FastifyInstance, deps: ConsoleDeps): void {
  const failures = new QuickLRU<string, number[]>({ maxSize: 10_000, maxAge: FAILURE_WINDOW_MS });
  const byName = new Map(deps.users.users.map((u) => [u.name, u]));

  const loginPage = (ctx: ReturnType<typeof pageContext>, next: string, error?: string) =>
    page(
      ctx,
      'Sign in',
      html`<div class="login card"><h1>cosell console</h1>
${error ? html`<div class="flash bad" role="alert">${error}</div>` : html``}
<form method="post" action="/login"><input type="hidden" name="_csrf" value="${ctx.csrf}"><input type="hidden" name="next" value="${next}">
<label for="name">User</label><input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p></form></div>`,
    );

  app.get('/login', async (req, reply) => {
    if (req.session.user) return reply.redirect(safeNext((req.query as { next?: string }).next), 302);
    return reply.type('text/html').send(loginPage(pageContext(req, reply), safeNext((req.query as { next?: string }).next)));
  });

  app.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as { name?: string; password?: string; next?: string };
    const name = String(body.name ?? '').trim();
    const next = safeNext(body.next);
    const now = Date.now();
    const recent = (failures.get(name) ?? []).filter((t) => now - t < FAILURE_WINDOW_MS);
    if (recent.length >= MAX_FAILURES) {
      return reply.code(429).type('text/html').send(loginPage(pageContext(req, reply), next, `too many failed sign-ins for "${name}": try again in ${Math.ceil((recent[0] + FAILURE_WINDOW_MS - now) / 60_000)} min`));
    }
    const user = byName.get(name);
    // The same scrypt work for an unknown name as for a wrong password: timing tells nothing.
    const ok = (await verifyPassword(String(body.password ?? ''), user?.passwordHash ?? DUMMY_HASH)) && user !== undefined;
    if (!ok || !user) {
      failures.set(name, [...recent, now]);
      return reply.code(401).type('text/html').send(loginPage(pageContext(req, reply), next, 'wrong user name or password'));
    }
    failures.delete(name);
    // A new session id on sign-in (no fixation); the CSRF secret is renewed with it.
    await req.session.regenerate();
    req.session.user = { name: user.name, role: user.role };
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (req, reply) => {
    await req.session.destroy();
    return reply.redirect('/login', 303);
  });
}
