import QuickLRU from 'quick-lru';
import { jaroWinkler, MAX_NAME_TOKENS, TOKEN_MATCH_FLOOR } from '../lib/normalize.js';

/**
 * Candidate generation (blocking) for name matching in the rules index: which stored names can reach
 * a similarity threshold against a query name, without comparing it to a million of them.
 *
 * Two levels, because a typo changes one token, not the record:
 *   1. token → similar tokens: the stored tokens tokenNameSimilarity's per-token test accepts
 *      (Jaro-Winkler ≥ TOKEN_MATCH_FLOOR).
 *      - Same first two letters: exact. The stored tokens starting with them are scanned with a
 *        filter that only drops tokens that cannot pass (mayMatch: Jaro-Winkler ≥ 0.9 needs enough
 *        matching characters for its common prefix, and matching characters are bounded by the
 *        letters both tokens have); survivors get the real test.
 *      - Other first letters: keys. Each stored token is filed under its first six letters, its first
 *        seven without the first, second or third letter, and its last five letters; a query
 *        token looks up its own. One edit in the first two letters (substitution, insertion,
 *        deletion, swap) leaves the two tokens a shared prefix key; damage anywhere at the front of a
 *        token whose last five letters are intact ("ramedyn" / "medyn") shares the suffix key.
 *   2. tokens → records. A name can only reach threshold t if the query tokens it leaves unmatched
 *      weigh at most 1 − t of the query (tokenNameSimilarity weights tokens by length and gives an
 *      unmatched token nothing). So for any set S of query tokens weighing more than 1 − t, every
 *      match holds a token similar to one of S: the candidates are the records of S's similar tokens.
 *      S is chosen cheapest first (fewest records, i.e. rarest; a common word is not even looked up
 *      while a rarer token may still cover the query).
   3. the record bound. Each record read is kept only if letter counts allow it to reach t: a token
 *      pair that cannot pass the per-token test (mayMatch false) adds nothing to either direction of
 *      the score, so (matchable query weight / query weight) and (matchable record weight / record
 *      weight) bound it from above. Exact, not a heuristic; it drops the "<brand> Technologies"
 *      records a query "techli" reaches through its similar token "technologies".
 * Names that differ only in spacing ("face book" / "facebook", scored 0.99) are found by their
 * space-free form. The exact similarity check runs on the candidates (accountIndex.ts).
 *
 * Completeness: a record within the threshold is missed only if one of the query tokens it needs
 * matches its token with a difference in the first two letters beyond one edit and a different
 * last five letters. That miss rate is measured, not assumed (test/rules/blocking.property.test.ts,
 * `npm run bench:rules`).
 */

/** Leading characters a token's prefix keys are built from (long enough to be selective). */
export const KEY_SPAN = 7;
/** Trailing characters of a token's suffix key. */
export const SUFFIX_SPAN = 5;
/** Stored tokens are scanned exactly within the bucket of their first this many letters. */
export const BUCKET_PREFIX = 2;

/** Share of a query name that one more unit of weight must exceed: covers the score's 1e-6 rounding. */
const ROUNDING_MARGIN = 1e-6;
/** Above this many candidate records, they are first checked against the other heavy query tokens. */
const REQUIRED_CHECK_ABOVE = 64;

/**
 * The keys a token is filed and looked up under (level 1, other first letters): its first KEY_SPAN
 * letters without the last, the first, the second or the third (one edit in the first two
 * letters — substitution, insertion, deletion, swap — leaves two tokens a shared key), and its
 * last SUFFIX_SPAN letters (damage at the front, tail intact), tagged '$'.
 */
export function tokenKeys(token: string): string[] {
  const keys = new Set<string>();
  const head = token.slice(0, KEY_SPAN);
  keys.add(head.slice(0, KEY_SPAN - 1));
  for (let i = 0; i < BUCKET_PREFIX + 1 && i < head.length; i++) {
    const deleted = head.slice(0, i) + head.slice(i + 1);
    if (deleted) keys.add(deleted);
  }
  keys.add('$' + token.slice(-SUFFIX_SPAN));
  return [...keys];
}

