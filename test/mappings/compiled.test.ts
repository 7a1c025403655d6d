/**
 * The compiled mapping reuses work: context-only parts are evaluated once per context, parts repeated
 * across fields once per record, and the output object comes from per-shape templates. These tests
 * prove the reuse never changes a result: across changing records and contexts, on errors, and for
 * every combination of conditional fields.
 */
import { describe, expect, it } from 'vitest';
import type { Fields } from '../../connectors/types.js';
import { parseMapping } from '../../mappings/file/loader.js';
import type { CompiledMapping, MappingContext } from '../../mappings/types.js';
import { CTX, run, runInterpreted } from './helpers.js';

/** A deals → Opportunity mapping matched on `id`, with the given `fields:` (and more) below the header. */
function compileDeals(name: string, body: string): CompiledMapping {
  return compile(`mapping: ${name}\nsource: { object: deals }\ntarget: { object: Opportunity }\nmatch: { source: id, target: Ext__c }\n${body}`);
}

function compile(yaml: string): CompiledMapping {
  const loaded = parseMapping(yaml, 'inline.yaml');
  if (!loaded.mapping) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  return loaded.mapping;
}

describe('compiled mappings reuse work without changing results', () => {
  it('a context-only part is recomputed when the context objects change, and constant parts on the first call', () => {
    const m = compileDeals('ctx', `
fields:
  Partner__c: $partner.name
  Kind__c: kinds[$partner.tier] ?? "none"
  Closed__c: stage in ["won", "lost"]
  Due__c: addDays(today(), 30)
values:
  kinds: { gold: Gold Partner, silver: Silver Partner }
`);
    const gold: MappingContext = { partner: { name: 'Acme', tier: 'gold' }, now: new Date('2026-11-22T10:00:00Z') };
    const silver: MappingContext = { partner: { name: 'Globex', tier: 'silver' }, now: new Date('2026-12-01T10:00:00Z') };
    const seq: Array<[MappingContext, Fields]> = [[gold, { stage: 'won' }], [gold, { stage: 'open' }], [silver, { stage: 'lost' }], [gold, { stage: 'open' }]];
    const got = seq.map(([ctx, rec]) => m.apply(rec, ctx).fields);
    expect(got).toEqual([
      { Partner__c: 'Acme', Kind__c: 'Gold Partner', Closed__c: true, Due__c: '2026-12-22' },
      { Partner__c: 'Acme', Kind__c: 'Gold Partner', Closed__c: false, Due__c: '2026-12-22' },
      { Partner__c: 'Globex', Kind__c: 'Silver Partner', Closed__c: true, Due__c: '2026-12-31' },
      { Partner__c: 'Acme', Kind__c: 'Gold Partner', Closed__c: false, Due__c: '2026-12-22' },
    ]);
  });

  it('a condition on the context alone decides per context whether a record field is written', () => {
    const m = compileDeals('ctx-when', `
fields:
  Name: name
  Reg__c: { value: regnote, when: $registration != null }
  Tier__c: { value: $partner.tier, when: $registration != null }
`);
    const withReg: MappingContext = { partner: { tier: 'gold' }, registration: { status: 'approved' }, now: new Date() };
    const without: MappingContext = { partner: { tier: 'gold' }, now: new Date() };
    const runs: Array<[MappingContext, string]> = [[withReg, 'a'], [without, 'b'], [withReg, 'c']];
    const out = runs.map(([ctx, n]) => m.apply({ name: n, regnote: `note ${n}` }, ctx).fields);
    expect(out).toEqual([
      { Name: 'a', Reg__c: 'note a', Tier__c: 'gold' },
      { Name: 'b' },
      { Name: 'c', Reg__c: 'note c', Tier__c: 'gold' },
    ]);
  });

  it('a context part that fails fails on every record, not only the first', () => {
    const m = compileDeals('ctx-error', `
fields:
  Due__c: date($partner.since)
  Name: name
`);
    const ctx: MappingContext = { partner: { since: 'not a date' }, now: new Date() };
    for (const name of ['a', 'b']) {
      const r = m.apply({ name }, ctx);
      expect(r.fields).toEqual({ Name: name });
      expect(r.errors).toEqual([{ field: 'Due__c', message: expect.stringMatching(/cannot read text "not a date" as a date/) as string }]);
    }
  });

  it('a part shared by several fields is computed per record: never one record\'s value for the next', () => {
    const m = compile(`
mapping: shared
source: { object: deals, schema: ../../mappings/schemas/hubspot-deals.json }
target: { object: Opportunity }
match: { source: hs_object_id, target: Ext__c }
fields:
  A__c: date(closedate)
  B__c: date(closedate) ?? "none"
  C__c: round(amount, 1)
  D__c: amount
`.replace('../../mappings/schemas/', new URL('../../mappings/schemas/', import.meta.url).pathname));
    const records: Fields[] = [
      { closedate: '2026-01-02T10:00:00.000Z', amount: '10.26' },
      { closedate: null, amount: null },
      { closedate: '2026-03-04', amount: '7' },
      { closedate: 'garbage', amount: '1' },
      { closedate: '2026-05-06T00:00:00.000Z', amount: 'x' },
    ];
    const out = records.map((r) => {
      const { fields, errors } = m.apply(r, CTX);
      return { fields, errors: errors.map((e) => e.field) };
    });
    expect(out).toEqual([
      { fields: { A__c: '2026-01-02', B__c: '2026-01-02', C__c: 10.3, D__c: 10.26 }, errors: [] },
      { fields: { A__c: null, B__c: 'none', C__c: null, D__c: null }, errors: [] },
      { fields: { A__c: '2026-03-04', B__c: '2026-03-04', C__c: 7, D__c: 7 }, errors: [] },
      { fields: { C__c: 1, D__c: 1 }, errors: ['A__c', 'B__c'] },
      { fields: { A__c: '2026-05-06', B__c: '2026-05-06' }, errors: ['C__c', 'D__c'] },
    ]);
  });

  it('every combination of ten conditional fields gives exactly the fields whose conditions hold, in declared order', () => {
    const n = 10; // more than the per-shape templates cover, so both paths run
    const fields = Array.from({ length: n }, (_, i) => `  F${i}__c: { value: v${i}, when: c${i} }`).join('\n');
    const m = compileDeals('conditional', `
fields:
  Name: name
${fields}
  F3err__c: { value: number(bad), when: c3 }
`);
    for (let mask = 0; mask < 2 ** n; mask += 7) {
      const rec: Fields = { name: `r${mask}`, bad: 'x' };
      for (let i = 0; i < n; i++) {
        rec[`c${i}`] = (mask & (1 << i)) !== 0;
        rec[`v${i}`] = `${mask}-${i}`;
      }
      const { fields: out, errors } = m.apply(rec, CTX);
      const expected: Fields = { Name: `r${mask}` };
      for (let i = 0; i < n; i++) if (mask & (1 << i)) expected[`F${i}__c`] = `${mask}-${i}`;
      expect(Object.entries(out)).toEqual(Object.entries(expected));
      expect(errors.map((e) => e.field)).toEqual(mask & (1 << 3) ? ['F3err__c'] : []);
    }
  });

  it('reference interpreter and compiled closures agree on context-only and constant expressions', () => {
    for (const text of ['[1, 2] + []', '"a" + $partner.name', 'addDays(today(), 3)', 'roles[$registration.role] ?? "x"', 'if $registration != null then 1 else 2']) {
      const opts = { valueMaps: { roles: { services: 'Services' } } };
      expect(run(text, {}, opts)).toEqual(runInterpreted(text, {}, opts));
    }
  });
});
