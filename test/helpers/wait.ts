/**
 * Poll `fn` until it returns something truthy, or fail after `timeoutMs` saying what was awaited.
 * With `retryErrors`, a throw counts as "not yet" (its message is kept for the timeout error):
 * for reads that may fail while the system settles (a workflow not started yet, a query mid-restart).
 */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; intervalMs?: number; retryErrors?: boolean } = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 250, retryErrors = false } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (!retryErrors) throw e;
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Wait until `read()` reaches `target`. Progress that stops moving for `stallMs` is a stall: fail at once
 * with `where()` (what the system says about itself) rather than let the test's own timeout hit later
 * with no clue where it stopped.
 */
export async function reachProgress(read: () => number, target: number, where: () => Promise<string> | string, stallMs = 60_000): Promise<void> {
  let last = read();
  let movedAt = Date.now();
  while (last < target) {
    await sleep(100);
    const now = read();
    if (now !== last) [last, movedAt] = [now, Date.now()];
    if (Date.now() - movedAt > stallMs) throw new Error(`stalled at ${last} of ${target} for ${stallMs / 1000} s: ${await where()}`);
  }
}
