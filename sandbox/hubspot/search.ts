import { validation } from './errors.js';
import type { ObjectTypeMeta } from './meta.js';
import type { HubspotPortal } from './portal.js';
import { comparable, parseInstant, type PropertyDef } from './properties.js';
import type { SearchDoc } from './store.js';
import { sortByNumericKeys } from './sortedIndex.js';

/**
 * CRM search: filterGroups (OR) of filters (AND), sorts, offset paging with the 10,000-result cap, over
 * the lagging search index. Filters on hs_object_id or the last-modified property use the store's
 * sorted indexes (a binary-searched slice) instead of scanning every record.
 */
export const SEARCH_RESULT_CAP = 10_000;
export const SEARCH_MAX_LIMIT = 200;

const OPERATORS = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'] as const;
type Operator = (typeof OPERATORS)[number];

export interface SearchFilter {
  propertyName?: string;
  operator?: string;
  value?: unknown;
  values?: unknown[];
  highValue?: unknown;
}

export interface SearchRequest {
  filterGroups?: Array<{ filters?: SearchFilter[] }>;
  sorts?: Array<string | { propertyName?: string; direction?: string }>;
  properties?: string[];
  limit?: number | string;
  after?: string | number;
  query?: string;
}

export interface SearchResult {
  total: number;
  docs: SearchDoc[];
  nextAfter?: string;
}

type Pred = (d: SearchDoc) => boolean;
type IndexName = 'id' | 'modified';
interface Range {
  index: IndexName;
  lo: number;
  hi: number;
}

export function runSearch(portal: HubspotPortal, meta: ObjectTypeMeta, req: SearchRequest): SearchResult {
  const store = portal.store(meta);
  const limits = portal.searchLimits;
  const limit = req.limit === undefined ? 10 : Number(req.limit);
  if (!Number.isInteger(limit) || limit < 0) throw validation(`limit must be a non-negative integer, got ${String(req.limit)}`);
  if (limit > SEARCH_MAX_LIMIT) throw validation(`limit must be less than or equal to ${SEARCH_MAX_LIMIT}, got ${limit}`);
  const after = req.after === undefined || req.after === '' ? 0 : Number(req.after);
  if (!Number.isInteger(after) || after < 0) throw validation(`after must be a non-negative integer offset, got ${String(req.after)}`);
  if (after + limit > SEARCH_RESULT_CAP) {
    throw validation(`The search API returns at most ${SEARCH_RESULT_CAP} results per query; after=${after} with limit=${limit} pages beyond them. Narrow the query (e.g. by hs_object_id or a time window).`, {
      context: { after: [String(after)], limit: [String(limit)] },
    });
  }
  const groups = req.filterGroups ?? [];
  if (!Array.isArray(groups)) throw validation('filterGroups must be an array');
  if (groups.length > limits.maxGroups) throw validation(`Too many filter groups (${groups.length}); the maximum is ${limits.maxGroups}`);
  let totalFilters = 0;
  for (const g of groups) {
    const n = g.filters?.length ?? 0;
    if (n > limits.maxFiltersPerGroup) throw validation(`Too many filters in a group (${n}); the maximum is ${limits.maxFiltersPerGroup}`);
    totalFilters += n;
  }
  if (totalFilters > limits.maxTotalFilters) throw validation(`Too many filters (${totalFilters}); the maximum is ${limits.maxTotalFilters}`);

  store.flushSearch();
  const compiled = groups.map((g) => compileGroup(portal, meta, g.filters ?? []));
  const queryPred = req.query ? compileQuery(meta, req.query) : undefined;

  // Candidate source: one index slice per group when every group has an indexable range, else all docs.
  let candidates: SearchDoc[];
  let naturalOrder: IndexName | undefined;
  const nonEmpty = compiled.filter((g) => g.preds.length > 0 || g.range);
  if (nonEmpty.length === 0 || compiled.some((g) => !g.range)) {
    candidates = store.searchById.items;
    naturalOrder = 'id';
  } else if (compiled.length === 1) {
    candidates = slice(store, compiled[0].range!);
    naturalOrder = compiled[0].range!.index;
  } else {
    const set = new Set<SearchDoc>();
    for (const g of compiled) for (const d of slice(store, g.range!)) set.add(d);
    candidates = [...set];
    naturalOrder = undefined;
  }

  const matches: SearchDoc[] = [];
  const groupPreds = compiled.map((g) => g.preds);
  for (const d of candidates) {
    if (d.dead) continue; // tombstones of superseded versions
    if (queryPred && !queryPred(d)) continue;
    if (groupPreds.length > 0 && !groupPreds.some((preds) => preds.every((p) => p(d)))) continue;
    matches.push(d);
  }

  const sorts = parseSorts(req.sorts);
  const primary = sorts[0];
  const wantOrder: IndexName | undefined =
    sorts.length === 0 || (sorts.length === 1 && primary.name === 'hs_object_id') ? 'id' : sorts.length === 1 && primary.name === meta.modifiedProp ? 'modified' : undefined;
  if (wantOrder && naturalOrder === wantOrder) {
    if (primary?.desc) matches.reverse();
  } else {
    sortDocs(portal, meta, sorts, matches);
  }

  const page = matches.slice(after, after + limit);
  const next = after + limit;
  return { total: matches.length, docs: page, nextAfter: next < matches.length ? String(next) : undefined };
}

