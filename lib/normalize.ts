import QuickLRU from 'quick-lru';
import { getDomain } from 'tldts';

/**
 * Normalisation shared by everything that asks "is this the same company?": the Rules of Engagement
 * (registration conflicts, named accounts), account mapping (overlaps) and the sync's match keys.
 * One implementation, so two features never disagree about whether two records are the same customer.
 * Pure and deterministic (no I/O, no clock, no locale-dependent calls).
 */

/**
 * Mail providers whose domain says nothing about the customer: two contacts at gmail.com are not the
 * same company. Only applied to e-mail addresses (a website on one of these is still returned).
 */
const FREE_MAIL_DOMAINS = new Set([
  'gmail.com', 'googlemail.com', 'yahoo.com', 'yahoo.co.uk', 'yahoo.fr', 'yahoo.de', 'ymail.com', 'hotmail.com',
  'hotmail.co.uk', 'hotmail.fr', 'hotmail.de', 'outlook.com', 'live.com', 'msn.com', 'aol.com', 'icloud.com',
  'me.com', 'mac.com', 'proton.me', 'protonmail.com', 'gmx.de', 'gmx.net', 'gmx.com', 'web.de', 't-online.de',
  'orange.fr', 'free.fr', 'laposte.net', 'mail.com', 'yandex.ru', 'yandex.com', 'qq.com', '163.com', 'zoho.com',
]);

export function isFreeMailDomain(domain: string): boolean {
  return FREE_MAIL_DOMAINS.has(domain.slice(0, MAX_DOMAIN_INPUT).toLowerCase());
}

/**
 * Input bounds. Every normaliser reads at most this much of its input, so a hostile or broken value
 * (a megabyte of dots in a partner's website field) costs a bounded amount of work instead of blocking
 * a worker past its heartbeat. The bounds sit far above anything real: a host name is at most 253
 * characters and a URL's host comes first; no company name is 512 characters long.
 */
export const MAX_DOMAIN_INPUT = 2048;
export const MAX_NAME_INPUT = 512;
/** Jaro-Winkler is O(n·window): compare at most this many characters of each side. */
export const MAX_SIMILARITY_INPUT = 512;
/** Token lists beyond this (only reachable with unnormalised input) are compared on their first tokens. */
export const MAX_NAME_TOKENS = 128;

/**
 * The registrable domain ("acme.co.uk") of a website URL, an e-mail address or a bare domain:
 * lower-case, `www.` and every other subdomain stripped, public-suffix aware (tldts; private suffixes
 * such as github.io count as suffixes, so two tenants of one platform are not the same company).
 * Returns null when there is no usable company domain: empty input, IP addresses, single labels
 * ("localhost"), or an e-mail at a free-mail provider (gmail.com …).
 */
export function normalizeDomain(urlOrEmailOrDomain: string | null | undefined): string | null {
  if (typeof urlOrEmailOrDomain !== 'string') return null;
  // Bounded first, so neither the work nor the cache's keys grow with the input.
  const input = urlOrEmailOrDomain.length > MAX_DOMAIN_INPUT ? urlOrEmailOrDomain.slice(0, MAX_DOMAIN_INPUT) : urlOrEmailOrDomain;
  const cached = domainCache.get(input);
  if (cached !== undefined) return cached === NO_DOMAIN ? null : cached;
  const result = registrableDomain(input);
  domainCache.set(input, result ?? NO_DOMAIN);
  return result;
}

/**
 * The same websites and addresses come back on every deal, contact and sync pass, and the public-suffix
 * lookup is most of the cost of a mapped record: remember recent answers (bounded, least recently used out).
 */
const NO_DOMAIN = '';
const domainCache = new QuickLRU<string, string>({ maxSize: 50_000 });

function registrableDomain(urlOrEmailOrDomain: string): string | null {
  let s = urlOrEmailOrDomain.trim();
  if (!s) return null;
  // "Jane Doe <jane@acme.com>" → the address inside the brackets.
  const angle = /<([^<>]+)>/.exec(s);
  if (angle) s = angle[1]!.trim();
  s = s.replace(/^mailto:/i, '');
  let fromEmail = false;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    const at = s.lastIndexOf('@');
    if (at >= 0) {
      s = s.slice(at + 1);
      fromEmail = true;
    }
  }
  s = s.toLowerCase();
  // Trailing dots ("acme.com."), stripped by a scan: /\.+$/ retries from every dot of a run (quadratic).
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 46) end--;
  s = s.slice(0, end);
  const domain = getDomain(s, { allowPrivateDomains: true });
  if (!domain) return null;
  const result = domain.toLowerCase();
  if (fromEmail && FREE_MAIL_DOMAINS.has(result)) return null;
  return result;
}

