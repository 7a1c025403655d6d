import type { SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Install the test clients a pins file names into `dir` (project-local, git-ignored), once: skipped while
 * `dir`'s marker holds the pins' hash, redone when they change. The install goes into a fresh directory
 * first, then is renamed, so a half-finished install is never taken for a whole one; one that another
 * test process finished meanwhile is kept. A failed install
 * is an error with the client's last lines of output and `hint` (what to run), never a skipped test.
 */
export function installPinned(o: {
  dir: string;
  pins: string;
  marker: string;
  /** What is installed, for the error ("the sandbox's Python test clients"). */
  what: string;
  hint: string;
  install(tmp: string): SpawnSyncReturns<string>;
  /** Besides exit 0, what a whole install has. */
  complete?(tmp: string): boolean;
}): void {
  const wanted = createHash('sha256').update(readFileSync(o.pins)).digest('hex');
  const marker = path.join(o.dir, o.marker);
  const done = () => existsSync(marker) && readFileSync(marker, 'utf8') === wanted;
  if (done()) return;
  const tmp = `${o.dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const r = o.install(tmp);
  if (r.status !== 0 || (o.complete && !o.complete(tmp))) {
    rmSync(tmp, { recursive: true, force: true });
    const why = (r.stderr || r.error?.message || `exit ${String(r.status)}`).trim().split('\n').slice(-8).join('\n');
    throw new Error(`could not install ${o.what} into ${path.relative(process.cwd(), o.dir)}:\n${why}\n${o.hint}`);
  }
  writeFileSync(path.join(tmp, o.marker), wanted);
  // Test files run in parallel processes: one that finished first may be running its client from `dir`
  // now, so a whole install there is kept, never replaced under it.
  if (done()) {
    rmSync(tmp, { recursive: true, force: true });
    return;
  }
  rmSync(o.dir, { recursive: true, force: true });
  renameSync(tmp, o.dir);
}
