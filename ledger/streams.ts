import { sql, type Kysely, type Transaction } from 'kysely';
import { START_CURSOR, type CrmRecord, type DeletedRecord, type FeedCursor, type Fields } from '../connectors/types.js';
import { CosellError } from '../lib/errors.js';
import { advanceCursor, feedStallReason } from './cursors.js';
import type { DialectName } from './migrations.js';
import type { LedgerTables, StreamConsumerRow, StreamRecordRow, StreamRow } from './schema.js';
import type { Feed, StoredCursor } from './types.js';
import { chunks, fromJson, isoTime, lastByKey, nowIso, sortedBy, withRetry } from './util.js';

/**
 * Change streams in the ledger: one log per (org, object), compacted on write — a record has ONE row,
 * its latest version (or tombstone), and each new version takes the next sequence number, so the log
 * read in `seq` order is "every record's latest version, oldest change first". Consumers keep their
 * own position (`stream_consumers.seq`) and read `seq > position`; a record that changes again while a
 * consumer is behind simply moves ahead of it, so nothing a consumer needs is ever dropped by
 * compaction. Appenders of one stream are serialised by its `streams` row (locked first in every
 * append), so sequence numbers commit in order and a reader can never pass a gap that fills in later.
 */

export interface StreamInfo {
  id: string;
  orgId: string;
  object: string;
  head: number;
  fields: string[];
  mode: 'poll' | 'push';
  lastEventAt: string | null;
  lastPollAt: string | null;
  reconciled: Reconciled | null;
  updatedAt: string;
}

/** What the last poll to the present found (reconciler results): versions the log did not have yet. */
export interface Reconciled {
  at: string;
  /** Records (and tombstones) the poll read. */
  polled: number;
  /** Of those, versions the log did not have: in push mode, what push missed (should be 0). */
  missed: number;
}

export interface StreamEntry {
  seq: number;
  id: string;
  modifiedAt: string;
  /** The record's fields (the stream's field union); null for a tombstone. */
  fields: Fields | null;
  deletedAt: string | null;
  mergedInto: string | null;
}

export interface ConsumerFloor {
  /**
   * `handoff`: the consumer followed its own feed up to (modifiedAt, id) before it switched to the
   * stream (sync/streamConsumer.ts decides which entries at or before it were already delivered);
   * `since`: deliver only entries modified at or after modifiedAt (a resync from a time).
   */
  kind: 'handoff' | 'since';
  modifiedAt: string;
  id: string;
}

export interface ConsumerPosition {
  streamId: string;
  consumer: string;
  seq: number;
  generation: number;
  floor?: ConsumerFloor;
  updatedAt: string;
}

export interface StreamAppend {
  streamId: string;
  records?: CrmRecord[];
  tombstones?: DeletedRecord[];
  /** The stream's own feed position after these records, stored in the same transaction. */
  cursor?: { feed: Feed; next: FeedCursor; from: StoredCursor; caughtUp: boolean };
  /** `push`: records read by id after a notification; `poll`: the feed (the reconciler once push is on). */
  source: 'poll' | 'push';
}

export interface AppendResult {
  /** Entries written (new versions or tombstones). */
  appended: number;
  /** Records the log already had in exactly this version (a look-back re-read, a duplicate notification). */
  unchanged: number;
  head: number;
  cursorAdvanced: boolean;
}

/** Where a stream's own feed cursors live in `link_cursors`. */
export const streamCursorId = (streamId: string) => `stream:${streamId}`;
export const streamIdOf = (orgId: string, object: string) => `${orgId}:${object}`;

/** Fields as stored: keys sorted, so one version always serialises to the same text. */
function fieldsJson(fields: Fields): string {
  const out: Fields = {};
  for (const k of Object.keys(fields).sort()) out[k] = fields[k] ?? null;
  return JSON.stringify(out);
}

function toInfo(r: StreamRow): StreamInfo {
  return {
    id: r.id,
    orgId: r.org_id,
    object: r.object,
    head: Number(r.head),
    fields: fromJson<string[]>(r.fields) ?? [],
    mode: r.mode === 'push' ? 'push' : 'poll',
    lastEventAt: r.last_event_at,
    lastPollAt: r.last_poll_at,
    reconciled: fromJson<Reconciled>(r.reconciled),
    updatedAt: r.updated_at,
  };
}

function toEntry(r: StreamRecordRow): StreamEntry {
  return { seq: Number(r.seq), id: r.record_id, modifiedAt: r.modified_at, fields: fromJson<Fields>(r.fields), deletedAt: r.deleted_at, mergedInto: r.merged_into };
}

