import type { Kysely } from 'kysely';
import { writeAudits } from './audit.js';
import { CosellError } from '../lib/errors.js';
import { advanceCursor, feedStallReason, toStoredCursor } from './cursors.js';
import { markDeadLettersReplayed, resolveDeadLetters, writeDeadLetters } from './deadLetters.js';
import type { DialectName } from './migrations.js';
import { markPairsDeleted, writeHashes, writePairs } from './pairs.js';
import type { LedgerTables } from './schema.js';
import type { CommitResult, PageCommit } from './types.js';
import { writeSnapshots } from './snapshots.js';
import { advanceConsumer } from './streams.js';
import { withRetry } from './util.js';

/**
 * Everything one page produced, in ONE transaction: pairs, hashes, deletions, dead letters, audit
 * events and — last — the cursor. Either all of it is durable or none is, so the cursor can never
 * run ahead of the writes it stands for. Every part is an upsert (or keyed insert), so a retried or
 * duplicated activity committing the same page again changes nothing; rows are written in key order
 * so concurrent commits lock them in the same order (no deadlocks on PostgreSQL).
 *
 * A refused cursor is harmless when it comes from a resync (generation bumped) or from an activity
 * that was overtaken (a duplicate that lost the race); a page whose own step goes backwards, or
 * nowhere while not caught up, is a feed bug: it fails with COSELL_FEED_STALLED before anything is
 * written, so the workflow shows it instead of idling on a feed that re-reads one page for ever.
 */
export async function commitPage(db: Kysely<LedgerTables>, dialect: DialectName, page: PageCommit): Promise<CommitResult> {
  const { linkId } = page;
  if (page.cursor && page.from) {
    const reason = feedStallReason(page.from, page.cursor, page.caughtUp);
    if (reason) {
      throw new CosellError('COSELL_FEED_STALLED', `${linkId} (${page.feed} feed): ${reason}`, {
        details: { linkId, feed: page.feed, from: { modifiedAt: page.from.modifiedAt, id: page.from.id }, next: { modifiedAt: page.cursor.modifiedAt, id: page.cursor.id } },
        hint: 'a connector feed bug: the link stays in error until it is fixed (nothing of this page was recorded)',
      });
    }
  }
  return withRetry(dialect, () =>
    db.transaction().execute(async (tx) => {
      if (page.pairs?.length) await writePairs(tx, linkId, page.pairs);
      if (page.hashes?.length) await writeHashes(tx, linkId, page.hashes);
      if (page.deletedPairs?.length) await markPairsDeleted(tx, linkId, page.deletedPairs);
      // Replayed first: the replay's still-failing records then go back to pending, landed ones to resolved.
      if (page.replayedDeadLetters?.length) await markDeadLettersReplayed(tx, page.replayedDeadLetters);
      if (page.deadLetters?.length) await writeDeadLetters(tx, linkId, page.deadLetters);
      if (page.resolvedDeadLetters?.length) await resolveDeadLetters(tx, linkId, page.resolvedDeadLetters);
      if (page.audits?.length) await writeAudits(tx, page.audits.map((a) => ({ ...a, linkId: a.linkId ?? linkId })));
      if (page.snapshots?.length) await writeSnapshots(tx, page.snapshots, dialect);
      const positionAdvanced = page.stream ? await advanceConsumer(tx, page.stream.streamId, page.stream.consumer, page.stream.seq, page.stream.generation) : undefined;
      if (!page.cursor) return { cursorAdvanced: false, cursor: undefined, ...(page.stream ? { positionAdvanced } : {}) };
      const stored = await advanceCursor(tx, linkId, page.feed, page.cursor, page.generation, page.from);
      if (stored) return { cursorAdvanced: true, cursor: stored };
      const current = await tx.selectFrom('link_cursors').selectAll().where('link_id', '=', linkId).where('feed', '=', page.feed).executeTakeFirst();
      const refused = current && page.generation !== undefined && current.generation !== page.generation ? 'resync' : 'overtaken';
      return { cursorAdvanced: false, refused, cursor: current ? toStoredCursor(current) : undefined };
    }),
  );
}
