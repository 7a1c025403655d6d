/**
 * An array kept sorted by (primary key, numeric id): binary-search lookups and range slices, O(log n)
 * find + memmove insert/remove. Writes almost always land at the end (a fresh timestamp, a fresh id),
 * where the splice is free, so this beats a tree for the sandbox's workloads and is trivially iterable.
 */
export class SortedIndex<T> {
  readonly items: T[] = [];

  constructor(
    private readonly primary: (item: T) => number,
    private readonly idOf: (item: T) => number,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** First position whose key is >= (key, id). */
  lowerBound(key: number, id = -Infinity): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const it = this.items[mid];
      const k = this.primary(it);
      if (k < key || (k === key && this.idOf(it) < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose key is > (key, id). */
  upperBound(key: number, id = Infinity): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const it = this.items[mid];
      const k = this.primary(it);
      if (k < key || (k === key && this.idOf(it) <= id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(item: T): void {
    const k = this.primary(item);
    const id = this.idOf(item);
    const n = this.items.length;
    if (n === 0 || this.compareTo(this.items[n - 1], k, id) < 0) {
      this.items.push(item);
      return;
    }
    this.items.splice(this.lowerBound(k, id), 0, item);
  }

  /** Remove the item stored under the given key (the key it was inserted with). */
  remove(key: number, id: number): boolean {
    const i = this.lowerBound(key, id);
    if (i < this.items.length && this.primary(this.items[i]) === key && this.idOf(this.items[i]) === id) {
      this.items.splice(i, 1);
      return true;
    }
    return false;
  }

  /** Replace the whole content (bulk load); sorts once. */
  reset(items: T[]): void {
    items.sort((a, b) => this.primary(a) - this.primary(b) || this.idOf(a) - this.idOf(b));
    this.items.length = 0;
    for (const it of items) this.items.push(it);
  }

  private compareTo(item: T, key: number, id: number): number {
    return this.primary(item) - key || this.idOf(item) - id;
  }
}
