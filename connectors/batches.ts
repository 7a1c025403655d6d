import pLimit from 'p-limit';

/**
 * Send a page's batch writes up to `concurrency` at a time. One at a time leaves a rate window unused
 * while each answer travels back; several in flight fill it (the org's rate budget still gates every
 * call). Batches that share a key keep their order: a later batch holding a key an earlier one holds
 * starts only after everything before it has finished.
 *
 * Waits for every started batch before it rejects, so no write is still in flight when the caller
 * (an activity about to be retried) moves on; rejects with the first failure in batch order.
 */
export async function writeBatches<T>(batches: T[][], keyOf: (item: T) => string, concurrency: number, write: (batch: T[]) => Promise<void>): Promise<void> {
  const limit = pLimit(Math.max(1, concurrency));
  for (const wave of wavesOfDistinctKeys(batches, keyOf)) {
    const settled = await Promise.allSettled(wave.map((batch) => limit(() => write(batch))));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** Consecutive runs of batches in which no key occurs twice. */
function wavesOfDistinctKeys<T>(batches: T[][], keyOf: (item: T) => string): T[][][] {
  const waves: T[][][] = [];
  let wave: T[][] = [];
  let keys = new Set<string>();
  for (const batch of batches) {
    const batchKeys = batch.map(keyOf);
    if (batchKeys.some((k) => keys.has(k))) {
      waves.push(wave);
      wave = [];
      keys = new Set();
    }
    wave.push(batch);
    for (const k of batchKeys) keys.add(k);
  }
  if (wave.length) waves.push(wave);
  return waves;
}
