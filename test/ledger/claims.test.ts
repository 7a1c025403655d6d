import fc from 'fast-check';
import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { CLAIMING_STATUSES, customerKey, openLedger, registrationId, type ClaimRequest, type ClaimResult, type Ledger, type Registration } from '../../ledger/index.js';
import { ledgerMigrations } from '../../ledger/migrations.js';
import { isCosellError } from '../../lib/errors.js';
import { backends, uniqueLink, useLedgerStore, type LedgerStore } from './backends.js';

/**
 * One active registration per customer, decided by the partner's own create time: the claim API
 * (registrations.claim) and the partial unique index under it, on SQLite and PostgreSQL, with
 * several connections (workers) claiming at once.
 */

const t0 = Date.UTC(2026, 10, 1, 9, 0, 0);
const at = (ms: number) => new Date(t0 + ms).toISOString();
const ACTIVE = CLAIMING_STATUSES as readonly string[];

interface Claimer {
  partner: string;
  sourceId: string;
  createdMs: number;
  /** What the rules decided for it on its own: auto-approval, or review. */
  wants: 'auto-approved' | 'pending-review';
}

/** The request the registration gate makes (same shape: rejected as duplicate / superseded). */
function request(key: string, c: Claimer): ClaimRequest {
  return {
    registration: { partner: c.partner, sourceId: c.sourceId, customerKey: key, customerDomain: key.replace(/^domain:/, ''), status: c.wants, submittedAt: at(c.createdMs), decidedBy: 'rules' },
    lost: (holder) => ({ status: 'rejected', reason: `duplicate of ${holder.id}`, decidedBy: 'rules' }),
    superseded: (_holder, winner) => ({ status: 'rejected', reason: `superseded by ${winner.id}`, decidedBy: 'rules', details: { supersededBy: winner.id } }),
  };
}

async function rowsOf(ledger: Ledger, key: string): Promise<Registration[]> {
  return ledger.registrations.list({ customerKey: key });
}

const before = (a: Claimer, b: Claimer) => {
  const ia = registrationId(a.partner, a.sourceId);
  const ib = registrationId(b.partner, b.sourceId);
  return a.createdMs !== b.createdMs ? a.createdMs < b.createdMs : ia < ib;
};
/** Deal ids unique to one property run (the store is shared by all runs). */
const distinct = (cs: Claimer[], tag: string) => cs.map((c) => ({ ...c, sourceId: `${tag}/${c.sourceId}` }));
const earliest = (cs: Claimer[]) => cs.reduce((m, c) => (before(c, m) ? c : m));

/** Claimers of one customer: distinct (partner, deal), random create times (ties included) and wishes. */
const claimersArb = fc
  .array(fc.record({ partner: fc.constantFrom('acme', 'globex', 'initech', 'umbrella'), createdMs: fc.integer({ min: 0, max: 5_000 }), wants: fc.constantFrom('auto-approved' as const, 'pending-review' as const) }), { minLength: 2, maxLength: 9 })
  .map((cs) => cs.map((c, i) => ({ ...c, sourceId: `deal-${i}` })));

