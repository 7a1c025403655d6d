import { sql, type Kysely } from 'kysely';
import { comparePositions } from '../connectors/cursorOrder.js';
import { START_CURSOR, type FeedCursor } from '../connectors/types.js';
import type { LedgerTables, LinkCursorRow } from './schema.js';
import type { Feed, StoredCursor } from './types.js';
import { fromJson, isoTime, nowIso, toJson } from './util.js';

export function toStoredCursor(row: LinkCursorRow): StoredCursor {
  const state = fromJson<Record<string, unknown>>(row.state);
  return { modifiedAt: row.modified_at, id: row.record_id, ...(state ? { state } : {}), generation: row.generation, updatedAt: row.updated_at };
}

/**
 * Store `cursor` unless the stored one is already past it — compare-and-set on (modifiedAt, id) in
 * the feeds' one position order (connectors/cursorOrder.ts: time, then shorter id, then bytewise), in
 * one statement, so a late duplicate activity can never move a cursor backwards. An equal position
 * is accepted when its opaque `state` is what moved on: with `from` (the cursor the page was read
 * from), only while the stored cursor is still `from` (or already is `cursor`), so a duplicate that
 * lost the race cannot roll a feed's state back either. With `generation`, a cursor reset since the
 * page was read also wins. Returns the stored row when this write took effect.
 */
export async function advanceCursor(db: Kysely<LedgerTables>, linkId: string, feed: Feed, cursor: FeedCursor, generation?: number, from?: FeedCursor): Promise<StoredCursor | undefined> {
  const now = nowIso();
  const row = await db
    .insertInto('link_cursors')
    .values({
      link_id: linkId,
      feed,
      modified_at: isoTime(cursor.modifiedAt, 'cursor.modifiedAt'),
      record_id: cursor.id,
      state: toJson(cursor.state),
      generation: generation ?? 0,
      updated_at: now,
    })
    .onConflict((oc) => {
      const update = oc.columns(['link_id', 'feed']).doUpdateSet((eb) => ({
        modified_at: eb.ref('excluded.modified_at'),
        record_id: eb.ref('excluded.record_id'),
        state: eb.ref('excluded.state'),
        updated_at: eb.ref('excluded.updated_at'),
      }));
      const next = sql`(excluded.modified_at, length(excluded.record_id), excluded.record_id)`;
      const stored = sql`(link_cursors.modified_at, length(link_cursors.record_id), link_cursors.record_id)`;
      const sameState = from
        ? sql<boolean>`(coalesce(link_cursors.state, '') = ${toJson(from.state) ?? ''} or coalesce(link_cursors.state, '') = coalesce(excluded.state, ''))`
        : sql<boolean>`1 = 1`;
      const forward = update.where(sql<boolean>`(${next} > ${stored} or (${next} = ${stored} and ${sameState}))`);
      return generation === undefined ? forward : forward.where('link_cursors.generation', '=', generation);
    })
    .returningAll()
    .executeTakeFirst();
  return row ? toStoredCursor(row) : undefined;
}

/**
 * Why a page's own step cannot be right, if it cannot: its next cursor is behind the cursor it was
 * read from (the ledger would refuse it, and the feed would re-read the same page for ever), or it
 * is not caught up yet returns exactly the cursor it started from (it would be asked the same
 * question, and answer the same, for ever). Either is a feed bug to surface, never to swallow.
 */
export function feedStallReason(from: FeedCursor, next: FeedCursor, caughtUp?: boolean): string | undefined {
  const order = comparePositions(next, from);
  if (order < 0) return `the next cursor (${next.modifiedAt}, ${JSON.stringify(next.id)}) is behind the one the page was read from (${from.modifiedAt}, ${JSON.stringify(from.id)})`;
  if (order === 0 && caughtUp === false && (toJson(next.state) ?? '') === (toJson(from.state) ?? '')) {
    return `the page is not caught up but its next cursor is the one it was read from (${from.modifiedAt}, ${JSON.stringify(from.id)})`;
  }
  return undefined;
}

export class Cursors {
  constructor(private readonly db: Kysely<LedgerTables>) {}

  async get(linkId: string, feed: Feed): Promise<StoredCursor | undefined> {
    const row = await this.db.selectFrom('link_cursors').selectAll().where('link_id', '=', linkId).where('feed', '=', feed).executeTakeFirst();
    return row ? toStoredCursor(row) : undefined;
  }

  /** `get`, or the start of the feed (generation 0) when the link has never run. */
  async getOrStart(linkId: string, feed: Feed): Promise<StoredCursor> {
    return (await this.get(linkId, feed)) ?? { ...START_CURSOR, generation: 0, updatedAt: '' };
  }

  /** Move forward only (see advanceCursor). True when stored. Prefer `commitPage` to pair it with the page's writes. */
  async advance(linkId: string, feed: Feed, cursor: FeedCursor, generation?: number, from?: FeedCursor): Promise<boolean> {
    return (await advanceCursor(this.db, linkId, feed, cursor, generation, from)) !== undefined;
  }

  /**
   * Resync: put the cursor anywhere (default: the start of the feed), backwards included, and bump its
   * generation so pages read before the reset cannot move it again.
   */
  async reset(linkId: string, feed: Feed, cursor: FeedCursor = START_CURSOR): Promise<StoredCursor> {
    const now = nowIso();
    const row = await this.db
      .insertInto('link_cursors')
      .values({ link_id: linkId, feed, modified_at: isoTime(cursor.modifiedAt, 'cursor.modifiedAt'), record_id: cursor.id, state: toJson(cursor.state), generation: 1, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['link_id', 'feed']).doUpdateSet((eb) => ({
          modified_at: eb.ref('excluded.modified_at'),
          record_id: eb.ref('excluded.record_id'),
          state: eb.ref('excluded.state'),
          updated_at: eb.ref('excluded.updated_at'),
          generation: sql<number>`link_cursors.generation + 1`,
        })),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toStoredCursor(row);
  }

  /** Every stored cursor (of one link, or all), for status pages. */
  async list(linkId?: string): Promise<Array<StoredCursor & { linkId: string; feed: Feed }>> {
    let q = this.db.selectFrom('link_cursors').selectAll().orderBy('link_id').orderBy('feed');
    if (linkId !== undefined) q = q.where('link_id', '=', linkId);
    const rows = await q.execute();
    return rows.map((r) => ({ linkId: r.link_id, feed: r.feed as Feed, ...toStoredCursor(r) }));
  }
}
