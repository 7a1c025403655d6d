import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTrueParam, normalisePath } from '../../sandbox/http.js';

/** sandbox/http.ts: the path and boolean rules every emulated service applies before its routes. */

const segment = fc.array(fc.constantFrom('a', 'Z', '0', '%2F', '%25', '.', '-', '_', '~', '+', '@', ':'), { minLength: 1, maxLength: 4 }).map((p) => p.join(''));
const slashes = fc.integer({ min: 1, max: 3 }).map((n) => '/'.repeat(n));
const query = fc.option(fc.array(fc.constantFrom('q=', 'a/b', '//', 'x', '&', '%2F', '?'), { maxLength: 5 }).map((p) => `?${p.join('')}`), { nil: undefined });

describe('normalisePath', () => {
  it('collapses slash runs and drops a trailing slash in the path, never touching %2F or the query (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(slashes, segment), { minLength: 0, maxLength: 6 }), fc.option(slashes, { nil: undefined }), query, (parts, trailing, q) => {
        const url = `${parts.map(([s, seg]) => s + seg).join('')}${trailing ?? ''}` || '/';
        const want = `/${parts.map(([, seg]) => seg).join('/')}`;
        const got = normalisePath(url + (q ?? ''));
        expect(got).toBe(want + (q ?? ''));
        expect(normalisePath(got)).toBe(got);
      }),
      { numRuns: 500, seed: 5 },
    );
  });

  it('examples', () => {
    expect(normalisePath('/services/data/v59.0/query/?q=SELECT+Id')).toBe('/services/data/v59.0/query?q=SELECT+Id');
    expect(normalisePath('//crm/v3//objects/companies/')).toBe('/crm/v3/objects/companies');
    expect(normalisePath('/sobjects/Account/Ext__c/a%2F%2Fb')).toBe('/sobjects/Account/Ext__c/a%2F%2Fb');
    expect(normalisePath('/')).toBe('/');
    expect(normalisePath('//')).toBe('/');
  });
});

describe('isTrueParam', () => {
  it('true in any letter case, first of repeated values; anything else is false', () => {
    for (const t of ['true', 'True', 'TRUE', 'tRuE', ['True', 'false']]) expect(isTrueParam(t)).toBe(true);
    for (const f of ['false', 'False', '1', 'yes', '', undefined, ['false', 'true'], 'true ']) expect(isTrueParam(f)).toBe(false);
  });
});
