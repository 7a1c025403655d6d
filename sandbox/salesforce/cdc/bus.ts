import crypto from 'node:crypto';
import type { SandboxClock } from '../../clock.js';
import type { FaultInjector } from '../../faults.js';
import type { CapturedChange } from '../data.js';
import type { ObjectDef } from '../schema.js';
import { buildEventSchema, eventValue, fieldBitmap, topicOf, type ChangeType, type EventSchema } from './schema.js';

/**
 * The org's change event bus: every committed write transaction becomes change events, in commit
 * order, each with a replay id (increasing across the org), the transaction's key, the committing
 * user and the API client that made it (`changeOrigin`). Events are kept for `cdcRetentionMs` of org
 * clock (72 h by default) and replayed from there; a replay id from before what is kept — or from
 * another run of the sandbox — is refused, as Salesforce refuses an expired one.
 *
 * Faults (FaultConfig cdc*): drop (never published), delay (visible later, order kept), duplicate
 * (delivered twice), gap (GAP_<type>, ids without field data), overflow (past `cdcOverflowAfter`
 * changes of one object in one transaction, one GAP_OVERFLOW event without record ids).
 */

export interface Transaction {
  changes: CapturedChange[];
  /** The user the session ran as. */
  userId: string;
  /** `Sforce-Call-Options: client=NAME` of the request, when sent. */
  client?: string;
  apiVersion?: string;
}

export interface StoredEvent {
  replayId: number;
  topic: string;
  uuid: string;
  schemaId: string;
  payload: Buffer;
  committedAt: number;
  /** Org-clock time from which subscribers see it (commit + cdcDelayMs). */
  visibleAt: number;
  /** Delivered twice (fault). */
  duplicate: boolean;
  /** What it says, for tests and the stats page. */
  header: { entityName: string; recordIds: string[]; changeType: ChangeType; commitUser: string; transactionKey: string };
}

interface TopicLog {
  object: string;
  events: StoredEvent[];
  /** Replay ids at or after this are valid starting points; before it they have expired. */
  floor: number;
}

export type ReplayCheck = 'ok' | 'expired' | 'unknown';

export class ChangeEventBus {
  private readonly topics = new Map<string, TopicLog>();
  private readonly schemas = new Map<string, EventSchema>();
  private readonly current = new Map<string, { fields: number; schema: EventSchema }>();
  private readonly listeners = new Set<() => void>();
  /** Replay ids continue from the org clock at start, so ids of an earlier sandbox run are never reused. */
  private readonly start: number;
  private head: number;
  private commitNumber = 0;
  /** Events the drop fault lost (the newest 10,000): tests check that nothing else went missing. */
  readonly dropped: Array<{ replayId: number; topic: string; recordIds: string[]; changeType: ChangeType }> = [];
  readonly counts = { transactions: 0, published: 0, dropped: 0, gaps: 0, overflows: 0, duplicates: 0 };

  constructor(
    private readonly deps: { clock: SandboxClock; faults: FaultInjector; object(name: string): ObjectDef | undefined; objects(): ObjectDef[] },
  ) {
    this.start = deps.clock.now() * 1000;
    this.head = this.start;
  }

  /** The last replay id handed out (dropped events included). */
  get headId(): number {
    return this.head;
  }

  /** The object behind a topic name (`/data/OpportunityChangeEvent` → Opportunity), if the org has it. */
  objectOfTopic(topic: string): ObjectDef | undefined {
    return this.deps.objects().find((o) => topicOf(o.name) === topic);
  }

  /** The current schema of an object's events (rebuilt when its fields change). */
  schemaOf(o: ObjectDef): EventSchema {
    const hit = this.current.get(o.name);
    if (hit && hit.fields === o.order.length) return hit.schema;
    const schema = buildEventSchema(o);
    this.current.set(o.name, { fields: o.order.length, schema });
    this.schemas.set(schema.id, schema);
    return schema;
  }

  schemaById(id: string): EventSchema | undefined {
    return this.schemas.get(id);
  }

