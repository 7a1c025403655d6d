import { ASSOCIATION_FIELD_PREFIX } from '../connectors/hubspot/associationFields.js';
import type { Connector, ObjectSchema } from '../connectors/types.js';
import { CosellError } from '../lib/errors.js';
import type { Ledger } from '../ledger/index.js';
import { streamCursorId, type StreamInfo } from '../ledger/streams.js';
import { overlapReadFields } from '../overlaps/read.js';
import { indexFieldsOf } from '../registrations/indexFields.js';
import type { Engine } from './build.js';
import { sourceFieldsOf } from './page.js';
import { streamSpec, type StreamSpec } from './streamPlan.js';

/**
 * The producer side of a change stream (see ARCHITECTURE.md, "Change streams"): read the org object's
 * change and deletion feeds ONCE — the connectors' own feeds, with their look-backs and tie-breaks —
 * and append what they return to the ledger's log (ledger/streams.ts), the feed cursor moving in the
 * same transaction. Push sources only need `appendByIds`: "these ids changed" → read them by id →
 * append. Nothing here knows about links; consumers read the log (sync/streamConsumer.ts).
 */

export interface PumpReport {
  streamId: string;
  /** Entries appended (new versions and tombstones). */
  appended: number;
  /** Records (and tombstones) read from the CRM. */
  read: number;
  caughtUp: boolean;
  head: number;
  /** Now minus the newest modification the feed returned (0 when caught up with nothing new). */
  lagMs?: number;
  /** Workflows to wake: every consumer after an append, else those still behind the head. */
  wake: Array<{ workflowId: string; signal: string }>;
}

/** The union of the fields every consumer of the stream reads, limited to what the object has. */
export async function streamFields(engine: Engine, spec: StreamSpec, conn: Connector): Promise<string[]> {
  const fields = new Set<string>();
  for (const c of spec.consumers) {
    let need: string[] = [];
    if (c.kind === 'link') need = sourceFieldsOf(await engine.link(c.of));
    else if (c.kind === 'rules-index') need = await indexFieldsOf(conn, spec.object);
    else need = await overlapReadFields(conn, spec.orgId === engine.network.network.vendor.id ? 'vendor' : 'partner', spec.object);
    for (const f of need) fields.add(f);
  }
  const schema = await conn.describe(spec.object);
  return [...fields].filter(readableBy(conn, schema)).sort();
}

/**
 * Fields of the object the connector can read: its schema's, and association pseudo-fields
 * (`associations.companies`, HubSpot) on connectors that have them. Dropping the latter left a link
 * with an association parent skipping every log entry (they lacked its parent field) on a stream.
 */
function readableBy(conn: Connector, schema: ObjectSchema): (f: string) => boolean {
  return (f) => f in schema.fields || (typeof conn.associationsOf === 'function' && f.startsWith(ASSOCIATION_FIELD_PREFIX));
}

export function specOf(engine: Engine, streamId: string): StreamSpec {
  const spec = streamSpec(engine.network, streamId);
  if (!spec) throw new CosellError('COSELL_CONFIG_INVALID', `no change stream "${streamId}" in ${engine.network.file}`, { hint: 'streams follow the links, the rules index and the overlap passes of the network file' });
  return spec;
}

/** Make sure the stream exists and carries every consumer's fields; returns it as stored (its field set may be wider). */
async function prepare(engine: Engine, streamId: string): Promise<{ spec: StreamSpec; conn: Connector; info: StreamInfo }> {
  const spec = specOf(engine, streamId);
  const conn = await engine.connector(spec.orgId);
  const { info } = await engine.ledger.streams.ensure(spec.id, spec.orgId, spec.object, await streamFields(engine, spec, conn));
  return { spec, conn, info };
}

const PAGE_SIZE = 2000;
/** How long a tombstone every consumer has passed stays in the log (a consumer resyncing from the start still sees recent deletions). */
export const TOMBSTONE_RETENTION_MS = 30 * 24 * 3_600_000;

/**
 * Poll: read the change feed, then the deletion feed, a page at a time (at most `maxPages` each), and
 * append. Used as the whole mechanism when push is off, and as the reconciler when it is on.
 */
export async function pumpStream(engine: Engine, streamId: string, opts: { maxPages?: number; heartbeat?: (d: unknown) => void } = {}): Promise<PumpReport> {
  const { spec, conn, info } = await prepare(engine, streamId);
  const report = await pumpFeeds(engine.ledger, conn, info, opts);
  report.wake = await consumersToWake(engine.ledger, spec, report);
  // Tombstones every consumer has passed are kept for a retention period, then dropped.
  if (report.caughtUp) await engine.ledger.streams.compactTombstones(streamId, new Date(Date.now() - TOMBSTONE_RETENTION_MS).toISOString());
  return report;
}

