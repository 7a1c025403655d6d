import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../connectors/errors.js';
import { RateBudget, rateBudgetFor } from '../../connectors/rateBudget.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, withRetry } from '../../connectors/retry.js';
import { fakeClock, uniqueOrg } from './salesforce-helpers.js';

describe('RateBudget (in-process, per org)', () => {
  it('is one object per org key for the whole process', () => {
    const key = uniqueOrg('budget');
    expect(rateBudgetFor(key)).toBe(rateBudgetFor(key, { dailyPauseAt: 0.5 }));
    expect(rateBudgetFor(key)).not.toBe(rateBudgetFor(`${key}-other`));
  });

  it('pauses at the threshold of the daily allocation, counting its own calls between headers, and never breaches it', async () => {
    const clock = fakeClock();
    const b = new RateBudget('sf:test', { dailyPauseAt: 0.8, quotaRecheckMs: 60_000, now: clock.now, sleep: clock.sleep });
    b.observeDaily(70, 100);
    let allowed = 0;
    let refused: ConnectorError | undefined;
    // 20 concurrent callers, no header in between: only 10 may go (70 + 10 = 80 %).
    await Promise.all(
      Array.from({ length: 20 }, () =>
        b.acquire().then(
          () => allowed++,
          (e) => (refused = e),
        ),
      ),
    );
    expect(allowed).toBe(10);
    expect(refused?.kind).toBe('quota_exhausted');
    expect(refused?.resetsAt).toBe(new Date(clock.now() + 60_000).toISOString());
    expect(b.state()).toMatchObject({ dailyUsed: 80, dailyLimit: 100, pausedUntil: refused?.resetsAt });
  });

  // Near HubSpot's reset (the portal's midnight) the pause once lasted the whole re-check interval,
  // past the reset: the connector test failed when run at 23:52 UTC.
  it('property: with a known reset the pause ends exactly then, sooner or later than the re-check; a past reset falls back to the re-check', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -3_600_000, max: 86_400_000 }), fc.boolean(), async (resetInMs, byCounting) => {
        const clock = fakeClock();
        const b = new RateBudget('hs:reset', { dailyPauseAt: 0.9, quotaRecheckMs: 600_000, now: clock.now, sleep: clock.sleep });
        const resetsAt = new Date(clock.now() + resetInMs).toISOString();
        // Over the threshold by the header, or predicted by counting its own calls before the next one.
        b.observeDaily(byCounting ? 89 : 95, 100, resetsAt);
        if (byCounting) {
          await b.acquire(); // 90 of 100: at the threshold, allowed
          await expect(b.acquire()).rejects.toMatchObject({ kind: 'quota_exhausted' });
        }
        const expected = resetInMs > 0 ? resetsAt : new Date(clock.now() + 600_000).toISOString();
        expect(b.state().pausedUntil).toBe(expected);
      }),
    );
  });

  it('after the re-check time lets one probe through; resumes when the header shows room, pauses again when not', async () => {
    const clock = fakeClock();
    const b = new RateBudget('sf:probe', { dailyPauseAt: 0.8, quotaRecheckMs: 60_000, now: clock.now, sleep: clock.sleep });
    b.observeDaily(85, 100);
    await expect(b.acquire()).rejects.toMatchObject({ kind: 'quota_exhausted' });
    clock.advance(60_001);
    await b.acquire(); // the probe
    await expect(b.acquire()).rejects.toMatchObject({ kind: 'quota_exhausted' }); // others wait for its answer
    b.observeDaily(82, 100); // still above: paused again
    await expect(b.acquire()).rejects.toMatchObject({ kind: 'quota_exhausted' });
    clock.advance(60_001);
    await b.acquire();
    b.observeDaily(40, 100); // the rolling window freed up
    await b.acquire();
    await b.acquire();
    expect(b.state().pausedUntil).toBeUndefined();
  });

  it('waits for a free slot in a sliding window (HubSpot 10 s) and in a named window (search) only when asked', async () => {
    const clock = fakeClock();
    const b = new RateBudget('hs:test', {
      windows: [
        { name: 'tenSecondly', limit: 3, intervalMs: 10_000 },
        { name: 'search', limit: 1, intervalMs: 1_000, everyCall: false },
      ],
      now: clock.now,
      sleep: clock.sleep,
    });
    await b.acquire();
    await b.acquire();
    await b.acquire();
    expect(clock.waits).toEqual([]);
    await b.acquire(); // the 4th call in 10 s waits for the first to leave the window (+2 % for the CRM's clock edge)
    expect(clock.waits).toEqual([10_200]);
    clock.waits.length = 0;
    await b.acquire({ windows: ['search'] });
    await b.acquire({ windows: ['search'] });
    expect(clock.waits.some((w) => w > 0)).toBe(true);
    expect(b.state().windowLimit).toBe(3);
  });

  it('a full window reported by the CRM costs only the wait for the oldest call when the calls were ours, and counts calls it did not see', async () => {
    const clock = fakeClock();
    const b = new RateBudget('hs:observe', { windows: [{ name: 'tenSecondly', limit: 100, intervalMs: 10_000 }], now: clock.now, sleep: clock.sleep });
    for (let i = 0; i < 4; i++) {
      await b.acquire();
      clock.advance(1_000);
    }
    b.observeWindow('tenSecondly', 0, 4, 10_000); // the header also lowers the limit to 4: all four are ours
    await b.acquire();
    expect(clock.waits).toEqual([6_200]); // until the first call leaves the window (10.2 s) — not a whole interval more
    clock.waits.length = 0;
    clock.advance(11_000);
    b.observeWindow('tenSecondly', 1, 4, 10_000); // three calls in the window, none of them ours: another worker
    await b.acquire();
    expect(clock.waits).toEqual([]);
    await b.acquire();
    expect(clock.waits).toEqual([10_200]);
  });

  it('a shared back-off (429 Retry-After) holds every caller', async () => {
    const clock = fakeClock();
    const b = new RateBudget('sf:backoff', { now: clock.now, sleep: clock.sleep });
    b.backoff(2_500);
    await b.acquire();
    expect(clock.waits).toEqual([2_500]);
  });
});

