import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerLocation } from '../../app/engine.js';

/**
 * One rule for where the ledger is (issue #17): the worker, the demo and every command open it through
 * `ledgerLocation`. What the network file names wins over $DATABASE_URL — with both a `ledger.file`
 * and DATABASE_URL set, the worker once wrote PostgreSQL while `cosell registrations` read SQLite.
 */
const where = { file: '/etc/cosell/cosell.yaml', resolveUrl: (ref: string) => ref.replace(/^env:PG$/, 'postgres://from-env/pg') };
const PG = { DATABASE_URL: 'postgres://db/cosell' };

describe('ledgerLocation', () => {
  it('ledger.url (resolved as a secret) wins over everything', () => {
    expect(ledgerLocation({ url: 'env:PG', file: 'x.sqlite' }, where, PG)).toEqual({ url: 'postgres://from-env/pg' });
  });
  it('ledger.file wins over $DATABASE_URL, relative to the network file', () => {
    expect(ledgerLocation({ file: 'data/ledger.sqlite' }, where, PG)).toEqual({ file: '/etc/cosell/data/ledger.sqlite' });
    expect(ledgerLocation({ file: '/var/lib/cosell.sqlite' }, where, PG)).toEqual({ file: '/var/lib/cosell.sqlite' });
  });
  it('$DATABASE_URL when the network file names no ledger, else the default SQLite file', () => {
    expect(ledgerLocation(undefined, where, PG)).toEqual({ url: 'postgres://db/cosell' });
    expect(ledgerLocation({}, where, {})).toEqual({ file: path.resolve('.cosell/ledger.sqlite') });
  });
});
