import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDemoLock } from '../../app/demoLock.js';
import { tempDir } from '../helpers/tmp.js';

describe('one demo per checkout (app/demoLock.ts)', () => {
  const file = () => path.join(tempDir('cosell-lock-'), '.cosell', 'demo.lock');

  it('refuses a second demo while the first one runs, naming its pid and how to stop it; free again once released', () => {
    const f = file();
    // A live process that is not us (our parent) holds the lock: what a second `npm start` finds.
    acquireDemoLock(f).release();
    writeFileSync(f, JSON.stringify({ pid: process.ppid, startedAt: 'earlier' }));
    expect(() => acquireDemoLock(f)).toThrow(expect.objectContaining({ code: 'COSELL_DEMO_RUNNING', message: expect.stringContaining(`pid ${process.ppid}`), hint: expect.stringContaining(`kill ${process.ppid}`) }));
    expect(JSON.parse(readFileSync(f, 'utf8')).pid).toBe(process.ppid); // the running demo's lock is untouched
    writeFileSync(f, JSON.stringify({ pid: process.pid }));
    const mine = acquireDemoLock(f); // our own (stale after a crash with the same pid) is taken over
    mine.release();
    expect(existsSync(f)).toBe(false);
  });

  it('takes over a lock whose process is gone (a crash, kill -9)', () => {
    const f = file();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    acquireDemoLock(f).release();
    writeFileSync(f, JSON.stringify({ pid: deadPid, startedAt: 'long ago' }));
    const lock = acquireDemoLock(f);
    expect(JSON.parse(readFileSync(f, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('a release by a process that does not hold the lock leaves it alone', () => {
    const f = file();
    const lock = acquireDemoLock(f);
    writeFileSync(f, JSON.stringify({ pid: process.ppid }));
    lock.release();
    expect(existsSync(f)).toBe(true);
  });
});