/** The tokens of a normalised name as tokenNameSimilarity compares them (bounded, see MAX_NAME_TOKENS). */
export function comparedTokens(name: string): string[] {
  if (!name) return [];
  const tokens = name.split(' ');
  return tokens.length > MAX_NAME_TOKENS ? tokens.slice(0, MAX_NAME_TOKENS) : tokens;
}

/** tokenNameSimilarity's per-token test: below the floor a token counts as unmatched. */
export function tokensMatch(a: string, b: string): boolean {
  return a === b || jaroWinkler(a, b) >= TOKEN_MATCH_FLOOR;
}

/**
 * What the level-1 filter reads of a token: its length, the letters it has once and twice (digits
 * folded onto 6 bits — any folding keeps the bound sound), how many occurrences go beyond a letter's
 * second, and its first four characters packed into one number.
 */
interface Signature {
  length: number;
  once: number;
  twice: number;
  beyondTwice: number;
  head: number;
}

/** Letter counts of the token being signed (reused: signatures are built on every query token). */
const signatureCounts = new Uint16Array(32);

function signature(token: string): Signature {
  const counts = signatureCounts;
  counts.fill(0);
  let head = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    counts[c >= 97 && c <= 122 ? c - 97 : 26 + (c % 6)]!++;
    if (i < 4) head |= (c & 0xff) << (24 - 8 * i);
  }
  let once = 0;
  let twice = 0;
  let beyondTwice = 0;
  for (let bit = 0; bit < 32; bit++) {
    const n = counts[bit]!;
    if (n >= 1) once |= 1 << bit;
    if (n >= 2) twice |= 1 << bit;
    if (n > 2) beyondTwice += n - 2;
  }
  return { length: token.length, once: once >>> 0, twice: twice >>> 0, beyondTwice, head: head >>> 0 };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Jaro-Winkler = jaro + 0.1·p·(1 − jaro) with p the common prefix (≤ 4), so passing the floor needs
 * jaro ≥ (floor − 0.1p) / (1 − 0.1p), and as jaro ≤ (m/|a| + m/|b| + 1) / 3 for m matching
 * characters: m/|a| + m/|b| ≥ NEEDED[p] = 3·that − 1 (1.7 without a common first letter, 1.5 with four).
 */
const NEEDED = [0, 1, 2, 3, 4].map((p) => 3 * ((TOKEN_MATCH_FLOOR - 0.1 * p) / (1 - 0.1 * p)) - 1 - 1e-9);

/**
 * False only if the two tokens cannot pass the per-token test: matching characters are equal
 * characters, so m ≤ Σ min(count) ≤ letters both have + letters both have twice + the smaller excess;
 * a packed head that agrees further only overstates p (the bound gets looser, never wrong).
 */
function mayMatch(q: Signature, length: number, once: number, twice: number, beyondTwice: number, head: number): boolean {
  const la = q.length;
  if (length > 2 * la || 2 * length < la) return false;
  const diff = (q.head ^ head) >>> 0;
  const p = diff === 0 ? 4 : Math.clz32(diff) >> 3;
  const m = Math.min(la, length, popcount(q.once & once) + popcount(q.twice & twice) + Math.min(q.beyondTwice, beyondTwice));
  return m / la + m / length >= NEEDED[p]!;
}

/** A distinct query token as a candidate for the cover: its weight, and its records once looked up. */
interface CoverOption<E> {
  text: string;
  weight: number;
  /** Records of its similar tokens once `similar` is known; before, its own records (a lower bound). */
  cost: number;
  similar: Array<TokenPosting<E>> | undefined;
}

/**
 * What NameBlocks keeps of one stored name: the postings of its compared tokens (in order, repeats
 * kept — the score counts every token) and their total length, for the record-level bound.
 */
export interface NameRecord<E> {
  readonly entry: E;
  readonly postings: ReadonlyArray<TokenPosting<E>>;
  readonly weight: number;
  /** Lookup stamp: a record reached through several similar tokens is visited once per lookup. */
  seen: number;
}

