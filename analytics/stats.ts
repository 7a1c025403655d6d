/**
 * The statistics behind every comparison the report makes: Wilson score intervals for rates,
 * Newcombe's hybrid score interval for a difference of two rates, a seeded percentile bootstrap for
 * mean cycle days (and their difference) from a histogram, a normal interval from moments where only
 * sums are kept. A difference is "significant" only when its interval excludes zero.
 */
import { seededRandom } from '../lib/seededRandom.js';

export interface Interval {
  low: number;
  high: number;
}

export interface Rate extends Interval {
  /** Successes / trials (null when there are no trials). */
  value: number | null;
  successes: number;
  n: number;
}

export interface Mean extends Interval {
  value: number | null;
  n: number;
  method: 'bootstrap' | 'normal' | 'none';
}

export interface Difference extends Interval {
  /** a − b (null when either side has no data). */
  value: number | null;
  significant: boolean;
  /** One sentence a user can read. */
  verdict: string;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile of ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

const zOf = (confidence: number) => normalQuantile(1 - (1 - confidence) / 2);

/** Wilson score interval for successes / n (0..1 when n is 0). */
export function wilson(successes: number, n: number, confidence = 0.95): Rate {
  if (n <= 0) return { value: null, successes: 0, n: 0, low: 0, high: 1 };
  const z = zOf(confidence);
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { value: p, successes, n, low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** Newcombe's hybrid score interval (method 10) for the difference of two independent rates a − b. */
export function rateDifference(a: Rate, b: Rate, what = 'win rate'): Difference {
  if (a.value === null || b.value === null) return { value: null, low: -1, high: 1, significant: false, verdict: `no ${what} to compare (a group has no closed deals)` };
  const d = a.value - b.value;
  const low = d - Math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2);
  const high = d + Math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2);
  const significant = low > 0 || high < 0;
  const span = `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)} points [${(low * 100).toFixed(1)}, ${(high * 100).toFixed(1)}], n = ${a.n} vs ${b.n}`;
  return { value: d, low, high, significant, verdict: significant ? `${what} differs: ${span}` : `${what} difference not significant: ${span}` };
}

/** A histogram: value → count (cycle days of won deals). */
export type Histogram = ReadonlyArray<readonly [value: number, count: number]>;

/** One Binomial(n, p) draw from `rnd` (exported for the bootstrap's reference test, which must draw alike). */
export function binomial(n: number, p: number, rnd: () => number): number {
  if (p <= 0 || n <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(n, 1 - p, rnd);
  const q = 1 - p;
  if (n * p * q > 25) {
    // Large counts: the normal approximation (Box–Muller), rounded and clamped — resampling error far below the interval's width.
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    return Math.min(n, Math.max(0, Math.round(n * p + z * Math.sqrt(n * p * q))));
  }
  // Small mean: exact inversion, walking the pmf from 0 (expected n·p + 1 steps; q^n cannot underflow here).
  const ratio = p / q;
  let pmf = q ** n;
  let cdf = pmf;
  const u = rnd();
  let k = 0;
  while (u > cdf && k < n) {
    pmf *= (ratio * (n - k)) / (k + 1);
    k++;
    cdf += pmf;
  }
  return k;
}

/**
 * One bootstrap resample's mean of a histogram (as parallel arrays of values and counts): the counts
 * of a resample of n values are multinomial, drawn as conditional binomials over the distinct values —
 * O(distinct values), not O(n).
 */
function resampleMean(values: Float64Array, counts: Float64Array, n: number, rnd: () => number): number {
  let left = n;
  let mass = n;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    if (left <= 0) break;
    const c = counts[i]!;
    const k = mass <= c ? left : binomial(left, c / mass, rnd);
    sum += k * values[i]!;
    left -= k;
    mass -= c;
  }
  return sum / n;
}

const histN = (h: Histogram) => h.reduce((s, [, c]) => s + c, 0);
const histMean = (h: Histogram) => h.reduce((s, [v, c]) => s + v * c, 0) / histN(h);
const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))]!;

export const BOOTSTRAP_RESAMPLES = 1000;
/**
 * Fewer values than this in a group and a mean comparison is not made: a bootstrap of one or two
 * values has (almost) no spread and would call any difference significant.
 */
export const MIN_MEAN_SAMPLE = 5;

/**
 * The bootstrap distribution of a histogram's mean: `resamples` resampled means from a seeded stream.
 * A report computes it once per group and reuses it for the group's interval and every difference
 * it takes part in (direct is compared with four groups).
 */
export function bootstrapMeans(hist: Histogram, opts: { seed?: number; resamples?: number } = {}): number[] {
  const n = histN(hist);
  if (n === 0) return [];
  const rnd = seededRandom(opts.seed ?? 1);
  // Typed parallel arrays: the resampling loop (1,000 × distinct values) reads no tuples.
  const values = Float64Array.from(hist, ([v]) => v);
  const counts = Float64Array.from(hist, ([, c]) => c);
  const resamples = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  const means = new Array<number>(resamples);
  for (let i = 0; i < resamples; i++) means[i] = resampleMean(values, counts, n, rnd);
  return means;
}

