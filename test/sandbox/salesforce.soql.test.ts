import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SalesforceData } from '../../sandbox/salesforce/data.js';
import { compileQuery } from '../../sandbox/salesforce/soql.js';
import type { Rec } from '../../sandbox/salesforce/store.js';

/**
 * SOQL the sandbox compiles in-process: LIKE with escapes against a reference matcher written
 * differently (a backtracking match over tokens, no RegExp), FIELDS() and the columns answer.
 */

type Tok = { any: true } | { one: true } | { ch: string };

/** Reference: does `s` match the tokens? Case-insensitive per character, `%` any run, `_` one character. */
function refMatch(tokens: Tok[], s: string): boolean {
  const chars = [...s];
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (i === tokens.length) r = j === chars.length;
    else {
      const t = tokens[i]!;
      if ('any' in t) r = go(i + 1, j) || (j < chars.length && go(i, j + 1));
      else if ('one' in t) r = j < chars.length && go(i + 1, j + 1);
      else r = j < chars.length && chars[j]!.toLowerCase() === t.ch.toLowerCase() && go(i + 1, j + 1);
    }
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** The tokens as a client writes them in a SOQL string literal: wildcards bare, literal % and _ escaped. */
function literalOf(tokens: Tok[]): string {
  const esc: Record<string, string> = { '%': '\\%', _: '\\_', "'": "\\'", '\\': '\\\\', '\n': '\\n', '"': '\\"' };
  return `'${tokens.map((t) => ('any' in t ? '%' : 'one' in t ? '_' : (esc[t.ch] ?? t.ch))).join('')}'`;
}

const ALPHABET = ['a', 'B', 'c', '%', '_', "'", '\\', ' ', '"', '\n', 'é', '€'];
const charArb = fc.constantFrom(...ALPHABET);
const tokArb: fc.Arbitrary<Tok> = fc.oneof({ weight: 5, arbitrary: charArb.map((ch) => ({ ch })) }, { weight: 1, arbitrary: fc.constant({ any: true as const }) }, { weight: 1, arbitrary: fc.constant({ one: true as const }) });

function orgWith(names: string[]): SalesforceData {
  const data = new SalesforceData(Date.now());
  const t = data.table('Account');
  names.forEach((name, i) => {
    const now = Date.now();
    t.insert({ Id: data.ids.next('001'), IsDeleted: false, Name: name, Description: `d${i}`, CreatedDate: now, LastModifiedDate: now, SystemModstamp: now, $v: 0 } as unknown as Rec);
  });
  return data;
}

const run = (data: SalesforceData, soql: string) => compileQuery(data.queryContext(() => Date.now()), soql, { includeDeleted: false });

describe('LIKE', () => {
  it('agrees with a reference matcher for patterns with wildcards and escaped % _ \' \\ (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(charArb, { maxLength: 8 }).map((c) => c.join('')), { minLength: 1, maxLength: 12 }), fc.array(tokArb, { maxLength: 8 }), (names, tokens) => {
        // Names built from the pattern's own literal characters too, so matches are not all accidental misses.
        const fromPattern = tokens.map((t) => ('ch' in t ? t.ch : 'x')).join('');
        const all = [...names, fromPattern];
        const data = orgWith(all);
        const got = run(data, `SELECT Name FROM Account WHERE Name LIKE ${literalOf(tokens)}`).rows.map((r) => r.Name as string).sort();
        const want = all.filter((n) => refMatch(tokens, n)).sort();
        expect(got).toEqual(want);
      }),
      { numRuns: 300, seed: 99 },
    );
  });

  it('escaped wildcards are literal, bare ones are not', () => {
    const data = orgWith(['100% sure', '1000 sure', 'a_b', 'axb', 'back\\slash']);
    const names = (w: string) => run(data, `SELECT Name FROM Account WHERE Name LIKE ${w}`).rows.map((r) => r.Name).sort();
    expect(names("'100\\%%'")).toEqual(['100% sure']);
    expect(names("'100%'")).toEqual(['100% sure', '1000 sure']);
    expect(names("'a\\_b'")).toEqual(['a_b']);
    expect(names("'a_b'")).toEqual(['a_b', 'axb']);
    expect(names("'%\\\\%'")).toEqual(['back\\slash']);
  });
});

describe('FIELDS() and columns', () => {
  const data = orgWith(['One', 'Two']);
  data.createCustomField('Account', 'Tier__c', { type: 'Text', length: 20 });

  it('FIELDS(ALL|STANDARD|CUSTOM) select the object\'s fields; ALL and CUSTOM need LIMIT <= 200', () => {
    const order = data.object('Account')!.order;
    const cols = (soql: string) => Object.keys(run(data, soql).project(run(data, soql).rows[0]!, 'v62.0')).filter((k) => k !== 'attributes');
    expect(cols('SELECT FIELDS(ALL) FROM Account LIMIT 200')).toEqual(order);
    expect(cols('SELECT FIELDS(STANDARD) FROM Account')).toEqual(order.filter((n) => !n.endsWith('__c')));
    expect(cols('SELECT FIELDS(CUSTOM) FROM Account LIMIT 1')).toEqual(['Tier__c']);
    expect(cols('SELECT Name, FIELDS(CUSTOM) FROM Account LIMIT 10')).toEqual(['Name', 'Tier__c']);
    expect(() => run(data, 'SELECT FIELDS(ALL) FROM Account')).toThrow(/LIMIT of at most 200/);
    expect(() => run(data, 'SELECT FIELDS(CUSTOM) FROM Account LIMIT 201')).toThrow(/LIMIT of at most 200/);
    expect(() => run(data, 'SELECT Id, FIELDS(ALL) FROM Account LIMIT 5')).toThrow(/duplicate field selected: Id/);
  });

  it('columns=true metadata: relationships as join columns, types, the entity', () => {
    const c = run(data, 'SELECT Id, Name, Owner.Email, Owner.Name, Tier__c FROM Account').columns();
    expect(c).toMatchObject({ entityName: 'Account', keyPrefix: '001', idSelected: true, groupBy: false });
    expect(c.columnMetadata.map((m) => [m.columnName, m.apexType, m.joinColumns.map((j) => j.displayName)])).toEqual([
      ['Id', 'Id', []], ['Name', 'String', []], ['Owner', null, ['Owner.Email', 'Owner.Name']], ['Tier__c', 'String', []],
    ]);
    expect(c.columnMetadata[3]).toMatchObject({ custom: true, insertable: true, updatable: true, textType: true });
    expect(run(data, 'SELECT COUNT(Id) n FROM Account').columns().columnMetadata).toMatchObject([{ columnName: 'n', aggregate: true, apexType: 'Integer' }]);
  });
});

