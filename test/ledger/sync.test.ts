import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectLedger, type Ledger } from '../../ledger/index.js';
import type { PageCommit, PairWrite } from '../../ledger/index.js';
import { backends, uniqueLink, useLedgerStore, type LedgerStore } from './backends.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe.each(backends)('ledger sync state on $name', (backend) => {
  let store: LedgerStore;
  let ledger: Ledger;
  useLedgerStore(backend, (s, l) => ((store = s), (ledger = l)));

  it('migrations are idempotent: reopening applies nothing and keeps the data', async () => {
    const link = uniqueLink();
    await ledger.cursors.advance(link, 'changes', { modifiedAt: at(1), id: 'a' });
    const again = await store.open();
    try {
      expect(await again.migrate()).toEqual([]);
      expect(await again.migrate()).toEqual([]);
      expect((await again.cursors.get(link, 'changes'))?.id).toBe('a');
    } finally {
      await again.close();
    }
  });

  it('several workers opening a fresh store at once all migrate it safely', async () => {
    const fresh = await backend.create();
    try {
      const opened = await Promise.all(Array.from({ length: 4 }, () => fresh.open()));
      expect(await opened[0].migrate()).toEqual([]);
      await opened[1].cursors.advance('l', 'changes', { modifiedAt: at(1), id: 'x' });
      expect((await opened[3].cursors.get('l', 'changes'))?.id).toBe('x');
      for (const l of opened) await l.close();
    } finally {
      await fresh.destroy();
    }
  });

  it('a cursor never moves backwards, ties on modifiedAt break by id, and reset bumps the generation', async () => {
    const link = uniqueLink();
    expect(await ledger.cursors.get(link, 'changes')).toBeUndefined();
    expect(await ledger.cursors.getOrStart(link, 'changes')).toMatchObject({ modifiedAt: '1970-01-01T00:00:00.000Z', id: '', generation: 0 });
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(10), id: 'm' })).toBe(true);
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(9), id: 'z' })).toBe(false); // older time
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(10), id: 'c' })).toBe(false); // same time, smaller id
    // Byte order, not locale order: 'B' (0x42) sorts before 'a' (0x61).
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(10), id: 'B' })).toBe(false);
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(10), id: 'm', state: { window: 2 } })).toBe(true); // same position, new state
    expect(await ledger.cursors.get(link, 'changes')).toMatchObject({ modifiedAt: at(10), id: 'm', state: { window: 2 }, generation: 0 });
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(10), id: 'n' })).toBe(true);
    // Other feed is independent.
    expect(await ledger.cursors.get(link, 'deletions')).toBeUndefined();

    const reset = await ledger.cursors.reset(link, 'changes', { modifiedAt: at(1), id: '' });
    expect(reset).toMatchObject({ modifiedAt: at(1), id: '', generation: 1 });
    // A page read before the reset (generation 0) cannot move it, even forwards.
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(20), id: 'x' }, 0)).toBe(false);
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: at(2), id: 'x' }, 1)).toBe(true);
    const list = await ledger.cursors.list(link);
    expect(list.map((c) => [c.feed, c.modifiedAt, c.id, c.generation])).toEqual([['changes', at(2), 'x', 1]]);
    // Timestamps are normalised to ISO ms UTC before comparing.
    expect(await ledger.cursors.advance(link, 'changes', { modifiedAt: '2026-01-01T00:00:02+00:00', id: 'w' })).toBe(false);
  });

  it('commitPage writes pairs, hashes, deletions, dead letters, audits and the cursor together', async () => {
    const link = uniqueLink();
    const first = await ledger.commitPage({
      linkId: link,
      feed: 'changes',
      cursor: { modifiedAt: at(5), id: 's2' },
      pairs: [
        { sourceId: 's1', targetId: 't1', matchKey: 'k1', sourceHash: 'h1', targetHash: 'w1' },
        { sourceId: 's2', targetId: 't2', matchKey: 'k2', sourceHash: 'h2', targetHash: 'w2' },
      ],
      deadLetters: [{ sourceId: 's3', payload: { Name: 'x' }, reason: 'Required field missing: CloseDate', code: 'REQUIRED_FIELD_MISSING', kind: 'validation', fields: ['CloseDate'] }],
      audits: [{ linkId: link, sourceId: 's1', targetId: 't1', action: 'created', before: null, after: { name: 'A' }, eventKey: `${link}:s1:h1` }],
    });
    expect(first.cursorAdvanced).toBe(true);
    expect(first.cursor).toMatchObject({ modifiedAt: at(5), id: 's2' });

    const second = await ledger.commitPage({
      linkId: link,
      feed: 'changes',
      cursor: { modifiedAt: at(6), id: 's3' },
      pairs: [{ sourceId: 's3', targetId: 't3', matchKey: 'k3' }],
      hashes: [{ sourceId: 's1', sourceHash: 'h1b' }, { sourceId: 'unknown', sourceHash: 'zz' }],
      deletedPairs: ['s2'],
      resolvedDeadLetters: ['s3'],
    });
    expect(second.cursorAdvanced).toBe(true);

    const bySource = await ledger.pairs.bySource(link, ['s1', 's2', 's3', 'unknown']);
    expect([...bySource.keys()].sort()).toEqual(['s1', 's2', 's3']);
    expect(bySource.get('s1')).toMatchObject({ targetId: 't1', matchKey: 'k1', sourceHash: 'h1b', targetHash: 'w1', deletedAt: null });
    expect(bySource.get('s2')!.deletedAt).not.toBeNull();
    expect(bySource.get('s3')).toMatchObject({ targetId: 't3', sourceHash: null });
    const byTarget = await ledger.pairs.byTarget(link, ['t1', 't3', 'tX']);
    expect([...byTarget.entries()].map(([t, p]) => [t, p.sourceId]).sort()).toEqual([['t1', 's1'], ['t3', 's3']]);
    expect((await ledger.pairs.byMatchKey(link, ['k2'])).get('k2')?.sourceId).toBe('s2');
    expect(await ledger.pairs.count(link)).toBe(2);
    expect(await ledger.pairs.count(link, { includeDeleted: true })).toBe(3);
    expect((await ledger.pairs.list(link)).map((p) => p.sourceId)).toEqual(['s1', 's3']);
    expect((await ledger.deadLetters.bySource(link, 's3'))?.status).toBe('resolved');
    expect(await ledger.audit.count(link)).toBe(1);

    // Re-pairing a deleted record revives it; omitted hashes keep their values.
    await ledger.commitPage({ linkId: link, feed: 'changes', pairs: [{ sourceId: 's2', targetId: 't2b' }] });
    expect((await ledger.pairs.bySource(link, ['s2'])).get('s2')).toMatchObject({ targetId: 't2b', deletedAt: null, sourceHash: 'h2', matchKey: 'k2' });
    // No cursor given: the cursor stays where it was.
    expect((await ledger.cursors.get(link, 'changes'))?.id).toBe('s3');
  });

  it('commitPage is atomic: a failure mid-page leaves the cursor, pairs and dead letters unchanged', async () => {
    const link = uniqueLink();
    await ledger.commitPage({ linkId: link, feed: 'changes', cursor: { modifiedAt: at(1), id: 'a' }, pairs: [{ sourceId: 'a', targetId: 'ta', sourceHash: 'old' }] });
    const failing: PageCommit = {
      linkId: link,
      feed: 'changes',
      cursor: { modifiedAt: at(2), id: 'c' },
      pairs: [
        { sourceId: 'a', targetId: 'ta', sourceHash: 'new' },
        { sourceId: 'b', targetId: 'tb' },
      ],
      deadLetters: [{ sourceId: 'c', payload: {}, reason: 'bad picklist' }],
      // The audit insert comes after the pairs and dead letters: a NOT NULL violation there must undo them.
      audits: [{ linkId: link, sourceId: 'b', action: null as unknown as string }],
    };
    await expect(ledger.commitPage(failing)).rejects.toThrow();
    expect(await ledger.cursors.get(link, 'changes')).toMatchObject({ modifiedAt: at(1), id: 'a' });
    const pairs = await ledger.pairs.bySource(link, ['a', 'b']);
    expect([...pairs.keys()]).toEqual(['a']);
    expect(pairs.get('a')!.sourceHash).toBe('old');
    expect(await ledger.deadLetters.bySource(link, 'c')).toBeUndefined();
    expect(await ledger.audit.count(link)).toBe(0);
  });

  it('commitPage is idempotent: the same page twice, or a stale page, changes nothing more', async () => {
    const link = uniqueLink();
    const page: PageCommit = {
      linkId: link,
      feed: 'changes',
      cursor: { modifiedAt: at(3), id: 'p3' },
      pairs: [{ sourceId: 'p1', targetId: 't1' }, { sourceId: 'p2', targetId: 't2' }, { sourceId: 'p1', targetId: 't1' }],
      deadLetters: [{ sourceId: 'p9', payload: { a: 1 }, reason: 'too long' }],
      audits: [{ sourceId: 'p1', action: 'created', eventKey: `${link}:p1:v1` }], // linkId defaults to the page's
    };
    expect((await ledger.commitPage(page)).cursorAdvanced).toBe(true);
    await ledger.commitPage({ ...page, cursor: { modifiedAt: at(4), id: 'p4' } });
    const replay = await ledger.commitPage(page); // a late duplicate of the first page
    expect(replay.cursorAdvanced).toBe(false);
    expect(replay.cursor).toMatchObject({ modifiedAt: at(4), id: 'p4' });
    expect(await ledger.pairs.count(link)).toBe(2);
    expect(await ledger.audit.count(link)).toBe(1);
    expect((await ledger.deadLetters.list({ linkId: link })).length).toBe(1);

    // After a resync (reset), a page read under the old generation writes its pairs but not the cursor.
    const reset = await ledger.cursors.reset(link, 'changes');
    const stale = await ledger.commitPage({ ...page, cursor: { modifiedAt: at(50), id: 'z' }, generation: reset.generation - 1, pairs: [{ sourceId: 'p5', targetId: 't5' }] });
    expect(stale.cursorAdvanced).toBe(false);
    expect(stale.cursor).toMatchObject({ modifiedAt: '1970-01-01T00:00:00.000Z', generation: reset.generation });
    expect((await ledger.pairs.bySource(link, ['p5'])).has('p5')).toBe(true);
  });

  it('concurrent duplicate commitPage calls from two connections create no duplicates and end at the furthest cursor', async () => {
    const link = uniqueLink();
    const other = await store.open(); // a second worker: its own connection (pool)
    try {
      const pages: PageCommit[] = Array.from({ length: 6 }, (_, p) => {
        const pairs: PairWrite[] = Array.from({ length: 200 }, (_, i) => {
          const n = p * 100 + i; // consecutive pages overlap by half: shared rows are contended
          return { sourceId: `s${String(n).padStart(5, '0')}`, targetId: `t${n}`, matchKey: `k${n}`, sourceHash: `h${n}` };
        });
        return {
          linkId: link,
          feed: 'changes',
          cursor: { modifiedAt: at(10 + p), id: `s${p}` },
          pairs,
          deadLetters: [{ sourceId: `bad${p % 2}`, payload: { p }, reason: 'invalid' }],
          audits: pairs.slice(0, 20).map((x) => ({ linkId: link, sourceId: x.sourceId, action: 'upserted', eventKey: `${link}:${x.sourceId}` })),
        };
      });
      // Every page committed twice by each of the two "workers", all at once, in scrambled orders.
      const calls = [...pages, ...pages].flatMap((pg, i) => [ledger.commitPage(pg), other.commitPage(pages[pages.length - 1 - (i % pages.length)])]);
      const results = await Promise.all(calls);
      expect(results.some((r) => r.cursorAdvanced)).toBe(true);

      expect(await ledger.pairs.count(link)).toBe(700); // s00000..s00699
      expect(await other.pairs.count(link)).toBe(700);
      const sample = await ledger.pairs.bySource(link, ['s00000', 's00350', 's00699']);
      expect(sample.get('s00350')).toMatchObject({ targetId: 't350', matchKey: 'k350' });
      expect((await ledger.deadLetters.list({ linkId: link })).map((d) => d.sourceId).sort()).toEqual(['bad0', 'bad1']);
      const keyed = new Set(pages.flatMap((pg) => pg.audits!.map((a) => a.eventKey)));
      expect(await ledger.audit.count(link)).toBe(keyed.size);
      expect(await ledger.cursors.get(link, 'changes')).toMatchObject({ modifiedAt: at(15), id: 's5' });
    } finally {
      await other.close();
    }
  });

  it('concurrent cursor advances in random order keep the maximum', async () => {
    const link = uniqueLink();
    const other = await store.open();
    try {
      const positions = Array.from({ length: 30 }, (_, i) => ({ modifiedAt: at(Math.floor(i / 3)), id: `r${i % 3}` }));
      const shuffled = [...positions].sort(() => Math.random() - 0.5);
      await Promise.all(shuffled.map((c, i) => (i % 2 ? ledger : other).commitPage({ linkId: link, feed: 'deletions', cursor: c })));
      expect(await ledger.cursors.get(link, 'deletions')).toMatchObject({ modifiedAt: at(9), id: 'r2' });
    } finally {
      await other.close();
    }
  });
});

