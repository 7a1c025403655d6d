import { describe, expect, it } from 'vitest';
import type { Ledger } from '../../ledger/index.js';
import { backends, uniqueLink, useLedgerStore } from './backends.js';

describe.each(backends)('ledger dead letters and audit on $name', (backend) => {
  let ledger: Ledger;
  useLedgerStore(backend, (_s, l) => (ledger = l));

  it('pairs: a target found deleted stays marked on later writes, until a write says it is back (relinked); a deleted pair is live again when re-written', async () => {
    const link = uniqueLink('pairs');
    await ledger.commitPage({ linkId: link, feed: 'changes', pairs: [{ sourceId: 's1', targetId: 't1', base: { Name: 'a' } }, { sourceId: 's2', targetId: 't2' }] });
    await ledger.commitPage({ linkId: link, feed: 'changes', pairs: [{ sourceId: 's1', targetId: 't1', targetDeleted: true }], deletedPairs: ['s2'] });
    const marked = (await ledger.pairs.bySource(link, ['s1', 's2']));
    expect(marked.get('s1')!.targetDeletedAt).not.toBeNull();
    expect(marked.get('s2')!.deletedAt).not.toBeNull();
    // An ordinary write keeps the mark (the deletion is respected); a relinked one clears it, base kept.
    await ledger.commitPage({ linkId: link, feed: 'changes', pairs: [{ sourceId: 's1', targetId: 't1' }] });
    expect((await ledger.pairs.bySource(link, ['s1'])).get('s1')!.targetDeletedAt).not.toBeNull();
    await ledger.commitPage({ linkId: link, feed: 'changes', pairs: [{ sourceId: 's1', targetId: 't1', relinked: true }, { sourceId: 's2', targetId: 't2', base: { Name: 'b' } }] });
    const back = await ledger.pairs.bySource(link, ['s1', 's2']);
    expect(back.get('s1')).toMatchObject({ targetId: 't1', targetDeletedAt: null, deletedAt: null, base: { Name: 'a' } });
    expect(back.get('s2')).toMatchObject({ targetId: 't2', targetDeletedAt: null, deletedAt: null, base: { Name: 'b' } });
  });

  it('dead letters: recorded with the CRM reason, replayed, failing again, then resolved', async () => {
    const link = uniqueLink('dl');
    const payload = { id: '006A', modifiedAt: '2026-01-01T00:00:00.000Z', fields: { Name: 'Big deal', StageName: 'Weird' } };
    await ledger.commitPage({
      linkId: link,
      feed: 'changes',
      deadLetters: [
        { sourceId: '006A', payload, reason: 'bad value for restricted picklist field: Weird', code: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', kind: 'validation', fields: ['StageName'] },
        { sourceId: '006B', payload: { fields: {} }, reason: 'Required fields are missing: [CloseDate]', code: 'REQUIRED_FIELD_MISSING', fields: ['CloseDate'] },
      ],
    });
    const pending = await ledger.deadLetters.list({ linkId: link, status: 'pending' });
    expect(pending.map((d) => d.sourceId)).toEqual(['006A', '006B']);
    const a = pending[0];
    expect(a).toMatchObject({ linkId: link, payload, code: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', kind: 'validation', fields: ['StageName'], attempts: 1, status: 'pending', replayedAt: null, resolvedAt: null });
    expect(await ledger.deadLetters.get(a.id)).toEqual(a);
    expect(await ledger.deadLetters.get(999_999)).toBeUndefined();

    // Replay both; 006A fails again with a new reason (same row, attempt counted), 006B lands.
    expect(await ledger.deadLetters.markReplayed(pending.map((d) => d.id))).toBe(2);
    expect(await ledger.deadLetters.markReplayed(pending.map((d) => d.id))).toBe(0); // only pending ones
    expect((await ledger.deadLetters.get(a.id))!.status).toBe('replayed');
    expect((await ledger.deadLetters.get(a.id))!.replayedAt).not.toBeNull();
    await ledger.commitPage({
      linkId: link,
      feed: 'changes',
      pairs: [{ sourceId: '006B', targetId: 'deal-1' }],
      resolvedDeadLetters: ['006B'],
      deadLetters: [{ sourceId: '006A', payload, reason: 'value too long for field Name', code: 'STRING_TOO_LONG', fields: ['Name'] }],
    });
    const again = await ledger.deadLetters.bySource(link, '006A');
    expect(again).toMatchObject({ id: a.id, status: 'pending', attempts: 2, reason: 'value too long for field Name', code: 'STRING_TOO_LONG', kind: null, fields: ['Name'] });
    expect((await ledger.deadLetters.bySource(link, '006B'))!.status).toBe('resolved');
    expect(await ledger.deadLetters.counts(link)).toEqual({ pending: 1, replayed: 0, resolved: 1 });

    // Resolved later by the ordinary sync (record fixed at the source).
    expect(await ledger.deadLetters.resolve(link, ['006A', 'nope'])).toBe(1);
    expect(await ledger.deadLetters.counts(link)).toEqual({ pending: 0, replayed: 0, resolved: 2 });
    expect(await ledger.deadLetters.list({ linkId: link, status: ['pending', 'replayed'] })).toEqual([]);
    // Paging by id.
    const all = await ledger.deadLetters.list({ linkId: link });
    expect((await ledger.deadLetters.list({ linkId: link, afterId: all[0].id })).map((d) => d.sourceId)).toEqual(['006B']);
  });

  it('audit: every write with before → after and decisions, queryable by link, record, action and time', async () => {
    const link = uniqueLink('au');
    const otherLink = uniqueLink('au');
    await ledger.commitPage({
      linkId: link,
      feed: 'changes',
      audits: [
        { linkId: link, sourceId: 'd1', targetId: 'o1', action: 'created', before: null, after: { amount: 100, stage: 'Prospecting' }, at: '2026-02-01T10:00:00Z' },
        {
          linkId: link,
          sourceId: 'd1',
          targetId: 'o1',
          action: 'conflict',
          before: { amount: 100 },
          after: { amount: 120 },
          decisions: [{ field: 'amount', policy: 'vendor-wins', winner: 'vendor' }],
          actor: 'sync',
          at: '2026-02-01T11:00:00Z',
        },
        { linkId: link, sourceId: 'd2', targetId: 'o2', action: 'created', after: { amount: 5 }, at: '2026-02-02T10:00:00Z' },
      ],
    });
    await ledger.audit.append([{ linkId: otherLink, sourceId: 'o1', targetId: 'd1', action: 'skipped-echo', details: { hash: 'abc' }, at: '2026-02-01T12:00:00Z' }]);

    const byLink = await ledger.audit.list({ linkId: link });
    expect(byLink.map((e) => e.action)).toEqual(['created', 'conflict', 'created']);
    expect(byLink[1]).toMatchObject({ before: { amount: 100 }, after: { amount: 120 }, decisions: [{ field: 'amount', policy: 'vendor-wins', winner: 'vendor' }], actor: 'sync', at: '2026-02-01T11:00:00.000Z' });
    expect(byLink[0].before).toBeNull();

    // A record is found on either side, across links.
    const o1 = await ledger.audit.list({ recordId: 'o1' });
    expect(o1.filter((e) => e.linkId === link || e.linkId === otherLink).map((e) => [e.linkId, e.action])).toEqual([
      [link, 'created'],
      [link, 'conflict'],
      [otherLink, 'skipped-echo'],
    ]);
    expect((await ledger.audit.list({ linkId: link, recordId: 'd2' })).map((e) => e.targetId)).toEqual(['o2']);
    expect((await ledger.audit.list({ linkId: link, action: 'conflict' })).length).toBe(1);
    expect((await ledger.audit.list({ linkId: link, since: '2026-02-01T10:30:00Z', until: '2026-02-02T00:00:00Z' })).map((e) => e.action)).toEqual(['conflict']);
    const newest = await ledger.audit.list({ linkId: link, order: 'desc', limit: 2 });
    expect(newest.map((e) => e.sourceId)).toEqual(['d2', 'd1']);
    expect((await ledger.audit.list({ linkId: link, order: 'desc', afterId: newest[1].id })).map((e) => e.action)).toEqual(['created']);
    expect((await ledger.audit.list({ linkId: link, afterId: byLink[0].id, limit: 1 })).map((e) => e.action)).toEqual(['conflict']);

    // Retention: events before a time go; later ones stay.
    await ledger.audit.append([{ linkId: link, action: 'created', at: '2020-01-01T00:00:00Z' }]);
    expect(await ledger.audit.prune('2021-01-01T00:00:00Z')).toBeGreaterThanOrEqual(1);
    expect((await ledger.audit.list({ linkId: link })).map((e) => e.action)).toEqual(['created', 'conflict', 'created']);
  });
});