describe.each(backends)('one active registration per customer on $name', (backend) => {
  let store: LedgerStore;
  let ledger: Ledger;
  useLedgerStore(backend, (s, l) => ((store = s), (ledger = l)));

  it('customer keys: the normalised domain, else the normalised name, else none', () => {
    expect(customerKey({ domainNorm: 'acme.co.uk', nameNorm: 'acme' })).toBe('domain:acme.co.uk');
    expect(customerKey({ domainNorm: null, nameNorm: 'acme' })).toBe('name:acme');
    expect(customerKey({ domainNorm: '', nameNorm: '' })).toBeNull();
  });

  it('re-decision: a registration whose customer changed moves its claim (the old customer is free again); onto a held customer it is refused, nothing changed', async () => {
    const tag = uniqueLink('reclaim');
    const [oldKey, newKey, heldKey] = ['old', 'new', 'held'].map((k) => `domain:${k}-${tag}.example`);
    const mover = await ledger.registrations.claim(request(oldKey!, { partner: 'acme', sourceId: `${tag}/a`, createdMs: 0, wants: 'auto-approved' }));
    const holder = await ledger.registrations.claim(request(heldKey!, { partner: 'globex', sourceId: `${tag}/h`, createdMs: 10, wants: 'auto-approved' }));
    expect([mover.outcome, holder.outcome]).toEqual(['claimed', 'claimed']);

    const moved = await ledger.registrations.reclaim(mover.registration.id, { customerKey: newKey!, customerName: 'New Co', customerNameNorm: 'new co', customerDomain: newKey!.slice(7), country: 'US' });
    expect(moved.outcome).toBe('claimed');
    expect(moved.registration).toMatchObject({ id: mover.registration.id, status: 'auto-approved', customerKey: newKey, customerDomain: newKey!.slice(7), customerName: 'New Co' });
    expect((await rowsOf(ledger, newKey!)).map((r) => r.id)).toEqual([mover.registration.id]);
    // The old customer is free: another partner's registration of it is not a duplicate any more.
    const next = await ledger.registrations.claim(request(oldKey!, { partner: 'globex', sourceId: `${tag}/b`, createdMs: 20, wants: 'auto-approved' }));
    expect(next.outcome).toBe('claimed');

    const refused = await ledger.registrations.reclaim(mover.registration.id, { customerKey: heldKey!, customerName: 'Held Co', customerNameNorm: 'held co', customerDomain: heldKey!.slice(7) });
    expect(refused.outcome).toBe('held');
    expect(refused.holder!.id).toBe(holder.registration.id);
    expect((await ledger.registrations.get(mover.registration.id))!.customerKey).toBe(newKey);
    // Rejected (not claiming), it may take the held customer's fields: it claims nothing.
    await ledger.registrations.update(mover.registration.id, { status: 'rejected' });
    expect((await ledger.registrations.reclaim(mover.registration.id, { customerKey: heldKey!, customerName: 'Held Co', customerNameNorm: 'held co', customerDomain: heldKey!.slice(7) })).outcome).toBe('claimed');
    expect((await rowsOf(ledger, heldKey!)).filter((r) => ACTIVE.includes(r.status)).map((r) => r.id)).toEqual([holder.registration.id]);
  });

  it('the index refuses a second active registration for a customer, whatever writes it', async () => {
    const key = `domain:${uniqueLink('idx')}.com`;
    await ledger.registrations.upsert({ partner: 'acme', sourceId: key, customerKey: key, status: 'auto-approved' });
    const second = await ledger.registrations.upsert({ partner: 'globex', sourceId: key, customerKey: key, status: 'pending-review' }).catch((e) => e);
    expect(isCosellError(second, 'COSELL_REGISTRATION_CLAIMED')).toBe(true);
    // Inactive rows may share the key; re-activating one is refused too.
    await ledger.registrations.upsert({ partner: 'globex', sourceId: key, customerKey: key, status: 'rejected' });
    const reactivate = await ledger.registrations.update(registrationId('globex', key), { status: 'approved' }).catch((e) => e);
    expect(isCosellError(reactivate, 'COSELL_REGISTRATION_CLAIMED')).toBe(true);
    // Once the holder ends, another may become active.
    await ledger.registrations.update(registrationId('acme', key), { status: 'expired' });
    expect((await ledger.registrations.update(registrationId('globex', key), { status: 'approved' })).status).toBe('approved');
    expect((await rowsOf(ledger, key)).filter((r) => ACTIVE.includes(r.status)).map((r) => r.partner)).toEqual(['globex']);
  });

  it('claim outcomes: claimed, lost to an approved holder, took over from a later-created pending one, exists, unkeyed', async () => {
    const key = `domain:${uniqueLink('out')}.com`;
    const a = await ledger.registrations.claim(request(key, { partner: 'acme', sourceId: 'a', createdMs: 5_000, wants: 'pending-review' }));
    expect(a.outcome).toBe('claimed');
    // Created earlier, arriving later, while acme's is still pending: globex takes the customer.
    const g = await ledger.registrations.claim(request(key, { partner: 'globex', sourceId: 'g', createdMs: 1_000, wants: 'auto-approved' }));
    expect(g).toMatchObject({ outcome: 'took-over', registration: { status: 'auto-approved' }, superseded: { id: 'acme:a', status: 'rejected', reason: 'superseded by globex:g' } });
    // Created earlier still, but globex's is approved now: approval is not taken back.
    const i = await ledger.registrations.claim(request(key, { partner: 'initech', sourceId: 'i', createdMs: 0, wants: 'auto-approved' }));
    expect(i).toMatchObject({ outcome: 'lost', registration: { status: 'rejected', reason: 'duplicate of globex:g' }, holder: { id: 'globex:g' } });
    // A duplicated page claims again: nothing changes.
    const again = await ledger.registrations.claim(request(key, { partner: 'acme', sourceId: 'a', createdMs: 5_000, wants: 'pending-review' }));
    expect(again).toMatchObject({ outcome: 'exists', registration: { status: 'rejected' } });
    const none = await ledger.registrations.claim({ ...request(key, { partner: 'umbrella', sourceId: uniqueLink(), createdMs: 0, wants: 'auto-approved' }), registration: { partner: 'umbrella', sourceId: uniqueLink(), customerKey: null, status: 'auto-approved', submittedAt: at(0) } });
    expect(none.outcome).toBe('unkeyed');
    expect((await rowsOf(ledger, key)).filter((r) => ACTIVE.includes(r.status)).map((r) => r.id)).toEqual(['globex:g']);
    const wrong = await ledger.registrations.claim({ ...request(key, { partner: 'x', sourceId: 'y', createdMs: 0, wants: 'auto-approved' }), lost: () => ({ status: 'pending-review' }) }).catch((e) => e);
    expect(isCosellError(wrong, 'COSELL_LEDGER')).toBe(true);
  });

  it('property: in any arrival order, the one active registration is the earliest-created of those that arrived up to the first approval', async () => {
    const workers = [ledger, await store.open(), await store.open()];
    try {
      await fc.assert(
        fc.asyncProperty(claimersArb, fc.infiniteStream(fc.nat({ max: 2 })), async (generated, pick) => {
          const key = `domain:${uniqueLink('seq')}.com`;
          const claimers = distinct(generated, key);
          const results: ClaimResult[] = [];
          const it = pick[Symbol.iterator]();
          for (const c of claimers) results.push(await workers[it.next().value as number].registrations.claim(request(key, c)));
          // The first approval: the first arrival that wants it and was created before everyone who arrived before it.
          const firstApproval = claimers.findIndex((c, i) => c.wants === 'auto-approved' && claimers.slice(0, i).every((p) => before(c, p)));
          const expected = earliest(firstApproval < 0 ? claimers : claimers.slice(0, firstApproval + 1));
          const rows = await rowsOf(ledger, key);
          const active = rows.filter((r) => ACTIVE.includes(r.status));
          expect(active.map((r) => r.id)).toEqual([registrationId(expected.partner, expected.sourceId)]);
          expect(rows).toHaveLength(claimers.length);
          for (const r of rows) if (!ACTIVE.includes(r.status)) expect(r.status).toBe('rejected');
          // Every take-over demoted a pending holder created later than the taker.
          for (const [i, r] of results.entries()) {
            if (r.outcome !== 'took-over') continue;
            const taker = claimers[i]!;
            const demoted = claimers.find((c) => registrationId(c.partner, c.sourceId) === r.superseded!.id)!;
            expect(before(taker, demoted)).toBe(true);
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      for (const w of workers.slice(1)) await w.close();
    }
  }, 120_000);

  it('property: many workers claiming at once never leave two actives, and a pending winner is the earliest-created', async () => {
    const workers = [ledger, await store.open(), await store.open(), await store.open()];
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(claimersArb, { minLength: 1, maxLength: 3 }), async (generated) => {
          const keys = generated.map(() => `domain:${uniqueLink('burst')}.com`);
          const customers = generated.map((cs, k) => distinct(cs, keys[k]!));
          // Every claimer of every customer at once, spread over the workers.
          const jobs = customers.flatMap((cs, k) => cs.map((c) => ({ key: keys[k]!, c })));
          const results = await Promise.all(jobs.map((j, n) => workers[n % workers.length].registrations.claim(request(j.key, j.c))));
          expect(results.every((r) => r.outcome !== 'exists')).toBe(true);
          for (const [k, cs] of customers.entries()) {
            const rows = await rowsOf(ledger, keys[k]!);
            const active = rows.filter((r) => ACTIVE.includes(r.status));
            expect(active).toHaveLength(1);
            expect(rows).toHaveLength(cs.length);
            const winner = active[0]!;
            if (winner.status === 'pending-review' || cs.every((c) => c.wants === 'pending-review')) {
              const e = earliest(cs);
              expect(winner.id).toBe(registrationId(e.partner, e.sourceId));
            }
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      for (const w of workers.slice(1)) await w.close();
    }
  }, 120_000);

  it('the migration keeps one key per customer where duplicates already exist (exclusive first, then earliest)', async () => {
    const fresh = await backend.create();
    const l = await openLedger({ ...fresh.options, migrate: false });
    try {
      const migrator = new Migrator({ db: l.db, provider: ledgerMigrations(l.dialect), migrationTableName: 'cosell_migrations', migrationLockTableName: 'cosell_migrations_lock' });
      expect((await migrator.migrateTo('0002_record_snapshots')).error).toBeUndefined();
      const row = (partner: string, status: string, submitted: number, domain: string | null, name: string | null) => ({
        id: `${partner}:1`, partner, source_id: '1', customer_name: name, customer_name_norm: name, customer_domain: domain, country: null, amount: null, currency: null,
        status, reason: null, decided_by: null, decided_at: null, submitted_at: at(submitted), expires_at: null, extensions: 0, vendor_opportunity_id: null, details: null, created_at: at(0), updated_at: at(0),
      });
      // Three actives for one customer (the old race), one more by name only, and an old rejected one.
      const rows = [row('acme', 'pending-review', 1, 'initrode.com', 'initrode'), row('globex', 'auto-approved', 5, 'initrode.com', 'initrode'), row('initech', 'approved', 3, 'initrode.com', null), row('umbrella', 'rejected', 0, 'initrode.com', null), row('hooli', 'pending-review', 2, null, 'hooli')];
      await l.db.insertInto('registrations').values(rows as never).execute();
      expect(await l.migrate()).toContain('0003_registration_claims');
      const got = new Map((await l.registrations.list()).map((r) => [r.partner, r.customerKey]));
      // The earliest exclusive keeps the key; the others stay as they were, without one; inactive rows keep theirs.
      expect(Object.fromEntries(got)).toEqual({ initech: 'domain:initrode.com', globex: null, acme: null, umbrella: 'domain:initrode.com', hooli: 'name:hooli' });
      // From now on the index holds.
      const dup = await l.registrations.update('umbrella:1', { status: 'approved' }).catch((e) => e);
      expect(isCosellError(dup, 'COSELL_REGISTRATION_CLAIMED')).toBe(true);
    } finally {
      await l.close();
      await fresh.destroy();
    }
  });
});
