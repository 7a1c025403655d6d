import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeNext } from '../../console/auth.js';
import { escapeHtml, html } from '../../console/html.js';
import { buildConsole, PUBLIC_ROUTES, routesOf } from '../../console/server.js';
import { hashPassword, parseUsers, verifyPassword } from '../../console/users.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { tempLedgerFile } from '../helpers/network.js';
import { testClient } from '../helpers/temporal.js';
import { cookieOf, csrfOf, form, login, offlineNetwork, PASSWORDS, testUsers } from './helpers.js';

/**
 * The console's gate: no route answers without a session (every registered route is walked), sessions
 * are HttpOnly + SameSite=Strict cookies renewed at sign-in, every post needs the session's CSRF token,
 * roles limit actions, and the users file refuses plain passwords with their position.
 */
let app: FastifyInstance;
let ledger: Ledger;
let client: Client;

beforeAll(async () => {
  ledger = await openLedger({ file: tempLedgerFile() });
  client = await testClient();
  app = await buildConsole({ network: offlineNetwork(), ledger, client, engine: () => Promise.reject(new Error('no engine in this test')), users: await testUsers() });
  await app.ready();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await ledger?.close();
  await client?.connection.close();
});

const concrete = (route: string) => route.replace(/:[A-Za-z]+/g, 'acme%3A1');

describe('console: login required everywhere', () => {
  it('every route but the login form redirects to /login (pages) or answers 401 (API, posts) without a session', async () => {
    const routes = routesOf(app).filter((r) => !PUBLIC_ROUTES.has(r));
    expect(routes.length).toBeGreaterThanOrEqual(6);
    expect(routes).toContain('GET /queue');
    expect(routes).toContain('POST /queue/decide');
    for (const route of routes) {
      const [method, url] = route.split(' ');
      const res = await app.inject({ method: method as 'GET', url: concrete(url), payload: method === 'POST' ? {} : undefined });
      if (method === 'GET' && !url.startsWith('/api/')) {
        expect(res.statusCode, route).toBe(302);
        expect(res.headers.location, route).toMatch(/^\/login\?next=/);
      } else {
        expect(res.statusCode, route).toBe(401);
      }
      expect(res.body, route).not.toMatch(/Review queue|acme-deals/);
    }
  });

  it('a forged or stale session cookie is no session', async () => {
    for (const cookie of ['cosell_console=forged', 'cosell_console=abc.def', 'other=1']) {
      const res = await app.inject({ method: 'GET', url: '/api/registrations', headers: { cookie } });
      expect(res.statusCode).toBe(401);
    }
  });
});

describe('console: sign in', () => {
  it('wrong password or unknown user: 401 and no session; right password: a new HttpOnly SameSite=Strict session', async () => {
    const page = await app.inject({ method: 'GET', url: '/login' });
    const cookie = cookieOf(page);
    const post = (name: string, password: string) => app.inject({ method: 'POST', url: '/login', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ name, password, _csrf: csrfOf(page.body) }) });
    for (const [name, pw] of [['ana', 'wrong-password'], ['nobody', PASSWORDS.ana], ['ana', '']]) {
      const res = await post(name, pw);
      expect(res.statusCode).toBe(401);
      expect(res.body).toContain('wrong user name or password');
      const after = await app.inject({ method: 'GET', url: '/api/registrations', headers: { cookie: cookieOf(res, cookie) } });
      expect(after.statusCode).toBe(401);
    }
    const ok = await post('ana', PASSWORDS.ana);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/queue');
    const set = String(ok.headers['set-cookie']);
    expect(set).toMatch(/cosell_console=/);
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Strict/i);
    // A new session id at sign-in: the pre-login cookie is not the signed-in one.
    expect(cookieOf(ok)).not.toBe(cookie);
    const api = await app.inject({ method: 'GET', url: '/api/registrations', headers: { cookie: cookieOf(ok, cookie) } });
    expect(api.statusCode).toBe(200);
    expect(api.json()).toMatchObject({ total: 0, rows: [] });
  });

  it('the login form needs its CSRF token (no login CSRF)', async () => {
    const res = await app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ name: 'ana', password: PASSWORDS.ana }) });
    expect(res.statusCode).toBe(403);
  });

  it('sign-in returns only to local paths', async () => {
    expect(safeNext('/registrations/acme%3A1')).toBe('/registrations/acme%3A1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '/login?next=/x', '', undefined, 42]) expect(safeNext(bad)).toBe('/queue');
    fc.assert(
      fc.property(fc.string(), (s) => {
        const n = safeNext(s);
        return n === '/queue' || (n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') && !/\s/.test(n));
      }),
    );
  });

  it('sign out ends the session', async () => {
    const { cookie, csrf } = await login(app, 'carl');
    const out = await app.inject({ method: 'POST', url: '/logout', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ _csrf: csrf }) });
    expect(out.statusCode).toBe(303);
    expect((await app.inject({ method: 'GET', url: '/api/registrations', headers: { cookie } })).statusCode).toBe(401);
  });
});

