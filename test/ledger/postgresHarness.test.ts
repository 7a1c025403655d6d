import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase, startTestPostgres, testDatabaseUrl } from '../helpers/postgres.js';

describe('test PostgreSQL harness', () => {
  it('the run has a real PostgreSQL, and test databases are created and dropped on it', async () => {
    const url = await createTestDatabase('harness');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ db: string; version: string }>('select current_database() as db, version() as version');
    await client.end();
    expect(rows[0].db).toBe(new URL(url).pathname.slice(1));
    expect(rows[0].version).toMatch(/^PostgreSQL \d+/);
    await dropTestDatabase(url);
    const admin = new pg.Client({ connectionString: await testDatabaseUrl() });
    await admin.connect();
    const left = await admin.query('select 1 from pg_database where datname = $1', [rows[0].db]);
    await admin.end();
    expect(left.rowCount).toBe(0);
  });

  it('without PostgreSQL binaries it fails loudly, naming the package to install', async () => {
    const saved = process.env.COSELL_PG_BINDIR;
    process.env.COSELL_PG_BINDIR = '/nonexistent/postgresql/bin';
    try {
      await expect(startTestPostgres()).rejects.toThrow(/apt-get install postgresql/);
    } finally {
      if (saved === undefined) delete process.env.COSELL_PG_BINDIR;
      else process.env.COSELL_PG_BINDIR = saved;
    }
  });
});