describe('ledger connection choice', () => {
  it('uses the SQLite file when given, even with DATABASE_URL set, and PostgreSQL for postgres:// urls', async () => {
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = 'postgres://nobody:secret@127.0.0.1:1/none';
    try {
      const lite = connectLedger({ file: ':memory:' });
      expect(lite.dialect).toBe('sqlite');
      await lite.close();
      const fromEnv = connectLedger();
      expect(fromEnv.dialect).toBe('postgres');
      expect(fromEnv.location).toBe('postgres://127.0.0.1:1/none'); // no credentials in what we print
      await fromEnv.close();
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
    expect(() => connectLedger({ url: 'mysql://x@y/z' })).toThrow(/unsupported ledger URL scheme/);
  });
});

describe('commitPage on PostgreSQL: duplicates that really run at the same moment', () => {
  it('two workers committing the same page, released together, leave one set of rows and one cursor', async () => {
    const store = await backends.find((b) => b.name === 'postgres')!.create();
    const [one, two] = [await store.open(), await store.open()];
    const blocker = new pg.Client({ connectionString: store.url });
    blocker.on('error', () => {});
    try {
      const page: PageCommit = {
        linkId: 'dup',
        feed: 'changes',
        cursor: { modifiedAt: at(30), id: 'x' },
        pairs: Array.from({ length: 300 }, (_, i) => ({ sourceId: `s${i}`, targetId: `t${i}`, sourceHash: `h${i}` })),
        deadLetters: [{ sourceId: 'bad', payload: {}, reason: 'invalid' }],
        audits: [{ sourceId: 's1', action: 'created', eventKey: 'dup:s1:h1' }],
      };
      await one.cursors.advance('dup', 'changes', { modifiedAt: at(1), id: 'a' });
      // Hold writes on the pairs table so both transactions are open and waiting at the same point.
      await blocker.connect();
      await blocker.query('begin');
      await blocker.query('lock table record_pairs in share mode');
      const racing = Promise.all([one.commitPage(page), two.commitPage(page)]);
      await new Promise((r) => setTimeout(r, 300));
      await blocker.query('commit');
      const results = await racing;
      expect(results.map((r) => r.cursor?.id)).toEqual(['x', 'x']);
      expect(await one.pairs.count('dup')).toBe(300);
      expect((await one.db.selectFrom('record_pairs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n).toBe(300);
      expect(await one.audit.count('dup')).toBe(1);
      expect((await one.deadLetters.list({ linkId: 'dup' })).length).toBe(1);
      expect(await one.cursors.get('dup', 'changes')).toMatchObject({ modifiedAt: at(30), id: 'x' });
    } finally {
      await blocker.end().catch(() => {});
      await one.close();
      await two.close();
      await store.destroy();
    }
  });
});
