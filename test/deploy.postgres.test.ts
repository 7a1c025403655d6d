import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../lib/ports.js';
import { findPostgresBinaries, postgresUser } from './helpers/postgres.js';
import { tempDir } from './helpers/tmp.js';

/**
 * deploy/offline/postgres-entrypoint.sh, the PostgreSQL image scripts/image-check.sh builds from Debian's
 * package in place of postgres:16, run here on the host's PostgreSQL binaries (on loopback, a port of
 * its own): what compose.yaml relies on from the upstream image — POSTGRES_USER / _PASSWORD / _DB make a
 * cluster whose user logs in with that password over TCP to that database, a wrong password is refused,
 * the password is never printed, and a data directory that has a cluster is kept as it is.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const ENTRY = path.join(ROOT, 'deploy/offline/postgres-entrypoint.sh');
const bin = findPostgresBinaries();
const asRoot = process.getuid?.() === 0;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Started { port: number; output: () => string; stop: () => Promise<void> }

/** A data directory (owned by `postgres` when we are root) and the socket directory beside it. */
async function cluster(): Promise<{ dir: string; data: string }> {
  const dir = tempDir('cosell-pg-entry-');
  dirs.push(dir);
  if (asRoot) {
    const u = await postgresUser();
    chownSync(dir, u.uid, u.gid);
  }
  return { dir, data: path.join(dir, 'data') };
}

/** [command, args] that run `cmd` as the `postgres` user when we are root (PostgreSQL refuses root). */
const asPostgres = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-p', '-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);

/** The entrypoint as the image runs it, plus loopback-only settings (later `-c` settings win). */
function runEntry(env: Record<string, string | undefined>, c: { dir: string; data: string }, port: number) {
  const [cmd, args] = asPostgres(ENTRY, ['-p', String(port), '-k', c.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
  const child = spawn(cmd, args, { env: { PATH: `${bin}:${process.env.PATH}`, PGDATA: c.data, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

async function start(env: Record<string, string | undefined>, c: { dir: string; data: string }, login: { user: string; password: string; database: string }): Promise<Started> {
  const port = await freePort();
  const run = runEntry(env, c, port);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (run.child.exitCode !== null) throw new Error(`the entrypoint exited ${run.child.exitCode}: ${run.output()}`);
    const client = new pg.Client({ host: '127.0.0.1', port, ...login });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (e) {
      await client.end().catch(() => {});
      // Refused or starting up: wait; anything else (a wrong password) is the answer.
      if (!/ECONNREFUSED|starting up|the database system is/.test(String(e)) || Date.now() > deadline) {
        spawnSync(...asPostgres(path.join(bin, 'pg_ctl'), ['-D', c.data, '-m', 'immediate', '-w', 'stop']));
        throw new Error(`could not log in: ${String(e)}\n${run.output()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    port,
    output: run.output,
    stop: async () => {
      spawnSync(...asPostgres(path.join(bin, 'pg_ctl'), ['-D', c.data, '-m', 'fast', '-w', 'stop']));
      await run.exited;
    },
  };
}

async function query<T>(login: { port: number; user: string; password: string; database: string }, sql: string): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', ...login });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

// Names and passwords with what breaks quoting: both quotes, backslashes, $, spaces, non-ASCII.
const tricky = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'aZ9_ -"\'\\$`;%é日'.split('')), minLength: min, maxLength: max });
// Not `pg_…` (reserved role names), not blank at either end (initdb trims nothing, but a reader would).
const name = tricky(1, 12).filter((s) => !s.toLowerCase().startsWith('pg_') && s.trim() === s && s.length > 0);
// A superuser's name may not hold " $ ' \ (PostgreSQL's rule; the entrypoint refuses them, tested below).
const userName = name.filter((s) => !/["$'\\]/.test(s));

describe('deploy/offline/postgres-entrypoint.sh', () => {
  it('makes the cluster compose.yaml asks for: user, password, database; keeps it on a restart', async () => {
    await fc.assert(
      fc.asyncProperty(userName, tricky(8, 24), fc.option(name, { nil: undefined }), async (user, password, db) => {
        const c = await cluster();
        const database = db ?? user;
        const env = { POSTGRES_USER: user, POSTGRES_PASSWORD: password, POSTGRES_DB: db };
        const pgServer = await start(env, c, { user, password, database });
        try {
          const login = { port: pgServer.port, user, password, database };
          expect(await query<{ db: string; who: string }>(login, 'select current_database() as db, current_user as who')).toEqual([{ db: database, who: user }]);
          await query(login, 'create table kept (v int)');
          const wrong = new pg.Client({ host: '127.0.0.1', port: pgServer.port, user, password: `${password}x`, database });
          await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
          await wrong.end().catch(() => {});
          expect(pgServer.output()).not.toContain(password);
        } finally {
          await pgServer.stop();
        }
        // A second start on the same data with other settings: the cluster is used as it is.
        const again = await start({ POSTGRES_USER: user, POSTGRES_PASSWORD: 'another-password', POSTGRES_DB: 'other' }, c, { user, password, database });
        try {
          expect(await query({ port: again.port, user, password, database }, "select count(*)::int as n from pg_tables where tablename = 'kept'")).toEqual([{ n: 1 }]);
        } finally {
          await again.stop();
        }
      }),
      { numRuns: 4 },
    );
  }, 240_000);

  it('refuses a setting with a line break, no password, or a superuser name PostgreSQL refuses, saying which, and writes no cluster', async () => {
    for (const [env, says] of [
      [{ POSTGRES_USER: 'cosell', POSTGRES_PASSWORD: 'line one\nline two' }, 'POSTGRES_PASSWORD holds a line break'],
      [{ POSTGRES_USER: 'cosell', POSTGRES_PASSWORD: 'secret-enough', POSTGRES_DB: 'a\nb' }, 'POSTGRES_DB holds a line break'],
      [{ POSTGRES_USER: 'cosell' }, 'POSTGRES_PASSWORD'],
      [{ POSTGRES_USER: 'co$ell', POSTGRES_PASSWORD: 'secret-enough' }, 'POSTGRES_USER may not hold any of'],
    ] as const) {
      const c = await cluster();
      const run = runEntry(env, c, await freePort());
      expect(await run.exited).not.toBe(0);
      expect(run.output()).toContain(says);
      expect(run.output()).not.toContain('line two');
      expect(existsSync(path.join(c.data, 'PG_VERSION'))).toBe(false);
    }
  });
});
