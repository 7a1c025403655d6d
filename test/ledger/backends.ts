import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { createTestDatabase, dropTestDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The ledger suites run once per backend. Each backend gives a test file its own empty store (a
 * temp SQLite file, or a fresh database on the run's PostgreSQL) and can open further independent
 * connections to it (a second worker).
 */
export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Create an empty store; returns a function that opens a new Ledger (own connection/pool) on it. */
  create(): Promise<{ open: () => Promise<Ledger>; destroy: () => Promise<void>; url?: string; options: { file?: string; url?: string } }>;
}

export type LedgerStore = Awaited<ReturnType<Backend['create']>>;

/** One store and one open Ledger per test file, created before its tests and removed after them. */
export function useLedgerStore(backend: Backend, ready: (store: LedgerStore, ledger: Ledger) => void): void {
  let store: LedgerStore | undefined;
  let ledger: Ledger | undefined;
  beforeAll(async () => {
    store = await backend.create();
    ledger = await store.open();
    ready(store, ledger);
  });
  afterAll(async () => {
    await ledger?.close();
    await store?.destroy();
  });
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    async create() {
      const dir = tempDir('cosell-ledger-');
      const file = path.join(dir, 'ledger.sqlite');
      return { open: () => openLedger({ file }), destroy: async () => rmSync(dir, { recursive: true, force: true }), options: { file } };
    },
  },
  {
    name: 'postgres',
    async create() {
      const url = await createTestDatabase('ledger');
      return { url, open: () => openLedger({ url, poolSize: 4 }), destroy: () => dropTestDatabase(url), options: { url } };
    },
  },
];

let n = 0;
/** A link id unique within the test file, so tests sharing one store never see each other's rows. */
export function uniqueLink(prefix = 'link'): string {
  return `${prefix}-${++n}-${Math.random().toString(36).slice(2, 6)}`;
}
