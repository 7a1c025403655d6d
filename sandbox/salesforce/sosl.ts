import { ApiError } from './errors.js';
import type { FieldDef, ObjectDef } from './schema.js';
import { compileQuery, type QueryContext } from './soql.js';
import type { Rec } from './store.js';

/**
 * SOSL (`GET /search?q=FIND {…} …`) and the parameterized search (`/parameterizedSearch`), over the
 * org's records:
 *
 * - The search expression: terms, `"phrases"`, `AND`, `OR`, `AND NOT`, parentheses; terms side by side
 *   mean AND. `*` (any run of letters/digits) and `?` (one) are wildcards. A backslash makes the next
 *   character literal — how the reserved characters `? & | ! { } [ ] ( ) ^ ~ * : \ " ' + -` are searched
 *   for; the first unescaped `}` ends the expression.
 * - Matching is by words, as a search index tokenises: letters and digits, case-insensitive; a term of
 *   several words (`O\'Brien`, `a\-b`, a phrase) matches them side by side in one field. No stemming,
 *   synonyms or relevance: records come in the order SOQL would read them.
 * - `IN ALL|NAME|EMAIL|PHONE|SIDEBAR FIELDS` (ALL: every text, email, phone and URL field; NAME and
 *   SIDEBAR: the name field; EMAIL / PHONE: fields of that type), `RETURNING Obj(fields WHERE … ORDER BY …
 *   LIMIT n OFFSET n), …` (the inside is SOQL, run by the SOQL engine; without a field list only `Id`),
 *   a final `LIMIT n` over all objects (default 2000). Without RETURNING, every searchable object, `Id` only.
 * - Errors as Salesforce sends them: 400 `MALFORMED_SEARCH` for syntax, `INVALID_SEARCH` for a term
 *   shorter than two characters, `INVALID_TYPE` for an unknown object.
 */

/** Objects a search without RETURNING covers (the sandbox's join objects and Organization are not searchable). */
const NOT_SEARCHABLE = new Set(['partner', 'opportunitypartner', 'organization']);
const MAX_LIMIT = 2000;
type Scope = 'ALL' | 'NAME' | 'EMAIL' | 'PHONE' | 'SIDEBAR';

const malformed = (message: string) => new ApiError(400, 'MALFORMED_SEARCH', message);

// ---------- the search expression ----------

/** One word of a term: a pattern over one token. */
type Word = RegExp;
type Expr =
  | { kind: 'term'; words: Word[]; text: string }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'andNot'; left: Expr; right: Expr };

/** A character of the expression, and whether a backslash made it literal. */
interface Ch { c: string; literal: boolean }

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** The words of a term or phrase: split at every character that is not a letter, digit or wildcard. */
function wordsOf(chars: Ch[]): Word[] {
  const out: Word[] = [];
  let cur = '';
  let any = false;
  const flush = () => {
    if (any) out.push(new RegExp(`^${cur}$`, 'iu'));
    cur = '';
    any = false;
  };
  for (const { c, literal } of chars) {
    if (!literal && c === '*') {
      cur += '[\\p{L}\\p{N}]*';
      any = true;
    } else if (!literal && c === '?') {
      cur += '[\\p{L}\\p{N}]';
      any = true;
    } else if (WORD_CHAR.test(c)) {
      cur += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      any = true;
    } else {
      flush();
    }
  }
  flush();
  return out;
}

type Tok = { kind: '(' | ')' } | { kind: 'op'; op: 'AND' | 'OR' | 'NOT' } | { kind: 'term'; chars: Ch[] };

