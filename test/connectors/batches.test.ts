import { describe, expect, it } from 'vitest';
import { writeBatches } from '../../connectors/batches.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('writeBatches', () => {
  it('keeps at most `concurrency` batches in flight and writes every batch once', async () => {
    let inFlight = 0;
    let most = 0;
    const written: number[] = [];
    const batches = Array.from({ length: 10 }, (_, i) => [`k${i}`]);
    await writeBatches(batches, (k) => k, 3, async ([k]) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await tick(5);
      written.push(Number(k.slice(1)));
      inFlight--;
    });
    expect(most).toBe(3);
    expect(written.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a batch sharing a key with an earlier one starts only after every earlier batch has finished', async () => {
    const events: string[] = [];
    const batches = [['a', 'b'], ['c'], ['a'], ['d']];
    await writeBatches(batches, (k) => k, 4, async (batch) => {
      events.push(`start ${batch.join('')}`);
      await tick(batch.includes('c') ? 20 : 5);
      events.push(`end ${batch.join('')}`);
    });
    expect(events.indexOf('start a')).toBeGreaterThan(events.indexOf('end c'));
    expect(events.indexOf('start a')).toBeGreaterThan(events.indexOf('end ab'));
    expect(events.indexOf('start c')).toBeLessThan(events.indexOf('end ab')); // the first two did overlap
  });

  it('waits for the batches already started, then rejects with the first failure in batch order', async () => {
    const finished: string[] = [];
    const batches = [['slow'], ['bad1'], ['bad2']];
    const run = writeBatches(batches, (k) => k, 3, async ([k]) => {
      await tick(k === 'slow' ? 30 : 1);
      if (k.startsWith('bad')) throw new Error(k);
      finished.push(k);
    });
    await expect(run).rejects.toThrow('bad1');
    expect(finished).toEqual(['slow']);
  });
});