/** An entry NameBlocks can hold: its compared tokens, and a slot for NameBlocks' own record of it. */
export interface Blockable {
  readonly tokens: readonly string[];
  blocked?: unknown;
}

interface TokenPosting<E> {
  readonly text: string;
  readonly records: Set<NameRecord<E>>;
  readonly signature: Signature;
  /** Lookup stamp and bits of the required query tokens it is similar to (see candidates). */
  requiredStamp: number;
  requiredBits: number;
  /** Lookup stamp: de-duplicates a token reached by several keys within one lookup. */
  seen: number;
  /** Its position in its bucket (swap-removed). */
  slot: number;
}

/** The stored tokens sharing their first letters, with their signatures in flat arrays for the scan. */
class LetterBucket<E> {
  postings: Array<TokenPosting<E>> = [];
  lengths = new Uint16Array(16);
  once = new Uint32Array(16);
  twice = new Uint32Array(16);
  beyondTwice = new Uint16Array(16);
  heads = new Uint32Array(16);

  get size(): number {
    return this.postings.length;
  }

  push(p: TokenPosting<E>): void {
    const i = this.postings.length;
    if (i === this.lengths.length) {
      this.lengths = grow(this.lengths, new Uint16Array(i * 2));
      this.once = grow(this.once, new Uint32Array(i * 2));
      this.twice = grow(this.twice, new Uint32Array(i * 2));
      this.beyondTwice = grow(this.beyondTwice, new Uint16Array(i * 2));
      this.heads = grow(this.heads, new Uint32Array(i * 2));
    }
    this.postings.push(p);
    this.write(i, p);
  }

  remove(p: TokenPosting<E>): void {
    const moved = this.postings.pop()!;
    if (moved === p) return;
    this.postings[p.slot] = moved;
    this.write(p.slot, moved);
  }

  private write(i: number, p: TokenPosting<E>): void {
    const s = p.signature;
    this.lengths[i] = Math.min(s.length, 0xffff);
    this.once[i] = s.once;
    this.twice[i] = s.twice;
    this.beyondTwice[i] = Math.min(s.beyondTwice, 0xffff);
    this.heads[i] = s.head;
    p.slot = i;
  }
}

function grow<A extends Uint16Array | Uint32Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

export interface BlockingStats {
  /** Stored tokens compared with a query token by the real per-token test (level 1). */
  tokenComparisons: number;
  /** Records the cover's similar tokens reached (level 2, before the record bound). */
  recordsRead: number;
  /** Records returned as candidates (level 2, after the record bound). */
  candidates: number;
}

/** Distinct query tokens the record bound tracks (one bit each); a longer query is not bounded. */
const BOUND_MAX_TOKENS = 31;

/** The name blocks of one keyed collection; `E` is the caller's entry, with its compared tokens. */
export class NameBlocks<E extends Blockable> {
  private readonly byToken = new Map<string, TokenPosting<E>>();
  private readonly byFirstLetters = new Map<string, LetterBucket<E>>();
  private readonly byKey = new Map<string, Array<TokenPosting<E>>>();
  /** Multi-token names by their space-free form (the 0.99 spacing rule). */
  private readonly byCompact = new Map<string, Set<NameRecord<E>>>();
  private stamp = 0;
  /**
   * Level-1 answers for recent query tokens ("systems", "global" come back on every other name),
   * valid while the vocabulary is unchanged: adding or dropping a distinct token bumps the version.
   */
  private readonly similarCache = new QuickLRU<string, { version: number; postings: Array<TokenPosting<E>> }>({ maxSize: 4096 });
  private version = 0;
  /** The query's distinct tokens as the record bound reads them (reused: no allocation per record). */
  private readonly qLength = new Uint16Array(BOUND_MAX_TOKENS);
  private readonly qOnce = new Uint32Array(BOUND_MAX_TOKENS);
  private readonly qTwice = new Uint32Array(BOUND_MAX_TOKENS);
  private readonly qBeyond = new Uint16Array(BOUND_MAX_TOKENS);
  private readonly qHead = new Uint32Array(BOUND_MAX_TOKENS);
  private readonly qWeight = new Float64Array(BOUND_MAX_TOKENS);