function tokenize(chars: Ch[]): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < chars.length) {
    const { c, literal } = chars[i]!;
    if (!literal && /\s/.test(c)) {
      i++;
    } else if (!literal && (c === '(' || c === ')')) {
      toks.push({ kind: c });
      i++;
    } else if (!literal && c === '"') {
      const phrase: Ch[] = [];
      i++;
      while (i < chars.length && !(chars[i]!.c === '"' && !chars[i]!.literal)) phrase.push(chars[i++]!);
      if (i >= chars.length) throw malformed('unterminated phrase: a quote (") is missing');
      i++;
      toks.push({ kind: 'term', chars: phrase });
    } else {
      const term: Ch[] = [];
      while (i < chars.length) {
        const x = chars[i]!;
        if (!x.literal && (/\s/.test(x.c) || x.c === '(' || x.c === ')' || x.c === '"')) break;
        term.push(x);
        i++;
      }
      const word = term.every((x) => !x.literal) ? term.map((x) => x.c).join('').toUpperCase() : '';
      if (word === 'AND' || word === 'OR' || word === 'NOT') toks.push({ kind: 'op', op: word });
      else toks.push({ kind: 'term', chars: term });
    }
  }
  return toks;
}

function parseExpr(chars: Ch[], raw: string): Expr {
  const toks = tokenize(chars);
  let p = 0;
  const fail = (): never => {
    throw malformed(`unexpected token in the search expression: ${raw}`);
  };
  const primary = (): Expr => {
    const t = toks[p];
    if (!t) return fail();
    if (t.kind === '(') {
      p++;
      const e = or();
      if (toks[p]?.kind !== ')') fail();
      p++;
      return e;
    }
    if (t.kind !== 'term') return fail();
    p++;
    const words = wordsOf(t.chars);
    const text = t.chars.map((x) => x.c).join('');
    return { kind: 'term', words, text };
  };
  const and = (): Expr => {
    let left = primary();
    for (;;) {
      const t = toks[p];
      if (t?.kind === 'op' && t.op === 'AND') {
        p++;
        const n = toks[p];
        if (n?.kind === 'op' && n.op === 'NOT') {
          p++;
          left = { kind: 'andNot', left, right: primary() };
        } else {
          left = { kind: 'and', left, right: primary() };
        }
      } else if (t && (t.kind === 'term' || t.kind === '(')) {
        left = { kind: 'and', left, right: primary() }; // side by side: AND
      } else {
        return left;
      }
    }
  };
  const or = (): Expr => {
    let left = and();
    while (toks[p]?.kind === 'op' && (toks[p] as { op: string }).op === 'OR') {
      p++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const e = or();
  if (p < toks.length) fail();
  return e;
}

/** Letters and digits the expression searches for (wildcards and operators aside). */
function searchedText(e: Expr): string {
  if (e.kind === 'term') return e.text.replace(/[^\p{L}\p{N}]/gu, '');
  return searchedText(e.left) + searchedText(e.right);
}

/** Split the raw expression into characters, backslash escapes resolved. */
function charsOf(raw: string): Ch[] {
  const out: Ch[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && i + 1 < raw.length) out.push({ c: raw[++i]!, literal: true });
    else out.push({ c: raw[i]!, literal: false });
  }
  return out;
}

export function parseSearchExpression(raw: string): Expr {
  const e = parseExpr(charsOf(raw), raw);
  if ([...searchedText(e)].length < 2) throw new ApiError(400, 'INVALID_SEARCH', `search term must be longer than one character: ${raw.trim()}`);
  return e;
}

// ---------- matching ----------

const tokensOf = (v: unknown): string[] => String(v).split(/[^\p{L}\p{N}]+/u).filter(Boolean);

function fieldsIn(o: ObjectDef, scope: Scope): FieldDef[] {
  const all = o.order.map((n) => o.fields.get(n.toLowerCase())!);
  switch (scope) {
    case 'ALL':
      return all.filter((f) => ['string', 'textarea', 'email', 'phone', 'url'].includes(f.type));
    case 'NAME':
    case 'SIDEBAR':
      return all.filter((f) => f.nameField);
    case 'EMAIL':
      return all.filter((f) => f.type === 'email');
    case 'PHONE':
      return all.filter((f) => f.type === 'phone');
  }
}

function matches(e: Expr, fields: string[][]): boolean {
  switch (e.kind) {
    case 'term':
      // A term of punctuation only (an escaped `\&` on its own) is no word to look for: it leaves the rest to decide.
      if (e.words.length === 0) return true;
      return fields.some((toks) => {
        for (let i = 0; i + e.words.length <= toks.length; i++) if (e.words.every((w, j) => w.test(toks[i + j]!))) return true;
        return false;
      });
    case 'and':
      return matches(e.left, fields) && matches(e.right, fields);
    case 'or':
      return matches(e.left, fields) || matches(e.right, fields);
    case 'andNot':
      return matches(e.left, fields) && !matches(e.right, fields);
  }
}

// ---------- the query around it ----------

interface Returning {
  object: string;
  fields?: string;
  where?: string;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

export interface SearchSpec {
  expr: Expr;
  scope: Scope;
  returning?: Returning[];
  limit: number;
}

/** Split at top-level occurrences of `sep` (outside quotes and parentheses). */
function splitTop(s: string, sep: ','): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      cur += c;
      if (c === '\\') cur += s[++i] ?? '';
      else if (c === "'") quote = false;
      continue;
    }
    if (c === "'") quote = true;
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === sep && depth === 0) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/** Positions of a keyword outside quotes in `s`, case-insensitive, as a whole word. */
function keywordAt(s: string, kw: RegExp): number {
  let quote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === "'") quote = false;
      continue;
    }
    if (c === "'") {
      quote = true;
      continue;
    }
    if ((i === 0 || /\s/.test(s[i - 1]!)) && kw.test(s.slice(i))) return i;
  }
  return -1;
}

