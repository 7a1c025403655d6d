import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jaroWinkler, nameSimilarity, normalizeCompanyName, normalizeDomain, tokenNameSimilarity, tokenNameSimilarityAtLeast } from '../lib/normalize.js';

describe('normalizeDomain', () => {
  it.each([
    ['https://www.Acme.co.uk/path?q=1', 'acme.co.uk'],
    ['http://shop.eu.acme.com', 'acme.com'],
    ['acme.com', 'acme.com'],
    ['WWW.ACME.COM.', 'acme.com'],
    ['john@mail.acme.com', 'acme.com'],
    ['Jane Doe <jane@sales.globex.de>', 'globex.de'],
    ['mailto:x@Initech.COM', 'initech.com'],
    ['foo.github.io', 'foo.github.io'],
    ['gmail.com', 'gmail.com'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });

  it.each([['jane@gmail.com'], ['bob@hotmail.co.uk'], ['localhost'], ['http://10.0.0.1/'], [''], ['   '], ['not a domain']])(
    '%s has no company domain',
    (input) => {
      expect(normalizeDomain(input)).toBeNull();
    },
  );

  it('tolerates null and undefined', () => {
    expect(normalizeDomain(null)).toBeNull();
    expect(normalizeDomain(undefined)).toBeNull();
  });

  it('is idempotent', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,10}$/);
    const host = fc.tuple(fc.array(label, { maxLength: 3 }), fc.constantFrom('com', 'co.uk', 'de', 'io', 'github.io', 'com.au'))
      .map(([labels, tld]) => [...labels, tld].join('.'));
    const input = fc.oneof(host, host.map((h) => `https://www.${h}/x`), host.map((h) => `a.b@${h}`), fc.string());
    fc.assert(
      fc.property(input, (s) => {
        const once = normalizeDomain(s);
        if (once !== null) expect(normalizeDomain(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });
});

describe('normalizeCompanyName', () => {
  it.each([
    ['The Acme Widgets, Inc.', 'acme widgets'],
    ['ACME Corporation', 'acme'],
    ['Société Générale S.A.', 'societe generale'],
    ['Procter & Gamble Co.', 'procter and gamble'],
    ['Procter and Gamble', 'procter and gamble'],
    ['Smith & Co', 'smith'],
    ['Müller GmbH & Co. KG', 'muller'],
    ['Acme Pty Ltd', 'acme'],
    ['Globex B.V.', 'globex'],
    ['Initech S. A.', 'initech'],
    ["O'Reilly Media plc", 'oreilly media'],
    ['Straße AG', 'strasse'],
    ['Co', 'co'],
    ['GmbH', 'gmbh'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeCompanyName(input)).toBe(expected);
  });

  it('is idempotent (including pathological inputs)', () => {
    const words = fc.constantFrom('the', 'The', 'acme', 'Inc.', 'S.A.', '&', 'and', 'Co', 'GmbH', 'é', 'Ltd', 'x', 'B.V.', ',', 'Pty');
    const name = fc.oneof(fc.array(words, { maxLength: 8 }).map((w) => w.join(' ')), fc.string(), fc.string({ unit: 'grapheme' }));
    fc.assert(
      fc.property(name, (s) => {
        const once = normalizeCompanyName(s);
        expect(normalizeCompanyName(once)).toBe(once);
        expect(once).toMatch(/^[a-z0-9 ]*$/);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('nameSimilarity', () => {
  it('is 1 for names that normalise the same', () => {
    expect(nameSimilarity('Acme Corp', 'ACME Corporation')).toBe(1);
    expect(nameSimilarity('Procter & Gamble', 'Procter and Gamble Co.')).toBe(1);
  });

  it('ranks near-duplicates above different companies', () => {
    expect(nameSimilarity('Acme', 'Acmee')).toBeGreaterThan(0.9);
    expect(nameSimilarity('Deutsche Telekom', 'Telekom Deutschland')).toBeGreaterThan(0.9);
    expect(nameSimilarity('Face Book', 'Facebook')).toBeGreaterThan(0.9);
    expect(nameSimilarity('Acme', 'Acme Widgets')).toBeLessThan(0.75);
    expect(nameSimilarity('Bank', 'Bank of America')).toBeLessThan(0.75);
    expect(nameSimilarity('Globex', 'Initech')).toBeLessThan(0.6);
  });

  it('is symmetric, bounded and 1 on itself', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const s = nameSimilarity(a, b);
        expect(s).toBe(nameSimilarity(b, a));
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
        if (normalizeCompanyName(a)) expect(nameSimilarity(a, a)).toBe(1);
      }),
      { numRuns: 500 },
    );
  });

  it('the early-exit variant agrees whenever the score reaches the bound', () => {
    const word = fc.constantFrom('acme', 'acmee', 'widgets', 'global', 'services', 'face', 'book', 'facebook', 'initech', 'x');
    const name = fc.array(word, { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(name, name, fc.constantFrom(0.5, 0.8, 0.9, 0.95), (a, b, min) => {
        const full = tokenNameSimilarity(a, b);
        const fast = tokenNameSimilarityAtLeast(a, b, min);
        if (full >= min) expect(fast).toBe(full);
        else expect(fast).toBeLessThan(min);
      }),
      { numRuns: 1000, examples: [[['acme'], ['acmee', 'x'], 0.8]] },
    );
  });

  it('jaroWinkler matches the textbook values', () => {
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.961, 3);
    expect(jaroWinkler('dixon', 'dicksonx')).toBeCloseTo(0.813, 3);
    expect(jaroWinkler('abc', '')).toBe(0);
  });
});
