import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addCells, cellKeyOf, factCells, isEmptyCell, type Cell, type OpportunityFact } from '../../analytics/facts.js';
import type { Ledger } from '../../ledger/index.js';
import { backends, uniqueLink, useLedgerStore } from '../ledger/backends.js';

/**
 * The fact store (ledger/facts.ts) on SQLite and PostgreSQL: the aggregate cells always equal the
 * sum over the current facts — after updates, deletions, duplicated and late (older) versions, and a
 * stream position that moves with the batch in one transaction.
 */

const fact = (id: string, o: Partial<OpportunityFact> = {}): OpportunityFact => ({
  id, name: id, accountId: null, stage: null, status: 'won', amountCents: 100_00, currency: 'USD', createdOn: '2026-01-10', closedOn: '2026-03-01', cycleDays: 50,
  partners: [], registrationId: null, ...o,
});
const at = (s: number) => new Date(Date.UTC(2026, 5, 1, 0, 0, s)).toISOString();

/** The cells a rebuild from scratch gives (empty ones dropped), by key. */
function rebuild(facts: Iterable<OpportunityFact>): Map<string, Cell> {
  const m = new Map<string, Cell>();
  for (const f of facts) addCells(m, factCells(f));
  for (const [k, c] of m) if (isEmptyCell(c)) m.delete(k);
  return m;
}
async function stored(ledger: Ledger, org: string): Promise<Map<string, Cell>> {
  return new Map((await ledger.facts.cells(org)).map((c) => [cellKeyOf(c), c]));
}
async function storedFacts(ledger: Ledger, org: string): Promise<OpportunityFact[]> {
  const out: OpportunityFact[] = [];
  for await (const page of ledger.facts.all(org)) out.push(...page);
  return out;
}

