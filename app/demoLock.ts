import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CosellError } from '../lib/errors.js';

export interface DemoLock {
  file: string;
  release(): void;
}

/**
 * One demo per checkout: the demo wipes and rewrites .cosell/demo-ledger.sqlite and demo.env at start,
 * so a second `npm start` over a running one would pull the ledger out from under it. The lock is a
 * file holding the owner's pid; a lock whose process is gone (a crash, kill -9) is taken over.
 */
export function acquireDemoLock(file: string, info: Record<string, unknown> = {}): DemoLock {
  mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), ...info }) + '\n', { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const held = readHolder(file);
      if (held && held.pid !== process.pid && alive(held.pid)) {
        throw new CosellError('COSELL_DEMO_RUNNING', `a demo is already running from this checkout (pid ${held.pid}, started ${held.startedAt ?? 'at an unknown time'})`, {
          hint: `use that one (source .cosell/demo.env in another terminal), or stop it first: Ctrl-C in its terminal, or \`kill ${held.pid}\`; a stale ${path.basename(file)} is removed on its own`,
        });
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  return {
    file,
    release: () => {
      if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}

function readHolder(file: string): { pid: number; startedAt?: string } | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; startedAt?: string };
    return typeof v.pid === 'number' ? { pid: v.pid, startedAt: v.startedAt } : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
