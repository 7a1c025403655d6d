import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, registerSecret } from '../lib/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, logger: createLogger({ destination: stream, level: 'debug' }) };
}

describe('logger', () => {
  it('writes JSON lines by default', () => {
    const { lines, logger } = capture();
    logger.info({ link: 'acme-deals' }, 'page synced');
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ msg: 'page synced', link: 'acme-deals', app: 'cosell', level: 30 });
  });

  it('never lets a credential reach the output: by key, nested, in free text, and in error messages', () => {
    const token = '00Dxx0000001gPL!AQ4AQFakeToken.abcdefghijklmnop';
    registerSecret(token);
    const { lines, logger } = capture();
    logger.info({ accessToken: token, auth: { clientSecret: 'sekrit-value-123', refresh_token: token } }, 'connected');
    logger.info({ headers: { authorization: `Bearer ${token}` } }, 'request');
    logger.warn(`retrying with token ${token}`);
    logger.error({ err: new Error(`401 for session ${token}`) }, 'auth failed');
    logger.info('header was Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123');
    const out = lines.join('');
    expect(lines).toHaveLength(5);
    expect(out).not.toContain(token);
    expect(out).not.toContain('sekrit-value-123');
    expect(out).not.toContain('abcdefghijklmnopqrstuvwxyz0123');
    expect(out).toContain('[REDACTED]');
  });
});

describe('secret scrubbing holds for any secret, in every form it can take', () => {
  const json = (s: string) => JSON.stringify(s).slice(1, -1);
  const pem = fc
    .array(fc.base64String({ minLength: 16, maxLength: 64 }), { minLength: 1, maxLength: 5 })
    .chain((lines) => fc.constantFrom('\n', '\r\n').map((eol) => ['-----BEGIN PRIVATE KEY-----', ...lines, '-----END PRIVATE KEY-----'].join(eol)));
  const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\r', '\t', "'", '%', '+', '&', '=', '/', '?', ' ', 'a', 'Z', '9', 'é', '😀', '\u2028', '\u0000'), minLength: 6, maxLength: 40 });
  const secret = fc
    .oneof(fc.string({ unit: 'binary', minLength: 6, maxLength: 60 }), fc.string({ unit: 'grapheme', minLength: 6, maxLength: 60 }), tricky, pem)
    // A secret spelled inside the marker itself would "appear" through the marker, not leak.
    .filter((s) => !s.includes('[') && !s.includes(']') && !'REDACTED'.includes(s));

  it('never in the output: raw, JSON-escaped, URL-encoded, form-encoded, nested, in errors, per PEM line', () => {
    fc.assert(
      fc.property(secret, (s) => {
        registerSecret(s);
        const { lines, logger } = capture();
        logger.info(s);
        logger.info({ note: s, nested: { list: [s, `x${s}y`] } }, 'fields');
        logger.error({ err: new Error(`failed: ${s}`) }, 'error');
        logger.warn(`CRM said ${JSON.stringify({ message: `bad password ${s}` })}`);
        logger.info(`GET https://api.example/cb?form=${new URLSearchParams({ client_secret: s }).toString()}`);
        try {
          logger.info(`GET https://api.example/cb?token=${encodeURIComponent(s)}&u=${encodeURI(s)}`);
        } catch {
          /* lone surrogates cannot be percent-encoded */
        }
        for (const line of s.split(/\r?\n/)) logger.info(`pem line ${line}`);
        const out = lines.join('');
        const forms = [s, json(s), json(json(s)), new URLSearchParams({ v: s }).toString().slice(2)];
        try {
          forms.push(encodeURIComponent(s));
        } catch {
          /* see above */
        }
        for (const f of forms) expect(out).not.toContain(f);
        // What a reader (pino-pretty, a log viewer) decodes must not hold it either.
        for (const l of lines) {
          let decoded: unknown;
          try {
            decoded = JSON.parse(l);
          } catch {
            continue; // a secret spelled like JSON syntax was scrubbed out of the structure itself
          }
          expect(JSON.stringify(decoded, null, 0).includes(json(s))).toBe(false);
        }
        const pemLines = s.includes('-----BEGIN') ? s.split(/\r?\n/).filter((l) => !l.startsWith('-----')) : [];
        for (const l of pemLines) expect(out).not.toContain(l);
      }),
      { numRuns: 200 },
    );
  });
});
