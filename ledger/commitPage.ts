import type { Kysely } from 'kysely';
import { writeAudits } from './audit.js';
import { advanceCursor, toStoredCursor } from './cursors.js';
import { markDeadLettersReplayed, resolveDeadLetters, writeDeadLetters } from './deadLetters.js';
import type { DialectName } from './migrations.js';
import { markPairsDeleted, writeHashes, writePairs } from './pairs.js';
import type { LedgerTables } from './schema.js';
import type { CommitResult, PageCommit } from './types.js';
import { writeSnapshots } from './snapshots.js';
import { withRetry } from './util.js';

/**
 * Everything one page produced, in ONE transaction: pairs, hashes, deletions, dead letters, audit
 * events and — last — the cursor. Either all of it is durable or none is, so the cursor can never
 * run ahead of the writes it stands for. Every part is an upsert (or keyed insert), so a retried or
 * duplicated activity committing the same page again changes nothing; rows are written in key order
 * so concurrent commits lock them in the same order (no deadlocks on PostgreSQL).
 */
export async function commitPage(db: Kysely<LedgerTables>, dialect: DialectName, page: PageCommit): Promise<CommitResult> {
  const { linkId } = page;
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
      if (!page.cursor) return { cursorAdvanced: false, cursor: undefined };
      const stored = await advanceCursor(tx, linkId, page.feed, page.cursor, page.generation);
      if (stored) return { cursorAdvanced: true, cursor: stored };
      const current = await tx.selectFrom('link_cursors').selectAll().where('link_id', '=', linkId).where('feed', '=', page.feed).executeTakeFirst();
      return { cursorAdvanced: false, cursor: current ? toStoredCursor(current) : undefined };
    }),
  );
}