  /** A committed transaction's changes become events, in order. */
  publish(tx: Transaction): void {
    if (tx.changes.length === 0) return;
    this.counts.transactions++;
    const now = this.deps.clock.now();
    const f = this.deps.faults.cdc;
    const transactionKey = crypto.randomUUID();
    const commitNumber = ++this.commitNumber;
    const origin = `com/salesforce/api/rest/${tx.apiVersion ?? '62.0'}${tx.client ? `;client=${tx.client}` : ''}`;
    let sequence = 0;
    const perObject = new Map<string, number>();
    const overflowed = new Set<string>();
    const pending: Array<{ object: ObjectDef; changeType: ChangeType; ids: string[]; values: Record<string, unknown> }> = [];
    for (const c of tx.changes) {
      const o = this.deps.object(c.object);
      if (!o) continue;
      const n = (perObject.get(o.name) ?? 0) + 1;
      perObject.set(o.name, n);
      if (f.overflowAfter !== undefined && n > f.overflowAfter) {
        if (!overflowed.has(o.name)) pending.push({ object: o, changeType: 'GAP_OVERFLOW', ids: [], values: {} });
        overflowed.add(o.name);
        continue;
      }
      const last = pending[pending.length - 1];
      // Salesforce puts several records in one event when the change is the same for all; deletes always are.
      if (c.changeType === 'DELETE' && last && last.changeType === 'DELETE' && last.object === o && last.ids.length < 100) {
        last.ids.push(c.id);
        continue;
      }
      pending.push({ object: o, changeType: c.changeType, ids: [c.id], values: c.values });
    }
    for (const p of pending) {
      const topic = topicOf(p.object.name);
      const schema = this.schemaOf(p.object);
      let changeType = p.changeType;
      let values = p.values;
      if (changeType !== 'GAP_OVERFLOW' && this.deps.faults.chance(f.gapRate)) {
        changeType = `GAP_${changeType}` as ChangeType;
        values = {};
      }
      const record: Record<string, unknown> = {};
      const changed: string[] = [];
      const nulled: string[] = [];
      for (const field of schema.fields) {
        const has = Object.prototype.hasOwnProperty.call(values, field.name);
        const v = has ? eventValue(field, values[field.name]) : null;
        record[field.name] = v;
        if (has && p.changeType === 'UPDATE') {
          changed.push(field.name);
          if (v === null) nulled.push(field.name);
        }
      }
      const header = {
        entityName: p.object.name,
        recordIds: p.ids,
        changeType,
        changeOrigin: origin,
        transactionKey,
        sequenceNumber: ++sequence,
        commitTimestamp: now,
        commitNumber,
        commitUser: tx.userId,
        nulledFields: changeType === 'UPDATE' ? fieldBitmap(schema, nulled) : [],
        diffFields: [],
        changedFields: changeType === 'UPDATE' ? fieldBitmap(schema, changed) : [],
      };
      if (changeType.startsWith('GAP_')) this.counts[changeType === 'GAP_OVERFLOW' ? 'overflows' : 'gaps']++;
      // A dropped event still takes its replay id: the subscriber cannot tell from the ids that it is missing.
      const replayId = ++this.head;
      if (this.deps.faults.chance(f.dropRate)) {
        this.counts.dropped++;
        this.dropped.push({ replayId, topic, recordIds: p.ids, changeType });
        if (this.dropped.length > 10_000) this.dropped.shift();
        continue;
      }
      const duplicate = this.deps.faults.chance(f.duplicateRate);
      if (duplicate) this.counts.duplicates++;
      const event: StoredEvent = {
        replayId,
        topic,
        uuid: crypto.randomUUID(),
        schemaId: schema.id,
        payload: schema.type.toBuffer({ ChangeEventHeader: header, ...record }),
        committedAt: now,
        visibleAt: now + f.delayMs,
        duplicate,
        header: { entityName: header.entityName, recordIds: header.recordIds, changeType, commitUser: header.commitUser, transactionKey },
      };
      this.log(topic, p.object.name).events.push(event);
      this.counts.published++;
    }
    this.prune(now);
    for (const l of this.listeners) l();
  }

  private log(topic: string, object: string): TopicLog {
    let t = this.topics.get(topic);
    if (!t) {
      t = { object, events: [], floor: this.start };
      this.topics.set(topic, t);
    }
    return t;
  }

  /** Forget events past retention; a replay id before the newest forgotten one has expired. */
  prune(now = this.deps.clock.now()): void {
    const keep = this.deps.faults.cdc.retentionMs;
    for (const t of this.topics.values()) {
      let i = 0;
      while (i < t.events.length && t.events[i].committedAt < now - keep) i++;
      if (i > 0) {
        t.floor = Math.max(t.floor, t.events[i - 1].replayId);
        t.events.splice(0, i);
      }
    }
  }

  /** May a subscription start after `replayId` on `topic`? */
  checkReplay(topic: string, replayId: number): ReplayCheck {
    this.prune();
    const floor = this.topics.get(topic)?.floor ?? this.start;
    if (replayId > this.head) return 'unknown';
    if (replayId < floor) return 'expired';
    return 'ok';
  }

  /** Visible events of `topic` after `afterReplayId`, oldest first, at most `max` (the server sends a `duplicate` twice). */
  read(topic: string, afterReplayId: number, max: number): StoredEvent[] {
    const t = this.topics.get(topic);
    if (!t || max <= 0) return [];
    const now = this.deps.clock.now();
    let lo = 0;
    let hi = t.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t.events[mid].replayId <= afterReplayId) lo = mid + 1;
      else hi = mid;
    }
    const out: StoredEvent[] = [];
    for (let i = lo; i < t.events.length && out.length < max; i++) {
      const e = t.events[i];
      // A delayed event holds back the ones after it: delivery stays in commit order.
      if (e.visibleAt > now) break;
      out.push(e);
    }
    return out;
  }

  /** The newest replay id of `topic` subscribers can see (the head of the bus when it has none). */
  latest(topic: string): number {
    const t = this.topics.get(topic);
    const now = this.deps.clock.now();
    if (t) for (let i = t.events.length - 1; i >= 0; i--) if (t.events[i].visibleAt <= now) return t.events[i].replayId;
    return t?.floor ?? this.start;
  }

  /** Where EARLIEST starts: after the newest forgotten event (every kept event follows it). */
  earliest(topic: string): number {
    this.prune();
    return this.topics.get(topic)?.floor ?? this.start;
  }

  /** The org clock. */
  now(): number {
    return this.deps.clock.now();
  }

  /** When the next delayed event of `topic` becomes visible, if one is waiting. */
  nextVisibleAt(topic: string, afterReplayId: number): number | undefined {
    const t = this.topics.get(topic);
    const now = this.deps.clock.now();
    const e = t?.events.find((x) => x.replayId > afterReplayId && x.visibleAt > now);
    return e?.visibleAt;
  }

  /** Called after every publish (subscriptions push what they may). */
  onPublish(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every event kept for `topic` (tests, stats). */
  events(topic: string): readonly StoredEvent[] {
    return this.topics.get(topic)?.events ?? [];
  }
}
