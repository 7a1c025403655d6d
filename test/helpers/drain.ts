import type { Engine } from '../../sync/build.js';
import { syncChangesPage, syncDeletionsPage } from '../../sync/page.js';

// Shared with the published connector contract (@cosell/connector-contract), which pages feeds the same way.
export { drainFeed } from '@cosell/connector-contract/drain';

export type Totals = Record<string, number>;

/** Run a link's change feed until caught up (and its deletion feed, when asked), summing the page counts. */
export async function drain(engine: Engine, linkId: string, opts: { deletions?: boolean } = {}): Promise<Totals> {
  const rt = await engine.link(linkId);
  const totals: Totals = {};
  const add = (c: Record<string, number | undefined>) => {
    for (const [k, v] of Object.entries(c)) totals[k] = (totals[k] ?? 0) + (v ?? 0);
  };
  for (const page of [syncChangesPage, ...(opts.deletions ? [syncDeletionsPage] : [])]) {
    for (let i = 0; ; i++) {
      if (i > 200) throw new Error(`${linkId} did not catch up (${page.name})`);
      const r = await page(rt);
      add(r.counts);
      if (r.caughtUp) break;
    }
  }
  return totals;
}