describe('parent-to-child sub-queries', () => {
  type Opp = { account: number | null; name: string; amount: number | null; deleted: boolean };
  const oppArb = (accounts: number) => fc.record({
    account: fc.option(fc.nat({ max: accounts - 1 }), { nil: null }),
    name: fc.stringMatching(/^[a-d]{1,3}$/),
    amount: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null }),
    deleted: fc.boolean(),
  });
  const orgOf = (accounts: string[], opps: Opp[]) => {
    const data = orgWith(accounts);
    const ids = [...data.table('Account').byId.keys()];
    const t = data.table('Opportunity');
    for (const o of opps) {
      const now = Date.now();
      t.insert({ Id: data.ids.next('006'), IsDeleted: o.deleted, Name: o.name, StageName: 'Prospecting', CloseDate: '2027-01-31', AccountId: o.account === null ? null : ids[o.account], Amount: o.amount, CreatedDate: now, LastModifiedDate: now, SystemModstamp: now, $v: 0 } as unknown as Rec);
    }
    return { data, ids };
  };

  it('each parent carries exactly its live children, filtered, ordered and limited per parent — or null (property)', () => {
    const caseArb = fc.integer({ min: 1, max: 4 }).chain((n) => fc.record({
      accounts: fc.uniqueArray(fc.stringMatching(/^[a-z]{1,4}$/), { minLength: n, maxLength: n }),
      opps: fc.array(oppArb(n), { maxLength: 14 }),
      min: fc.integer({ min: -1, max: 9 }),
      limit: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      desc: fc.boolean(),
    }));
    fc.assert(fc.property(caseArb, ({ accounts, opps, min, limit, desc }) => {
      const { data, ids } = orgOf(accounts, opps);
      const q = run(data, `SELECT Name, (SELECT Name, Amount FROM Opportunities WHERE Amount > ${min} ORDER BY Amount ${desc ? 'DESC' : 'ASC'}, Name, Id${limit ? ` LIMIT ${limit}` : ''}) FROM Account ORDER BY Name`);
      const got = q.rows.map((r) => q.project(r, 'v62.0')).map((a) => [a.Name, a.Opportunities]);

      // The model: plain filters and sorts over what was inserted.
      const oppIds = [...data.table('Opportunity').byId.keys()];
      const want = accounts.map((name, i) => ({ name, i })).sort((a, b) => (a.name < b.name ? -1 : 1)).map(({ name, i }) => {
        const mine = opps.map((o, k) => ({ ...o, id: oppIds[k]! }))
          .filter((o) => o.account === i && !o.deleted && o.amount !== null && o.amount > min)
          .sort((a, b) => (a.amount! - b.amount!) * (desc ? -1 : 1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? -1 : 1))
          .slice(0, limit);
        return [name, mine.length ? { totalSize: mine.length, done: true, records: mine.map((o) => ({ attributes: { type: 'Opportunity', url: `/services/data/v62.0/sobjects/Opportunity/${o.id}` }, Name: o.name, Amount: o.amount })) } : null];
      });
      expect(got).toEqual(want);
      expect(ids).toHaveLength(accounts.length);
    }), { numRuns: 200, seed: 4242 });
  });

  it('columns, and the errors: an unknown relationship, a sub-query inside a sub-query', () => {
    const { data } = orgOf(['x'], []);
    const c = run(data, 'SELECT Name, (SELECT Id, Name FROM Opportunities) FROM Account').columns();
    expect(c.columnMetadata.map((m) => [m.columnName, m.aggregate, m.joinColumns.map((j) => j.columnName)])).toEqual([['Name', false, []], ['Opportunities', true, ['Id', 'Name']]]);
    expect(run(data, 'SELECT Name, (SELECT Id FROM Opportunities) FROM Account').subqueries).toEqual(['Opportunities']);
    expect(() => run(data, 'SELECT Name, (SELECT Id FROM Deals) FROM Account')).toThrow(expect.objectContaining({ errorCode: 'INVALID_TYPE', message: expect.stringContaining("Didn't understand relationship 'Deals'") }));
    expect(() => run(data, 'SELECT Name, (SELECT Nope__c FROM Opportunities) FROM Account')).toThrow(expect.objectContaining({ errorCode: 'INVALID_FIELD' }));
    expect(() => run(data, 'SELECT Name, (SELECT Id, (SELECT Id FROM Partners) FROM Opportunities) FROM Account')).toThrow(expect.objectContaining({ errorCode: 'MALFORMED_QUERY' }));
  });
});
