import { Migrator, type Kysely } from 'kysely';
import { CosellError } from '../lib/errors.js';
import { Audit } from './audit.js';
import { AccountIndex } from './accountIndex.js';
import { commitPage } from './commitPage.js';
import { connectLedger, type LedgerConnectionOptions } from './connect.js';
import { Cursors } from './cursors.js';
import { ReplayIds } from './replayIds.js';
import { CdcLeases } from './leases.js';
import { DeadLetters } from './deadLetters.js';
import { Facts } from './facts.js';
import { ledgerMigrations, type DialectName } from './migrations.js';
import { Overlaps } from './overlaps.js';
import { LinkMappings } from './linkMappings.js';
import { Pairs } from './pairs.js';
import { PushEvents } from './pushEvents.js';
import { Registrations } from './registrations.js';
import { Snapshots } from './snapshots.js';
import { Streams } from './streams.js';
import type { LedgerTables } from './schema.js';
import type { CommitResult, PageCommit } from './types.js';

export interface OpenLedgerOptions extends LedgerConnectionOptions {
  /** Run pending migrations on open (default true). */
  migrate?: boolean;
}

/** The sync's own state, on SQLite or PostgreSQL. One instance per process; safe to share between activities. */
export class Ledger {
  readonly cursors: Cursors;
  readonly pairs: Pairs;
  readonly deadLetters: DeadLetters;
  readonly audit: Audit;
  readonly registrations: Registrations;
  readonly accounts: AccountIndex;
  readonly overlaps: Overlaps;
  readonly snapshots: Snapshots;
  readonly linkMappings: LinkMappings;
  readonly streams: Streams;
  readonly pushEvents: PushEvents;
  readonly replayIds: ReplayIds;
  /** Which worker subscribes each CDC topic (one subscription per org object across workers). */
  readonly cdcLeases: CdcLeases;
  /** The analytics fact store (analytics/). */
  readonly facts: Facts;

  constructor(
    /** The Kysely instance, for ad-hoc reads (reports, tests). Write through the methods. */
    readonly db: Kysely<LedgerTables>,
    readonly dialect: DialectName,
    /** Where it points, without credentials. */
    readonly location: string,
    private readonly release: () => Promise<void> = () => db.destroy(),
  ) {
    this.cursors = new Cursors(db);
    this.pairs = new Pairs(db);
    this.deadLetters = new DeadLetters(db);
    this.audit = new Audit(db);
    this.registrations = new Registrations(db, dialect);
    this.accounts = new AccountIndex(db);
    this.overlaps = new Overlaps(db, dialect);
    this.snapshots = new Snapshots(db, dialect);
    this.linkMappings = new LinkMappings(db);
    this.streams = new Streams(db, dialect);
    this.pushEvents = new PushEvents(db, dialect);
    this.replayIds = new ReplayIds(db);
    this.cdcLeases = new CdcLeases(db, dialect);
    this.facts = new Facts(db, dialect);
  }

  /** Write one page's results and advance its cursor in one transaction (see commitPage.ts). */
  commitPage(page: PageCommit): Promise<CommitResult> {
    return commitPage(this.db, this.dialect, page);
  }

  /** Apply pending migrations; returns the names applied (none when up to date). */
  async migrate(): Promise<string[]> {
    const migrator = new Migrator({
      db: this.db,
      provider: ledgerMigrations(this.dialect),
      migrationTableName: 'cosell_migrations',
      migrationLockTableName: 'cosell_migrations_lock',
      // Migrations are developed on parallel branches (each adds a new key): one that lands with a
      // lower number than one a database already ran must still apply, not fail the open.
      allowUnorderedMigrations: true,
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      throw new CosellError('COSELL_LEDGER', `ledger migration failed on ${this.location}: ${(error as Error).message ?? error}`, {
        cause: error,
        hint: 'check that the database is reachable and the user may create tables',
      });
    }
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  async close(): Promise<void> {
    await this.release();
  }
}

/**
 * Open the ledger: PostgreSQL when `url` (or $DATABASE_URL, unless `file` is given) is set, else the
 * SQLite file (default .cosell/ledger.sqlite), and bring its schema up to date. Concurrent openers
 * (several workers) are safe: the migrator takes a lock.
 */
export async function openLedger(opts: OpenLedgerOptions = {}): Promise<Ledger> {
  const { db, dialect, location, close } = connectLedger(opts);
  const ledger = new Ledger(db, dialect, location, close);
  if (opts.migrate !== false) {
    try {
      await ledger.migrate();
    } catch (e) {
      await close().catch(() => {});
      throw e;
    }
  }
  return ledger;
}
