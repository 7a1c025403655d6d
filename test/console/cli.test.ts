import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../console/users.js';
import { tempDir } from '../helpers/tmp.js';

const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;

function cosell(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('node', [bin, ...args], { env: { ...process.env, COSELL_LOG_LEVEL: 'warn', ...env } }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin?.end(input ?? '');
  });
}

describe('cosell console (CLI)', () => {
  it('hash-password prints an scrypt hash of the password read from stdin', async () => {
    const r = await cosell(['console', 'hash-password'], 'a long enough password\n');
    expect(r.code, r.stderr).toBe(0);
    const hash = r.stdout.trim();
    expect(hash).toMatch(/^scrypt\$/);
    expect(await verifyPassword('a long enough password', hash)).toBe(true);
    const short = await cosell(['console', 'hash-password'], 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 8 characters');
  });

  it('a users file with a plain password stops it before anything starts, with file:line:col', async () => {
    const dir = tempDir('cosell-console-cli-');
    const users = path.join(dir, 'users.yaml');
    writeFileSync(users, 'users:\n  - name: ana\n    role: admin\n    password: hunter2hunter2\n');
    const r = await cosell(['console', '--users', users, '--config', path.join(dir, 'missing.yaml')], undefined, { COSELL_CONSOLE_SESSION_SECRET: 'x'.repeat(40) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${users}:4:15: CONSOLE_USERS_INVALID`);
    expect(r.stderr).toContain('never the password itself');
  });
});
