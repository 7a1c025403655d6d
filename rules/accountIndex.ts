import { normalizeCompanyName, normalizeDomain, tokenNameSimilarity } from '../lib/normalize.js';
import type { ActiveRegistration, VendorAccount } from './types.js';

/**
 * The in-memory index the Rules of Engagement match against: the vendor's accounts and the partners'
 * active registrations, keyed by normalised domain and by name blocking keys, so that a decision
 * looks at a few hundred candidates instead of a million accounts. The sync keeps it current with
 * upsert/remove as it sees vendor accounts and registration status changes (it is never re-read from
 * the CRM per decision).
 *
 * Blocking: every token of the normalised name contributes its first three characters as a key (and
 * the space-free name its own), so a candidate is scored only if it shares a token prefix with the
 * query. Keys shared by more than `maxBlock` records ("glo" of "global") are used only when the query
 * has nothing more selective (then the two smallest are intersected). Results never depend on
 * insertion order: candidates are scored independently and returned sorted by id.
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

/** Blocking keys of a normalised name: 3-character prefixes of its tokens and of its space-free form. */
export function blockingKeys(tokens: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const t of tokens) if (t.length >= 2) keys.add(t.slice(0, 3));
  const compact = tokens.join('');
  if (compact) keys.add(compact.slice(0, 3));
  return [...keys];
}

/** One keyed collection (accounts or registrations). */
class BlockedStore<T extends { id: string }> {
  readonly byId = new Map<string, Entry<T>>();
  private readonly byDomain = new Map<string, Set<Entry<T>>>();
  private readonly byBlock = new Map<string, Set<Entry<T>>>();

  constructor(private readonly maxBlock: number) {}

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
    const hits = new Map<string, Hit<T>>();
    if (opts.useDomains) {
      for (const d of query.domains) {
        for (const e of this.byDomain.get(d) ?? []) hits.set(e.id, { record: e.record, domains: e.domains, score: 1, matchedOn: 'domain' });
      }
    }
    if (query.name) {
      const qTokens = query.name.split(' ');
      const qDomains = opts.useDomains ? query.domains : [];
      for (const e of this.nameCandidates(qTokens)) {
        if (hits.has(e.id)) continue;
        if (opts.requireDomainAgreement && qDomains.length && e.domains.length && opts.useDomains) {
          // Both sides know their domain and none is shared (a shared one would have hit above).
          continue;
        }
        const score = e.name === query.name ? 1 : tokenNameSimilarity(qTokens, e.tokens);
        if (score >= opts.nameThreshold) hits.set(e.id, { record: e.record, domains: e.domains, score, matchedOn: 'name' });
      }
    }
    return [...hits.values()].sort((a, b) => (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
  }

  /** Records sharing a selective blocking key with the query tokens. */
  private *nameCandidates(tokens: readonly string[]): Iterable<Entry<T>> {
    const blocks: Set<Entry<T>>[] = [];
    for (const k of blockingKeys(tokens)) {
      const b = this.byBlock.get(k);
      if (b) blocks.push(b);
    }
    if (!blocks.length) return;
    const selective = blocks.filter((b) => b.size <= this.maxBlock);
    if (selective.length) {
      const seen = new Set<Entry<T>>();
      for (const b of selective) {
        for (const e of b) {
          if (seen.has(e)) continue;
          seen.add(e);
          yield e;
        }
      }
      return;
    }
    // Only common keys: a real match shares (nearly) all of its tokens, so intersect the two smallest.
    blocks.sort((a, b) => a.size - b.size);
    const [smallest, second] = blocks;
    for (const e of smallest!) if (!second || second.has(e)) yield e;
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

export class AccountIndex {
  private readonly accounts: BlockedStore<VendorAccount>;
  private readonly registrations: BlockedStore<ActiveRegistration>;

  constructor(opts: { maxBlock?: number } = {}) {
    this.accounts = new BlockedStore(opts.maxBlock ?? DEFAULT_MAX_BLOCK);
    this.registrations = new BlockedStore(opts.maxBlock ?? DEFAULT_MAX_BLOCK);
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
