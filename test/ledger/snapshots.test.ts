import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Ledger } from '../../ledger/index.js';
import { backends, uniqueLink, useLedgerStore } from './backends.js';

describe.each(backends)('ledger record snapshots on $name', (backend) => {
  let ledger: Ledger;
  useLedgerStore(backend, (_s, l) => (ledger = l));

  it('merges field by field: what a link read or wrote replaces only those fields', async () => {
    const org = uniqueLink('org');
    await ledger.snapshots.put([{ orgId: org, object: 'deals', recordId: 'd1', fields: { amount: '100', stage: 'open' }, modifiedAt: '2026-01-01T00:00:00.000Z' }]);
    await ledger.commitPage({
      linkId: uniqueLink(),
      feed: 'changes',
      snapshots: [
        { orgId: org, object: 'deals', recordId: 'd1', fields: { stage: 'won', owner: null }, merge: true },
        { orgId: org, object: 'deals', recordId: 'd2', fields: { amount: 5 }, modifiedAt: '2026-01-02T00:00:00.000Z' },
        { orgId: org, object: 'deals', recordId: 'd2', fields: { name: 'x' } }, // same record twice in one page: merged
      ],
    });
    const snaps = await ledger.snapshots.get(org, 'deals', ['d1', 'd2', 'd3']);
    expect([...snaps.keys()].sort()).toEqual(['d1', 'd2']);
    expect(snaps.get('d1')!.fields).toEqual({ amount: '100', stage: 'won', owner: null });
    expect(snaps.get('d2')).toEqual({ fields: { amount: 5, name: 'x' }, modifiedAt: '2026-01-02T00:00:00.000Z' });
    // Objects and orgs are separate namespaces.
    expect((await ledger.snapshots.get(org, 'companies', ['d1'])).size).toBe(0);
  });

  it('a failed page leaves snapshots untouched', async () => {
    const org = uniqueLink('org');
    await ledger.snapshots.put([{ orgId: org, object: 'deals', recordId: 'd1', fields: { amount: 1 } }]);
    await expect(
      ledger.commitPage({
        linkId: uniqueLink(),
        feed: 'changes',
        snapshots: [{ orgId: org, object: 'deals', recordId: 'd1', fields: { amount: 2 } }],
        audits: [{ action: null as unknown as string }],
      }),
    ).rejects.toThrow();
    expect((await ledger.snapshots.get(org, 'deals', ['d1'])).get('d1')!.fields).toEqual({ amount: 1 });
  });
});

describe('record snapshots on PostgreSQL: concurrent merges of one record', () => {
  it('two workers merging different fields at the same instant keep both (no lost update)', async () => {
    const store = await backends.find((b) => b.name === 'postgres')!.create();
    const [one, two] = [await store.open(), await store.open()];
    const blocker = new pg.Client({ connectionString: store.url });
    blocker.on('error', () => {});
    try {
      await one.snapshots.put([{ orgId: 'o', object: 'deals', recordId: 'old', fields: { base: 1 } }]);
      await blocker.connect();
      await blocker.query('begin');
      await blocker.query('lock table record_snapshots in share mode'); // reads pass, writes wait
      const racing = Promise.all([
        one.commitPage({ linkId: 'a', feed: 'changes', snapshots: [{ orgId: 'o', object: 'deals', recordId: 'old', fields: { fromA: 1 } }, { orgId: 'o', object: 'deals', recordId: 'new', fields: { fromA: 1 } }] }),
        two.commitPage({ linkId: 'b', feed: 'changes', snapshots: [{ orgId: 'o', object: 'deals', recordId: 'old', fields: { fromB: 2 } }, { orgId: 'o', object: 'deals', recordId: 'new', fields: { fromB: 2 } }] }),
      ]);
      await new Promise((r) => setTimeout(r, 300));
      await blocker.query('commit');
      await racing;
      const snaps = await one.snapshots.get('o', 'deals', ['old', 'new']);
      expect(snaps.get('old')!.fields).toEqual({ base: 1, fromA: 1, fromB: 2 });
      expect(snaps.get('new')!.fields).toEqual({ fromA: 1, fromB: 2 });
    } finally {
      await blocker.end().catch(() => {});
      await one.close();
      await two.close();
      await store.destroy();
    }
  });
});
