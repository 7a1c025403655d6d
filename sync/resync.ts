import { START_CURSOR, type FeedCursor } from '../connectors/types.js';

/**
 * What a resync re-reads from: 'full' (everything) or an ISO-8601 date or date-time. Pure and
 * deterministic, so the CLI, the link workflow's update validator and the activity share one check.
 */
export type ResyncFrom = 'full' | (string & {});

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Why `from` is not a valid resync start, or undefined when it is. */
export function resyncFromProblem(from: unknown): string | undefined {
  if (from === 'full') return undefined;
  if (typeof from !== 'string' || !ISO.test(from) || Number.isNaN(Date.parse(from))) {
    return `resync --from must be an ISO date or time like 2026-01-31 or 2026-01-31T09:00:00Z (or omit it to re-read everything), not ${JSON.stringify(from)}`;
  }
  return undefined;
}

/** The cursor a resync from `from` starts at (validate with `resyncFromProblem` first). */
export function resyncCursor(from: ResyncFrom): FeedCursor {
  return from === 'full' ? START_CURSOR : { modifiedAt: new Date(from).toISOString(), id: '' };
}

/**
 * Of two resync starts, the one that re-reads more (`full`, else the earlier time): resyncs that
 * arrive before the link serves them are merged into one reset that carries out every one of them.
 */
export function widerResync(a: ResyncFrom | undefined, b: ResyncFrom): ResyncFrom {
  if (a === undefined) return b;
  if (a === 'full' || b === 'full') return 'full';
  return Date.parse(a) <= Date.parse(b) ? a : b;
}
