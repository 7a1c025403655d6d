/**
 * The records a feed already delivered inside its look-back region, as (id, modifiedAt) pairs, kept
 * in the cursor's `state` so that re-scanning the look-back does not deliver them again (the HubSpot
 * feed and deletions, the Salesforce feed). Serialised compactly —
 * per timestamp, numeric ids as ranges ("1001-31000,31005") — because a bulk update can leave tens of
 * thousands of records on one timestamp and the cursor travels through workflow history.
 */
export class SeenSet {
  private readonly byMod = new Map<number, Set<string>>();

  static decode(v: unknown): SeenSet {
    const s = new SeenSet();
    if (!v || typeof v !== 'object' || Array.isArray(v)) return s;
    for (const [mod, list] of Object.entries(v as Record<string, unknown>)) {
      const ms = Number(mod);
      if (!Number.isFinite(ms) || typeof list !== 'string') continue;
      for (const part of list.split(',')) {
        const m = /^(\d+)-(\d+)$/.exec(part);
        if (m) for (let i = Number(m[1]); i <= Number(m[2]); i++) s.add(String(i), ms);
        else if (part.startsWith('~')) s.add(decodeURIComponent(part.slice(1)), ms);
        else if (/^\d+$/.test(part)) s.add(part, ms);
      }
    }
    return s;
  }

  add(id: string, modMs: number): void {
    let ids = this.byMod.get(modMs);
    if (!ids) this.byMod.set(modMs, (ids = new Set()));
    ids.add(id);
  }

  has(id: string, modMs: number): boolean {
    return this.byMod.get(modMs)?.has(id) ?? false;
  }

  get size(): number {
    let n = 0;
    for (const ids of this.byMod.values()) n += ids.size;
    return n;
  }

  /** Forget everything older than `fromMs` (it will not be re-scanned). */
  prune(fromMs: number): void {
    for (const mod of [...this.byMod.keys()]) if (mod < fromMs) this.byMod.delete(mod);
  }

  merge(other: SeenSet): void {
    for (const [mod, ids] of other.byMod) for (const id of ids) this.add(id, mod);
  }

  /**
   * Serialise, keeping the newest timestamps first when over `maxChars`: what is dropped may be
   * delivered once more after a re-scan, which the idempotent sync tolerates.
   */
  encode(maxChars = 65_536): Record<string, string> {
    const out: Record<string, string> = {};
    let used = 0;
    for (const mod of [...this.byMod.keys()].sort((a, b) => b - a)) {
      const list = encodeIds([...this.byMod.get(mod)!]);
      if (used + list.length > maxChars) break;
      out[String(mod)] = list;
      used += list.length + 16;
    }
    return out;
  }
}

function encodeIds(ids: string[]): string {
  const plain = (i: string) => /^\d+$/.test(i) && i.length < 16 && String(Number(i)) === i;
  const numeric = ids.filter(plain).map(Number).sort((a, b) => a - b);
  const other = ids.filter((i) => !plain(i)).map((i) => `~${encodeURIComponent(i)}`);
  const parts: string[] = [];
  for (let i = 0; i < numeric.length; ) {
    let j = i;
    while (j + 1 < numeric.length && numeric[j + 1] === numeric[j] + 1) j++;
    parts.push(j > i ? `${numeric[i]}-${numeric[j]}` : String(numeric[i]));
    i = j + 1;
  }
  return [...parts, ...other].join(',');
}
