import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { hashPassword, type ConsoleUsers } from '../../console/users.js';
export { offlineNetwork } from './network.js';

/** The three roles, each with a password of its own (hashed like the real file's). */
export const PASSWORDS = { ana: 'ana-admin-pw', carl: 'carl-manager-pw', vic: 'vic-viewer-pw' } as const;

export async function testUsers(): Promise<ConsoleUsers> {
  return {
    sessionSecret: 'a-test-session-secret-of-at-least-32-chars',
    users: [
      { name: 'ana', role: 'admin', passwordHash: await hashPassword(PASSWORDS.ana) },
      { name: 'carl', role: 'channel-manager', passwordHash: await hashPassword(PASSWORDS.carl) },
      { name: 'vic', role: 'viewer', passwordHash: await hashPassword(PASSWORDS.vic) },
    ],
  };
}

/** The `name=value` pairs of a response's Set-Cookie headers, as a Cookie header. */
export function cookieOf(res: { headers: Record<string, unknown> }, previous = ''): string {
  const set = res.headers['set-cookie'];
  const list = Array.isArray(set) ? set : set ? [String(set)] : [];
  const jar = new Map(previous.split('; ').filter(Boolean).map((c) => [c.split('=')[0], c] as const));
  for (const c of list) jar.set(c.split('=')[0], c.split(';')[0]);
  return [...jar.values()].join('; ');
}

/** The CSRF token a page's forms carry. */
export function csrfOf(body: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(body);
  if (!m) throw new Error('no CSRF token on the page');
  return m[1];
}

/** Sign in through the login form; returns the session cookie and a CSRF token for later posts. */
export async function login(app: FastifyInstance, name: keyof typeof PASSWORDS): Promise<{ cookie: string; csrf: string }> {
  const form = await app.inject({ method: 'GET', url: '/login' });
  let cookie = cookieOf(form);
  const res = await app.inject({ method: 'POST', url: '/login', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ name, password: PASSWORDS[name], _csrf: csrfOf(form.body) }).toString() });
  expect(res.statusCode, res.body).toBe(303);
  cookie = cookieOf(res, cookie);
  const page = await app.inject({ method: 'GET', url: '/queue', headers: { cookie } });
  expect(page.statusCode).toBe(200);
  return { cookie: cookieOf(page, cookie), csrf: csrfOf(page.body) };
}

export const form = (fields: Record<string, string | string[]>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return p.toString();
};
