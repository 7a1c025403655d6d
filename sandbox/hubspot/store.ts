import type { ObjectTypeMeta } from './meta.js';
import { SortedIndex } from './sortedIndex.js';

/** One CRM record. `props` is copy-on-write: a write swaps in a new object, so search snapshots stay valid. */
export interface HsRecord {
  id: string;
  idNum: number;
  props: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt?: number;
  /** Set on a record merged away: the survivor's id. */
  mergedInto?: string;
}

/** What the search index knows about a record: the version that was current when it was indexed. */
export interface SearchDoc {
  rec: HsRecord;
  /** Superseded by a newer version or removed (a tombstone in the sorted indexes). */
  dead?: boolean;
  idNum: number;
  props: Record<string, string>;
  modified: number;
  createdAt: number;
}

/**
 * All records of one object type with the indexes the API needs:
 * - `live` by id (list paging), `archivedList` by id (list with archived=true);
 * - unique-value indexes for properties with `hasUniqueValue` (upsert by idProperty, conflicts);
 * - the search index (by id and by last-modified), which lags behind writes by `searchLagMs`
 *   exactly like HubSpot's eventually consistent search.
 */
export class ObjectStore {
  readonly records = new Map<string, HsRecord>();
  readonly live = new SortedIndex<HsRecord>((r) => r.idNum, (r) => r.idNum, (r) => !r.archived);
  readonly archivedList = new SortedIndex<HsRecord>((r) => r.idNum, (r) => r.idNum, (r) => r.archived);
  readonly searchById = new SortedIndex<SearchDoc>((d) => d.idNum, (d) => d.idNum, (d) => !d.dead);
  readonly searchByModified = new SortedIndex<SearchDoc>((d) => d.modified, (d) => d.idNum, (d) => !d.dead);
  private readonly docs = new Map<number, SearchDoc>();
  private readonly unique = new Map<string, Map<string, string>>();
  private pending: Array<{ rec: HsRecord; due: number }> = [];
  private nextId: number;

  constructor(
    readonly meta: ObjectTypeMeta,
    private readonly searchLagMs: () => number,
    uniqueProps: Iterable<string>,
  ) {
    this.nextId = meta.idBase;
    for (const p of uniqueProps) this.unique.set(p, new Map());
  }

