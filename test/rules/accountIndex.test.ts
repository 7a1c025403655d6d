import { describe, expect, it } from 'vitest';
import { AccountIndex, blockingKeys } from '../../rules/accountIndex.js';

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

  it('uses common blocking keys only when nothing more selective exists (then intersects them)', () => {
    const index = new AccountIndex({ maxBlock: 3 });
    for (let i = 0; i < 5; i++) index.upsertAccount({ id: `g${i}`, name: `Global Services ${['Alpha', 'Beta', 'Gamma', 'Delta', 'Omega'][i]}` });
    index.upsertAccount({ id: 'gs', name: 'Global Services' });
    // "glo" and "ser" are common (6 records > 3): intersected, so the exact name is still found.
    expect(index.findAccounts({ domains: [], name: 'global services' }, opts).map((h) => h.record.id)).toEqual(['gs']);
    // "bet" is selective: only that block is scored.
    expect(index.findAccounts({ domains: [], name: 'global services beta' }, opts).map((h) => h.record.id)).toEqual(['g1']);
  });

  it('blocking keys are 4-, 5- and 7-character token prefixes and the space-free prefix', () => {
    expect(blockingKeys(['face', 'book'])).toEqual(['face', 'book', 'faceb']);
    expect(blockingKeys(['facebook', 'x'])).toEqual(['face', 'faceb', 'faceboo']);
    expect(blockingKeys(['a', 'b', 'c'])).toEqual(['abc']);
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
