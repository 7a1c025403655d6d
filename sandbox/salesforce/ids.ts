/**
 * Salesforce record ids: 3-char key prefix + 2-char pod + 10-char base62 counter = 15 chars, plus the
 * 3-char case-safe checksum = 18 chars (what the REST API returns). Counters are fixed width in an
 * ASCII-ordered alphabet, so string order equals creation order, as ORDER BY Id expects.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHECKSUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export function checksum(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    out += CHECKSUM[bits];
  }
  return out;
}

export function makeId(prefix: string, counter: number, pod = '5e'): string {
  let n = counter;
  let body = '';
  for (let i = 0; i < 10; i++) {
    body = BASE62[n % 62] + body;
    n = Math.floor(n / 62);
  }
  const id15 = `${prefix}${pod}${body}`;
  return id15 + checksum(id15);
}

const ID_RE = /^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$/;

/** Normalise a 15- or 18-char id to 18 chars; undefined when it is not an id at all. */
export function normalizeId(value: unknown): string | undefined {
  if (typeof value !== 'string' || !ID_RE.test(value)) return undefined;
  if (value.length === 18) {
    // A case-insensitive caller may send the 18-char id upper-cased; the checksum lets us accept it only if right.
    return checksum(value.slice(0, 15)) === value.slice(15) ? value : undefined;
  }
  return value + checksum(value);
}

/** An id generator per org: one counter per key prefix. */
export class IdFactory {
  private readonly counters = new Map<string, number>();
  constructor(private readonly pod = '5e') {}

  next(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return makeId(prefix, n, this.pod);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counters);
  }

  restore(counters: Record<string, number>): void {
    this.counters.clear();
    for (const [k, v] of Object.entries(counters)) this.counters.set(k, v);
  }
}
