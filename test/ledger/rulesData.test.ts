import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isCosellError } from '../../lib/errors.js';
import { registrationId, type Ledger, type OverlapInput, type VendorAccountInput } from '../../ledger/index.js';
import { backends, uniqueLink, useLedgerStore } from './backends.js';

describe.each(backends)('ledger registrations, account index and overlaps on $name', (backend) => {
  let ledger: Ledger;
  useLedgerStore(backend, (_s, l) => (ledger = l));

  it('registrations: upsert keeps decisions, compare-and-set updates, filters', async () => {
    const partner = uniqueLink('acme');
    const created = await ledger.registrations.upsert({
      partner,
      sourceId: 'deal-1',
      customerName: 'Globex Corporation',
      customerNameNorm: 'globex',
      customerDomain: 'globex.com',
      country: 'DE',
      amount: 50_000.5,
      currency: 'EUR',
      submittedAt: '2026-03-01T09:00:00Z',
      details: { products: ['core'] },
    });
    expect(created).toMatchObject({
      id: registrationId(partner, 'deal-1'),
      status: 'submitted',
      amount: 50_000.5,
      extensions: 0,
      submittedAt: '2026-03-01T09:00:00.000Z',
      details: { products: ['core'] },
      decidedBy: null,
    });
    expect(created.id).toBe(`${partner}:deal-1`);

    const approved = await ledger.registrations.update(created.id, { status: 'approved', reason: 'gold tier ≤ 100k', decidedBy: 'rules', decidedAt: '2026-03-01T09:00:05Z', expiresAt: '2026-05-30T09:00:00Z', vendorOpportunityId: '006XYZ' }, { ifStatus: ['submitted', 'pending'] });
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'rules', expiresAt: '2026-05-30T09:00:00.000Z', vendorOpportunityId: '006XYZ' });

    // Re-reading the partner's deal updates customer data but never undoes the decision.
    const reread = await ledger.registrations.upsert({ partner, sourceId: 'deal-1', amount: 60_000 });
    expect(reread).toMatchObject({ status: 'approved', amount: 60_000, customerName: 'Globex Corporation', createdAt: created.createdAt });

    // A racing second decision is refused.
    const err = await ledger.registrations.update(created.id, { status: 'rejected' }, { ifStatus: ['pending'] }).catch((e) => e);
    expect(isCosellError(err, 'COSELL_REGISTRATION_STATE')).toBe(true);
    const missing = await ledger.registrations.update(`${partner}:none`, { status: 'rejected' }).catch((e) => e);
    expect(isCosellError(missing, 'COSELL_REGISTRATION_UNKNOWN')).toBe(true);
    expect((await ledger.registrations.update(created.id, { extensions: 1, expiresAt: '2026-08-28T09:00:00Z' })).extensions).toBe(1);

    await ledger.registrations.upsert({ partner, sourceId: 'deal-0', customerDomain: 'globex.com', status: 'pending', submittedAt: '2026-02-01T00:00:00Z' });
    await ledger.registrations.upsert({ partner: `${partner}-b`, sourceId: 'x', customerDomain: 'initech.com', status: 'rejected' });

    expect(await ledger.registrations.get(created.id)).toMatchObject({ extensions: 1, status: 'approved' });
    expect(await ledger.registrations.get('nobody:1')).toBeUndefined();
    // Oldest submission first: the order first-to-register decides by.
    expect((await ledger.registrations.list({ partner })).map((r) => r.sourceId)).toEqual(['deal-0', 'deal-1']);
    expect((await ledger.registrations.list({ customerDomain: 'globex.com', status: ['approved', 'pending'] })).map((r) => r.sourceId)).toEqual(['deal-0', 'deal-1']);
    expect((await ledger.registrations.list({ partner, status: 'approved' })).map((r) => r.sourceId)).toEqual(['deal-1']);
    expect((await ledger.registrations.list({ customerNameNorm: 'globex' })).map((r) => r.sourceId)).toEqual(['deal-1']);
    expect((await ledger.registrations.list({ partner, expiresBefore: '2026-09-01T00:00:00Z' })).map((r) => r.sourceId)).toEqual(['deal-1']);
    expect((await ledger.registrations.list({ partner, limit: 1, offset: 1 })).map((r) => r.sourceId)).toEqual(['deal-1']);
  });

  it('account index: bulk upsert replaces rows, lookups by domain and name, paging, removal', async () => {
    const org = uniqueLink('vendor');
    const accounts: VendorAccountInput[] = Array.from({ length: 1200 }, (_, i) => ({
      orgId: org,
      accountId: `001${String(i).padStart(6, '0')}`,
      name: `Company ${i} GmbH`,
      nameNorm: `company ${i}`,
      domainNorm: `company${i % 1000}.com`, // 200 domains shared by two accounts
      owner: i % 2 ? 'alice' : 'bob',
      named: i === 7,
      country: 'DE',
      hasOpenOpportunity: i % 3 === 0,
    }));
    await ledger.accounts.upsert(accounts);
    expect(await ledger.accounts.count(org)).toBe(1200);
    expect(await ledger.accounts.get(org, '001000007')).toMatchObject({ name: 'Company 7 GmbH', named: true, hasOpenOpportunity: false, owner: 'alice', details: null });
    expect((await ledger.accounts.byDomain(org, ['company5.com', 'nowhere.com'])).map((a) => a.accountId)).toEqual(['001000005', '001001005']);
    expect((await ledger.accounts.byName(org, ['company 9'])).map((a) => [a.accountId, a.hasOpenOpportunity])).toEqual([['001000009', true]]);

    // The sync re-upserts changed accounts: full replace of the row.
    await ledger.accounts.upsert([{ orgId: org, accountId: '001000007', name: 'Renamed', nameNorm: 'renamed', domainNorm: 'renamed.io', details: { industry: 'x' } }]);
    expect(await ledger.accounts.get(org, '001000007')).toMatchObject({ name: 'Renamed', named: false, country: null, details: { industry: 'x' } });
    expect(await ledger.accounts.byName(org, ['company 7'])).toEqual([]);

    const pages: number[] = [];
    for await (const page of ledger.accounts.iterate(org, 500)) pages.push(page.length);
    expect(pages).toEqual([500, 500, 200]);
    const all = await ledger.accounts.all(org);
    expect(all.length).toBe(1200);
    expect(new Set(all.map((a) => a.accountId)).size).toBe(1200);
    expect(await ledger.accounts.remove(org, ['001000000', '001000001', 'missing'])).toBe(2);
    expect(await ledger.accounts.count(org)).toBe(1198);
    expect(await ledger.accounts.count(`${org}-other`)).toBe(0);
  });

  it('overlaps: replace returns what appeared, changed and ended; list and summary per partner', async () => {
    const partner = uniqueLink('p');
    const row = (v: string, p: string, classification: string, score = 1): OverlapInput => ({ vendorAccountId: v, partnerRecordId: p, hashedKey: `h-${v}`, classification, score });
    const first = await ledger.overlaps.replace(partner, [row('a1', 'c1', 'customer/customer'), row('a2', 'c2', 'customer/prospect', 0.8), row('a3', 'c3', 'opportunity/customer', 0.5)]);
    expect(first.added.map((o) => o.vendorAccountId)).toEqual(['a1', 'a2', 'a3']);
    expect(first).toMatchObject({ removed: [], changed: [], unchanged: 0 });

    const second = await ledger.overlaps.replace(partner, [row('a1', 'c1', 'customer/customer'), row('a2', 'c2', 'customer/customer', 0.9), row('a4', 'c4', 'prospect/prospect', 0.3)]);
    expect(second.added.map((o) => o.vendorAccountId)).toEqual(['a4']);
    expect(second.changed.map((o) => [o.vendorAccountId, o.classification, o.score])).toEqual([['a2', 'customer/customer', 0.9]]);
    expect(second.removed.map((o) => [o.vendorAccountId, o.classification])).toEqual([['a3', 'opportunity/customer']]);
    expect(second.unchanged).toBe(1);

    expect((await ledger.overlaps.list(partner)).map((o) => [o.vendorAccountId, o.score])).toEqual([['a1', 1], ['a2', 0.9], ['a4', 0.3]]);
    expect((await ledger.overlaps.list(partner, { classification: 'customer/customer' })).length).toBe(2);
    expect(await ledger.overlaps.summary(partner)).toEqual([{ classification: 'customer/customer', count: 2 }, { classification: 'prospect/prospect', count: 1 }]);
    // Partners are independent; an empty result clears the set.
    expect((await ledger.overlaps.replace(`${partner}-x`, [row('a1', 'z', 'customer/customer')])).added.length).toBe(1);
    const cleared = await ledger.overlaps.replace(partner, []);
    expect(cleared.removed.length).toBe(3);
    expect(await ledger.overlaps.list(partner)).toEqual([]);
    expect((await ledger.overlaps.list(`${partner}-x`)).length).toBe(1);
  });

});

