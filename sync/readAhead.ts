import type { ChangePage, FeedCursor } from '../connectors/types.js';

/** A read-ahead page older than this is not used: the next page is normally asked for within a second. */
const MAX_AGE_MS = 30_000;

/**
 * The next page of a link's change feed, read while the current page is still being written. Reading
 * and writing then overlap instead of taking turns, and the source CRM's time is no longer on the
 * critical path. Only a page read from exactly the cursor the next activity starts at is used; the
 * cursor still advances only after that page's writes are durable. A read-ahead that fails is
 * forgotten (the activity reads again and sees the error itself). One slot per link per worker: on
 * another worker, or after a resync, the slot simply goes unused.
 */
export class ReadAhead<P = ChangePage> {
  private slot?: { key: string; at: number; page: Promise<P | undefined> };

  start(cursor: FeedCursor, generation: number, read: () => Promise<P>): void {
    this.slot = { key: keyOf(cursor, generation), at: Date.now(), page: read().catch(() => undefined) };
  }

  /** The page read ahead from this cursor, if any (the slot is emptied either way). */
  async take(cursor: FeedCursor, generation: number): Promise<P | undefined> {
    const s = this.slot;
    this.slot = undefined;
    if (!s || s.key !== keyOf(cursor, generation) || Date.now() - s.at > MAX_AGE_MS) return undefined;
    return s.page;
  }
}

function keyOf(c: FeedCursor, generation: number): string {
  return JSON.stringify([generation, c.modifiedAt, c.id, c.state ?? null]);
}