describe('console: CSRF and roles', () => {
  it('a post without the session\'s CSRF token is refused (403), with it it is handled', async () => {
    const { cookie, csrf } = await login(app, 'carl');
    const post = (fields: Record<string, string>) => app.inject({ method: 'POST', url: '/queue/decide', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form(fields) });
    expect((await post({ bulk: 'approve', ids: 'acme:1', reason: 'ok' })).statusCode).toBe(403);
    expect((await post({ bulk: 'approve', ids: 'acme:1', reason: 'ok', _csrf: 'not-the-token' })).statusCode).toBe(403);
    const other = await login(app, 'ana'); // another session's token is no good here either
    expect((await post({ bulk: 'approve', ids: 'acme:1', reason: 'ok', _csrf: other.csrf })).statusCode).toBe(403);
    const ok = await post({ bulk: 'approve', ids: 'acme:1', reason: 'ok', _csrf: csrf });
    expect(ok.statusCode).toBe(303); // handled: acme:1 has no workflow, which the flash says
    const page = await app.inject({ method: 'GET', url: ok.headers.location as string, headers: { cookie } });
    expect(page.body).toMatch(/approved 0 of 1 — refused: acme:1: no workflow for this registration/);
  });

  it('a viewer reads the queue but may not decide (403)', async () => {
    const { cookie, csrf } = await login(app, 'vic');
    const page = await app.inject({ method: 'GET', url: '/queue', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('Approve selected');
    const res = await app.inject({ method: 'POST', url: '/queue/decide', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ bulk: 'approve', ids: 'acme:1', reason: 'ok', _csrf: csrf }) });
    expect(res.statusCode).toBe(403);
    // Request info, dispute and resolve-dispute need the same role as a decision.
    for (const [url, fields] of [['/registrations/acme%3A1/request-info', { fields: 'amount', reason: 'ok' }], ['/registrations/acme%3A1/dispute', { reason: 'ok' }], ['/registrations/acme%3A1/resolve-dispute', { outcome: 'uphold', reason: 'ok' }]] as const) {
      const r = await app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ ...fields, _csrf: csrf }) });
      expect(r.statusCode, url).toBe(403);
    }
  });

  it('pages carry a CSP that allows nothing from the network, and no external URL', async () => {
    const { cookie } = await login(app, 'ana');
    const res = await app.inject({ method: 'GET', url: '/queue', headers: { cookie } });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[^']+'/);
    expect(res.body).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});

describe('console: passwords and the users file', () => {
  it('scrypt hashes verify their own password only', async () => {
    const h = await hashPassword('correct horse');
    expect(h).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword('correct horsE', h)).toBe(false);
    expect(await verifyPassword('correct horse', h.slice(0, -2) + 'AA')).toBe(false);
    expect(await verifyPassword('correct horse', 'correct horse')).toBe(false);
    expect(await hashPassword('correct horse')).not.toBe(h); // salted
    await expect(hashPassword('short')).rejects.toThrow(/at least 8/);
  });

  it('a plain password, a missing session secret and an unknown role are positioned problems', () => {
    const text = 'users:\n  - { name: ana, role: admin, password: hunter2hunter2 }\n  - { name: bo, role: boss, password: "x" }\n';
    const { users, problems } = parseUsers(text, 'console-users.yaml', {});
    expect(users).toBeUndefined();
    expect(problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('\n')).toMatch(/3:\d+ .*role/);
    const plain = parseUsers('users:\n  - { name: ana, role: admin, password: hunter2hunter2 }\n', 'u.yaml', { COSELL_CONSOLE_SESSION_SECRET: 'x'.repeat(40) });
    expect(plain.problems).toHaveLength(1);
    expect(plain.problems[0]).toMatchObject({ file: 'u.yaml', line: 2, code: 'CONSOLE_USERS_INVALID' });
    expect(plain.problems[0].message).toContain('scrypt hash, never the password itself');
    expect(plain.problems[0].hint).toContain('cosell console hash-password');
    const noSecret = parseUsers('users:\n  - { name: ana, role: admin, password: "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }\n', 'u.yaml', {});
    expect(noSecret.problems[0].message).toContain('COSELL_CONSOLE_SESSION_SECRET');
    const inline = parseUsers('users:\n  - { name: ana, role: admin, password: "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }\nsessionSecret: my-secret-in-the-file\n', 'u.yaml', {});
    expect(inline.problems[0]).toMatchObject({ line: 3 });
    expect(inline.problems[0].message).toContain('never the secret itself');
  });
});

describe('console: HTML escaping (property)', () => {
  it('no interpolated string can open a tag or leave an attribute', () => {
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`console escaping property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/console/auth.test.ts)`);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.array(fc.string()), (s, list) => {
        const out = html`<td title="${s}">${s}${list}</td>`.text;
        const inner = out.slice('<td title="'.length, -'</td>'.length);
        return !/[<>"'`]/.test(inner.replace('">', '')) && out.includes(escapeHtml(s));
      }),
      { seed, numRuns: 500 },
    );
  });
});

// Last: it locks vic out for the rest of this file.
describe('console: throttling', () => {
  it('five failed sign-ins lock that name out for a while', async () => {
    const page = await app.inject({ method: 'GET', url: '/login' });
    const cookie = cookieOf(page);
    const post = (password: string) => app.inject({ method: 'POST', url: '/login', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ name: 'vic', password, _csrf: csrfOf(page.body) }) });
    for (let i = 0; i < 5; i++) expect((await post('nope-nope')).statusCode).toBe(401);
    const locked = await post(PASSWORDS.vic);
    expect(locked.statusCode).toBe(429);
    expect(locked.body).toContain('too many failed sign-ins');
  });

});