/** Percentile bootstrap interval of the mean (seeded); `means` from bootstrapMeans when already computed. */
export function bootstrapMean(hist: Histogram, opts: { confidence?: number; seed?: number; resamples?: number; means?: number[] } = {}): Mean {
  const n = histN(hist);
  if (n === 0) return { value: null, n: 0, low: 0, high: 0, method: 'none' };
  const sorted = [...(opts.means ?? bootstrapMeans(hist, opts))].sort((a, b) => a - b);
  const alpha = 1 - (opts.confidence ?? 0.95);
  return { value: histMean(hist), n, low: quantile(sorted, alpha / 2), high: quantile(sorted, 1 - alpha / 2), method: 'bootstrap' };
}

/**
 * Bootstrap interval of mean(a) − mean(b), both resampled independently (seeded, or the groups'
 * precomputed bootstrap means: independent streams, paired by index).
 */
export function bootstrapDifference(a: Histogram, b: Histogram, opts: { confidence?: number; seed?: number; resamples?: number; what?: string; unit?: string; meansA?: number[]; meansB?: number[] } = {}): Difference {
  const na = histN(a);
  const nb = histN(b);
  const what = opts.what ?? 'mean';
  if (na < MIN_MEAN_SAMPLE || nb < MIN_MEAN_SAMPLE) return tooFew(what, na, nb, na && nb ? histMean(a) - histMean(b) : null);
  const ma = opts.meansA ?? bootstrapMeans(a, { seed: opts.seed ?? 2, resamples: opts.resamples });
  const mbs = opts.meansB ?? bootstrapMeans(b, { seed: (opts.seed ?? 2) + 7919, resamples: opts.resamples });
  const diffs = ma.map((x, i) => x - mbs[i % mbs.length]!).sort((x, y) => x - y);
  const alpha = 1 - (opts.confidence ?? 0.95);
  const low = quantile(diffs, alpha / 2);
  const high = quantile(diffs, 1 - alpha / 2);
  const d = histMean(a) - histMean(b);
  const significant = low > 0 || high < 0;
  const unit = opts.unit ?? '';
  const span = `${d >= 0 ? '+' : ''}${d.toFixed(1)}${unit} [${low.toFixed(1)}, ${high.toFixed(1)}], n = ${na} vs ${nb}`;
  return { value: d, low, high, significant, verdict: significant ? `${what} differs: ${span}` : `${what} difference not significant: ${span}` };
}

/** Normal interval of a mean from its count, sum and sum of squares (where only moments are kept). */
export function momentsMean(n: number, sum: number, sumSq: number, confidence = 0.95): Mean {
  if (n <= 0) return { value: null, n: 0, low: 0, high: 0, method: 'none' };
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (sumSq - n * mean * mean) / (n - 1)) : 0;
  const half = n > 1 ? zOf(confidence) * Math.sqrt(variance / n) : Infinity;
  return { value: mean, n, low: n > 1 ? mean - half : -Infinity, high: n > 1 ? mean + half : Infinity, method: 'normal' };
}

function tooFew(what: string, na: number, nb: number, value: number | null): Difference {
  return { value, low: -Infinity, high: Infinity, significant: false, verdict: `${what}: too few won deals with dates to tell (n = ${na} vs ${nb}, need ${MIN_MEAN_SAMPLE} each)` };
}

/** Normal interval of mean(a) − mean(b) from two moment-based means (Welch, large-sample z). */
export function meanDifference(a: Mean, b: Mean, opts: { confidence?: number; what?: string; unit?: string } = {}): Difference {
  const what = opts.what ?? 'mean';
  if (a.value === null || b.value === null || a.n < MIN_MEAN_SAMPLE || b.n < MIN_MEAN_SAMPLE) return tooFew(what, a.n, b.n, a.value !== null && b.value !== null ? a.value - b.value : null);
  const z = zOf(opts.confidence ?? 0.95);
  // Both intervals are mean ± z·se (normal) or close to it (bootstrap): recover se from the width.
  const se = (m: Mean) => (m.high - m.low) / (2 * z);
  const d = a.value - b.value;
  const half = z * Math.sqrt(se(a) ** 2 + se(b) ** 2);
  const low = d - half;
  const high = d + half;
  const significant = low > 0 || high < 0;
  const unit = opts.unit ?? '';
  const span = `${d >= 0 ? '+' : ''}${d.toFixed(1)}${unit} [${low.toFixed(1)}, ${high.toFixed(1)}], n = ${a.n} vs ${b.n}`;
  return { value: d, low, high, significant, verdict: significant ? `${what} differs: ${span}` : `${what} difference not significant: ${span}` };
}
