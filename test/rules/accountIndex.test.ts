import { describe, expect, it } from 'vitest';
import { AccountIndex } from '../../rules/accountIndex.js';
import { tokenKeys } from '../../rules/nameBlocking.js';

const opts = { nameThreshold: 0.9, requireDomainAgreement: true, useDomains: true };

describe('AccountIndex', () => {
  it('finds by normalised domain and by similar name, sorted by id', () => {
    const index = new AccountIndex();
    index.upsertAccount({ id: 'b', name: 'Acme Corporation', domain: 'https://www.acme.com' });
    index.upsertAccount({ id: 'a', name: 'ACME Inc.' });
    index.upsertAccount({ id: 'c', name: 'Acme Widgets', domain: 'acmewidgets.com' });
    const hits = index.findAccounts({ domains: ['acme.com'], name: 'acme' }, opts);
    expect(hits.map((h) => [h.record.id, h.matchedOn, h.score])).toEqual([['a', 'name', 1], ['b', 'domain', 1]]);
  });

  it('upsert replaces and remove forgets (the sync keeps it current)', () => {
    const index = new AccountIndex();
    index.upsertAccount({ id: 'x', name: 'Hooli', domain: 'hooli.com' });
    index.upsertAccount({ id: 'x', name: 'Nucleus', domain: 'nucleus.io' });
    expect(index.accountCount).toBe(1);
    expect(index.findAccounts({ domains: ['hooli.com'], name: 'hooli' }, opts)).toEqual([]);
    expect(index.findAccounts({ domains: ['nucleus.io'], name: '' }, opts)).toHaveLength(1);
    expect(index.removeAccount('x')).toBe(true);
    expect(index.removeAccount('x')).toBe(false);
    expect(index.findAccounts({ domains: ['nucleus.io'], name: 'nucleus' }, opts)).toEqual([]);
  });

  it('keeps only active registrations', () => {
    const index = new AccountIndex();
    index.upsertRegistration({ id: 'g:1', partnerId: 'globex', customerName: 'Hooli', registeredAt: '2026-11-01T00:00:00Z', status: 'approved' });
    expect(index.registrationCount).toBe(1);
    index.upsertRegistration({ id: 'g:1', partnerId: 'globex', customerName: 'Hooli', registeredAt: '2026-11-01T00:00:00Z', status: 'expired' as never });
    expect(index.registrationCount).toBe(0);
  });

  it('a query of common words reads their records, and the exact score keeps only the real match', () => {
    const index = new AccountIndex();
    for (let i = 0; i < 5; i++) index.upsertAccount({ id: `g${i}`, name: `Global Services ${['Alpha', 'Beta', 'Gamma', 'Delta', 'Omega'][i]}` });
    index.upsertAccount({ id: 'gs', name: 'Global Services' });
    expect(index.findAccounts({ domains: [], name: 'global services' }, opts).map((h) => h.record.id)).toEqual(['gs']);
    // "beta" is the rarest word: only its one record is read and scored.
    const before = index.stats.candidates;
    expect(index.findAccounts({ domains: [], name: 'global services beta' }, opts).map((h) => h.record.id)).toEqual(['g1']);
    expect(index.stats.candidates - before).toBe(1);
  });

  it('token keys: the first six letters, the first seven without the first, second or third, and the last five', () => {
    expect(tokenKeys('vandelay')).toEqual(['vandel', 'andela', 'vndela', 'vadela', '$delay']);
    expect(tokenKeys('ab')).toEqual(['ab', 'b', 'a', '$ab']);
  });

  it('finds typos in the first letters, swapped first letters and a dropped first letter', () => {
    const index = new AccountIndex();
    index.upsertAccount({ id: 'v', name: 'Vandelay Industries' });
    index.upsertAccount({ id: 's', name: 'Starkdyne' });
    const find = (name: string) => index.findAccounts({ domains: [], name }, opts).map((h) => h.record.id);
    expect(find('avndelay industries')).toEqual(['v']);
    expect(find('bandelay industries')).toEqual(['v']);
    expect(find('andelay industries')).toEqual(['v']);
    expect(find('industries vandelay')).toEqual(['v']);
    expect(find('sratkdyne')).toEqual(['s']);
    expect(find('tarkdyne')).toEqual(['s']);
  });

  it('finds a record despite one typo in the first letters of a rare token when another heavy token is selective', () => {
    const index = new AccountIndex();
    index.upsertAccount({ id: 'x', name: 'Initrode Vandelay' });
    expect(index.findAccounts({ domains: [], name: 'inittode vandelay' }, opts).map((h) => h.record.id)).toEqual(['x']);
    expect(index.findAccounts({ domains: [], name: 'facebook' }, opts)).toEqual([]);
    index.upsertAccount({ id: 'fb', name: 'Face Book' });
    expect(index.findAccounts({ domains: [], name: 'facebook' }, opts).map((h) => h.record.id)).toEqual(['fb']);
  });
});
