import type { ChangePage, Connector, CrmRecord, FeedCursor } from 'cosell/connectors';

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
