import { normalizeCompanyName, normalizeDomain } from '../lib/normalize.js';
import type { MatchKind } from './types.js';

/**
 * Match keys of one record, before hashing. Three kinds, strongest first:
 *   domain        — registrable domain ("eu.www.Acme.co.uk/about" → "acme.co.uk");
 *   domain-label  — the registrable domain without its public suffix ("acme"), so acme.com, acme.de and
 *                   acme.co.uk match across country TLDs. Labels shorter than 4 characters are too
 *                   ambiguous ("abc", "ibm" would collide with unrelated firms) and are skipped;
 *   name          — normalised company name (legal suffixes, punctuation, accents, case).
 * Each key is prefixed with its kind before hashing so a name never matches a domain label.
 */
export const MATCH_KIND_INDEX: Record<MatchKind, number> = { domain: 0, 'domain-label': 1, name: 2 };
const MIN_LABEL_LENGTH = 4;
const MIN_NAME_LENGTH = 2;

export interface KeySink {
  (kind: number, key: string): void;
}

/** Emit the prefixed match keys of one record (no allocation beyond the key strings). */
export function emitMatchKeys(domain: string | null | undefined, name: string | null | undefined, sink: KeySink): void {
  const d = normalizeDomain(domain);
  if (d) {
    sink(0, `d:${d}`);
    // A registrable domain is exactly one label plus its public suffix, so the label is its first part.
    const dot = d.indexOf('.');
    if (dot >= MIN_LABEL_LENGTH) sink(1, `l:${d.slice(0, dot)}`);
  }
  const n = normalizeCompanyName(name);
  if (n.length >= MIN_NAME_LENGTH) sink(2, `n:${n}`);
}

export function matchKeys(domain: string | null | undefined, name: string | null | undefined): Array<{ kind: MatchKind; key: string }> {
  const out: Array<{ kind: MatchKind; key: string }> = [];
  const kinds: MatchKind[] = ['domain', 'domain-label', 'name'];
  emitMatchKeys(domain, name, (k, key) => out.push({ kind: kinds[k], key }));
  return out;
}