  allocateId(): number {
    return this.nextId++;
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** Get by id; archived records only when asked. */
  get(id: string, archived = false): HsRecord | undefined {
    const r = this.records.get(id);
    if (!r) return undefined;
    return r.archived === archived ? r : undefined;
  }

  // ---------- unique values ----------

  addUniqueProperty(name: string): void {
    if (this.unique.has(name)) return;
    const idx = new Map<string, string>();
    for (const r of this.live.alive()) {
      const v = r.props[name];
      if (v) idx.set(uniqueKey(name, v), r.id);
    }
    this.unique.set(name, idx);
  }

  isUnique(name: string): boolean {
    return this.unique.has(name);
  }

  /** Id of the live record holding `value` for unique property `name`. */
  findByUnique(name: string, value: string): string | undefined {
    return this.unique.get(name)?.get(uniqueKey(name, value));
  }

  // ---------- writes ----------

  insert(rec: HsRecord): void {
    this.records.set(rec.id, rec);
    if (rec.idNum >= this.nextId) this.nextId = rec.idNum + 1;
    if (rec.archived) {
      this.archivedList.insert(rec);
      return;
    }
    this.live.insert(rec);
    this.indexUnique(rec, undefined, rec.props);
    this.schedule(rec);
  }

  /** Swap in new props (copy-on-write) and bump the modification time. */
  update(rec: HsRecord, props: Record<string, string>, now: number): void {
    this.indexUnique(rec, rec.props, props);
    rec.props = props;
    rec.updatedAt = now;
    this.schedule(rec);
  }

  /** Archive: gone from lists and search at once; the modification time is NOT bumped (as in HubSpot). */
  archive(rec: HsRecord, now: number): void {
    if (rec.archived) return;
    this.indexUnique(rec, rec.props, undefined);
    rec.archived = true; // makes it a tombstone in `live`
    this.live.noteRemoved();
    rec.archivedAt = now;
    this.archivedList.insert(rec);
    this.unindex(rec.idNum);
  }

  /**
   * Un-archive a record (HubSpot's restore from the recycle bin): back in lists, unique indexes and search,
   * its modification time bumped. Rare, so it compacts the live index rather than tracking its tombstone.
   */
  restore(rec: HsRecord, props: Record<string, string>, now: number): void {
    if (!rec.archived) return;
    this.live.compact(); // drops rec's tombstone, so the insert below cannot list it twice
    rec.archived = false;
    delete rec.archivedAt;
    delete rec.mergedInto;
    this.archivedList.noteRemoved();
    rec.props = props;
    rec.updatedAt = now;
    this.live.insert(rec);
    this.indexUnique(rec, undefined, props);
    this.schedule(rec);
  }

  /** Load many records at once (seed, restore): one sort instead of n inserts. */
  bulkLoad(recs: HsRecord[]): void {
    const live: HsRecord[] = [...this.live.alive()];
    const archived: HsRecord[] = [...this.archivedList.alive()];
    for (const r of recs) {
      this.records.set(r.id, r);
      if (r.idNum >= this.nextId) this.nextId = r.idNum + 1;
      if (r.archived) archived.push(r);
      else {
        live.push(r);
        this.indexUnique(r, undefined, r.props);
      }
    }
    this.live.reset(live);
    this.archivedList.reset(archived);
    const docs = live.map((r) => this.makeDoc(r));
    this.docs.clear();
    for (const d of docs) this.docs.set(d.idNum, d);
    this.searchById.reset([...docs]);
    this.searchByModified.reset(docs);
  }

  clear(): void {
    this.records.clear();
    this.live.reset([]);
    this.archivedList.reset([]);
    this.searchById.reset([]);
    this.searchByModified.reset([]);
    this.docs.clear();
    this.pending = [];
    for (const idx of this.unique.values()) idx.clear();
    this.nextId = this.meta.idBase;
  }

  // ---------- search visibility ----------

  /** Apply every index update whose lag has elapsed (call before searching). */
  flushSearch(nowMs = Date.now()): void {
    if (this.pending.length === 0) return;
    const keep: Array<{ rec: HsRecord; due: number }> = [];
    for (const p of this.pending) {
      if (p.due <= nowMs) this.indexNow(p.rec);
      else keep.push(p);
    }
    this.pending = keep;
  }

  /** Number of writes not yet visible to search. */
  get pendingSearch(): number {
    return this.pending.length;
  }

  private schedule(rec: HsRecord): void {
    const lag = this.searchLagMs();
    if (lag > 0) this.pending.push({ rec, due: Date.now() + lag });
    else this.indexNow(rec);
  }

  private indexNow(rec: HsRecord): void {
    if (rec.archived) {
      this.unindex(rec.idNum);
      return;
    }
    const old = this.docs.get(rec.idNum);
    const d = this.makeDoc(rec);
    this.docs.set(d.idNum, d);
    if (old) {
      // Same id: swap in place in the id index; tombstone + append in the modified index.
      if (!this.searchById.replace(old, d)) this.searchById.insert(d);
      old.dead = true;
      this.searchByModified.noteRemoved();
    } else {
      this.searchById.insert(d);
    }
    this.searchByModified.insert(d);
  }

  private unindex(idNum: number): void {
    const old = this.docs.get(idNum);
    if (!old) return;
    this.docs.delete(idNum);
    old.dead = true;
    this.searchById.noteRemoved();
    this.searchByModified.noteRemoved();
  }

  private makeDoc(r: HsRecord): SearchDoc {
    return { rec: r, idNum: r.idNum, props: r.props, modified: r.updatedAt, createdAt: r.createdAt };
  }

  private indexUnique(rec: HsRecord, before: Record<string, string> | undefined, after: Record<string, string> | undefined): void {
    for (const [name, idx] of this.unique) {
      const a = before?.[name];
      const b = after?.[name];
      if (a === b) continue;
      if (a && idx.get(uniqueKey(name, a)) === rec.id) idx.delete(uniqueKey(name, a));
      if (b) idx.set(uniqueKey(name, b), rec.id);
    }
  }
}

/** Emails are unique case-insensitively; other unique properties compare exactly. */
function uniqueKey(name: string, value: string): string {
  return name === 'email' ? value.toLowerCase() : value;
}
