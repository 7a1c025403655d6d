import { describe, expect, it } from 'vitest';
import { canonicalValue, contentHash } from '../../ledger/index.js';

describe('contentHash: one hash for the same content however each CRM spells it', () => {
  it('ignores key order and folds CRM spellings together', () => {
    const salesforce = { Amount: 1000, IsWon: false, CloseDate: '2026-03-01', Stamp: '2026-03-01T10:00:00.000+0000', Name: 'Big deal', Notes: null };
    const hubspot = { Name: 'Big deal', Notes: '', Stamp: '2026-03-01T10:00:00Z', CloseDate: '2026-03-01', IsWon: 'false', Amount: '1000.00' };
    expect(contentHash(salesforce)).toBe(contentHash(hubspot));
    expect(contentHash(salesforce)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('changes when any counted value changes, and only counts the given keys', () => {
    const base = { a: 'x', b: 1, c: true };
    expect(contentHash({ ...base, b: 2 })).not.toBe(contentHash(base));
    expect(contentHash({ ...base, a: 'X' })).not.toBe(contentHash(base));
    expect(contentHash({ ...base, extra: 'ignored' }, ['a', 'b', 'c'])).toBe(contentHash(base));
    expect(contentHash({ a: 'x' }, ['a', 'b'])).toBe(contentHash({ a: 'x', b: null }));
    expect(contentHash({ a: 'x', b: null })).not.toBe(contentHash({ a: 'x' })); // a key set differs without `keys`
  });

  it('keeps text that only looks numeric as text', () => {
    expect(canonicalValue('0123')).toBe('0123');
    expect(canonicalValue('12.50')).toBe('12.5');
    expect(canonicalValue('1e3')).toBe('1e3');
    expect(canonicalValue('  spaced ')).toBe('spaced'); // the sync's rule: CRMs trim text, so surrounding blanks are no change
    expect(canonicalValue(Number.NaN)).toBeNull();
    expect(canonicalValue('2026-03-01T10:00+01:00')).toBe('2026-03-01T09:00:00.000Z');
  });
});
