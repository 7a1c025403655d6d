import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Ledger, Registration } from '../../ledger/index.js';
import type { RegistrationPageQuery, RegistrationSort } from '../../ledger/types.js';
import { backends, useLedgerStore } from './backends.js';

/**
 * The console's review queue reads one page at a time from SQL (`registrations.page`): filter by
 * status / partner / customer text, sort by any column either way with ties broken by id and missing
 * values last, and the total. Checked against a model of the same rows on SQLite and PostgreSQL, with
 * random rows (ties, nulls, LIKE metacharacters in names) and random queries.
 */
const STATUSES = ['pending-review', 'approved', 'rejected', 'expired'];
const PARTNERS = ['acme', 'globex', 'initech'];
const NAMES = ['Acme Corp', 'acme 50%_off', 'Initrode', 'Globex', 'Umbrella', 'Back\\slash Ltd', 'Ümlaut GmbH', 'INITRODE'];

const rowArb = fc.record({
  partner: fc.constantFrom(...PARTNERS),
  status: fc.constantFrom(...STATUSES),
  name: fc.option(fc.constantFrom(...NAMES), { nil: null }),
  domain: fc.option(fc.constantFrom('acme.com', 'initrode.com', 'x_y.com', 'globex.de'), { nil: null }),
  amount: fc.option(fc.constantFrom(1000, 2500, 90000, 250000.5), { nil: null }),
  submittedMin: fc.integer({ min: 0, max: 20 }),
  dueMin: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
});
const queryArb = fc.record({
  status: fc.option(fc.subarray(STATUSES, { minLength: 2, maxLength: 3 }), { nil: undefined, freq: 2 }),
  partner: fc.option(fc.constantFrom(...PARTNERS), { nil: undefined }),
  search: fc.option(fc.constantFrom('acme', 'ACME', '50%', '_', 'init', '\\', 'x_y', 'nothing-matches'), { nil: undefined, freq: 3 }),
  sort: fc.constantFrom<RegistrationSort>('submitted', 'due', 'amount', 'customer', 'partner', 'status'),
  dir: fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
  limit: fc.integer({ min: 1, max: 7 }),
  offset: fc.integer({ min: 0, max: 4 }),
});

const t0 = Date.UTC(2026, 11, 1);
const iso = (min: number) => new Date(t0 + min * 60_000).toISOString();

const SORT_VALUE: Record<RegistrationSort, (r: Registration) => string | number | null> = {
  submitted: (r) => r.submittedAt,
  due: (r) => r.reviewDueAt,
  amount: (r) => r.amount,
  customer: (r) => r.customerName,
  partner: (r) => r.partner,
  status: (r) => r.status,
};

/** Code-point order, as SQLite (BINARY) and the test's PostgreSQL (initdb --locale=C) compare text. */
const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

function model(all: Registration[], q: RegistrationPageQuery): { ids: string[]; total: number } {
  const needle = q.search?.trim().toLowerCase();
  const rows = all.filter((r) => (!q.status || q.status.includes(r.status)) && (!q.partner || r.partner === q.partner) && (!needle || (r.customerName ?? '').toLowerCase().includes(needle) || (r.customerDomain ?? '').includes(needle)));
  const key = SORT_VALUE[q.sort ?? 'submitted'];
  const sign = q.dir === 'desc' ? -1 : 1;
  rows.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    if ((x === null) !== (y === null)) return x === null ? 1 : -1;
    const c = x === null || y === null ? 0 : cmp(x, y);
    return c !== 0 ? sign * c : sign * cmp(a.id, b.id);
  });
  return { ids: rows.slice(q.offset ?? 0, (q.offset ?? 0) + q.limit).map((r) => r.id), total: rows.length };
}

describe.each(backends)('registrations.page (the review queue) on $name', (backend) => {
  let ledger: Ledger;
  useLedgerStore(backend, (_s, l) => (ledger = l));

  it('matches a model of filter, sort, ties, nulls and paging on random rows and queries', async () => {
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`registrations.page property (${backend.name}): seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/ledger/registrationPage.test.ts)`);
    let run = 0;
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { minLength: 0, maxLength: 30 }), fc.array(queryArb, { minLength: 1, maxLength: 6 }), async (specs, queries) => {
        const tag = `p${++run}`;
        // A partner of this run only, so runs sharing the store do not see each other's rows.
        const stored: Registration[] = [];
        for (const [i, s] of specs.entries()) {
          stored.push(
            await ledger.registrations.upsert({
              partner: `${s.partner}-${tag}`,
              sourceId: `d${i}`,
              status: s.status,
              customerName: s.name,
              customerDomain: s.domain,
              amount: s.amount,
              submittedAt: iso(s.submittedMin),
              reviewDueAt: s.dueMin === null ? null : iso(s.dueMin),
            }),
          );
        }
        const mine = stored.filter((r) => r.partner.endsWith(`-${tag}`));
        for (const raw of queries) {
          // Always within this run's partners (one of them, or all three by status/search).
          const partner = `${raw.partner ?? PARTNERS[run % 3]}-${tag}`;
          const q: RegistrationPageQuery = { ...raw, partner };
          const got = await ledger.registrations.page(q);
          const want = model(mine, q);
          expect(got.total).toBe(want.total);
          compared += want.ids.length;
          expect(got.rows.map((r) => r.id)).toEqual(want.ids);
        }
        return true;
      }),
      { seed, numRuns: 60, endOnFailure: true },
    );
    expect(compared).toBeGreaterThan(10); // the queries really returned rows to compare
  }, 120_000);

  it('pages never overlap and together list every match once', async () => {
    for (let i = 0; i < 23; i++) {
      await ledger.registrations.upsert({ partner: 'pager', sourceId: `r${i}`, status: 'pending-review', amount: i % 3 === 0 ? null : 1000 * (i % 4), customerName: `Cust ${i % 5}`, submittedAt: iso(i % 4) });
    }
    for (const sort of ['amount', 'submitted', 'customer'] as const) {
      const seen: string[] = [];
      for (let offset = 0; offset < 30; offset += 5) seen.push(...(await ledger.registrations.page({ partner: 'pager', sort, dir: 'desc', limit: 5, offset })).rows.map((r) => r.id));
      expect(seen).toHaveLength(23);
      expect(new Set(seen).size).toBe(23);
    }
    const first = await ledger.registrations.page({ partner: 'pager', search: 'cust 3', limit: 50 });
    expect(first.total).toBe(first.rows.length);
    expect(first.rows.every((r) => r.customerName === 'Cust 3')).toBe(true);
  });

  it('reviewDueAt round-trips and clears', async () => {
    const r = await ledger.registrations.upsert({ partner: 'due', sourceId: '1', status: 'pending-review', reviewDueAt: '2026-12-01T10:00:00.000Z' });
    expect(r.reviewDueAt).toBe('2026-12-01T10:00:00.000Z');
    const cleared = await ledger.registrations.upsert({ partner: 'due', sourceId: '1', status: 'approved', reviewDueAt: null });
    expect(cleared.reviewDueAt).toBeNull();
  });
});