describe('overlaps on PostgreSQL: concurrent replaces for one partner', () => {
  it('two workers replacing at once end in exactly one of the two results, not a mix', async () => {
    const store = await backends.find((b) => b.name === 'postgres')!.create();
    const [one, two] = [await store.open(), await store.open()];
    const partner = 'race';
    const setA: OverlapInput[] = Array.from({ length: 300 }, (_, i) => ({ vendorAccountId: `v${String(i).padStart(4, '0')}`, partnerRecordId: `p${i}`, hashedKey: `k${i}`, classification: 'customer/customer', score: 1 }));
    const setB: OverlapInput[] = setA.map((o, i) => ({ ...o, vendorAccountId: `v${String(i + 150).padStart(4, '0')}`, classification: 'customer/prospect', score: 0.5 }));
    try {
      await one.overlaps.replace(partner, setA.slice(0, 10)); // an earlier result both runs start from
      // Hold writes on the table so both replaces have read the old state before either can write:
      // without the per-partner lock they would each delete/insert from a stale view and leave a mix.
      const blocker = new pg.Client({ connectionString: store.url });
      blocker.on('error', () => {});
      await blocker.connect();
      let racing: Promise<unknown>;
      try {
        await blocker.query('begin');
        await blocker.query('lock table account_overlaps in share mode');
        racing = Promise.all([one.overlaps.replace(partner, setA), two.overlaps.replace(partner, setB)]);
        await new Promise((r) => setTimeout(r, 300));
        await blocker.query('commit');
      } finally {
        await blocker.end();
      }
      await racing;
      const final = await one.overlaps.list(partner);
      const ids = final.map((o) => o.vendorAccountId).sort().join();
      const isA = ids === setA.map((o) => o.vendorAccountId).join() && final.every((o) => o.classification === 'customer/customer');
      const isB = ids === setB.map((o) => o.vendorAccountId).join() && final.every((o) => o.classification === 'customer/prospect');
      expect(final.length).toBe(300);
      expect(isA || isB).toBe(true);
    } finally {
      await one.close();
      await two.close();
      await store.destroy();
    }
  });
});
