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

const run = (data: SalesforceData, soql: string) => compileQuery({ object: (n) => data.object(n), table: (n) => data.table(n), now: () => Date.now() }, soql, { includeDeleted: false });

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