  constructor(private readonly stats: BlockingStats) {}

  /** The number of distinct stored tokens (the level-1 vocabulary). */
  get vocabularySize(): number {
    return this.byToken.size;
  }

  add(entry: E): void {
    const postings: Array<TokenPosting<E>> = [];
    let weight = 0;
    for (const t of entry.tokens) {
      let p = this.byToken.get(t);
      if (!p) {
        p = { text: t, records: new Set(), signature: signature(t), requiredStamp: 0, requiredBits: 0, seen: 0, slot: -1 };
        this.byToken.set(t, p);
        this.version++;
        const first = t.slice(0, BUCKET_PREFIX);
        let bucket = this.byFirstLetters.get(first);
        if (!bucket) this.byFirstLetters.set(first, (bucket = new LetterBucket()));
        bucket.push(p);
        for (const k of tokenKeys(t)) {
          const list = this.byKey.get(k);
          if (list) list.push(p);
          else this.byKey.set(k, [p]);
        }
      }
      postings.push(p);
      weight += t.length;
    }
    const record: NameRecord<E> = { entry, postings, weight, seen: 0 };
    entry.blocked = record;
    for (const p of postings) p.records.add(record);
    if (entry.tokens.length > 1) {
      const compact = entry.tokens.join('');
      let s = this.byCompact.get(compact);
      if (!s) this.byCompact.set(compact, (s = new Set()));
      s.add(record);
    }
  }

  delete(entry: E): void {
    const record = entry.blocked as NameRecord<E> | undefined;
    if (!record) return;
    entry.blocked = undefined;
    for (const p of new Set(record.postings)) {
      p.records.delete(record);
      if (p.records.size) continue;
      const t = p.text;
      this.byToken.delete(t);
      this.version++;
      const first = t.slice(0, BUCKET_PREFIX);
      const bucket = this.byFirstLetters.get(first)!;
      bucket.remove(p);
      if (!bucket.size) this.byFirstLetters.delete(first);
      for (const k of tokenKeys(t)) {
        const list = this.byKey.get(k);
        if (!list) continue;
        const i = list.indexOf(p);
        if (i >= 0) {
          list[i] = list[list.length - 1]!;
          list.pop();
        }
        if (!list.length) this.byKey.delete(k);
      }
    }
    if (entry.tokens.length > 1) {
      const compact = entry.tokens.join('');
      const s = this.byCompact.get(compact);
      if (s) {
        s.delete(record);
        if (!s.size) this.byCompact.delete(compact);
      }
    }
  }

  /** Stored tokens that match `token` by the similarity function's per-token test (level 1). */
  similarTokens(token: string): Array<TokenPosting<E>> {
    const cached = this.similarCache.get(token);
    if (cached?.version === this.version) return cached.postings;
    const stamp = ++this.stamp;
    const out: Array<TokenPosting<E>> = [];
    const q = signature(token);
    const consider = (p: TokenPosting<E>) => {
      this.stats.tokenComparisons++;
      if (tokensMatch(token, p.text)) out.push(p);
    };
    // Same first letters: scan the bucket, testing only tokens with enough letters in common to pass.
    const first = token.slice(0, BUCKET_PREFIX);
    const bucket = this.byFirstLetters.get(first);
    if (bucket) {
      // mayMatch, inlined over the flat arrays: this loop is most of a lookup's cost.
      const { lengths, once, twice, beyondTwice, heads, postings } = bucket;
      const la = q.length;
      const qOnce = q.once;
      const qTwice = q.twice;
      const qBeyond = q.beyondTwice;
      const qHead = q.head;
      for (let i = 0, n = postings.length; i < n; i++) {
        const lb = lengths[i]!;
        if (lb > 2 * la || 2 * lb < la) continue;
        const shared = popcount(qOnce & once[i]!) + popcount(qTwice & twice[i]!) + Math.min(qBeyond, beyondTwice[i]!);
        const m = Math.min(la, lb, shared);
        const diff = (qHead ^ heads[i]!) >>> 0;
        if (m / la + m / lb >= NEEDED[diff === 0 ? 4 : Math.clz32(diff) >> 3]!) consider(postings[i]!);
      }
    }
    // Other first letters: the keys (the same filter first; a token reached twice is tested once).
    for (const k of tokenKeys(token)) {
      for (const p of this.byKey.get(k) ?? []) {
        // Tokens of the scanned bucket were tested there.
        if (p.seen === stamp || (first.length === BUCKET_PREFIX ? p.text.startsWith(first) : p.text === first)) continue;
        p.seen = stamp;
        const s = p.signature;
        if (mayMatch(q, s.length, s.once, s.twice, s.beyondTwice, s.head)) consider(p);
      }
    }
    this.similarCache.set(token, { version: this.version, postings: out });
    return out;
  }

