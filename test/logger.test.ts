import { Writable } from 'node:stream';
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