/** Legal-form suffixes dropped from the end of company names (after dots are removed: "S.A." → "sa"). */
const LEGAL_SUFFIXES = new Set([
  'inc', 'incorporated', 'llc', 'llp', 'lp', 'ltd', 'limited', 'plc', 'corp', 'corporation', 'co', 'company',
  'gmbh', 'mbh', 'ag', 'kg', 'kgaa', 'ohg', 'ug', 'ev', 'se', 'sa', 'sas', 'sasu', 'sarl', 'eurl', 'sca', 'snc',
  'spa', 'srl', 'sl', 'slu', 'bv', 'nv', 'vof', 'cv', 'ab', 'as', 'asa', 'aps', 'oy', 'oyj', 'pty', 'pte',
  'pvt', 'kk', 'kft', 'zrt', 'sro', 'spzoo', 'doo', 'ooo', 'oao', 'zao', 'pjsc', 'jsc', 'ltda', 'sapi', 'cv',
  'holding', 'holdings', 'group', 'intl', 'international',
]);
/** Multi-token legal forms that survive dot removal as separate tokens ("S. A." → "s a"). */
const LEGAL_SUFFIX_SEQUENCES: ReadonlyArray<ReadonlyArray<string>> = [
  ['s', 'a'], ['s', 'a', 's'], ['b', 'v'], ['n', 'v'], ['a', 'g'], ['s', 'p', 'a'], ['s', 'r', 'l'],
  ['sp', 'z', 'o', 'o'], ['s', 'a', 'r', 'l'], ['p', 'l', 'c'], ['l', 'l', 'c'], ['pty', 'ltd'], ['co', 'kg'],
  ['de', 'cv'], ['s', 'de', 'rl'],
];
/** Letters that NFKD does not decompose into ASCII. */
const SPECIAL_LETTERS: Record<string, string> = {
  ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', þ: 'th', ł: 'l', ı: 'i', ħ: 'h',
};