/** The poll itself, for one stream as stored (its field set): no consumers, no network file. */
export async function pumpFeeds(ledger: Ledger, conn: Connector, info: StreamInfo, opts: { maxPages?: number; pageSize?: number; heartbeat?: (d: unknown) => void } = {}): Promise<PumpReport> {
  const streamId = info.id;
  const cursorId = streamCursorId(streamId);
  const maxPages = opts.maxPages ?? 20;
  const pageSize = opts.pageSize ?? PAGE_SIZE;
  const report: PumpReport = { streamId, appended: 0, read: 0, caughtUp: true, head: info.head, wake: [] };
  let newest = '';
  const schema = await conn.describe(info.object);
  const fields = info.fields.filter(readableBy(conn, schema));
  let changesCaughtUp = false;
  for (let i = 0; i < maxPages; i++) {
    const from = await ledger.cursors.getOrStart(cursorId, 'changes');
    const page = await conn.changes(info.object, from, { fields, pageSize });
    const r = await ledger.streams.append({ streamId, records: page.records, cursor: { feed: 'changes', next: page.next, from, caughtUp: page.caughtUp }, source: 'poll' });
    report.appended += r.appended;
    report.read += page.records.length;
    report.head = r.head;
    for (const rec of page.records) if (rec.modifiedAt > newest) newest = rec.modifiedAt;
    opts.heartbeat?.({ streamId, feed: 'changes', head: r.head, read: report.read });
    if (page.caughtUp) {
      changesCaughtUp = true;
      break;
    }
  }
  let deletionsCaughtUp = false;
  for (let i = 0; i < maxPages; i++) {
    const from = await ledger.cursors.getOrStart(cursorId, 'deletions');
    const page = await conn.deletions(info.object, from, { pageSize });
    const r = await ledger.streams.append({ streamId, tombstones: page.records, cursor: { feed: 'deletions', next: page.next, from, caughtUp: page.caughtUp }, source: 'poll' });
    report.appended += r.appended;
    report.read += page.records.length;
    report.head = r.head;
    opts.heartbeat?.({ streamId, feed: 'deletions', head: r.head, read: report.read });
    if (page.caughtUp) {
      deletionsCaughtUp = true;
      break;
    }
  }
  report.caughtUp = changesCaughtUp && deletionsCaughtUp;
  report.lagMs = newest ? Math.max(0, Date.now() - Date.parse(newest)) : report.caughtUp ? 0 : undefined;
  return report;
}

/**
 * Push: the ids a notification named are read by id and appended (the feed cursor does not move; the
 * reconciler's next poll sees these versions as already in the log). Ids the CRM no longer returns are
 * left to the deletion feed.
 */
export async function appendByIds(engine: Engine, streamId: string, ids: string[]): Promise<PumpReport> {
  const { spec, conn, info } = await prepare(engine, streamId);
  const schema = await conn.describe(spec.object);
  const records = ids.length ? await conn.readByIds(spec.object, [...new Set(ids)], info.fields.filter(readableBy(conn, schema))) : [];
  const r = await engine.ledger.streams.append({ streamId, records, source: 'push' });
  const newest = records.reduce((m, x) => (x.modifiedAt > m ? x.modifiedAt : m), '');
  const report: PumpReport = { streamId, appended: r.appended, read: records.length, caughtUp: true, head: r.head, lagMs: newest ? Math.max(0, Date.now() - Date.parse(newest)) : undefined, wake: [] };
  report.wake = await consumersToWake(engine.ledger, spec, report);
  return report;
}

/**
 * Who to wake after a read: every consumer when it appended; otherwise each consumer still behind the
 * log's head. Waking only on an append stalled the links for good when a worker died between the
 * append's commit and the wake signals: the retried read appended nothing, so it woke nobody, and the
 * links sat idle behind 3,000 entries until their own schedule (test/e2e/streamCrash.e2e.test.ts). The
 * same covers a signal lost while a consumer's workflow was not running.
 */
async function consumersToWake(ledger: Ledger, spec: StreamSpec, report: PumpReport): Promise<PumpReport['wake']> {
  const wakeable = spec.consumers.filter((c) => c.wake);
  if (report.appended > 0) return wakeable.map((c) => c.wake!);
  if (report.head === 0 || wakeable.length === 0) return [];
  const seqOf = new Map((await ledger.streams.consumers(spec.id)).map((p) => [p.consumer, p.seq]));
  return wakeable.filter((c) => (seqOf.get(c.id) ?? 0) < report.head).map((c) => c.wake!);
}
