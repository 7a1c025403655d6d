import { normalizeCompanyName, normalizeDomain, tokenNameSimilarityAtLeast } from '../lib/normalize.js';
import type { ActiveRegistration, VendorAccount } from './types.js';

/**
 * The in-memory index the Rules of Engagement match against: the vendor's accounts and the partners'
 * active registrations, keyed by normalised domain and by name blocking keys, so that a decision
 * looks at a few hundred candidates instead of a million accounts. The sync keeps it current with
 * upsert/remove as it sees vendor accounts and registration status changes (it is never re-read from
 * the CRM per decision).
 *
 * Blocking: every token of a normalised name contributes its 4-, 5- and 7-character prefixes as keys
 * (as far as it is long). A name can only reach similarity t if each of its "heavy" tokens (longer
 * than 1 − t of its letters; see TOKEN_MATCH_FLOOR in lib/normalize.ts) is matched by a similar
 * token, so a query scores only the records in the block of its most selective heavy token (looked up
 * by its 5-character prefix, or 7 when that block is crowded; see probeKey), plus the second most
 * selective one when that is small too, so that one typo in the first letters of one of them still
 * finds the record. Queries without a heavy token (many short tokens) fall back to the union of their
 * blocks, skipping blocks larger than `maxBlock` when a more selective one exists. Results never
 * depend on insertion order: candidates are scored independently and returned sorted by id.
 */

export interface CustomerQuery {
  /** Normalised registrable domains (from normalizeDomain). */
  domains: readonly string[];
  /** Normalised company name (from normalizeCompanyName). */
  name: string;
}

export interface FindOptions {
  nameThreshold: number;
  /** When both sides have a domain and they differ, a similar name alone is not a match. */
  requireDomainAgreement: boolean;
  /** Match on domains at all (policy matching.domain). */
  useDomains: boolean;
}

export interface Hit<T> {
  record: T;
  /** The record's normalised domain(s). */
  domains: readonly string[];
  score: number;
  matchedOn: 'domain' | 'name';
}

interface Entry<T> {
  id: string;
  record: T;
  name: string;
  tokens: readonly string[];
  domains: readonly string[];
}

export const DEFAULT_MAX_BLOCK = 2000;
export interface BlockingOptions {
  /** Fallback path: blocks larger than this are skipped when a more selective one exists. */
  maxBlock?: number;
  /** A 5-character block larger than this is probed by the 7-character prefix instead. */
  crowdedBlock?: number;
  /** The second heavy token's block is probed (typo tolerance) only when at most this large. */
  secondProbeMax?: number;
}

const BLOCKING_DEFAULTS: Required<BlockingOptions> = { maxBlock: DEFAULT_MAX_BLOCK, crowdedBlock: 256, secondProbeMax: 256 };

/**
 * Blocking keys of a normalised name: for each token of 2+ characters its 4-character prefix, and
 * its 5- and 7-character prefixes when it is that long (the more selective keys long tokens are
 * probed by), plus the space-free form's 5-character prefix for multi-token names.
 */
export function blockingKeys(tokens: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const t of tokens) {
    if (t.length >= 2) keys.add(t.slice(0, 4));
    if (t.length >= 5) keys.add(t.slice(0, 5));
    if (t.length >= 7) keys.add(t.slice(0, 7));
  }
  // The space-free form too, so "facebook" finds "Face Book" (it equals the first token's key unless
  // that token is short).
  const compact = tokens.join('');
  if (tokens.length > 1 && compact.length >= 5) keys.add(compact.slice(0, 5));
  if (!keys.size && compact) keys.add(compact.slice(0, 4));
  return [...keys];
}

/** Tokens that every record within `threshold` must match (by length share, see TOKEN_MATCH_FLOOR). */
export function heavyTokens(tokens: readonly string[], threshold: number): string[] {
  const total = tokens.reduce((s, t) => s + t.length, 0);
  const heavy = new Set<string>();
  for (const t of tokens) if (t.length >= 2 && t.length / total > 1 - threshold + 1e-9) heavy.add(t);
  return [...heavy];
}

/** One keyed collection (accounts or registrations). */
class BlockedStore<T extends { id: string }> {
  readonly byId = new Map<string, Entry<T>>();
  private readonly byDomain = new Map<string, Set<Entry<T>>>();
  private readonly byBlock = new Map<string, Set<Entry<T>>>();

