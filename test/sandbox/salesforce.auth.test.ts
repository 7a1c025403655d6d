import crypto from 'node:crypto';
import jsforce from 'jsforce';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceOrg } from '../../sandbox/salesforce/index.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** Salesforce OAuth, sessions and limits, driven through the real jsforce 3.10. */

let sb: TestSandbox;
type SfInfo = Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;
let info: SfInfo;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'other', kind: 'salesforce' }] });
  info = sb.orgs.vendor as SfInfo;
});
afterAll(() => sb?.stop());

const oauth2 = (over: Partial<{ clientId: string; clientSecret: string }> = {}) =>
  new jsforce.OAuth2({ loginUrl: info.loginUrl, clientId: over.clientId ?? info.clientId, clientSecret: over.clientSecret ?? info.clientSecret });

function signJwt(claims: Record<string, unknown>, privateKeyPem: string): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'RS256' })}.${enc(claims)}`;
  return `${head}.${crypto.sign('RSA-SHA256', Buffer.from(head), privateKeyPem).toString('base64url')}`;
}

describe('OAuth token endpoint', () => {
  it('client_credentials returns the documented token shape and the token works', async () => {
    const conn = new jsforce.Connection({ oauth2: oauth2(), version: '62.0' });
    const user = await conn.authorize({ grant_type: 'client_credentials' });
    expect(user.organizationId).toMatch(/^00D[0-9A-Za-z]{15}$/);
    expect(user.id).toMatch(/^005/);
    expect(conn.instanceUrl).toBe(info.instanceUrl);
    const res = await fetch(`${info.loginUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: info.clientId, client_secret: info.clientSecret }),
    });
    const body = (await res.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'id', 'instance_url', 'issued_at', 'scope', 'signature', 'token_type']);
    expect(body.token_type).toBe('Bearer');
    expect(body.issued_at).toMatch(/^\d{13}$/);
    const r = await conn.query('SELECT COUNT() FROM Account');
    expect(r.totalSize).toBe(20);
  });

  it('wrong secret and unknown client are rejected with OAuth error shapes', async () => {
    const conn = new jsforce.Connection({ oauth2: oauth2({ clientSecret: 'nope' }) });
    await expect(conn.authorize({ grant_type: 'client_credentials' })).rejects.toMatchObject({ name: 'invalid_client', message: 'invalid client credentials' });
    const conn2 = new jsforce.Connection({ oauth2: oauth2({ clientId: 'unknown' }) });
    await expect(conn2.authorize({ grant_type: 'client_credentials' })).rejects.toMatchObject({ name: 'invalid_client_id' });
    await expect(new jsforce.Connection({ oauth2: oauth2() }).authorize({ grant_type: 'magic' })).rejects.toMatchObject({ name: 'unsupported_grant_type' });
  });

  it('password flow (jsforce login via OAuth2)', async () => {
    const conn = new jsforce.Connection({ oauth2: oauth2(), version: '62.0' });
    await conn.login(info.username!, info.password!);
    expect((await conn.query('SELECT Id FROM User LIMIT 1')).records).toHaveLength(1);
    const bad = new jsforce.Connection({ oauth2: oauth2() });
    await expect(bad.login(info.username!, 'wrong')).rejects.toMatchObject({ name: 'invalid_grant', message: 'authentication failure' });
  });

  it('JWT bearer: a valid assertion signed with the org key is accepted; tampered, expired or foreign ones are not', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: info.clientId, sub: info.username, aud: 'https://login.salesforce.com', exp: now + 180 };
    const conn = new jsforce.Connection({ oauth2: oauth2(), version: '62.0' });
    await conn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: signJwt(claims, info.privateKeyPem!) });
    expect(conn.accessToken).toBeTruthy();
    expect(conn.refreshToken).toBeFalsy();
    await expect(conn.query('SELECT Id FROM Account LIMIT 1')).resolves.toMatchObject({ done: true });

    const other = (sb.orgs.other as SfInfo).privateKeyPem!;
    const tries = [
      signJwt(claims, other), // signed with another org's key
      signJwt({ ...claims, exp: now - 10 }, info.privateKeyPem!),
      signJwt({ ...claims, aud: 'https://evil.example.com' }, info.privateKeyPem!),
      signJwt({ ...claims, sub: 'nobody@example.com' }, info.privateKeyPem!),
      signJwt(claims, info.privateKeyPem!).replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify({ ...claims, sub: 'x' })).toString('base64url')}.`),
    ];
    for (const assertion of tries) {
      await expect(new jsforce.Connection({ oauth2: oauth2() }).authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion })).rejects.toMatchObject({ name: 'invalid_grant' });
    }
  });
});

describe('sessions', () => {
  it('an unknown token is answered 401 INVALID_SESSION_ID in the documented shape', async () => {
    const res = await fetch(`${info.instanceUrl}/services/data/v62.0/sobjects`, { headers: { authorization: 'Bearer 00Dxx!nope' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    const conn = new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: 'bogus', version: '62.0' });
    await expect(conn.describeGlobal()).rejects.toMatchObject({ errorCode: 'INVALID_SESSION_ID' });
  });

  it('expired tokens (TTL on the org clock, or expireTokensNow) make jsforce refresh with the refresh_token grant', async () => {
    const conn = sb.jsforce('vendor', { oauth: true });
    let refreshed = 0;
    conn.on('refresh', () => refreshed++);
    await conn.query('SELECT Id FROM Account LIMIT 1');
    await sb.faults('vendor', { expireTokensNow: true });
    await expect(conn.query('SELECT Id FROM Account LIMIT 1')).resolves.toMatchObject({ done: true });
    expect(refreshed).toBe(1);
    const fresh = conn.accessToken;
    await sb.faults('vendor', { tokenTtlMs: 60_000 });
    await sb.clock('vendor', { advanceMs: 61_000 });
    await conn.query('SELECT Id FROM Account LIMIT 1');
    expect(refreshed).toBe(2);
    expect(conn.accessToken).not.toBe(fresh);
    await sb.faults('vendor', {});
  });

  it('identity: jsforce identity() follows the version resource to the /id URL', async () => {
    const conn = sb.jsforce('vendor', { oauth: true }); // the printed token died in the expiry test above
    const id = await conn.identity();
    expect(id).toMatchObject({ user_id: expect.stringMatching(/^005/), organization_id: expect.stringMatching(/^00D/), username: info.username });
  });

  it('an invalid refresh token surfaces as invalid_grant', async () => {
    const o = oauth2();
    await expect(o.refreshToken('5Aep-not-a-token')).rejects.toMatchObject({ name: 'invalid_grant' });
  });
});

describe('limits', () => {
  it('every API response carries Sforce-Limit-Info, and the spent allocation answers 403 REQUEST_LIMIT_EXCEEDED', async () => {
    const conn = sb.jsforce('other');
    await conn.query('SELECT Id FROM Account LIMIT 1');
    const used = conn.limitInfo.apiUsage!.used;
    expect(conn.limitInfo.apiUsage!.limit).toBe(1_000_000);
    sb.setFaults('other', { dailyLimit: used + 2 });
    await conn.query('SELECT Id FROM Account LIMIT 1');
    expect(conn.limitInfo.apiUsage).toEqual({ used: used + 1, limit: used + 2 });
    await conn.query('SELECT Id FROM Account LIMIT 1');
    await expect(conn.query('SELECT Id FROM Account LIMIT 1')).rejects.toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' });
    const res = await fetch(`${(sb.orgs.other as SfInfo).instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${(sb.orgs.other as SfInfo).accessToken}` } });
    expect(res.status).toBe(403);
    expect(res.headers.get('sforce-limit-info')).toBe(`api-usage=${used + 2}/${used + 2}`);
    sb.setFaults('other', {});
    const lim = await conn.limits();
    expect(lim.DailyApiRequests.Max).toBe(1_000_000);
  });
});

describe('SOAP login (jsforce conn.login without an OAuth client)', () => {
  it('logs in with the password, with or without the security token; the session works; logout ends it', async () => {
    for (const password of [info.password!, info.password! + info.securityToken!]) {
      const conn = new jsforce.Connection({ loginUrl: info.loginUrl, version: '62.0' });
      const user = await conn.login(info.username!, password);
      expect(user.organizationId).toMatch(/^00D[0-9A-Za-z]{15}$/);
      expect(user.id).toMatch(/^005/);
      expect(conn.instanceUrl).toBe(info.instanceUrl);
      expect((await conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(20);
      const token = conn.accessToken!;
      await conn.logout();
      const after = await fetch(`${info.instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${token}` } });
      expect(after.status).toBe(401);
    }
  });

  it('a seeded user logs in as itself; a wrong password is an INVALID_LOGIN fault', async () => {
    const org = sb.org('vendor') as SalesforceOrg;
    const seeded = [...org.data.table('User').byId.values()][1]!;
    const conn = new jsforce.Connection({ loginUrl: info.loginUrl, version: '62.0' });
    expect((await conn.login(String(seeded.Username), info.password!)).id).toBe(seeded.Id);
    await expect(new jsforce.Connection({ loginUrl: info.loginUrl }).login(info.username!, 'wrong')).rejects.toThrow(/INVALID_LOGIN: Invalid username, password, security token; or user locked out/);
    const res = await fetch(`${info.loginUrl}/services/Soap/u/62.0`, { method: 'POST', headers: { 'content-type': 'text/xml', soapaction: '""' }, body: '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>x</username><password>y</password></login></se:Body></se:Envelope>' });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>');
  });

  it('login succeeds exactly for the password or the password + token, whatever XML-special characters the attempt holds (property)', async () => {
    const attemptArb = fc.oneof(
      fc.constant(info.password!),
      fc.constant(info.password! + info.securityToken!),
      fc.string({ unit: fc.constantFrom('a', 'Z', '1', '<', '>', '&', '"', "'", ']]>', ' ', 'é'), minLength: 1, maxLength: 12 }), // jsforce refuses an empty one itself
      fc.string({ maxLength: 4 }).map((s) => info.password! + s),
    );
    await fc.assert(
      fc.asyncProperty(attemptArb, async (password) => {
        const conn = new jsforce.Connection({ loginUrl: info.loginUrl, version: '62.0' });
        const ok = password === info.password || password === info.password! + info.securityToken!;
        const got = await conn.login(info.username!, password).then(() => true, (e: Error) => {
          expect(e.message).toContain('INVALID_LOGIN');
          return false;
        });
        expect(got, JSON.stringify(password)).toBe(ok);
      }),
      { numRuns: 40, seed: 5150 },
    );
  });
});
