/** Nearest-rank percentile `p` (0–100) of latencies, to 0.1 ms; NaN when there are none. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10 : NaN;
}

/** Count, p50, p95 and max of a set of latencies (ms). */
export const latencySummary = (xs: readonly number[]) => ({ n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), max: percentile(xs, 100) });