describe.each(backends)('fact store on $name', (backend) => {
  let ledger: Ledger;
  useLedgerStore(backend, (_s, l) => (ledger = l));

  it('adds a new version and subtracts the old one; deletions subtract; unchanged and older versions move nothing', async () => {
    const org = uniqueLink('org');
    const a = fact('a', { partners: [{ partner: 'acme', role: 'sourcing', split: 60, cents: 60_00 }, { partner: 'globex', role: 'influence', split: 40, cents: 40_00 }] });
    expect(await ledger.facts.apply(org, [{ id: 'a', modifiedAt: at(1), fact: a }, { id: 'b', modifiedAt: at(1), fact: fact('b', { status: 'open', closedOn: null, cycleDays: null }) }])).toMatchObject({ changed: 2 });
    const won = (await ledger.facts.cells(org)).filter((c) => c.kind === 'closed' && c.partner === '');
    expect(won).toEqual([expect.objectContaining({ month: '2026-03', status: 'won', bucket: 2, deals: 1, cents: 100_00, cycleN: 1, cycleSum: 50, cycleSumSq: 2500 })]);
    // The same version again (a re-read page): nothing moves. An older version read late: ignored.
    expect(await ledger.facts.apply(org, [{ id: 'a', modifiedAt: at(1), fact: a }])).toMatchObject({ changed: 0, unchanged: 1 });
    expect(await ledger.facts.apply(org, [{ id: 'a', modifiedAt: at(0), fact: fact('a', { status: 'lost', cycleDays: null }) }])).toMatchObject({ changed: 0, stale: 1 });
    // a is lost now: its won cells go, lost ones appear.
    const lost = fact('a', { status: 'lost', cycleDays: null, amountCents: 90_00, partners: [{ partner: 'acme', role: 'sourcing', split: 100, cents: 90_00 }] });
    await ledger.facts.apply(org, [{ id: 'a', modifiedAt: at(2), fact: lost }]);
    expect(await stored(ledger, org)).toEqual(rebuild([lost, fact('b', { status: 'open', closedOn: null, cycleDays: null })]));
    expect((await ledger.facts.cells(org)).some((c) => c.status === 'won')).toBe(false);
    expect(await ledger.facts.apply(org, [{ id: 'a', modifiedAt: at(3), fact: null }, { id: 'b', modifiedAt: at(3), fact: null }])).toMatchObject({ deleted: 2 });
    expect(await ledger.facts.cells(org)).toEqual([]);
    expect(await ledger.facts.count(org)).toBe(0);
  });

  it('moves a stream position in the same transaction, forward only', async () => {
    const org = uniqueLink('org');
    const streamId = `${org}:Opportunity`;
    await ledger.streams.ensure(streamId, org, 'Opportunity', ['Name']);
    const pos = await ledger.streams.attach(streamId, `analytics:${org}`);
    expect(await ledger.facts.apply(org, [{ id: 'a', modifiedAt: at(1), fact: fact('a') }], { stream: { streamId, consumer: `analytics:${org}`, seq: 5, generation: pos.generation } })).toMatchObject({ advanced: true, changed: 1 });
    expect((await ledger.streams.position(streamId, `analytics:${org}`))?.seq).toBe(5);
    expect(await ledger.facts.apply(org, [{ id: 'a', modifiedAt: at(1), fact: fact('a') }], { stream: { streamId, consumer: `analytics:${org}`, seq: 3, generation: pos.generation } })).toMatchObject({ advanced: false, unchanged: 1 });
  });

  it('keeps cells equal to a rebuild from the facts under random versions, deletions and duplicated batches (property)', async () => {
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`fact store property (${backend.name}): seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/analytics/factStore.test.ts)`);
    const partnerArb = fc.record({ partner: fc.constantFrom('acme', 'globex', 'initech', 'umbrella'), role: fc.constantFrom('sourcing' as const, 'services' as const, 'influence' as const, 'reseller' as const), split: fc.constant(0), cents: fc.integer({ min: 0, max: 50_000 }) });
    const factArb = (id: string) =>
      fc.record({
        status: fc.constantFrom('open' as const, 'won' as const, 'lost' as const),
        amountCents: fc.integer({ min: 0, max: 1_000_000 }),
        currency: fc.constantFrom('USD', 'EUR'),
        createdOn: fc.constantFrom(null, '2025-01-05', '2025-06-30', '2026-02-01'),
        closedOn: fc.constantFrom(null, '2025-03-01', '2026-04-15'),
        cycleDays: fc.constantFrom(null, 0, 14, 90),
        partners: fc.uniqueArray(partnerArb, { maxLength: 4, selector: (p) => `${p.partner}/${p.role}` }),
      }).map((o) => fact(id, o));
    const opArb = fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 20 }), fc.option(fc.constant(true), { freq: 4 })).chain(([id, t, del]) =>
      (del ? fc.constant(null) : factArb(id)).map((f) => ({ id, modifiedAt: at(t), fact: f })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), fc.boolean(), async (batches, duplicate) => {
        const org = uniqueLink('prop');
        // The reference: per id the newest version (a batch's last one for an id; an older one than stored is ignored).
        const model = new Map<string, { modifiedAt: string; fact: OpportunityFact | null }>();
        for (const b of batches) {
          await ledger.facts.apply(org, b);
          if (duplicate) await ledger.facts.apply(org, b);
          const last = new Map(b.map((c) => [c.id, c]));
          for (const c of last.values()) if (!model.has(c.id) || c.modifiedAt >= model.get(c.id)!.modifiedAt || model.get(c.id)!.fact === null) model.set(c.id, c);
        }
        const facts = await storedFacts(ledger, org);
        expect(facts).toEqual([...model.values()].flatMap((m) => (m.fact ? [m.fact] : [])).sort((x, y) => (x.id < y.id ? -1 : 1)));
        expect(await stored(ledger, org)).toEqual(rebuild(facts));
      }),
      { seed, numRuns: 25, endOnFailure: true },
    );
  });
});
