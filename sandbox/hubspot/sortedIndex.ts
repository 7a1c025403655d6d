/**
 * An array kept sorted by (primary key, numeric id) with binary-search lookups and range slices.
 * V8's Array#splice costs milliseconds on 100k-element arrays, so removals are tombstones instead:
 * the caller marks the item dead (`isAlive` turns false), `noteRemoved` counts it, and the array is
 * compacted once a quarter of it is dead. Writes almost always land at the end (a fresh timestamp, a
 * fresh id) and are a push; only out-of-order inserts (frozen or jumped clocks) pay for a splice.
 */
export class SortedIndex<T> {
  items: T[] = [];
  private dead = 0;

  constructor(
    private readonly primary: (item: T) => number,
    private readonly idOf: (item: T) => number,
    private readonly isAlive: (item: T) => boolean,
  ) {}

  /** Number of live items. */
  get size(): number {
    return this.items.length - this.dead;
  }

  /** First position whose key is >= (key, id). */
  lowerBound(key: number, id = -Infinity): number {
    return this.bound(key, id, false);
  }

  /** First position whose key is > (key, id). */
  upperBound(key: number, id = Infinity): number {
    return this.bound(key, id, true);
  }

  /** Binary search for the first item after (key, id) — after equal ones too when `pastEqual`. */
  private bound(key: number, id: number, pastEqual: boolean): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const it = this.items[mid];
      const k = this.primary(it);
      const itId = this.idOf(it);
      if (k < key || (k === key && (itId < id || (pastEqual && itId === id)))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(item: T): void {
    const n = this.items.length;
    const k = this.primary(item);
    const id = this.idOf(item);
    if (n === 0 || this.primary(this.items[n - 1]) < k || (this.primary(this.items[n - 1]) === k && this.idOf(this.items[n - 1]) < id)) {
      this.items.push(item);
      return;
    }
    this.items.splice(this.lowerBound(k, id), 0, item);
  }

  /** Replace `old` (stored under its key) in place by `item`, which must sort at the same position. */
  replace(old: T, item: T): boolean {
    const key = this.primary(old);
    const id = this.idOf(old);
    for (let i = this.lowerBound(key, id); i < this.items.length; i++) {
      const it = this.items[i];
      if (this.primary(it) !== key || this.idOf(it) !== id) break;
      if (it === old) {
        this.items[i] = item;
        return true;
      }
    }
    return false;
  }

  /** Count an item the caller has just made dead; compacts when dead items pile up. */
  noteRemoved(): void {
    this.dead++;
    if (this.dead > 1024 && this.dead * 4 > this.items.length) this.compact();
  }

  compact(): void {
    this.items = this.items.filter(this.isAlive);
    this.dead = 0;
  }

  /** Up to `n` live items from position `start`, and the next live item after them (for paging). */
  page(start: number, n: number): { items: T[]; next?: T } {
    const out: T[] = [];
    let i = start;
    for (; i < this.items.length && out.length < n; i++) if (this.isAlive(this.items[i])) out.push(this.items[i]);
    for (; i < this.items.length; i++) if (this.isAlive(this.items[i])) return { items: out, next: this.items[i] };
    return { items: out };
  }

  /** Live items in [from, to). */
  liveSlice(from: number, to: number): T[] {
    const out: T[] = [];
    for (let i = from; i < to; i++) if (this.isAlive(this.items[i])) out.push(this.items[i]);
    return out;
  }

  /** Every live item, in order. */
  alive(): T[] {
    return this.dead === 0 ? this.items : this.items.filter(this.isAlive);
  }

  /** Replace the whole content (bulk load); sorts once. */
  reset(items: T[]): void {
    const live = items.filter(this.isAlive);
    let sorted = true; // bulk loads usually arrive in order: skip the sort then
    for (let i = 1; i < live.length && sorted; i++) {
      const a = this.primary(live[i - 1]);
      const b = this.primary(live[i]);
      sorted = a < b || (a === b && this.idOf(live[i - 1]) < this.idOf(live[i]));
    }
    this.items = sorted ? live : sortByNumericKeys(live, live.map(this.primary), live.map(this.idOf));
    this.dead = 0;
  }
}

/**
 * Sort items by (key, id) ascending via an index permutation over typed arrays: a monomorphic numeric
 * comparator is several times faster than comparing objects through accessors on 100k+ items.
 */
export function sortByNumericKeys<T>(items: T[], keys: ArrayLike<number>, ids: ArrayLike<number>, descending = false): T[] {
  const n = items.length;
  const k = Float64Array.from(keys);
  const id = Float64Array.from(ids);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const dir = descending ? -1 : 1;
  order.sort((a, b) => {
    const x = k[a];
    const y = k[b];
    if (x !== y) {
      // NaN (no value) sorts last in either direction.
      if (x !== x) return 1;
      if (y !== y) return -1;
      return x < y ? -dir : dir;
    }
    return id[a] - id[b];
  });
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = items[order[i]];
  return out;
}
