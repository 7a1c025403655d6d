import QuickLRU from 'quick-lru';
import type { Connector } from '../connectors/types.js';
import type { Ledger } from '../ledger/index.js';
import { streamIdOf } from '../ledger/streams.js';
import { pumpFeeds } from '../sync/stream.js';
import { overlapConsumerId, overlapObjects } from '../sync/streamPlan.js';
import type { KeyHasher } from './hashing.js';
import { overlapReadFields, type RecordSource } from './read.js';
import type { Side } from './types.js';

/**
 * Incremental overlap passes on change streams. A pass reads each side from its org's streams (the
 * logs in the ledger hold every record's latest version: no CRM read at all), runs only when one of
 * those streams moved since the partnership's last pass (consumer `overlap:<partner>`), and re-hashes
 * only keys it has not hashed before (a per-partnership memo of key → keyed hash, bounded): an
 * unchanged record costs a lookup, a changed one one HMAC per new key.
 */

export interface StreamSide {
  source: RecordSource;
  /** Whether any of the side's streams moved since this partnership's last pass. */
  changed: boolean;
  /** Record the heads this pass read as passed (call once the pass has succeeded). */
  commit(): Promise<void>;
}

export async function openStreamSide(ledger: Ledger, conn: Connector, orgId: string, side: Side, partnerId: string): Promise<StreamSide> {
  const consumer = overlapConsumerId(partnerId);
  const marks: Array<{ streamId: string; head: number; generation: number }> = [];
  let changed = false;
  for (const object of overlapObjects(conn.kind, side)) {
    const streamId = streamIdOf(orgId, object);
    let { info } = await ledger.streams.ensure(streamId, orgId, object, await overlapReadFields(conn, side, object));
    // A stream that has never read its org to the present (just created, or widened) is read here once.
    if (!info.lastPollAt) {
      for (let i = 0; i < 1000; i++) if ((await pumpFeeds(ledger, conn, (await ledger.streams.get(streamId))!)).caughtUp) break;
      info = (await ledger.streams.get(streamId))!;
    }
    const known = await ledger.streams.position(streamId, consumer);
    const pos = known ?? (await ledger.streams.attach(streamId, consumer));
    if (!known || info.head > pos.seq) changed = true;
    marks.push({ streamId, head: info.head, generation: pos.generation });
  }
  return {
    changed,
    source: async (object, fields, onPage) => {
      for await (const page of ledger.streams.current(streamIdOf(orgId, object))) {
        onPage(page.map((e) => ({ id: e.id, modifiedAt: e.modifiedAt, fields: Object.fromEntries(fields.map((f) => [f, e.fields?.[f] ?? null])) })));
      }
    },
    async commit() {
      for (const m of marks) await ledger.streams.advance(m.streamId, consumer, m.head, m.generation);
    },
  };
}

/** Keys hashed per partnership across passes in this worker (bounded: ~100 bytes a key). */
const MEMO_SIZE = 1_000_000;
const memos = new Map<string, { probe: string; cache: QuickLRU<string, string> }>();

/**
 * The partnership's hasher, memoised: the same key always hashes the same under one secret, so a key
 * seen in an earlier pass is not hashed again. Keyed by a probe hash, so a rotated secret starts over.
 * `misses()` says how many keys this pass actually hashed.
 */
export function memoHasher(partnerId: string, hasher: KeyHasher): { hasher: KeyHasher; misses: () => number } {
  const probe = hasher('\u0000cosell-memo-probe');
  let memo = memos.get(partnerId);
  if (!memo || memo.probe !== probe) memos.set(partnerId, (memo = { probe, cache: new QuickLRU({ maxSize: MEMO_SIZE }) }));
  const cache = memo.cache;
  let misses = 0;
  return {
    hasher: (key) => {
      let h = cache.get(key);
      if (h === undefined) {
        h = hasher(key);
        cache.set(key, h);
        misses++;
      }
      return h;
    },
    misses: () => misses,
  };
}