function intOf(s: string, what: string): number {
  if (!/^\d+$/.test(s.trim())) throw malformed(`${what} must be a non-negative integer: ${s.trim()}`);
  return Number(s.trim());
}

function parseReturningItem(item: string): Returning {
  const m = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\(([\s\S]*)\))?\s*$/.exec(item);
  if (!m) throw malformed(`unexpected token in RETURNING: ${item.trim()}`);
  const r: Returning = { object: m[1]! };
  let inner = m[2];
  if (inner === undefined) return r;
  const cut = (kw: RegExp): string | undefined => {
    const at = keywordAt(inner!, kw);
    if (at < 0) return undefined;
    const tail = inner!.slice(at).replace(kw, '');
    inner = inner!.slice(0, at);
    return tail.trim();
  };
  // From the end: OFFSET, LIMIT, ORDER BY, WHERE.
  const offset = cut(/^OFFSET\b/i);
  const limit = cut(/^LIMIT\b/i);
  const orderBy = cut(/^ORDER\s+BY\b/i);
  const where = cut(/^WHERE\b/i);
  if (offset !== undefined) r.offset = intOf(offset, 'OFFSET');
  if (limit !== undefined) r.limit = intOf(limit, 'LIMIT');
  if (orderBy) r.orderBy = orderBy;
  if (where) r.where = where;
  if (inner.trim()) r.fields = inner.trim();
  return r;
}