  /**
   * Records that can be within `threshold` of the query tokens (see the note at the top): the records
   * of the cover's similar tokens that hold a similar token of every required query token and pass the
   * record bound, plus the spacing-only variants.
   */
  candidates(queryTokens: readonly string[], threshold: number): E[] {
    const out: E[] = [];
    if (!queryTokens.length) return out;
    const stamp = ++this.stamp;
    const weightOf = new Map<string, number>();
    let total = 0;
    for (const t of queryTokens) {
      weightOf.set(t, (weightOf.get(t) ?? 0) + t.length);
      total += t.length;
    }
    // Spacing only: "face book" ≈ "facebook" (0.99) whatever the token coverage says, so these
    // bypass the record bound.
    const compact = queryTokens.join('');
    for (const r of this.byCompact.get(compact) ?? []) {
      r.seen = stamp;
      out.push(r.entry);
    }
    if (queryTokens.length > 1) {
      for (const r of this.byToken.get(compact)?.records ?? []) {
        if (r.seen === stamp) continue;
        r.seen = stamp;
        out.push(r.entry);
      }
    }
    // A set of query tokens weighing more than this cannot all be unmatched in a match.
    const uncovered = (1 - threshold + ROUNDING_MARGIN) * total;
    // Costs are found lazily: a token's own records are a lower bound of its similar tokens' records,
    // so a common word is never expanded while a rarer token may still cover the query.
    const options: Array<CoverOption<E>> = [...weightOf].map(([text, weight]) => ({ text, weight, cost: this.byToken.get(text)?.records.size ?? 0, similar: undefined }));
    const expand = (o: CoverOption<E>): Array<TokenPosting<E>> => {
      if (!o.similar) {
        o.similar = this.similarTokens(o.text);
        o.cost = 0;
        for (const p of o.similar) o.cost += p.records.size;
      }
      return o.similar;
    };
    let cover: Array<CoverOption<E>>;
    if (uncovered >= total) {
      // A threshold this low (≈ 0) leaves nothing to block on: every record with a similar token.
      cover = options;
    } else {
      // Cheapest first until the chosen tokens outweigh what a match may leave unmatched; a heavy
      // token (one that alone outweighs it) is a cover by itself.
      cover = [];
      let weight = 0;
      const open = [...options];
      while (weight <= uncovered && open.length) {
        open.sort((x, y) => x.cost - y.cost || (x.text < y.text ? -1 : 1));
        const o = open[0]!;
        if (!o.similar) {
          expand(o);
          continue;
        }
        open.shift();
        if (o.weight > uncovered) {
          cover = [o];
          break;
        }
        cover.push(o);
        weight += o.weight;
      }
      // Light tokens chosen first may together cost more than one heavy token alone.
      let coverCost = cover.reduce((sum, o) => sum + o.cost, 0);
      for (const o of open) {
        if (o.weight <= uncovered || o.cost >= coverCost) continue;
        expand(o);
        if (o.cost < coverCost) {
          cover = [o];
          coverCost = o.cost;
        }
      }
    }
    let coverCost = 0;
    for (const o of cover) {
      expand(o);
      coverCost += o.cost;
    }
    // A match holds a token similar to every heavy query token. Worth checking only when the cover
    // is large (a common word): their similar tokens are then looked up (common ones are cached) and
    // marked with one bit per required token, so a record is checked by reading its own postings.
    let requiredMask = 0;
    if (coverCost > REQUIRED_CHECK_ABOVE) {
      let bit = 0;
      for (const o of options) {
        if (o.weight <= uncovered || cover.includes(o) || bit === 31) continue;
        const b = 1 << bit++;
        for (const p of expand(o)) {
          if (p.requiredStamp !== stamp) {
            p.requiredStamp = stamp;
            p.requiredBits = 0;
          }
          p.requiredBits |= b;
        }
        requiredMask |= b;
      }
    }
    const bounded = options.length <= BOUND_MAX_TOKENS && threshold > ROUNDING_MARGIN;
    if (bounded) this.loadQuery(options);
    const need = threshold - ROUNDING_MARGIN;
    let read = 0;
    for (const o of cover) {
      for (const p of o.similar!) {
        for (const r of p.records) {
          if (r.seen === stamp) continue;
          r.seen = stamp;
          read++;
          if (requiredMask && !holdsRequired(r, stamp, requiredMask)) continue;
          if (bounded && !this.mayReach(r, options.length, total, need)) continue;
          out.push(r.entry);
        }
      }
    }
    this.stats.recordsRead += read;
    this.stats.candidates += out.length;
    return out;
  }