function slice(store: ReturnType<HubspotPortal['store']>, r: Range): SearchDoc[] {
  const idx = r.index === 'id' ? store.searchById : store.searchByModified;
  return idx.items.slice(idx.lowerBound(r.lo), idx.upperBound(r.hi));
}

// ---------- filters ----------

function compileGroup(portal: HubspotPortal, meta: ObjectTypeMeta, filters: SearchFilter[]): { preds: Pred[]; range?: Range } {
  const preds: Pred[] = [];
  const ranges: Record<IndexName, { lo: number; hi: number } | undefined> = { id: undefined, modified: undefined };
  for (const f of filters) {
    const op = String(f.operator ?? '') as Operator;
    if (!OPERATORS.includes(op)) throw validation(`Unknown filter operator ${String(f.operator)}; use one of ${OPERATORS.join(', ')}`);
    const name = String(f.propertyName ?? '');
    if (!name) throw validation('Every filter needs a propertyName');
    if (['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'].includes(op) && (f.value === undefined || f.value === null)) {
      throw validation(`Filter ${name} ${op} needs a value`);
    }
    if (op === 'BETWEEN' && (f.highValue === undefined || f.highValue === null)) throw validation(`Filter ${name} BETWEEN needs a highValue`);
    if ((op === 'IN' || op === 'NOT_IN') && !Array.isArray(f.values)) throw validation(`Filter ${name} ${op} needs values`);
    const def = portal.property(meta, name);
    preds.push(compileFilter(meta, def, name, op, f));
    const indexName: IndexName | undefined = name === 'hs_object_id' ? 'id' : name === meta.modifiedProp ? 'modified' : undefined;
    if (indexName) {
      const bounds = rangeOf(op, f, indexName);
      if (bounds) {
        const cur = ranges[indexName] ?? { lo: -Infinity, hi: Infinity };
        ranges[indexName] = { lo: Math.max(cur.lo, bounds.lo), hi: Math.min(cur.hi, bounds.hi) };
      }
    }
  }
  const range = ranges.id ? { index: 'id' as const, ...ranges.id } : ranges.modified ? { index: 'modified' as const, ...ranges.modified } : undefined;
  return { preds, range };
}

