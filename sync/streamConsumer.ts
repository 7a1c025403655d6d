import { comparePositions } from '../connectors/cursorOrder.js';
import type { CrmRecord, DeletedRecord } from '../connectors/types.js';
import type { ConsumerPosition, StreamEntry } from '../ledger/streams.js';
import { log } from '../lib/logger.js';
import { applyDeletions, heartbeating, outcomeWrites, processRecords, sourceFieldsOf } from './page.js';
import type { LinkRuntime } from './runtime.js';
import type { PageReport } from './types.js';
import { hashFields, pick } from './values.js';

/**
 * A link consuming its source object's change stream: one page of the stream's log (ledger) instead
 * of the CRM's feed, end to end — the records through `processRecords` exactly as a feed page, the
 * tombstones through `applyDeletions` — and the link's position in the log committed in the SAME
 * transaction as the page's pairs, snapshots, dead letters and audit (compare-and-set, forward only),
 * so a crash or a duplicated activity re-runs the page and writes nothing twice.
 *
 * Switching over: a link that followed its own feed starts at the beginning of the log with a
 * `handoff` floor at its old cursor. An entry at or before the floor is what the old feed already
 * delivered unless it lies within the feeds' look-back window (a late commit the old feed had not
 * seen yet), where the pair's content hash tells: an entry whose content is exactly what the link
 * last synced is skipped. Nothing is lost, and nothing the link synced is delivered again.
 */

/** Wider than any feed's look-back (both default to 5 min): how far before the handoff floor entries are checked against the pairs. */
export const HANDOFF_WINDOW_MS = 15 * 60_000;

const prepared = new WeakMap<LinkRuntime, Promise<unknown>>();

/** The link's position in its stream, registering it (and its fields) on first use. */
export async function linkPosition(rt: LinkRuntime): Promise<ConsumerPosition> {
  const s = rt.stream!;
  const { ledger, link } = rt;
  // The stream must carry every field this link reads; widening it restarts the stream's feed (ledger/streams.ts).
  let p = prepared.get(rt);
  if (!p) {
    prepared.set(rt, (p = ledger.streams.ensure(s.id, rt.sourceOrg.id, rt.sourceObject, sourceFieldsOf(rt))));
    p.catch(() => prepared.delete(rt));
  }
  await p;
  const pos = await ledger.streams.position(s.id, s.consumer);
  if (pos) return pos;
  const direct = await ledger.cursors.get(link.id, 'changes');
  const floor = direct && Date.parse(direct.modifiedAt) > 0 ? { kind: 'handoff' as const, modifiedAt: direct.modifiedAt, id: direct.id } : undefined;
  return ledger.streams.attach(s.id, s.consumer, floor);
}

/** Which of a page's entries this link is to process: live records and tombstones, after its floor. */
export async function deliverable(rt: LinkRuntime, pos: ConsumerPosition, entries: StreamEntry[]): Promise<{ records: CrmRecord[]; tombstones: DeletedRecord[]; skipped: number }> {
  const fields = sourceFieldsOf(rt);
  const floor = pos.floor;
  const records: CrmRecord[] = [];
  const tombstones: DeletedRecord[] = [];
  const check: CrmRecord[] = [];
  let skipped = 0;
  for (const e of entries) {
    if (e.deletedAt) {
      if (floor?.kind === 'since' && e.deletedAt < floor.modifiedAt) skipped++;
      else tombstones.push({ id: e.id, deletedAt: e.deletedAt, ...(e.mergedInto ? { mergedInto: e.mergedInto } : {}) });
      continue;
    }
    // Read before the stream carried this link's fields: its re-read version comes later in the log.
    if (!e.fields || !fields.every((f) => f in e.fields!)) {
      skipped++;
      continue;
    }
    const rec: CrmRecord = { id: e.id, modifiedAt: e.modifiedAt, fields: pick(e.fields, fields) };
    if (floor?.kind === 'since') {
      if (Date.parse(e.modifiedAt) < Date.parse(floor.modifiedAt)) skipped++;
      else records.push(rec);
    } else if (floor?.kind === 'handoff' && comparePositions(e, floor) <= 0) {
      if (Date.parse(e.modifiedAt) < Date.parse(floor.modifiedAt) - HANDOFF_WINDOW_MS) skipped++;
      else check.push(rec);
    } else records.push(rec);
  }
  if (check.length) {
    const pairs = await rt.ledger.pairs.bySource(rt.link.id, check.map((r) => r.id));
    for (const r of check) {
      const p = pairs.get(r.id);
      if (p && !p.deletedAt && p.sourceHash === hashFields(r.fields)) skipped++;
      else records.push(r);
    }
  }
  return { records, tombstones, skipped };
}

export async function syncStreamPage(rt: LinkRuntime, heartbeat: (d: unknown) => void = () => {}): Promise<PageReport> {
  const s = rt.stream!;
  const { ledger, link } = rt;
  const pos = await linkPosition(rt);
  const t0 = performance.now();
  const at = (seq: number) => ({ modifiedAt: '', id: String(seq) });
  let entries = await s.readAhead.take(at(pos.seq), pos.generation);
  const readAhead = entries !== undefined;
  entries ??= await ledger.streams.read(s.id, pos.seq, rt.pageSize);
  const caughtUp = entries.length < rt.pageSize;
  const last = entries.length ? entries[entries.length - 1].seq : pos.seq;
  // While this page is written, the next one is read (a ledger query; used only from exactly this position).
  if (!caughtUp) s.readAhead.start(at(last), pos.generation, () => ledger.streams.read(s.id, last, rt.pageSize));
  if (entries.length === 0) return { counts: { pages: 1 }, caughtUp: true, cursor: { modifiedAt: pos.updatedAt || new Date(0).toISOString(), id: `seq:${pos.seq}` }, lagMs: 0 };

  const { records, tombstones, skipped } = await deliverable(rt, pos, entries);
  const t1 = performance.now();
  const [outcome, deletions] = await heartbeating(heartbeat, { stream: s.id, seq: last, records: records.length }, async () => [await processRecords(rt, records), await applyDeletions(rt, tombstones)] as const);
  const t2 = performance.now();
  await ledger.commitPage({
    linkId: link.id,
    feed: 'changes',
    stream: { streamId: s.id, consumer: s.consumer, seq: last, generation: pos.generation },
    ...outcomeWrites(outcome),
    deletedPairs: deletions.deletedPairs,
    audits: [...outcome.audits, ...deletions.audits],
  });
  const ms = (a: number, b: number) => Math.round(b - a);
  log.debug({ link: link.id, stream: s.id, entries: entries.length, skipped, readAhead, readMs: ms(t0, t1), processMs: ms(t1, t2), commitMs: ms(t2, performance.now()) }, 'sync: stream page');
  const newest = records.reduce((m, r) => (r.modifiedAt > m ? r.modifiedAt : m), '');
  const counts: Record<string, number> = { ...(outcome.counts as Record<string, number>) };
  for (const [k, v] of Object.entries(deletions.counts)) counts[k] = (counts[k] ?? 0) + (v ?? 0);
  return {
    counts: { ...counts, pages: 1 },
    caughtUp,
    cursor: { modifiedAt: newest || entries[entries.length - 1].modifiedAt, id: `seq:${last}` },
    lagMs: newest ? Math.max(0, Date.now() - Date.parse(newest)) : caughtUp ? 0 : undefined,
  };
}