  constructor(
    private readonly blocking: Required<BlockingOptions>,
    private readonly stats: IndexStats,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  upsert(record: T, name: string, domains: readonly string[]): void {
    this.remove(record.id);
    const tokens = name ? name.split(' ') : [];
    const entry: Entry<T> = { id: record.id, record, name, tokens, domains };
    this.byId.set(record.id, entry);
    for (const d of domains) add(this.byDomain, d, entry);
    for (const k of blockingKeys(tokens)) add(this.byBlock, k, entry);
  }

  remove(id: string): boolean {
    const old = this.byId.get(id);
    if (!old) return false;
    this.byId.delete(id);
    for (const d of old.domains) drop(this.byDomain, d, old);
    for (const k of blockingKeys(old.tokens)) drop(this.byBlock, k, old);
    return true;
  }

  find(query: CustomerQuery, opts: FindOptions): Hit<T>[] {
    this.stats.lookups++;
    const hits = new Map<string, Hit<T>>();
    if (opts.useDomains) {
      for (const d of query.domains) {
        for (const e of this.byDomain.get(d) ?? []) hits.set(e.id, { record: e.record, domains: e.domains, score: 1, matchedOn: 'domain' });
      }
    }
    if (query.name) {
      const qTokens = query.name.split(' ');
      const qDomains = opts.useDomains ? query.domains : [];
      for (const e of this.nameCandidates(qTokens, opts.nameThreshold)) {
        if (hits.has(e.id)) continue;
        if (opts.requireDomainAgreement && qDomains.length && e.domains.length && opts.useDomains) {
          // Both sides know their domain and none is shared (a shared one would have hit above).
          continue;
        }
        this.stats.nameComparisons++;
        const score = e.name === query.name ? 1 : tokenNameSimilarityAtLeast(qTokens, e.tokens, opts.nameThreshold);
        if (score >= opts.nameThreshold) hits.set(e.id, { record: e.record, domains: e.domains, score, matchedOn: 'name' });
      }
    }
    return [...hits.values()].sort((a, b) => (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
  }

  /**
   * The block a query token is looked up in: its 5-character prefix (4 for short tokens), or its
   * 7-character prefix when the 5-character block is crowded ("stark…") and the token is that long —
   * more selective, at the price of typo tolerance in its first seven letters.
   */
  private probeKey(token: string): string {
    if (token.length < 5) return token.slice(0, 4);
    const p5 = token.slice(0, 5);
    if (token.length >= 7 && (this.byBlock.get(p5)?.size ?? 0) > this.blocking.crowdedBlock) return token.slice(0, 7);
    return p5;
  }

  /** Records that can be within `threshold` of the query tokens (see the blocking note above). */
  private *nameCandidates(tokens: readonly string[], threshold: number): Iterable<Entry<T>> {
    const heavy = heavyTokens(tokens, threshold);
    if (heavy.length) {
      const blocks = [...new Set(heavy.map((t) => this.probeKey(t)))].map((k) => this.byBlock.get(k) ?? EMPTY).sort((a, b) => a.size - b.size);
      // The second block only when it is small too: a common word's block ("unite" of "united")
      // would cost far more than the typo tolerance it buys.
      const probe = blocks.length > 1 && blocks[1]!.size <= this.blocking.secondProbeMax ? blocks.slice(0, 2) : blocks.slice(0, 1);
      yield* unionOf(probe as Set<Entry<T>>[]);
      return;
    }
    const blocks: Set<Entry<T>>[] = [];
    for (const k of blockingKeys(tokens)) {
      const b = this.byBlock.get(k);
      if (b) blocks.push(b);
    }
    if (!blocks.length) return;
    const selective = blocks.filter((b) => b.size <= this.blocking.maxBlock);
    if (selective.length) {
      yield* unionOf(selective);
      return;
    }
    // Only common keys: a real match shares (nearly) all of its tokens, so intersect the two smallest.
    blocks.sort((a, b) => a.size - b.size);
    const [smallest, second] = blocks;
    for (const e of smallest!) if (!second || second.has(e)) yield e;
  }
}

const EMPTY: ReadonlySet<never> = new Set<never>();

function* unionOf<E>(blocks: ReadonlyArray<ReadonlySet<E>>): Iterable<E> {
  if (blocks.length === 1) {
    yield* blocks[0]!;
    return;
  }
  const seen = new Set<E>();
  for (const b of blocks) {
    for (const e of b) {
      if (seen.has(e)) continue;
      seen.add(e);
      yield e;
    }
  }
}

function add<E>(map: Map<string, Set<E>>, key: string, e: E): void {
  let s = map.get(key);
  if (!s) map.set(key, (s = new Set()));
  s.add(e);
}

function drop<E>(map: Map<string, Set<E>>, key: string, e: E): void {
  const s = map.get(key);
  if (!s) return;
  s.delete(e);
  if (!s.size) map.delete(key);
}

/** Normalised, de-duplicated, sorted domains of a record. */
export function recordDomains(...values: Array<string | null | undefined>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    const d = normalizeDomain(v);
    if (d) out.add(d);
  }
  return [...out].sort();
}

/** Counters for benchmarks and ops: how much matching work lookups did. */
export interface IndexStats {
  lookups: number;
  nameComparisons: number;
}

export class AccountIndex {
  readonly stats: IndexStats = { lookups: 0, nameComparisons: 0 };
  private readonly accounts: BlockedStore<VendorAccount>;
  private readonly registrations: BlockedStore<ActiveRegistration>;

  constructor(opts: BlockingOptions = {}) {
    const blocking = { ...BLOCKING_DEFAULTS, ...opts };
    this.accounts = new BlockedStore(blocking, this.stats);
    this.registrations = new BlockedStore(blocking, this.stats);
  }

  get accountCount(): number {
    return this.accounts.size;
  }

  get registrationCount(): number {
    return this.registrations.size;
  }

  /** Add or replace a vendor account (by id). */
  upsertAccount(account: VendorAccount): void {
    this.accounts.upsert(account, normalizeCompanyName(account.name), recordDomains(account.domain));
  }

  removeAccount(id: string): boolean {
    return this.accounts.remove(id);
  }

  getAccount(id: string): VendorAccount | undefined {
    return this.accounts.byId.get(id)?.record;
  }

  /**
   * Add or replace a registration that claims its customer. Registrations that are no longer active
   * (rejected, expired, won, lost) should be removed; upserting one with another status removes it.
   */
  upsertRegistration(registration: ActiveRegistration): void {
    if (!ACTIVE.has(registration.status)) {
      this.registrations.remove(registration.id);
      return;
    }
    this.registrations.upsert(registration, normalizeCompanyName(registration.customerName), recordDomains(registration.website, registration.contactEmail));
  }

  removeRegistration(id: string): boolean {
    return this.registrations.remove(id);
  }

  getRegistration(id: string): ActiveRegistration | undefined {
    return this.registrations.byId.get(id)?.record;
  }

  /** Vendor accounts that are the same customer (domain, or name ≥ threshold), sorted by id. */
  findAccounts(query: CustomerQuery, opts: FindOptions): Hit<VendorAccount>[] {
    return this.accounts.find(query, opts);
  }

  /** Active registrations of the same customer (any partner), sorted by id. */
  findRegistrations(query: CustomerQuery, opts: FindOptions): Hit<ActiveRegistration>[] {
    return this.registrations.find(query, opts);
  }
}

const ACTIVE = new Set<string>(['submitted', 'checked', 'pending-review', 'auto-approved', 'approved']);

/**
 * The one vendor account a customer resolves to (the vendor Opportunity's AccountId): of the accounts
 * `findAccounts` matched — the same match the decision uses — a domain match before a name match,
 * then the higher score, then the smaller id (deterministic whatever the index's insertion order).
 */
export function bestAccount<T extends { id: string }>(hits: readonly Hit<T>[]): Hit<T> | undefined {
  let best: Hit<T> | undefined;
  for (const h of hits) {
    if (!best) {
      best = h;
      continue;
    }
    const rank = (x: Hit<T>) => (x.matchedOn === 'domain' ? 2 : 0) + x.score;
    if (rank(h) > rank(best) || (rank(h) === rank(best) && h.record.id < best.record.id)) best = h;
  }
  return best;
}
