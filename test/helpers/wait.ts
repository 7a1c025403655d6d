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