/** `FIND {…} [IN x FIELDS] [RETURNING …] [WITH …] [LIMIT n]`. */
export function parseSosl(q: string): SearchSpec {
  const m = /^\s*FIND\s*/i.exec(q);
  if (!m) throw malformed(`unexpected token: ${q.trim().split(/\s+/)[0] ?? ''} (a search starts with FIND {…})`);
  let i = m[0].length;
  let raw: string;
  if (q[i] === '{' || q[i] === "'") {
    const close = q[i] === '{' ? '}' : "'";
    let j = i + 1;
    while (j < q.length && q[j] !== close) j += q[j] === '\\' ? 2 : 1;
    if (j >= q.length) throw malformed(`the search expression is not closed with ${close}: ${q.slice(i)}`);
    raw = q.slice(i + 1, j);
    i = j + 1;
  } else {
    throw malformed(`unexpected token: ${q.slice(i, i + 20)} (the search expression goes in braces: FIND {…})`);
  }
  const spec: SearchSpec = { expr: parseSearchExpression(raw), scope: 'ALL', limit: MAX_LIMIT };
  let rest = q.slice(i).trim();
  const inM = /^IN\s+(\w+)\s+FIELDS\b/i.exec(rest);
  if (inM) {
    const g = inM[1]!.toUpperCase();
    if (!['ALL', 'NAME', 'EMAIL', 'PHONE', 'SIDEBAR'].includes(g)) throw malformed(`Invalid IN fields group: ${inM[1]}`);
    spec.scope = g as Scope;
    rest = rest.slice(inM[0].length).trim();
  }
  // The final LIMIT, then WITH clauses, then RETURNING (all optional, in that order from the end).
  const limAt = topLevel(rest, /^LIMIT\s+\d+\s*$/i);
  if (limAt >= 0) {
    spec.limit = Math.min(MAX_LIMIT, Number(/\d+/.exec(rest.slice(limAt))![0]));
    rest = rest.slice(0, limAt).trim();
  }
  const withAt = topLevel(rest, /^WITH\b/i);
  if (withAt >= 0) {
    const clause = rest.slice(withAt).trim();
    if (!/^WITH\s+SPELL_CORRECTION\s*=\s*(true|false)\s*$/i.test(clause)) throw malformed(`the sandbox does not emulate this clause: ${clause}`);
    rest = rest.slice(0, withAt).trim();
  }
  if (rest) {
    const r = /^RETURNING\b/i.exec(rest);
    if (!r) throw malformed(`unexpected token: ${rest.split(/\s+/)[0]}`);
    spec.returning = splitTop(rest.slice(r[0].length), ',').map(parseReturningItem);
  }
  return spec;
}

/** Parenthesis depth at `index` (quotes aside). */
function depthAt(s: string, index: number): number {
  let depth = 0;
  let quote = false;
  for (let i = 0; i < index; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === "'") quote = false;
    } else if (c === "'") quote = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
  }
  return depth;
}

/** A keyword's first position at parenthesis depth 0, outside quotes. */
function topLevel(s: string, kw: RegExp): number {
  let from = 0;
  for (;;) {
    const at = keywordAt(s.slice(from), kw);
    if (at < 0) return -1;
    if (depthAt(s, from + at) === 0) return from + at;
    from += at + 1;
  }
}

export function runSearch(ctx: QueryContext, spec: SearchSpec, version: string): { searchRecords: Array<Record<string, unknown>> } {
  const targets: Returning[] = spec.returning ?? ctx.objects().filter((o) => !NOT_SEARCHABLE.has(o.name.toLowerCase())).map((o) => ({ object: o.name }));
  const out: Array<Record<string, unknown>> = [];
  for (const t of targets) {
    if (out.length >= spec.limit) break;
    const o = ctx.object(t.object);
    if (!o || NOT_SEARCHABLE.has(o.name.toLowerCase())) throw new ApiError(400, 'INVALID_TYPE', `sObject type '${t.object}' is not supported.`);
    const soql = `SELECT ${t.fields ?? 'Id'} FROM ${o.name}${t.where ? ` WHERE ${t.where}` : ''}${t.orderBy ? ` ORDER BY ${t.orderBy}` : ''}`;
    const q = compileQuery(ctx, soql, { includeDeleted: false });
    const fields = fieldsIn(o, spec.scope);
    const hits: Rec[] = [];
    for (const r of q.rows) {
      const toks = fields.map((f) => (r[f.name] === null || r[f.name] === undefined ? [] : tokensOf(r[f.name])));
      if (matches(spec.expr, toks)) hits.push(r);
    }
    const from = t.offset ?? 0;
    const rows = hits.slice(from, t.limit === undefined ? undefined : from + t.limit);
    for (const r of rows) {
      if (out.length >= spec.limit) break;
      out.push(q.project(r, version));
    }
  }
  return { searchRecords: out };
}
