import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { START_CURSOR, type CrmRecord } from '../../connectors/types.js';
import { streamCursorId, type Ledger } from '../../ledger/index.js';
import { backends, uniqueLink, useLedgerStore } from './backends.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const rec = (id: string, s: number, fields: Record<string, string | number | null> = {}): CrmRecord => ({ id, modifiedAt: at(s), fields: { Name: `${id}@${s}`, ...fields } });

/**
 * The change-stream log (ledger/streams.ts): compacted on write, one row per record, each new version
 * re-numbered to the head; consumers' positions move forward only, in the page's own transaction.
 */
describe.each(backends)('change streams on $name', (backend) => {
  let ledger: Ledger;
  let store: Parameters<Parameters<typeof useLedgerStore>[1]>[0];
  useLedgerStore(backend, (s, l) => ((store = s), (ledger = l)));

  const newStream = async (fields = ['Name']) => {
    const id = `${uniqueLink('org')}:Opportunity`;
    await ledger.streams.ensure(id, 'org', 'Opportunity', fields);
    return id;
  };

  it('keeps the latest version of each record once, in change order; a version it has is not appended again', async () => {
    const s = await newStream();
    expect(await ledger.streams.append({ streamId: s, records: [rec('a', 1), rec('b', 2), rec('c', 3)], source: 'poll' })).toMatchObject({ appended: 3, head: 3 });
    // b changes again: it moves to the head; the old b is gone (compaction on write).
    expect(await ledger.streams.append({ streamId: s, records: [rec('b', 5), rec('a', 1)], source: 'poll' })).toMatchObject({ appended: 1, unchanged: 1, head: 4 });
    // An older version read late (a look-back) is ignored.
    expect(await ledger.streams.append({ streamId: s, records: [rec('b', 4)], source: 'poll' })).toMatchObject({ appended: 0, unchanged: 1, head: 4 });
    const entries = await ledger.streams.read(s, 0, 10);
    expect(entries.map((e) => [e.id, e.seq, e.fields?.Name])).toEqual([
      ['a', 1, 'a@1'],
      ['c', 3, 'c@3'],
      ['b', 4, 'b@5'],
    ]);
    expect((await ledger.streams.read(s, 3, 10)).map((e) => e.id)).toEqual(['b']);
  });

  it('tombstones replace the record; a restore after the deletion wins over an older tombstone', async () => {
    const s = await newStream();
    await ledger.streams.append({ streamId: s, records: [rec('a', 1), rec('b', 2)], source: 'poll' });
    expect(await ledger.streams.append({ streamId: s, tombstones: [{ id: 'a', deletedAt: at(3), mergedInto: 'b' }, { id: 'zz', deletedAt: at(3) }], source: 'poll' })).toMatchObject({ appended: 2 });
    // Restored (modified after the deletion); the same tombstone read again changes nothing.
    await ledger.streams.append({ streamId: s, records: [rec('a', 6)], source: 'poll' });
    expect(await ledger.streams.append({ streamId: s, tombstones: [{ id: 'a', deletedAt: at(3) }], source: 'poll' })).toMatchObject({ appended: 0 });
    const byId = new Map((await ledger.streams.read(s, 0, 10)).map((e) => [e.id, e]));
    expect(byId.get('a')).toMatchObject({ deletedAt: null, fields: { Name: 'a@6' } });
    expect(byId.get('zz')).toMatchObject({ deletedAt: at(3), fields: null });
    const current = [];
    for await (const page of ledger.streams.current(s)) current.push(...page.map((e) => e.id));
    expect(current.sort()).toEqual(['a', 'b']);
  });

  it("moves the stream's feed cursor in the append's transaction, and refuses a feed step backwards", async () => {
    const s = await newStream();
    const from = await ledger.cursors.getOrStart(streamCursorId(s), 'changes');
    const r = await ledger.streams.append({ streamId: s, records: [rec('a', 1)], cursor: { feed: 'changes', next: { modifiedAt: at(1), id: 'a' }, from, caughtUp: true }, source: 'poll' });
    expect(r.cursorAdvanced).toBe(true);
    expect(await ledger.cursors.get(streamCursorId(s), 'changes')).toMatchObject({ modifiedAt: at(1), id: 'a' });
    const now = await ledger.cursors.getOrStart(streamCursorId(s), 'changes');
    const e = await ledger.streams.append({ streamId: s, records: [rec('b', 2)], cursor: { feed: 'changes', next: { modifiedAt: at(0), id: '' }, from: now, caughtUp: true }, source: 'poll' }).catch((x: unknown) => x);
    expect((e as { code?: string }).code).toBe('COSELL_FEED_STALLED');
    expect((await ledger.streams.read(s, 0, 10)).map((x) => x.id)).toEqual(['a']); // nothing of that page
    expect((await ledger.streams.get(s))?.reconciled).toMatchObject({ polled: 1, missed: 1 });
  });

  it('a consumer position moves forward only, with its page, and a reset (resync) makes stale pages harmless', async () => {
    const s = await newStream();
    const link = uniqueLink();
    await ledger.streams.append({ streamId: s, records: [rec('a', 1), rec('b', 2)], source: 'poll' });
    const pos = await ledger.streams.attach(s, `link:${link}`);
    expect(pos).toMatchObject({ seq: 0, generation: 0 });
    const page = { linkId: link, feed: 'changes' as const, stream: { streamId: s, consumer: `link:${link}`, seq: 2, generation: 0 }, pairs: [{ sourceId: 'a', targetId: 'A' }] };
    expect((await ledger.commitPage(page)).positionAdvanced).toBe(true);
    expect((await ledger.commitPage(page)).positionAdvanced).toBe(false); // a duplicate: pairs are upserts, the position stays
    expect((await ledger.commitPage({ ...page, stream: { ...page.stream, seq: 1 } })).positionAdvanced).toBe(false);
    expect((await ledger.streams.position(s, `link:${link}`))?.seq).toBe(2);
    const reset = await ledger.streams.reset(s, `link:${link}`, at(2));
    expect(reset).toMatchObject({ seq: 0, generation: 1, floor: { kind: 'since', modifiedAt: at(2) } });
    expect((await ledger.commitPage({ ...page, stream: { ...page.stream, seq: 5 } })).positionAdvanced).toBe(false); // read before the reset
    expect((await ledger.commitPage({ ...page, stream: { ...page.stream, seq: 1, generation: 1 } })).positionAdvanced).toBe(true);
  });

  it('widening the field set restarts the stream feed from the beginning; the set only grows', async () => {
    const s = await newStream(['Name']);
    await ledger.commitPage({ linkId: streamCursorId(s), feed: 'changes', cursor: { modifiedAt: at(9), id: 'x' } });
    expect((await ledger.streams.ensure(s, 'org', 'Opportunity', ['Name'])).widened).toBe(false);
    const w = await ledger.streams.ensure(s, 'org', 'Opportunity', ['Amount']);
    expect(w).toMatchObject({ widened: true, info: { fields: ['Amount', 'Name'] } });
    expect(await ledger.cursors.get(streamCursorId(s), 'changes')).toMatchObject({ modifiedAt: START_CURSOR.modifiedAt, id: '', generation: 1 });
    expect((await ledger.streams.ensure(s, 'org', 'Opportunity', ['Name'])).info.fields).toEqual(['Amount', 'Name']);
  });

  it('drops only tombstones every consumer has passed', async () => {
    const s = await newStream();
    await ledger.streams.append({ streamId: s, tombstones: [{ id: 'a', deletedAt: at(1) }, { id: 'b', deletedAt: at(2) }], source: 'poll' });
    await ledger.streams.attach(s, 'c1');
    await ledger.streams.attach(s, 'c2');
    await ledger.streams.advance(s, 'c1', 2, 0);
    await ledger.streams.advance(s, 'c2', 1, 0);
    expect(await ledger.streams.compactTombstones(s, at(100))).toBe(1);
    expect((await ledger.streams.read(s, 0, 10)).map((e) => e.id)).toEqual(['b']);
  });

  it('property: concurrent appenders on their own connections never let a reader pass a version it then misses', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 4 }), async (batches) => {
        const s = await newStream();
        const second = await store.open();
        try {
          const writers = [ledger, second];
          const seen = new Map<string, string>();
          let pos = 0;
          let done = false;
          const reader = (async () => {
            for (;;) {
              const finished = done;
              const entries = await ledger.streams.read(s, pos, 3);
              for (const e of entries) seen.set(e.id, e.modifiedAt);
              if (entries.length) pos = entries[entries.length - 1].seq;
              else if (finished) return;
              await new Promise((r) => setTimeout(r, 1));
            }
          })();
          await Promise.all(batches.map((b, i) => writers[i % 2].streams.append({ streamId: s, records: b.map(([id, t]) => rec(`r${id}`, t)), source: 'poll' })));
          done = true;
          await reader;
          const latest = new Map<string, string>();
          for (const e of await ledger.streams.read(s, 0, 1000)) latest.set(e.id, e.modifiedAt);
          expect(seen).toEqual(latest);
          expect(new Set((await ledger.streams.read(s, 0, 1000)).map((e) => e.seq)).size).toBe(latest.size);
        } finally {
          await second.close();
        }
      }),
      { numRuns: 15 },
    );
  });
});