function toPosition(r: StreamConsumerRow): ConsumerPosition {
  const floor = r.floor_kind && r.floor_modified_at ? { kind: r.floor_kind as ConsumerFloor['kind'], modifiedAt: r.floor_modified_at, id: r.floor_id ?? '' } : undefined;
  return { streamId: r.stream_id, consumer: r.consumer, seq: Number(r.seq), generation: r.generation, ...(floor ? { floor } : {}), updatedAt: r.updated_at };
}

/**
 * Move a consumer's position forward only (compare-and-set), within the caller's transaction: a
 * duplicated or overtaken page, or one read before a reset (other generation), cannot move it.
 */
export async function advanceConsumer(db: Kysely<LedgerTables> | Transaction<LedgerTables>, streamId: string, consumer: string, seq: number, generation: number): Promise<boolean> {
  const res = await db
    .updateTable('stream_consumers')
    .set({ seq, updated_at: nowIso() })
    .where('stream_id', '=', streamId)
    .where('consumer', '=', consumer)
    .where('generation', '=', generation)
    .where('seq', '<', seq)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export class Streams {
  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly dialect: DialectName,
  ) {}

  async get(id: string): Promise<StreamInfo | undefined> {
    const row = await this.db.selectFrom('streams').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toInfo(row) : undefined;
  }

  async list(): Promise<StreamInfo[]> {
    return (await this.db.selectFrom('streams').selectAll().orderBy('id').execute()).map(toInfo);
  }

  /**
   * Make sure the stream exists and reads at least `fields`. The field set only grows: when a consumer
   * needs a field the log's entries lack, the set is widened and the stream's change feed starts over
   * from the beginning (generation bumped) in the same transaction, so every record is appended again
   * with the new field. Consumers skip entries that lack their fields (sync/streamConsumer.ts): their
   * re-read version is guaranteed to come later in the log.
   */
  async ensure(id: string, orgId: string, object: string, fields: readonly string[]): Promise<{ info: StreamInfo; widened: boolean }> {
    const existing = await this.get(id);
    if (existing && fields.every((f) => existing.fields.includes(f))) return { info: existing, widened: false };
    return withRetry(this.dialect, () =>
      this.db.transaction().execute(async (tx) => {
        const now = nowIso();
        await tx
          .insertInto('streams')
          .values({ id, org_id: orgId, object, head: 0, fields: JSON.stringify([...new Set(fields)].sort()), mode: 'poll', updated_at: now })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        const q = tx.selectFrom('streams').selectAll().where('id', '=', id);
        const row = await (this.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirstOrThrow();
        const stored = fromJson<string[]>(row.fields) ?? [];
        if (fields.every((f) => stored.includes(f))) return { info: toInfo(row), widened: false };
        const union = [...new Set([...stored, ...fields])].sort();
        await tx.updateTable('streams').set({ fields: JSON.stringify(union), updated_at: now }).where('id', '=', id).execute();
        // Start the change feed over: the entries already in the log lack the new fields.
        await tx
          .insertInto('link_cursors')
          .values({ link_id: streamCursorId(id), feed: 'changes', modified_at: START_CURSOR.modifiedAt, record_id: '', state: null, generation: 1, updated_at: now })
          .onConflict((oc) =>
            oc.columns(['link_id', 'feed']).doUpdateSet({ modified_at: START_CURSOR.modifiedAt, record_id: '', state: null, updated_at: now, generation: sql<number>`link_cursors.generation + 1` }),
          )
          .execute();
        return { info: toInfo({ ...row, fields: JSON.stringify(union) }), widened: stored.length > 0 };
      }),
    );
  }

  /**
   * Append what the stream's feed (or a push read by id) returned, and move the stream's feed cursor,
   * in ONE transaction. A version the log already has is not appended again; an older version than the
   * log's (a late read) is ignored; a tombstone older than a later live version (restored) is ignored.
   */
  async append(input: StreamAppend): Promise<AppendResult> {
    const { streamId } = input;
    const cur = input.cursor;
    if (cur) {
      const reason = feedStallReason(cur.from, cur.next, cur.caughtUp);
      if (reason) {
        throw new CosellError('COSELL_FEED_STALLED', `stream ${streamId} (${cur.feed} feed): ${reason}`, {
          details: { streamId, feed: cur.feed },
          hint: 'a connector feed bug: the stream stays in error until it is fixed (nothing of this page was recorded)',
        });
      }
    }
    const records = lastByKey(input.records ?? [], (r) => r.id);
    const tombstones = lastByKey(input.tombstones ?? [], (r) => r.id);
    return withRetry(this.dialect, () =>
      this.db.transaction().execute(async (tx) => {
        const now = nowIso();
        // Lock the stream first: appenders of one stream take turns, so sequence numbers commit in order.
        const head = await tx.updateTable('streams').set({ updated_at: now }).where('id', '=', streamId).returning(['head']).executeTakeFirst();
        if (!head) throw new CosellError('COSELL_LEDGER', `stream ${streamId} does not exist`, { hint: 'streams.ensure() it first' });
        const ids = [...new Set([...records.map((r) => r.id), ...tombstones.map((t) => t.id)])];
        const existing = new Map<string, { modified_at: string; fields: string | null; deleted_at: string | null }>();
        for (const part of chunks(ids)) {
          const rows = await tx.selectFrom('stream_records').select(['record_id', 'modified_at', 'fields', 'deleted_at']).where('stream_id', '=', streamId).where('record_id', 'in', part).execute();
          for (const r of rows) existing.set(r.record_id, r);
        }
        type Row = Omit<StreamRecordRow, 'seq'>;
        const changed: Row[] = [];
        let unchanged = 0;
        for (const r of records) {
          const modifiedAt = isoTime(r.modifiedAt, 'record.modifiedAt');
          const fields = fieldsJson(r.fields);
          const was = existing.get(r.id);
          if (was && (was.modified_at > modifiedAt || (was.modified_at === modifiedAt && was.deleted_at === null && was.fields === fields))) {
            unchanged++;
            continue;
          }
          changed.push({ stream_id: streamId, record_id: r.id, modified_at: modifiedAt, fields, deleted_at: null, merged_into: null, appended_at: now });
          existing.set(r.id, { modified_at: modifiedAt, fields, deleted_at: null });
        }
        for (const t of tombstones) {
          const deletedAt = isoTime(t.deletedAt, 'deletion.deletedAt');
          const was = existing.get(t.id);
          if (was && (was.deleted_at !== null || was.modified_at > deletedAt)) {
            unchanged++;
            continue;
          }
          changed.push({ stream_id: streamId, record_id: t.id, modified_at: deletedAt, fields: null, deleted_at: deletedAt, merged_into: t.mergedInto ?? null, appended_at: now });
        }
        // A record may change and be deleted within one append: the later entry (the tombstone) wins.
        const final = lastByKey(changed, (r) => r.record_id);
        let seq = Number(head.head);
        const numbered = final.map((r) => ({ ...r, seq: ++seq }));
        for (const part of chunks(sortedBy(numbered, (r) => r.record_id))) {
          await tx
            .insertInto('stream_records')
            .values(part)
            .onConflict((oc) =>
              oc.columns(['stream_id', 'record_id']).doUpdateSet((eb) => ({
                seq: eb.ref('excluded.seq'),
                modified_at: eb.ref('excluded.modified_at'),
                fields: eb.ref('excluded.fields'),
                deleted_at: eb.ref('excluded.deleted_at'),
                merged_into: eb.ref('excluded.merged_into'),
                appended_at: eb.ref('excluded.appended_at'),
              })),
            )
            .execute();
        }
        const polled = records.length + tombstones.length;
        const update: Partial<StreamRow> = { head: seq };
        if (input.source === 'push') Object.assign(update, { mode: 'push', last_event_at: now });
        await tx.updateTable('streams').set(update).where('id', '=', streamId).execute();
        let cursorAdvanced = false;
        if (cur) {
          cursorAdvanced = (await advanceCursor(tx, streamCursorId(streamId), cur.feed, cur.next, cur.from.generation, cur.from)) !== undefined;
          await this.noteReconciled(tx, streamId, polled, final.length, cur.feed === 'changes' && cur.caughtUp, now);
        }
        return { appended: final.length, unchanged, head: seq, cursorAdvanced };
      }),
    );
  }

  /** Reconciler results accumulate over one sweep of the feed to the present, then start again. */
  private async noteReconciled(tx: Transaction<LedgerTables>, streamId: string, polled: number, missed: number, sweepDone: boolean, now: string): Promise<void> {
    const row = await tx.selectFrom('streams').select(['reconciled']).where('id', '=', streamId).executeTakeFirstOrThrow();
    const prev = fromJson<Reconciled & { open?: boolean }>(row.reconciled);
    const base = prev?.open ? prev : { polled: 0, missed: 0 };
    const next = { at: now, polled: base.polled + polled, missed: base.missed + missed, open: !sweepDone };
    await tx.updateTable('streams').set({ reconciled: JSON.stringify(next), ...(sweepDone ? { last_poll_at: now } : {}) }).where('id', '=', streamId).execute();
  }

  /** Entries after `afterSeq`, in log order. */
  async read(streamId: string, afterSeq: number, limit: number): Promise<StreamEntry[]> {
    const rows = await this.db.selectFrom('stream_records').selectAll().where('stream_id', '=', streamId).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
    return rows.map(toEntry);
  }

  /** The log's entries (latest version or tombstone) of these records, where it has them. */
  async entries(streamId: string, ids: readonly string[]): Promise<Map<string, StreamEntry>> {
    const out = new Map<string, StreamEntry>();
    for (const part of chunks([...new Set(ids)])) {
      const rows = await this.db.selectFrom('stream_records').selectAll().where('stream_id', '=', streamId).where('record_id', 'in', part).execute();
      for (const r of rows) out.set(r.record_id, toEntry(r));
    }
    return out;
  }

  /** Every record's latest live version (the current state of the object as the stream knows it). */
  async *current(streamId: string, pageSize = 2000): AsyncGenerator<StreamEntry[]> {
    let after = '';
    for (;;) {
      const rows = await this.db.selectFrom('stream_records').selectAll().where('stream_id', '=', streamId).where('record_id', '>', after).where('deleted_at', 'is', null).orderBy('record_id').limit(pageSize).execute();
      if (rows.length === 0) return;
      yield rows.map(toEntry);
      after = rows[rows.length - 1].record_id;
    }
  }

  /**
   * The oldest modification time among the log's entries after `afterSeq` (what a consumer there has
   * not processed yet), or undefined when it has processed everything.
   */
  async oldestAfter(streamId: string, afterSeq: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('stream_records')
      .select((eb) => eb.fn.min('modified_at').as('oldest'))
      .where('stream_id', '=', streamId)
      .where('seq', '>', afterSeq)
      .executeTakeFirst();
    return (row?.oldest as string | null | undefined) ?? undefined;
  }

  async position(streamId: string, consumer: string): Promise<ConsumerPosition | undefined> {
    const row = await this.db.selectFrom('stream_consumers').selectAll().where('stream_id', '=', streamId).where('consumer', '=', consumer).executeTakeFirst();
    return row ? toPosition(row) : undefined;
  }

  async consumers(streamId?: string): Promise<ConsumerPosition[]> {
    let q = this.db.selectFrom('stream_consumers').selectAll().orderBy('stream_id').orderBy('consumer');
    if (streamId !== undefined) q = q.where('stream_id', '=', streamId);
    return (await q.execute()).map(toPosition);
  }

  /** Register a consumer at the start of the log (with a floor), unless it is registered already. */
  async attach(streamId: string, consumer: string, floor?: ConsumerFloor): Promise<ConsumerPosition> {
    await this.db
      .insertInto('stream_consumers')
      .values({ stream_id: streamId, consumer, seq: 0, generation: 0, floor_kind: floor?.kind ?? null, floor_modified_at: floor ? isoTime(floor.modifiedAt, 'floor.modifiedAt') : null, floor_id: floor?.id ?? null, updated_at: nowIso() })
      .onConflict((oc) => oc.columns(['stream_id', 'consumer']).doNothing())
      .execute();
    return (await this.position(streamId, consumer))!;
  }

  /** Resync: back to the start of the log (optionally only entries modified since a time), generation bumped. */
  async reset(streamId: string, consumer: string, since?: string): Promise<ConsumerPosition> {
    const now = nowIso();
    const floor = since ? { floor_kind: 'since', floor_modified_at: isoTime(since, 'since'), floor_id: '' } : { floor_kind: null, floor_modified_at: null, floor_id: null };
    await this.db
      .insertInto('stream_consumers')
      .values({ stream_id: streamId, consumer, seq: 0, generation: 1, ...floor, updated_at: now })
      .onConflict((oc) => oc.columns(['stream_id', 'consumer']).doUpdateSet({ seq: 0, ...floor, updated_at: now, generation: sql<number>`stream_consumers.generation + 1` }))
      .execute();
    return (await this.position(streamId, consumer))!;
  }

  /** Move a consumer forward outside a page commit (consumers whose effects are idempotent, e.g. the rules index). */
  advance(streamId: string, consumer: string, seq: number, generation: number): Promise<boolean> {
    return advanceConsumer(this.db, streamId, consumer, seq, generation);
  }

  /**
   * Drop tombstones every consumer has passed and that are older than `olderThan` (ISO): a consumer
   * that later resyncs from the start has no pairs for records that old that it could still need to
   * delete. Live versions are never dropped (they are each record's latest). Returns rows removed.
   */
  async compactTombstones(streamId: string, olderThan: string): Promise<number> {
    const min = await this.db.selectFrom('stream_consumers').select((eb) => eb.fn.min('seq').as('m')).where('stream_id', '=', streamId).executeTakeFirst();
    const passed = min?.m === null || min?.m === undefined ? 0 : Number(min.m);
    const res = await this.db.deleteFrom('stream_records').where('stream_id', '=', streamId).where('deleted_at', 'is not', null).where('deleted_at', '<', olderThan).where('seq', '<=', passed).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