function rangeOf(op: Operator, f: SearchFilter, index: IndexName): { lo: number; hi: number } | undefined {
  const num = (v: unknown) => (index === 'id' ? Number(v) : parseInstant(String(v)));
  const v = num(f.value);
  if (op !== 'BETWEEN' && Number.isNaN(v)) return undefined;
  switch (op) {
    case 'EQ': return { lo: v, hi: v };
    case 'GT': return { lo: nextUp(v), hi: Infinity };
    case 'GTE': return { lo: v, hi: Infinity };
    case 'LT': return { lo: -Infinity, hi: nextDown(v) };
    case 'LTE': return { lo: -Infinity, hi: v };
    case 'BETWEEN': {
      const hv = num(f.highValue);
      return Number.isNaN(v) || Number.isNaN(hv) ? undefined : { lo: v, hi: hv };
    }
    default: return undefined;
  }
}

// Keys are integers (ids, epoch ms), so the neighbouring integer is the open bound.
const nextUp = (v: number) => Math.floor(v) + 1;
const nextDown = (v: number) => Math.ceil(v) - 1;

function valueOf(meta: ObjectTypeMeta, name: string): (d: SearchDoc) => string | undefined {
  return (d) => d.props[name];
}

function compileFilter(meta: ObjectTypeMeta, def: PropertyDef | undefined, name: string, op: Operator, f: SearchFilter): Pred {
  const get = valueOf(meta, name);
  // Fast numeric accessors for the indexed properties.
  const num: ((d: SearchDoc) => number) | undefined =
    name === 'hs_object_id' ? (d) => d.idNum : name === meta.modifiedProp ? (d) => d.modified : name === 'createdate' ? (d) => d.createdAt : undefined;
  const key = (raw: string): number | string => comparable(def, raw);
  const keyOfDoc = (d: SearchDoc): number | string | undefined => {
    if (num) return num(d);
    const v = get(d);
    return v === undefined || v === '' ? undefined : key(v);
  };
  const target = f.value === undefined || f.value === null ? undefined : key(String(f.value));
  const multi = def?.type === 'enumeration' && def.fieldType === 'checkbox';
  const eq = (d: SearchDoc): boolean => {
    if (multi) {
      const v = get(d);
      return v !== undefined && v.split(';').some((x) => key(x) === target);
    }
    const k = keyOfDoc(d);
    return k !== undefined && k === target;
  };
  switch (op) {
    case 'EQ': return eq;
    case 'NEQ': return (d) => !eq(d);
    case 'LT': return (d) => { const k = keyOfDoc(d); return k !== undefined && target !== undefined && k < target; };
    case 'LTE': return (d) => { const k = keyOfDoc(d); return k !== undefined && target !== undefined && k <= target; };
    case 'GT': return (d) => { const k = keyOfDoc(d); return k !== undefined && target !== undefined && k > target; };
    case 'GTE': return (d) => { const k = keyOfDoc(d); return k !== undefined && target !== undefined && k >= target; };
    case 'BETWEEN': {
      const hi = key(String(f.highValue));
      return (d) => { const k = keyOfDoc(d); return k !== undefined && target !== undefined && k >= target && k <= hi; };
    }
    case 'IN':
    case 'NOT_IN': {
      const set = new Set((f.values ?? []).map((v) => key(String(v))));
      const isIn = (d: SearchDoc): boolean => {
        if (multi) {
          const v = get(d);
          return v !== undefined && v.split(';').some((x) => set.has(key(x)));
        }
        const k = keyOfDoc(d);
        return k !== undefined && set.has(k);
      };
      return op === 'IN' ? isIn : (d) => !isIn(d);
    }
    case 'HAS_PROPERTY': return (d) => (num ? true : !!get(d));
    case 'NOT_HAS_PROPERTY': return (d) => (num ? false : !get(d));
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      const match = tokenMatcher(String(f.value));
      const has = (d: SearchDoc) => { const v = get(d); return v !== undefined && match(v); };
      return op === 'CONTAINS_TOKEN' ? has : (d) => !has(d);
    }
  }
}

