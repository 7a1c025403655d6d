import type { ChangePage, Connector, CrmRecord, FeedCursor } from '../../connectors/types.js';
import type { Engine } from '../../sync/build.js';
import { syncChangesPage, syncDeletionsPage } from '../../sync/page.js';

/**
 * Page a connector's change feed from `cursor` until it is caught up. Each next cursor goes through
 * JSON first, as it does in workflow state, so a cursor that does not survive serialisation fails here.
 */
export async function drainFeed(c: Pick<Connector, 'changes'>, object: string, cursor: FeedCursor, opts: { pageSize?: number; fields?: string[] } = {}): Promise<{ records: CrmRecord[]; pages: ChangePage[]; cursor: FeedCursor }> {
  const records: CrmRecord[] = [];
  const pages: ChangePage[] = [];
  for (let i = 0; i < 10_000; i++) {
    const page = await c.changes(object, cursor, { pageSize: opts.pageSize ?? 100, ...(opts.fields ? { fields: opts.fields } : {}) });
    pages.push(page);
    records.push(...page.records);
    cursor = JSON.parse(JSON.stringify(page.next)) as FeedCursor;
    if (page.caughtUp) return { records, pages, cursor };
  }
  throw new Error(`the ${object} feed never caught up`);
}

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