  private loadQuery(options: ReadonlyArray<CoverOption<E>>): void {
    for (let i = 0; i < options.length; i++) {
      const s = signature(options[i]!.text);
      this.qLength[i] = Math.min(s.length, 0xffff);
      this.qOnce[i] = s.once;
      this.qTwice[i] = s.twice;
      this.qBeyond[i] = Math.min(s.beyondTwice, 0xffff);
      this.qHead[i] = s.head;
      this.qWeight[i] = options[i]!.weight;
    }
  }

  /**
   * The record bound: false only if the record cannot reach `need` against the loaded query. The
   * score is the weaker of two coverages, and a token no token of the other name may match (mayMatch
   * false: Jaro-Winkler < TOKEN_MATCH_FLOOR for certain) adds nothing to either, a matched one at most
   * its length. So (query weight with a possible match) / (query weight) and the same for the
   * record's side bound the score from above. This is exact arithmetic on letter counts, not a
   * heuristic: it removes no record the similarity function would accept. It is what keeps a
   * query like "techli" cheap: its similar token "technologies" (Jaro-Winkler 0.9) sits on 30,000
   * "<brand> Technologies" records whose brand shares too few letters with "techli" to match.
   */
  private mayReach(r: NameRecord<E>, queryCount: number, queryWeight: number, need: number): boolean {
    const { qLength, qOnce, qTwice, qBeyond, qHead } = this;
    let forward = 0;
    let backward = 0;
    for (const p of r.postings) {
      const s = p.signature;
      const lb = s.length;
      let hit = false;
      for (let i = 0; i < queryCount; i++) {
        if (hit && (forward >>> i) & 1) continue;
        const la = qLength[i]!;
        if (lb > 2 * la || 2 * lb < la) continue;
        const shared = popcount(qOnce[i]! & s.once) + popcount(qTwice[i]! & s.twice) + Math.min(qBeyond[i]!, s.beyondTwice);
        const m = Math.min(la, lb, shared);
        const diff = (qHead[i]! ^ s.head) >>> 0;
        if (m / la + m / lb >= NEEDED[diff === 0 ? 4 : Math.clz32(diff) >> 3]!) {
          forward |= 1 << i;
          hit = true;
        }
      }
      if (hit) backward += lb;
    }
    if (backward < need * r.weight) return false;
    let reach = 0;
    for (let i = 0; i < queryCount; i++) if ((forward >>> i) & 1) reach += this.qWeight[i]!;
    return reach >= need * queryWeight;
  }
}

/** Whether a record holds a similar token of every required query token (bits marked in candidates). */
function holdsRequired<E>(r: NameRecord<E>, stamp: number, mask: number): boolean {
  let have = 0;
  for (const p of r.postings) if (p.requiredStamp === stamp) have |= p.requiredBits;
  return (have & mask) === mask;
}
