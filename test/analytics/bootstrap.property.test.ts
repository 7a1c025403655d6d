import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomial, bootstrapMeans, type Histogram } from '../../analytics/stats.js';
import { seededRandom } from '../../lib/seededRandom.js';

/**
 * bootstrapMeans resamples over typed parallel arrays of the histogram (the report's hot loop). It
 * must draw exactly what the straightforward version over the [value, count] tuples draws — same
 * seeded stream, same conditional binomials — so a report's intervals did not move. The reference
 * below is that version, spelled out (over the same binomial draw: the loop, not the draw, is under test).
 */

function referenceMeans(hist: Histogram, seed: number, resamples: number): number[] {
  const n = hist.reduce((s, [, c]) => s + c, 0);
  if (n === 0) return [];
  const rnd = seededRandom(seed);
  const out: number[] = [];
  for (let i = 0; i < resamples; i++) {
    let left = n;
    let mass = n;
    let sum = 0;
    for (const [v, c] of hist) {
      if (left <= 0) break;
      const k = mass <= c ? left : binomial(left, c / mass, rnd);
      sum += k * v;
      left -= k;
      mass -= c;
    }
    out.push(sum / n);
  }
  return out;
}

describe('bootstrap resampling (property)', () => {
  it('equals the tuple-by-tuple reference on random histograms, small and large counts', () => {
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`bootstrap property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/analytics/bootstrap.property.test.ts)`);
    const histArb = fc
      .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 50_000 }))), { maxLength: 30, selector: ([v]) => v })
      .map((h) => [...h].sort((a, b) => a[0] - b[0]) as Histogram);
    fc.assert(
      fc.property(histArb, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 60 }), (hist, s, resamples) => {
        const means = bootstrapMeans(hist, { seed: s, resamples });
        expect(means).toEqual(referenceMeans(hist, s, resamples));
        if (means.length) {
          const lo = hist.find(([, c]) => c > 0)![0];
          const hi = [...hist].reverse().find(([, c]) => c > 0)![0];
          for (const m of means) expect(m >= lo - 1e-9 && m <= hi + 1e-9).toBe(true);
        }
      }),
      { seed, numRuns: 200 },
    );
  });
});
