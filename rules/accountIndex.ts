import { normalizeCompanyName, normalizeDomain, tokenNameSimilarityAtLeast } from '../lib/normalize.js';
import { comparedTokens, NameBlocks, type BlockingStats } from './nameBlocking.js';
import type { ActiveRegistration, VendorAccount } from './types.js';

/**
 * The in-memory index the Rules of Engagement match against: the vendor's accounts and the partners'
 * active registrations, keyed by normalised domain and by name blocks, so that a decision scores a
 * few hundred candidates instead of a million accounts. The sync keeps it current with upsert/remove
 * as it sees vendor accounts and registration status changes (it is never re-read from the CRM per
 * decision).
 *
 * Name blocking (rules/nameBlocking.ts, rules/README.md): stored tokens are filed under prefix and
 * suffix keys with one deletion each, a query token finds the stored tokens the similarity function
 * counts as matching, and a query name reads only the records of its rarest tokens that together
 * outweigh what a match may leave unmatched. Every candidate is scored with the exact similarity
 * function, so blocking can only lose a match, never invent one. Results never depend on insertion
 * order: candidates are scored independently and returned sorted by id.
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
  /** The name's tokens as the similarity function compares them. */
  tokens: readonly string[];
  domains: readonly string[];
  /** NameBlocks' record of this entry's name (set by NameBlocks.add). */
  blocked: unknown;
}

/** One keyed collection (accounts or registrations). */
class BlockedStore<T extends { id: string }> {
  readonly byId = new Map<string, Entry<T>>();
  private readonly byDomain = new Map<string, Set<Entry<T>>>();
  private readonly names: NameBlocks<Entry<T>>;

  constructor(private readonly stats: IndexStats) {
    this.names = new NameBlocks(stats);
  }

  get size(): number {
    return this.byId.size;
  }

  get vocabularySize(): number {
    return this.names.vocabularySize;
  }

  upsert(record: T, name: string, domains: readonly string[]): void {
    this.remove(record.id);
    const entry: Entry<T> = { id: record.id, record, name, tokens: comparedTokens(name), domains, blocked: undefined };
    this.byId.set(record.id, entry);
    for (const d of domains) add(this.byDomain, d, entry);
    this.names.add(entry);
  }

  remove(id: string): boolean {
    const old = this.byId.get(id);
    if (!old) return false;
    this.byId.delete(id);
    for (const d of old.domains) drop(this.byDomain, d, old);
    this.names.delete(old);
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
      const qTokens = comparedTokens(query.name);
      const qDomains = opts.useDomains ? query.domains : [];
      for (const e of this.names.candidates(qTokens, opts.nameThreshold)) {
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
export interface IndexStats extends BlockingStats {
  lookups: number;
  /** Candidates scored with the exact similarity function. */
  nameComparisons: number;
}

export class AccountIndex {
  readonly stats: IndexStats = { lookups: 0, nameComparisons: 0, tokenComparisons: 0, recordsRead: 0, candidates: 0 };
  private readonly accounts: BlockedStore<VendorAccount>;
  private readonly registrations: BlockedStore<ActiveRegistration>;

  constructor() {
    this.accounts = new BlockedStore(this.stats);
    this.registrations = new BlockedStore(this.stats);
  }

  get accountCount(): number {
    return this.accounts.size;
  }

  get registrationCount(): number {
    return this.registrations.size;
  }

  /** Distinct name tokens of the vendor accounts (the name blocks' vocabulary). */
  get accountVocabularySize(): number {
    return this.accounts.vocabularySize;
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