/**
 * CONTAINS_TOKEN: the value is split into words; the filter matches when all of its words occur.
 * `*` is a wildcard (`*@example.com`, `acme*`), matched against the whole value and each word.
 */
function tokenMatcher(filter: string): (value: string) => boolean {
  const f = filter.toLowerCase();
  if (f.includes('*')) {
    const re = new RegExp(`^${f.split('*').map(escapeRe).join('.*')}$`, 'i');
    return (v) => re.test(v) || tokens(v).some((t) => re.test(t));
  }
  const want = tokens(f);
  return (v) => {
    const have = new Set(tokens(v));
    return want.length > 0 && want.every((t) => have.has(t));
  };
}

function tokens(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

const QUERY_PROPS = ['name', 'domain', 'website', 'dealname', 'email', 'firstname', 'lastname', 'phone', 'company'];

/** Free-text `query`: every word must prefix-match a word of one of the default searchable properties. */
function compileQuery(_meta: ObjectTypeMeta, q: string): Pred {
  const words = tokens(q);
  return (d) => {
    const have: string[] = [];
    for (const p of QUERY_PROPS) {
      const v = d.props[p];
      if (v) have.push(...tokens(v));
    }
    return words.every((w) => have.some((h) => h.startsWith(w)));
  };
}

// ---------- sorting ----------

interface SortSpec {
  name: string;
  desc: boolean;
}

function parseSorts(raw: SearchRequest['sorts']): SortSpec[] {
  if (!raw) return [];
  if (!Array.isArray(raw)) throw validation('sorts must be an array');
  return raw.map((s) => {
    if (typeof s === 'string') return s.startsWith('-') ? { name: s.slice(1), desc: true } : { name: s, desc: false };
    const dir = String(s.direction ?? 'ASCENDING').toUpperCase();
    if (dir !== 'ASCENDING' && dir !== 'DESCENDING') throw validation(`Sort direction must be ASCENDING or DESCENDING, got ${dir}`);
    return { name: String(s.propertyName ?? ''), desc: dir === 'DESCENDING' };
  });
}

/**
 * Typed sort; records without a value sort last in either direction; ties by id ascending. Keys are
 * computed once per record (not per comparison), which keeps a 100k-record sort well under a second.
 */
function sortDocs(portal: HubspotPortal, meta: ObjectTypeMeta, sorts: SortSpec[], docs: SearchDoc[]): void {
  const getters = sorts.map((s) => {
    const def = portal.property(meta, s.name);
    if (s.name === 'hs_object_id') return (d: SearchDoc) => d.idNum;
    if (s.name === meta.modifiedProp) return (d: SearchDoc) => d.modified;
    if (s.name === 'createdate') return (d: SearchDoc) => d.createdAt;
    return (d: SearchDoc) => {
      const v = d.props[s.name];
      return v === undefined || v === '' ? undefined : comparable(def, v);
    };
  });
  const desc = sorts.map((s) => s.desc);
  if (getters.length === 1) {
    // One sort key (HubSpot allows only one): numeric keys take the typed-array fast path.
    const keys = docs.map(getters[0]);
    if (keys.every((k) => k === undefined || typeof k === 'number')) {
      const sorted = sortByNumericKeys(docs, keys.map((k) => (k === undefined ? NaN : (k as number))), docs.map((d) => d.idNum), desc[0]);
      for (let i = 0; i < docs.length; i++) docs[i] = sorted[i];
      return;
    }
  }
  const keyed = docs.map((d) => ({ d, k: getters.map((g) => g(d)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < getters.length; i++) {
      const x = a.k[i];
      const y = b.k[i];
      if (x === y) continue;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      const c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return desc[i] ? -c : c;
    }
    return a.d.idNum - b.d.idNum;
  });
  for (let i = 0; i < docs.length; i++) docs[i] = keyed[i].d;
}
