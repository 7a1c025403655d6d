import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../lib/ports.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

export interface TestPostgres {
  /** Superuser URL of the maintenance database (`postgres`); tests create their own databases from it. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL cluster for one test run, from the Debian server packages: initdb into a temp
 * dir, start on a free port, tuned for speed (no fsync), stopped and deleted in teardown. As root the
 * server runs as the `postgres` user (PostgreSQL refuses to run as root). Takes ~1.5 s.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBinaries();
  const asRoot = process.getuid?.() === 0;
  const pgUser = asRoot ? await postgresUser() : undefined;
  const dir = tempDir('cosell-pg-');
  if (pgUser) chownSync(dir, pgUser.uid, pgUser.gid);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const asPostgres = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));

  try {
    await asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const serverOpts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`;
      try {
        await asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '30', '-o', serverOpts, 'start']);
        break;
      } catch (e) {
        // Another process may have taken the free port between the probe and the bind: try another.
        if (attempt >= 3) throw e;
      }
    }
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const watchdog = startWatchdog(path.join(bin, 'pg_ctl'), data, dir, asRoot);
    const stop = async () => {
      try { process.kill(watchdog); } catch { /* already gone */ }
      await asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    };
    return { url, stop };
  } catch (e) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
    rmSync(dir, { recursive: true, force: true });
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`could not start a test PostgreSQL cluster: ${(e as Error).message}\n${stderr}\n${log}`);
  }
}

/**
 * A detached shell that stops and deletes the cluster once this process is gone, so a test run that
 * is killed (timeout, Ctrl-C) before its teardown never leaves a server behind. Returns its pid.
 */
function startWatchdog(pgCtl: string, data: string, dir: string, asRoot: boolean): number {
  const stopCmd = `${asRoot ? 'runuser -u postgres -- ' : ''}'${pgCtl}' -D '${data}' -m immediate -w stop`;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stopCmd} >/dev/null 2>&1; rm -rf '${dir}'`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

export function findPostgresBinaries(): string {
  const override = process.env.COSELL_PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const hasBoth = (dir: string) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'));
  if (override && hasBoth(override)) return override;
  const versions = !override && existsSync(root)
    ? readdirSync(root)
        .filter((v) => hasBoth(path.join(root, v, 'bin')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `PostgreSQL server binaries not found (no initdb and pg_ctl in ${override ?? '/usr/lib/postgresql/*/bin'}). The ledger tests need a real PostgreSQL: ` +
        'run `apt-get install postgresql` (what .ci/run does), or set COSELL_TEST_DATABASE_URL to an existing server ' +
        '(a superuser or CREATEDB role URL), or COSELL_PG_BINDIR to a directory holding initdb and pg_ctl.',
    );
  }
  return path.join(root, versions[0], 'bin');
}

export async function postgresUser(): Promise<{ uid: number; gid: number }> {
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    throw new Error('running as root but there is no `postgres` system user to run the test PostgreSQL as: run `apt-get install postgresql`, which creates it.');
  }
}

/** The shared test server's URL (provided by test/globalSetup.ts). */
export async function testDatabaseUrl(): Promise<string> {
  const { inject } = await import('vitest');
  return inject('databaseUrl');
}

/** A fresh, empty database on the shared test server (one per test file); returns its URL. */
export async function createTestDatabase(prefix = 'cosell'): Promise<string> {
  const adminUrl = await testDatabaseUrl();
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drop a database made by createTestDatabase (connections to it are closed first). */
export async function dropTestDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new pg.Client({ connectionString: await testDatabaseUrl() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}
