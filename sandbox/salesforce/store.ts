import type { FieldDef, ObjectDef } from './schema.js';

/**
 * In-memory tables with the indexes the API needs to stay fast at 100k–1M rows:
 * - by Id (a Map);
 * - by every external-id / unique field (value → ids), so upserts and DUPLICATE_VALUE checks are O(1);
 * - by (SystemModstamp, Id), for incremental queries and getUpdated. Writes append to a small unsorted
 *   tail; a query merges the tail into the sorted base (O(n) merge, no full re-sort) and drops entries
 *   that a later write made stale (each record carries a write version `$v`).
 *
 * Records hold field values under their API names; datetimes as epoch ms (formatted on output), dates as
 * `YYYY-MM-DD`. Keys starting with `$` are internal and never leave the store.
 */
export type Rec = Record<string, unknown> & { Id: string; SystemModstamp: number; $v: number };

interface ModEntry {
  rec: Rec;
  v: number;
  stamp: number;
}

export const indexKey = (f: FieldDef, value: unknown): string | undefined => {
  if (value === null || value === undefined || value === '') return undefined;
  const s = typeof value === 'number' ? String(value) : String(value);
  return f.caseSensitive ? s : s.toLowerCase();
};

export class Table {
  readonly byId = new Map<string, Rec>();
  /** Lower-cased field name → value key → ids. */
  private readonly indexes = new Map<string, Map<string, string[]>>();
  private base: ModEntry[] = [];
  private tail: ModEntry[] = [];
  private version = 0;

  constructor(readonly def: ObjectDef) {
    for (const f of def.fields.values()) if (f.externalId || f.unique) this.indexes.set(f.name.toLowerCase(), new Map());
  }

  /** Start indexing a field added later (custom field through the Tooling API). */
  indexField(f: FieldDef): void {
    const key = f.name.toLowerCase();
    if (this.indexes.has(key)) return;
    const idx = new Map<string, string[]>();
    this.indexes.set(key, idx);
    for (const rec of this.byId.values()) {
      if (rec.IsDeleted) continue;
      const k = indexKey(f, rec[f.name]);
      if (k !== undefined) idx.set(k, [...(idx.get(k) ?? []), rec.Id]);
    }
  }

  isIndexed(fieldName: string): boolean {
    return this.indexes.has(fieldName.toLowerCase());
  }

  /** Live (not deleted) record ids whose indexed field equals `value`. */
  lookup(f: FieldDef, value: unknown): string[] {
    const k = indexKey(f, value);
    if (k === undefined) return [];
    return this.indexes.get(f.name.toLowerCase())?.get(k) ?? [];
  }

  get size(): number {
    return this.byId.size;
  }

  private unindex(rec: Rec): void {
    for (const [fname, idx] of this.indexes) {
      const f = this.def.fields.get(fname)!;
      const k = indexKey(f, rec[f.name]);
      if (k === undefined) continue;
      const ids = idx.get(k);
      if (!ids) continue;
      const rest = ids.filter((id) => id !== rec.Id);
      if (rest.length) idx.set(k, rest);
      else idx.delete(k);
    }
  }

  private reindex(rec: Rec): void {
    if (rec.IsDeleted) return;
    for (const [fname, idx] of this.indexes) {
      const f = this.def.fields.get(fname)!;
      const k = indexKey(f, rec[f.name]);
      if (k === undefined) continue;
      const ids = idx.get(k);
      if (!ids) idx.set(k, [rec.Id]);
      else if (!ids.includes(rec.Id)) ids.push(rec.Id);
    }
  }

  private touched(rec: Rec): void {
    rec.$v = ++this.version;
    this.tail.push({ rec, v: rec.$v, stamp: rec.SystemModstamp });
  }

  insert(rec: Rec): void {
    this.byId.set(rec.Id, rec);
    this.reindex(rec);
    this.touched(rec);
  }

  /** Apply changes to a stored record (the caller has set SystemModstamp etc. in `changes`). */
  update(rec: Rec, changes: Record<string, unknown>): void {
    const indexedChange = Object.keys(changes).some((k) => this.indexes.has(k.toLowerCase())) || 'IsDeleted' in changes;
    if (indexedChange) this.unindex(rec);
    Object.assign(rec, changes);
    if (indexedChange) this.reindex(rec);
    this.touched(rec);
  }

  /** Remove a record for good (used by restore and by rollbacks of inserts). */
  purge(id: string): void {
    const rec = this.byId.get(id);
    if (!rec) return;
    this.unindex(rec);
    this.byId.delete(id);
    rec.$v = -1;
  }

  /** All records (deleted included) in (SystemModstamp, Id) order. */
  byModstamp(): readonly ModEntry[] {
    if (this.tail.length === 0) return this.base;
    const tail = this.tail.sort(cmpEntry);
    this.tail = [];
    const live = (e: ModEntry) => e.rec.$v === e.v;
    const base = this.base;
    const out: ModEntry[] = [];
    let i = 0;
    let j = 0;
    while (i < base.length || j < tail.length) {
      let e: ModEntry;
      if (j >= tail.length || (i < base.length && cmpEntry(base[i], tail[j]) <= 0)) e = base[i++];
      else e = tail[j++];
      if (live(e)) out.push(e);
    }
    this.base = out;
    return out;
  }

  /** First position in `byModstamp()` whose stamp is >= `stamp` (or > when `exclusive`). */
  static lowerBound(entries: readonly ModEntry[], stamp: number, exclusive = false): number {
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = entries[mid].stamp;
      if (s < stamp || (exclusive && s === stamp)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Rebuild every index from scratch (after restore). */
  rebuild(): void {
    for (const idx of this.indexes.values()) idx.clear();
    this.base = [];
    this.tail = [];
    for (const rec of this.byId.values()) {
      this.reindex(rec);
      this.touched(rec);
    }
  }
}

function cmpEntry(a: ModEntry, b: ModEntry): number {
  if (a.stamp !== b.stamp) return a.stamp - b.stamp;
  return a.rec.Id < b.rec.Id ? -1 : a.rec.Id > b.rec.Id ? 1 : 0;
}