describe('retry policy (connectors/retry.ts)', () => {
  it('retries transient and rate-limited errors only, waiting max(back-off, Retry-After)', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    let n = 0;
    const out = await withRetry(
      async () => {
        n++;
        if (n === 1) throw new ConnectorError('transient', 'blip');
        if (n === 2) throw new ConnectorError('rate_limited', '429', { retryAfterMs: 5_000 });
        return 'ok';
      },
      { policy: { jitter: false, minDelayMs: 100 }, sleep },
    );
    expect(out).toBe('ok');
    expect(waits).toEqual([100, 5_000]);

    for (const kind of ['validation', 'auth', 'not_found', 'conflict', 'quota_exhausted', 'protocol'] as const) {
      let calls = 0;
      const err = await withRetry(
        async () => {
          calls++;
          throw new ConnectorError(kind, kind);
        },
        { sleep },
      ).catch((e) => e);
      expect([err.kind, calls]).toEqual([kind, 1]);
    }
  });

  it('does not wait out a Retry-After beyond maxRetryAfterMs: the caller reschedules', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw new ConnectorError('rate_limited', 'slow down', { retryAfterMs: 3_600_000 });
      },
      { sleep: async () => undefined },
    ).catch((e) => e);
    expect([err.kind, err.retryAfterMs, calls]).toEqual(['rate_limited', 3_600_000, 1]);
  });

  it('back-off grows exponentially, is capped, and jitter stays within [base, 2·base]', () => {
    const p = { ...DEFAULT_RETRY_POLICY, jitter: false, minDelayMs: 500, maxDelayMs: 4_000 };
    expect([1, 2, 3, 4, 5].map((r) => backoffDelay(r, p))).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    const j = backoffDelay(2, { ...p, jitter: true }, () => 0.5);
    expect(j).toBe(1_500);
  });
});