/** Lower-case, accents removed, `&`/`+` → "and", punctuation removed; the tokens of a name. */
function nameTokens(name: string): string[] {
  // Plain ASCII (most names) needs no Unicode decomposition: skip the costly NFKD pass.
  let s = /^[\x00-\x7f]*$/.test(name) ? name.toLowerCase() : name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  s = s.replace(/[ßæœøđðþłıħ]/g, (c) => SPECIAL_LETTERS[c] ?? c);
  s = s.replace(/[&+]/g, ' and ');
  // Apostrophes and dots join ("O'Reilly" → "oreilly", "S.A." → "sa"); other punctuation separates.
  s = s.replace(/['’`´.]/g, '');
  s = s.replace(/[^a-z0-9]+/g, ' ').trim();
  return s ? s.split(' ') : [];
}

function endsWith(tokens: string[], seq: ReadonlyArray<string>): boolean {
  if (tokens.length <= seq.length) return false; // never strip the whole name
  for (let i = 0; i < seq.length; i++) if (tokens[tokens.length - seq.length + i] !== seq[i]) return false;
  return true;
}

/**
 * Canonical company name for matching: "The Acme Widgets, Inc." → "acme widgets",
 * "Société Générale S.A." → "societe generale", "Procter & Gamble Co." → "procter and gamble".
 * Legal forms (and a dangling "and", as in "Smith & Co") are stripped from the end, a leading "the"
 * from the start, but never the last remaining token. Idempotent.
 */
export function normalizeCompanyName(name: string | null | undefined): string {
  if (typeof name !== 'string') return '';
  const all = nameTokens(name.length > MAX_NAME_INPUT ? name.slice(0, MAX_NAME_INPUT) : name);
  // Leading "the"s by index (shift() per token would be quadratic on "the the the …").
  let first = 0;
  while (all.length - first > 1 && all[first] === 'the') first++;
  const tokens = first ? all.slice(first) : all;
  let changed = true;
  while (changed && tokens.length > 1) {
    changed = false;
    if (tokens[0] === 'the') {
      tokens.shift();
      changed = true;
      continue;
    }
    const last = tokens[tokens.length - 1]!;
    if (LEGAL_SUFFIXES.has(last) || last === 'and') {
      tokens.pop();
      changed = true;
      continue;
    }
    for (const seq of LEGAL_SUFFIX_SEQUENCES) {
      if (endsWith(tokens, seq)) {
        tokens.splice(tokens.length - seq.length, seq.length);
        changed = true;
        break;
      }
    }
  }
  return tokens.join(' ');
}

let scratchA = new Uint8Array(64);
let scratchB = new Uint8Array(64);

/** Jaro-Winkler similarity of two strings (0..1), prefix scale 0.1 over at most 4 characters. */
export function jaroWinkler(a: string, b: string): number {
  if (a.length > MAX_SIMILARITY_INPUT) a = a.slice(0, MAX_SIMILARITY_INPUT);
  if (b.length > MAX_SIMILARITY_INPUT) b = b.slice(0, MAX_SIMILARITY_INPUT);
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  // Reused scratch buffers: this is the hot loop of every name comparison (no allocation per call).
  if (scratchA.length < la) scratchA = new Uint8Array(la * 2);
  if (scratchB.length < lb) scratchB = new Uint8Array(lb * 2);
  const aMatched = scratchA;
  const bMatched = scratchB;
  aMatched.fill(0, 0, la);
  bMatched.fill(0, 0, lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - window);
    const hi = Math.min(lb - 1, i + window);
    const c = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if (!bMatched[j] && b.charCodeAt(j) === c) {
        aMatched[i] = 1;
        bMatched[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (!aMatched[i]) continue;
    while (!bMatched[k]) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const m = matches;
  const jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3;
  let prefix = 0;
  const maxPrefix = Math.min(4, la, lb);
  while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/**
 * Below this Jaro-Winkler score a token counts as unmatched. The rules index relies on it: a name can
 * only reach similarity t if every token longer than (1 − t) of the name's letters is matched.
 */
export const TOKEN_MATCH_FLOOR = 0.9;

/**
 * How well every token of `from` is covered by some token of `to` (each token's best Jaro-Winkler,
 * weighted by token length; below TOKEN_MATCH_FLOOR a token counts as unmatched).
 */
function coverage(from: readonly string[], to: readonly string[], atLeast = 0): number {
  let weight = 0;
  for (const t of from) weight += t.length;
  if (weight === 0) return 0;
  let total = 0;
  let remaining = weight;
  for (const t of from) {
    let best = 0;
    for (const u of to) {
      const s = t === u ? 1 : jaroWinkler(t, u);
      if (s > best) best = s;
      if (best === 1) break;
    }
    // Different words still share letters (JW ≈ 0.5–0.88: "tyrion" vs "tyrsolcy"); give them no
    // credit, so a distinguishing word ("Global Services Gamma" vs "Global Services", "Tyrion
    // Logistics" vs "Tyrsolcy Logistics") really lowers the score.
    if (best < TOKEN_MATCH_FLOOR) best = 0;
    total += best * t.length;
    remaining -= t.length;
    // Early exit (index hot path): even perfect matches for the rest cannot reach `atLeast`.
    if (atLeast > 0 && (total + remaining) / weight < atLeast) return 0;
  }
  return total / weight;
}

/**
 * Similarity of two company names (0..1) after `normalizeCompanyName`: token-set Jaro-Winkler, order
 * independent ("Telekom Deutsche" ≈ "Deutsche Telekom"), and symmetric. It takes the weaker of the two
 * directions, so an extra distinguishing word lowers the score ("Acme" vs "Acme Widgets" ≈ 0.36):
 * matching a customer must not be fooled by a shared first word. Names that differ only in spacing
 * ("Face Book" vs "Facebook") score 0.99.
 */
export function nameSimilarity(a: string, b: string): number {
  const na = normalizeCompanyName(a);
  const nb = normalizeCompanyName(b);
  return normalizedNameSimilarity(na, nb);
}

/** `nameSimilarity` for names that are already normalised (the index stores them that way). */
export function normalizedNameSimilarity(na: string, nb: string): number {
  if (na.length > MAX_NAME_INPUT) na = na.slice(0, MAX_NAME_INPUT);
  if (nb.length > MAX_NAME_INPUT) nb = nb.slice(0, MAX_NAME_INPUT);
  if (!na || !nb) return 0;
  if (na === nb) return 1;
  return tokenNameSimilarity(na.split(' '), nb.split(' '));
}

/** `nameSimilarity` on the tokens of two normalised names (hot path of the rules index: no splitting). */
export function tokenNameSimilarity(ta: readonly string[], tb: readonly string[]): number {
  return tokenNameSimilarityAtLeast(ta, tb, 0);
}

/**
 * `tokenNameSimilarity` when it is at least `min`; otherwise some value below `min` (possibly 0),
 * computed with early exits — the index's candidate scoring, where most candidates miss.
 */
export function tokenNameSimilarityAtLeast(ta: readonly string[], tb: readonly string[], min: number): number {
  if (!ta.length || !tb.length) return 0;
  if (ta.length > MAX_NAME_TOKENS) ta = ta.slice(0, MAX_NAME_TOKENS);
  if (tb.length > MAX_NAME_TOKENS) tb = tb.slice(0, MAX_NAME_TOKENS);
  // Only the spacing differs ("face book" vs "facebook"): the same name, written apart.
  if (ta.length !== tb.length && ta.join('') === tb.join('')) return 0.99;
  // Scores are rounded to 1e-6 below: an unrounded score just under `min` can round up to it, so the
  // early exits use a bound that much lower (found by the property test: 0.7999999… rounds to 0.8).
  const bound = min - 1e-6;
  const forward = coverage(ta, tb, bound);
  if (forward < bound) return forward;
  const tokenScore = Math.min(forward, coverage(tb, ta, bound));
  return Math.round(tokenScore * 1e6) / 1e6;
}
