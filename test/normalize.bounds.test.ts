import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isFreeMailDomain,
  jaroWinkler,
  nameSimilarity,
  normalizeCompanyName,
  normalizeDomain,
  normalizedNameSimilarity,
  tokenNameSimilarity,
  tokenNameSimilarityAtLeast,
} from '../lib/normalize.js';
import { MAX_TEXT, STDLIB } from '../mappings/lang/stdlib.js';
import { T } from '../mappings/lang/types.js';
import type { Value } from '../mappings/lang/runtime.js';

/**
 * Every normaliser and every mapping standard-library function does work linear in its input (or
 * bounded): one partner company with a megabyte of dots in its website must not block a worker past
 * its heartbeat. Judged as a ratio, not a wall clock: the time for 1 MB of adversarial input against
 * the time for 10 KB of the same pattern. Linear work gives a ratio of ~100, bounded work ~1, the old
 * quadratic trailing-dot strip ~10,000 (65,000 dots took 2–7 s per call).
 */

/** Patterns that have broken string code before: runs of separators, legal-form words, brackets, unicode. */
const unit = fc.oneof(
  fc.constantFrom('.', '@', '<', '>', ' ', '-', 'the ', 'inc ', 's a ', 'www.', '.com', '..x', 'a', '0', '9', '&', "'", '\u00e9', '\u0301', 'ß', '😀', '\t', 'mailto:', '://', 'x@'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
);
const pattern = fc.array(unit, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(''));

function ofLength(p: string, n: number, salt: number): string {
  // A distinct prefix per call defeats the domain cache, so every call really computes.
  const head = `${salt}`;
  return (head + p.repeat(Math.ceil(n / p.length))).slice(0, n);
}

/** Best of a few calls (each on a fresh input), in ms. */
function time(fn: (s: string) => unknown, p: string, n: number): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const s = ofLength(p, n, Math.random());
    const t0 = performance.now();
    attempt(fn, s);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** Failing (an evaluation error on bad or oversized input) is a bounded answer too. */
function attempt(fn: (s: string) => unknown, s: string): void {
  try {
    fn(s);
  } catch (e) {
    if (!(e instanceof Error) || e.name !== 'EvalError') throw e;
  }
}

/** Below this, timer resolution and GC noise dominate: smaller times count as this much. */
const FLOOR_MS = 0.2;
/**
 * Linear is ×100 for ×100 input; allow 10× for noise — allocation-heavy linear work (splitting 1 MB of
 * "the the …" into 250,000 tokens before tokenNameSimilarity, which keeps the first few) measured ×425
 * on a loaded 2-core machine (a fresh-clone run, 2026-12-07) — still a tenth of quadratic's ×10,000.
 */
const MAX_RATIO = 1000;

function expectLinear(name: string, fn: (s: string) => unknown, small = 10_000, large = 1_000_000, runs = 6): void {
  fc.assert(
    fc.property(pattern, (p) => {
      attempt(fn, ofLength(p, small, 0)); // warm up (JIT) on this pattern
      const a = Math.max(FLOOR_MS, time(fn, p, small));
      const b = time(fn, p, large);
      if (b / a > MAX_RATIO) throw new Error(`${name}: ${small} chars took ${a.toFixed(2)} ms, ${large} took ${b.toFixed(2)} ms (×${Math.round(b / a)}) on pattern ${JSON.stringify(p)}`);
    }),
    { numRuns: runs },
  );
}

describe('normalisers do bounded work on long adversarial input', () => {
  const normalisers: Array<[string, (s: string) => unknown]> = [
    ['normalizeDomain', (s) => normalizeDomain(s)],
    ['normalizeDomain (e-mail)', (s) => normalizeDomain(`jane@${s}`)],
    ['normalizeDomain (url)', (s) => normalizeDomain(`https://${s}`)],
    ['isFreeMailDomain', (s) => isFreeMailDomain(s)],
    ['normalizeCompanyName', (s) => normalizeCompanyName(s)],
    ['nameSimilarity', (s) => nameSimilarity(s, s.slice(1))],
    ['normalizedNameSimilarity', (s) => normalizedNameSimilarity(s, s.slice(1))],
    ['jaroWinkler', (s) => jaroWinkler(s, s.slice(1))],
    ['tokenNameSimilarity', (s) => tokenNameSimilarity(s.split(' '), s.slice(1).split(' '))],
    ['tokenNameSimilarityAtLeast', (s) => tokenNameSimilarityAtLeast(s.split(' '), s.split('.'), 0.5)],
  ];
  for (const [name, fn] of normalisers) it(name, () => expectLinear(name, fn));

  it('the run of dots from the report: ×10 dots cost at most ×40 time (regression: 65,000 dots took seconds)', () => {
    const dots = (n: number) => time((s) => normalizeDomain(s + 'x'), '.', n);
    normalizeDomain('.'.repeat(1000) + 'x');
    const small = Math.max(FLOOR_MS, dots(6_500));
    const large = dots(65_000);
    expect(large / small, `6,500 dots: ${small.toFixed(2)} ms, 65,000 dots: ${large.toFixed(2)} ms`).toBeLessThan(40);
  });

  it('bounded inputs keep their answers for real values', () => {
    expect(normalizeDomain('https://www.acme.co.uk/' + 'x'.repeat(1_000_000))).toBe('acme.co.uk');
    expect(normalizeDomain('acme.com' + '.'.repeat(100))).toBe('acme.com');
    expect(normalizeCompanyName('The '.repeat(10) + 'Acme Widgets, Inc.')).toBe('acme widgets');
  });
});

describe('mapping standard library does bounded work on long adversarial input', () => {
  /** Arguments for a function: text where text is accepted, else a small number, else a list of the text's parts. */
  function call(name: string): (s: string) => unknown {
    const spec = STDLIB.get(name)!;
    const params = [...spec.params, ...(spec.rest ? [spec.rest, spec.rest] : [])];
    return (s) => {
      const args: Value[] = params.map((p) => (p.accepts & (T.text | T.date | T.datetime) ? s : p.accepts & T.number ? 2 : p.accepts & T.list ? s.split('.') : null));
      return spec.fn(args, { now: new Date(0) });
    };
  }
  for (const name of STDLIB.keys()) {
    // Above MAX_TEXT a call fails fast; below it the function itself must be linear.
    it(`${name}()`, () => {
      expectLinear(`${name}() past the bound`, call(name), 10_000, 1_000_000, 3);
      expectLinear(`${name}() within the bound`, call(name), 1_000, MAX_TEXT - 1_000, 3);
    });
  }

  it('text past the bound is a clear evaluation error, not work', () => {
    expect(() => call('lower')('x'.repeat(MAX_TEXT + 1))).toThrow(/more than the limit of 131072/);
    expect(() => STDLIB.get('replace')!.fn(['a'.repeat(1000), 'a', 'b'.repeat(1000)], { now: new Date(0) })).toThrow(/longer than 131072/);
  });
});
