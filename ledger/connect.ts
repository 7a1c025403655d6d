import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { CosellError } from '../lib/errors.js';
import { registerSecret } from '../lib/logger.js';
import type { DialectName } from './migrations.js';
import type { LedgerTables } from './schema.js';

export const DEFAULT_LEDGER_FILE = '.cosell/ledger.sqlite';

export interface LedgerConnectionOptions {
  /** postgres://… or postgresql://…; defaults to $DATABASE_URL when `file` is not given. */
  url?: string;
  /** SQLite file (or ':memory:'); default .cosell/ledger.sqlite. Used when no PostgreSQL url applies. */
  file?: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

export interface LedgerConnection {
  db: Kysely<LedgerTables>;
  dialect: DialectName;
  /** Where it points, without credentials (for logs and `cosell status`). */
  location: string;
  /** Release this connection (the last holder of a shared SQLite connection closes it). */
  close(): Promise<void>;
}

// PostgreSQL bigint (e.g. count(*)) arrives as a string; every count in the ledger fits a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

/** An explicit `url` wins, then an explicit `file`, then $DATABASE_URL, then the default SQLite file. */
export function connectLedger(opts: LedgerConnectionOptions = {}): LedgerConnection {
  const url = opts.url ?? (opts.file === undefined ? process.env.DATABASE_URL || undefined : undefined);
  if (url) return connectPostgres(url, opts.poolSize ?? 10);
  return connectSqlite(opts.file ?? DEFAULT_LEDGER_FILE);
}

function connectPostgres(url: string, max: number): LedgerConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new CosellError('COSELL_LEDGER', 'DATABASE_URL is not a valid URL', { cause: e, hint: 'use postgres://user:password@host:5432/database' });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new CosellError('COSELL_LEDGER', `unsupported ledger URL scheme ${parsed.protocol}`, { hint: 'use postgres://… (or unset DATABASE_URL for the local SQLite ledger)' });
  }
  if (parsed.password) registerSecret(decodeURIComponent(parsed.password));
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle client losing its connection (server restart) must not crash the worker; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<LedgerTables>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', location: `postgres://${parsed.host}${parsed.pathname}`, close: () => db.destroy() };
}

/**
 * better-sqlite3 is synchronous: two connections to one file in one process would deadlock the event
 * loop (the second blocks in busy-wait while the first awaits to commit). So every opener of a file
 * in this process shares one connection, and Kysely's single-connection mutex serialises their
 * transactions. Other processes (a CLI, a restarted worker) use their own and wait on the file lock.
 */
const sharedSqlite = new Map<string, { db: Kysely<LedgerTables>; refs: number }>();

function connectSqlite(file: string): LedgerConnection {
  const memory = file === ':memory:';
  const key = memory ? undefined : path.resolve(file);
  const location = memory ? 'sqlite::memory:' : `sqlite:${key}`;
  const existing = key ? sharedSqlite.get(key) : undefined;
  if (existing) {
    existing.refs++;
    return { db: existing.db, dialect: 'sqlite', location, close: releaser(key!, existing.db) };
  }
  if (key) mkdirSync(path.dirname(key), { recursive: true });
  const sqlite = new Database(key ?? ':memory:');
  // WAL: readers (the CLI) never block the worker's writes; NORMAL is durable across process crashes.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<LedgerTables>({ dialect: new SqliteDialect({ database: sqlite }) });
  if (!key) return { db, dialect: 'sqlite', location, close: () => db.destroy() };
  sharedSqlite.set(key, { db, refs: 1 });
  return { db, dialect: 'sqlite', location, close: releaser(key, db) };
}

function releaser(key: string, db: Kysely<LedgerTables>): () => Promise<void> {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const entry = sharedSqlite.get(key);
    if (!entry || entry.db !== db) return;
    if (--entry.refs > 0) return;
    sharedSqlite.delete(key);
    await db.destroy();
  };
}
