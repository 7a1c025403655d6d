import soqlParser from 'soql-parser-js';
import type { Query, WhereClause, Condition } from 'soql-parser-js';
import { ApiError } from './errors.js';
import { normalizeId } from './ids.js';
import { childRelationshipsOf, type FieldDef, type ObjectDef } from './schema.js';
import { Table, type Rec } from './store.js';

/**
 * SOQL: parsed by soql-parser-js, then compiled here into a predicate, a comparator and a projection
 * over the in-memory tables. Supported: field lists with parent relationship paths (`Account.Owner.Name`)
 * and parent-to-child sub-queries (`(SELECT Name FROM Opportunities WHERE … ORDER BY … LIMIT n)`, one level),
 * WHERE with AND/OR/NOT and parentheses, = != <> < > <= >= IN NOT IN LIKE, NULL, date/datetime literals
 * and date constants (TODAY, LAST_N_DAYS:n, ...), ORDER BY (several fields, ASC/DESC, NULLS FIRST/LAST),
 * LIMIT, OFFSET, COUNT() and COUNT(field), FIELDS(ALL|STANDARD|CUSTOM), LIKE with `\%` / `\_` escapes, and the
 * column metadata of `?columns=true`.
 */

const { parseQuery } = soqlParser;

export interface QueryContext {
  object(name: string): ObjectDef | undefined;
  table(name: string): Table;
  objects(): ObjectDef[];
  now(): number;
}

export interface CompiledQuery {
  object: ObjectDef;
  /** Rows in result order (already filtered, ordered, offset and limited). */
  rows: Rec[];
  /** Shape one row for the response. */
  project(rec: Rec, version: string): Record<string, unknown>;
  /** COUNT(): totalSize is the count and there are no records. */
  countOnly: boolean;
  /** COUNT(field) [alias]: one AggregateResult row. */
  aggregate?: { alias: string; value: number };
  /** What `GET /query?q=…&columns=true` answers: the query's columns, without running it (the Salesforce CLI reads these). */
  columns(): QueryColumns;
  /** Parent-to-child sub-queries in the field list (`(SELECT … FROM Opportunities)`), by relationship name. */
  subqueries: string[];
}

export interface QueryColumn {
  aggregate: boolean;
  apexType: string | null;
  booleanType: boolean;
  columnName: string;
  custom: boolean;
  displayName: string;
  foreignKeyName: string | null;
  insertable: boolean;
  joinColumns: QueryColumn[];
  numberType: boolean;
  textType: boolean;
  updatable: boolean;
}

export interface QueryColumns {
  columnMetadata: QueryColumn[];
  entityName: string;
  groupBy: boolean;
  idSelected: boolean;
  keyPrefix: string;
}

const APEX_TYPES: Record<FieldDef['type'], string> = {
  id: 'Id', reference: 'Id', string: 'String', textarea: 'String', picklist: 'String', multipicklist: 'String', url: 'String',
  email: 'String', phone: 'String', boolean: 'Boolean', int: 'Integer', double: 'Double', currency: 'Decimal', percent: 'Double',
  date: 'Date', datetime: 'Datetime',
};

function fieldColumn(f: FieldDef, displayName: string): QueryColumn {
  return {
    aggregate: false, apexType: APEX_TYPES[f.type], booleanType: f.type === 'boolean', columnName: f.name, custom: f.custom,
    displayName, foreignKeyName: null, insertable: f.createable, joinColumns: [], numberType: NUMERIC.has(f.type),
    textType: APEX_TYPES[f.type] === 'String', updatable: f.updateable,
  };
}

/** Selected paths as column metadata: a relationship is one column whose joinColumns hold what was selected through it. */
function queryColumns(selected: ResolvedPath[], aggregate: { alias: string; field?: ResolvedPath } | undefined): QueryColumn[] {
  if (aggregate) {
    return [{ ...fieldColumn(aggregate.field!.field, `COUNT(${aggregate.field!.canonical.join('.')})`), aggregate: true, apexType: 'Integer', columnName: aggregate.alias, numberType: true, textType: false, insertable: false, updatable: false, custom: false, booleanType: false }];
  }
  const top: QueryColumn[] = [];
  for (const p of selected) {
    let level = top;
    for (let i = 0; i < p.canonical.length - 1; i++) {
      const rel = p.canonical[i];
      let col = level.find((c) => c.columnName === rel && c.apexType === null);
      if (!col) {
        col = { aggregate: false, apexType: null, booleanType: false, columnName: rel, custom: rel.endsWith('__r'), displayName: p.canonical.slice(0, i + 1).join('.'), foreignKeyName: null, insertable: false, joinColumns: [], numberType: false, textType: false, updatable: false };
        level.push(col);
      }
      level = col.joinColumns;
    }
    level.push(fieldColumn(p.field, p.canonical.join('.')));
  }
  return top;
}

/** A sub-query's column: an aggregate of the child's columns, as Salesforce describes it. */
const subqueryColumn = (name: string, joinColumns: QueryColumn[]): QueryColumn => ({
  aggregate: true, apexType: null, booleanType: false, columnName: name, custom: name.endsWith('__r'), displayName: name, foreignKeyName: null, insertable: false, joinColumns, numberType: false, textType: false, updatable: false,
});

// ---------- errors in Salesforce's words ----------

/** Where `token` first appears; the empty token is the end of the query (where an `<EOF>` is met). */
function positionOf(soql: string, token: string): { row: number; col: number } {
  const i = token === '' ? soql.length : Math.max(0, soql.toLowerCase().indexOf(token.toLowerCase()));
  const before = soql.slice(0, i).split('\n');
  return { row: before.length, col: before[before.length - 1].length + 1 };
}

function queryError(code: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE', soql: string, token: string, text: string): ApiError {
  const { row, col } = positionOf(soql, token);
  const line = soql.split('\n')[row - 1] ?? soql;
  return new ApiError(400, code, `\n${line}\n${' '.repeat(col - 1)}^\nERROR at Row:${row}:Column:${col}\n${text}`);
}

const noSuchColumn = (soql: string, name: string, entity: string) =>
  queryError('INVALID_FIELD', soql, name, `No such column '${name}' on entity '${entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);

// ---------- value access ----------

type Getter = (rec: Rec) => unknown;

interface ResolvedPath {
  field: FieldDef;
  /** Canonical names along the path: relationship names then the field name. */
  canonical: string[];
  get: Getter;
}

function resolvePath(ctx: QueryContext, soql: string, root: ObjectDef, path: string[], raw: string): ResolvedPath {
  let obj = root;
  const canonical: string[] = [];
  const hops: Array<{ ref: FieldDef; target: string }> = [];
  for (let i = 0; i < path.length - 1; i++) {
    const ref = obj.relationships.get(path[i].toLowerCase());
    if (!ref) throw queryError('INVALID_FIELD', soql, raw, `Didn't understand relationship '${path[i]}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`);
    const target = ref.referenceTo[0];
    const next = ctx.object(target);
    if (!next) throw noSuchColumn(soql, raw, obj.name);
    canonical.push(ref.relationshipName!);
    hops.push({ ref, target });
    obj = next;
  }
  const last = path[path.length - 1];
  const field = obj.fields.get(last.toLowerCase());
  if (!field) throw noSuchColumn(soql, raw, obj.name);
  canonical.push(field.name);
  const name = field.name;
  let get: Getter;
  if (hops.length === 0) {
    get = (rec) => rec[name];
  } else {
    const tables = hops.map((h) => ctx.table(h.target));
    get = (rec) => {
      let cur: Rec | undefined = rec;
      for (let i = 0; i < hops.length && cur; i++) {
        const id: unknown = cur[hops[i].ref.name];
        cur = typeof id === 'string' ? tables[i].byId.get(id) : undefined;
      }
      return cur ? cur[name] : null;
    };
  }
  return { field, canonical, get };
}

// ---------- literals ----------

function unquote(s: string): string {
  const inner = s.startsWith("'") && s.endsWith("'") ? s.slice(1, -1) : s;
  return inner.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' })[c] ?? c);
}

export function parseInstant(s: string): number {
  // Salesforce writes offsets as +0000; Date.parse wants +00:00.
  const t = Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return t;
}

const DAY = 86_400_000;
const startOfDay = (t: number) => t - (((t % DAY) + DAY) % DAY);

/** A date constant as a half-open range [from, to) of epoch ms (UTC). */
function dateLiteralRange(literal: string, n: number | undefined, now: number): [number, number] | undefined {
  const today = startOfDay(now);
  const d = new Date(today);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const dow = d.getUTCDay(); // weeks start on Sunday, as in a US-locale org
  const weekStart = today - dow * DAY;
  const q = Math.floor(m / 3);
  const k = n ?? 1;
  switch (literal.toUpperCase()) {
    case 'TODAY': return [today, today + DAY];
    case 'YESTERDAY': return [today - DAY, today];
    case 'TOMORROW': return [today + DAY, today + 2 * DAY];
    case 'LAST_WEEK': return [weekStart - 7 * DAY, weekStart];
    case 'THIS_WEEK': return [weekStart, weekStart + 7 * DAY];
    case 'NEXT_WEEK': return [weekStart + 7 * DAY, weekStart + 14 * DAY];
    case 'LAST_MONTH': return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1)];
    case 'THIS_MONTH': return [Date.UTC(y, m, 1), Date.UTC(y, m + 1, 1)];
    case 'NEXT_MONTH': return [Date.UTC(y, m + 1, 1), Date.UTC(y, m + 2, 1)];
    case 'LAST_QUARTER': return [Date.UTC(y, (q - 1) * 3, 1), Date.UTC(y, q * 3, 1)];
    case 'THIS_QUARTER': return [Date.UTC(y, q * 3, 1), Date.UTC(y, q * 3 + 3, 1)];
    case 'NEXT_QUARTER': return [Date.UTC(y, q * 3 + 3, 1), Date.UTC(y, q * 3 + 6, 1)];
    case 'LAST_YEAR': return [Date.UTC(y - 1, 0, 1), Date.UTC(y, 0, 1)];
    case 'THIS_YEAR': return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1)];
    case 'NEXT_YEAR': return [Date.UTC(y + 1, 0, 1), Date.UTC(y + 2, 0, 1)];
    case 'LAST_90_DAYS': return [today - 90 * DAY, today + DAY];
    case 'NEXT_90_DAYS': return [today + DAY, today + 91 * DAY];
    case 'LAST_N_DAYS': return [today - k * DAY, today + DAY];
    case 'NEXT_N_DAYS': return [today + DAY, today + (k + 1) * DAY];
    case 'N_DAYS_AGO': return [today - k * DAY, today - (k - 1) * DAY];
    case 'LAST_N_WEEKS': return [weekStart - 7 * k * DAY, weekStart];
    case 'NEXT_N_WEEKS': return [weekStart + 7 * DAY, weekStart + 7 * (k + 1) * DAY];
    case 'LAST_N_MONTHS': return [Date.UTC(y, m - k, 1), Date.UTC(y, m, 1)];
    case 'NEXT_N_MONTHS': return [Date.UTC(y, m + 1, 1), Date.UTC(y, m + 1 + k, 1)];
    case 'LAST_N_YEARS': return [Date.UTC(y - k, 0, 1), Date.UTC(y, 0, 1)];
    case 'NEXT_N_YEARS': return [Date.UTC(y + 1, 0, 1), Date.UTC(y + 1 + k, 0, 1)];
    default: return undefined;
  }
}

const TEMPORAL = new Set(['date', 'datetime']);
const NUMERIC = new Set(['int', 'double', 'currency', 'percent']);
const ID_LIKE = new Set(['id', 'reference']);

/** Field value → comparable (numbers for numbers and instants; strings lower-cased except ids). */
function comparable(f: FieldDef, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (f.type === 'date') return typeof v === 'string' ? Date.parse(`${v}T00:00:00Z`) : v;
  if (f.type === 'datetime') return v;
  if (typeof v === 'string' && !ID_LIKE.has(f.type) && !f.caseSensitive) return v.toLowerCase();
  return v;
}

// ---------- WHERE ----------

type Pred = (rec: Rec) => boolean;
type Token = '(' | ')' | 'AND' | 'OR' | 'NOT' | { cond: Condition };

function flattenWhere(w: WhereClause | undefined, out: Token[]): void {
  if (!w) return;
  const node = w as any;
  if (node.left === null && node.operator === 'NOT') {
    out.push('NOT');
    flattenWhere(node.right, out);
    return;
  }
  if (node.left) {
    const c = node.left as any;
    for (let i = 0; i < (c.openParen ?? 0); i++) out.push('(');
    out.push({ cond: c });
    for (let i = 0; i < (c.closeParen ?? 0); i++) out.push(')');
  }
  if (node.operator === 'AND' || node.operator === 'OR') out.push(node.operator);
  else if (node.operator === 'NOT') out.push('AND', 'NOT');
  if (node.right) flattenWhere(node.right, out);
}

function compileCondition(ctx: QueryContext, soql: string, root: ObjectDef, c: any): Pred {
  if (c.fn) throw queryError('MALFORMED_QUERY', soql, c.fn.rawValue ?? c.fn.functionName, `The sandbox does not support the function ${String(c.fn.functionName)} in WHERE`);
  if (c.valueQuery) throw queryError('MALFORMED_QUERY', soql, 'SELECT', 'The sandbox does not support semi-join sub-queries');
  const raw: string = c.field;
  const path = raw.split('.');
  const { field: f, get } = resolvePath(ctx, soql, root, path, raw);
  const op: string = String(c.operator).toUpperCase();
  const lt: string = c.literalType ?? '';
  const typeError = (what: string) => queryError('INVALID_FIELD', soql, raw, `value of filter criterion for field '${f.name}' must be of type ${what} and should not be enclosed in quotes`);

  // Convert one literal to the comparable domain of the field; ranges for date constants.
  const literal = (value: string, type: string, n?: number): unknown => {
    if (type === 'NULL') return null;
    if (TEMPORAL.has(f.type)) {
      if (type === 'STRING') throw typeError(f.type === 'date' ? 'date' : 'dateTime');
      if (type === 'DATE') {
        if (f.type === 'datetime') throw typeError('dateTime');
        return Date.parse(`${value}T00:00:00Z`);
      }
      if (type === 'DATETIME') {
        const t = parseInstant(value);
        if (Number.isNaN(t)) throw queryError('MALFORMED_QUERY', soql, value, `line 1:0 no viable alternative at character '${value}'`);
        return f.type === 'date' ? startOfDay(t) : t;
      }
      if (type === 'DATE_LITERAL' || type === 'DATE_N_LITERAL') {
        const [name] = value.split(':');
        const r = dateLiteralRange(name, n, ctx.now());
        if (!r) throw queryError('MALFORMED_QUERY', soql, value, `unexpected token: ${value}`);
        return { range: r };
      }
      throw typeError(f.type === 'date' ? 'date' : 'dateTime');
    }
    if (NUMERIC.has(f.type)) {
      if (type === 'STRING') throw typeError('double');
      const num = Number(value);
      if (Number.isNaN(num)) throw typeError('double');
      return num;
    }
    if (f.type === 'boolean') {
      if (type !== 'BOOLEAN') throw typeError('boolean');
      return value.toUpperCase() === 'TRUE';
    }
    if (type !== 'STRING') throw queryError('INVALID_FIELD', soql, raw, `value of filter criterion for field '${f.name}' must be of type string and should be enclosed in quotes`);
    const s = unquote(value);
    if (ID_LIKE.has(f.type)) return normalizeId(s) ?? s;
    return f.caseSensitive ? s : s.toLowerCase();
  };

  const lits: string[] = Array.isArray(c.value) ? c.value : [c.value];
  const litTypes: string[] = Array.isArray(c.literalType) ? c.literalType : lits.map(() => lt);
  const values = lits.map((v, i) => literal(String(v), litTypes[i] ?? lt, c.dateLiteralVariable));
  const cmp = (a: any, b: any) => (a < b ? -1 : a > b ? 1 : 0);
  const read = (rec: Rec) => comparable(f, get(rec));

  const v0 = values[0] as any;
  if (v0 && typeof v0 === 'object' && 'range' in v0) {
    const [from, to] = v0.range as [number, number];
    const inRange = (x: any) => x !== null && x >= from && x < to;
    switch (op) {
      case '=': return (r) => inRange(read(r));
      case '!=': case '<>': return (r) => { const x = read(r); return x !== null && !inRange(x); };
      case '<': return (r) => { const x: any = read(r); return x !== null && x < from; };
      case '<=': return (r) => { const x: any = read(r); return x !== null && x < to; };
      case '>': return (r) => { const x: any = read(r); return x !== null && x >= to; };
      case '>=': return (r) => { const x: any = read(r); return x !== null && x >= from; };
      default: throw queryError('MALFORMED_QUERY', soql, op, `unexpected token: ${op}`);
    }
  }
  switch (op) {
    case '=': return v0 === null ? (r) => read(r) === null : (r) => read(r) === v0;
    case '!=': case '<>': return v0 === null ? (r) => read(r) !== null : (r) => read(r) !== v0;
    case '<': return (r) => { const x = read(r); return x !== null && v0 !== null && cmp(x, v0) < 0; };
    case '<=': return (r) => { const x = read(r); return x !== null && v0 !== null && cmp(x, v0) <= 0; };
    case '>': return (r) => { const x = read(r); return x !== null && v0 !== null && cmp(x, v0) > 0; };
    case '>=': return (r) => { const x = read(r); return x !== null && v0 !== null && cmp(x, v0) >= 0; };
    case 'IN': { const set = new Set(values); return (r) => set.has(read(r)); }
    case 'NOT IN': { const set = new Set(values); return (r) => { const x = read(r); return x !== null && !set.has(x); }; }
    case 'LIKE': {
      if (typeof v0 !== 'string' || lits.length !== 1) throw queryError('INVALID_FIELD', soql, raw, `invalid operator on field '${f.name}': LIKE`);
      // From the literal as written: unquoting first would turn the escaped \% and \_ into wildcards.
      const re = likeToRegExp(lits[0]);
      return (r) => { const x = get(r); return typeof x === 'string' && re.test(x); };
    }
    case 'INCLUDES': case 'EXCLUDES': {
      const wanted = values.map((v) => String(v).toLowerCase());
      const has = (x: unknown) => typeof x === 'string' && x.toLowerCase().split(';').some((p) => wanted.includes(p));
      return op === 'INCLUDES' ? (r) => has(get(r)) : (r) => !has(get(r));
    }
    default:
      throw queryError('MALFORMED_QUERY', soql, op, `unexpected token: ${op}`);
  }
}

/**
 * A LIKE pattern, as the quoted literal is written, to an anchored case-insensitive RegExp. `%` is any
 * run of characters and `_` exactly one; `\%` and `\_` are a literal percent sign and underscore (the
 * only place SOQL allows those escapes), and the string-literal escapes (`\'`, `\\`, `\n`, …) keep their
 * meaning.
 */
function likeToRegExp(literal: string): RegExp {
  const pattern = literal.startsWith("'") && literal.endsWith("'") && literal.length >= 2 ? literal.slice(1, -1) : literal;
  const quote = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) {
      const next = pattern[++i];
      re += quote(({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' } as Record<string, string>)[next] ?? next);
    } else if (ch === '%') re += '[\\s\\S]*';
    else if (ch === '_') re += '[\\s\\S]';
    else re += quote(ch);
  }
  return new RegExp(`^${re}$`, 'iu');
}

/** Recursive descent over the flattened tokens: OR < AND < NOT < primary. */
function compileWhere(ctx: QueryContext, soql: string, root: ObjectDef, where: WhereClause | undefined): Pred | undefined {
  if (!where) return undefined;
  const tokens: Token[] = [];
  flattenWhere(where, tokens);
  let pos = 0;
  const peek = () => tokens[pos];
  const orExpr = (): Pred => {
    const parts = [andExpr()];
    while (peek() === 'OR') { pos++; parts.push(andExpr()); }
    return parts.length === 1 ? parts[0] : (r) => parts.some((p) => p(r));
  };
  const andExpr = (): Pred => {
    const parts = [notExpr()];
    while (peek() === 'AND') { pos++; parts.push(notExpr()); }
    return parts.length === 1 ? parts[0] : (r) => parts.every((p) => p(r));
  };
  const notExpr = (): Pred => {
    if (peek() === 'NOT') { pos++; const inner = notExpr(); return (r) => !inner(r); }
    return primary();
  };
  const primary = (): Pred => {
    const t = tokens[pos++];
    if (t === '(') {
      const inner = orExpr();
      if (tokens[pos++] !== ')') throw queryError('MALFORMED_QUERY', soql, 'WHERE', 'unexpected token: unbalanced parentheses');
      return inner;
    }
    if (t && typeof t === 'object') return compileCondition(ctx, soql, root, t.cond);
    throw queryError('MALFORMED_QUERY', soql, 'WHERE', `unexpected token: ${String(t)}`);
  };
  const pred = orExpr();
  if (pos !== tokens.length) throw queryError('MALFORMED_QUERY', soql, 'WHERE', 'unexpected token');
  return pred;
}

type WhereAst = { kind: 'and' | 'or'; parts: WhereAst[] } | { kind: 'not'; inner: WhereAst } | { kind: 'cond'; cond: any };

/** The flattened WHERE tokens as a tree (same precedence as compileWhere); undefined if it does not parse. */
function whereAst(tokens: Token[]): WhereAst | undefined {
  let pos = 0;
  const orExpr = (): WhereAst => {
    const parts = [andExpr()];
    while (tokens[pos] === 'OR') { pos++; parts.push(andExpr()); }
    return parts.length === 1 ? parts[0] : { kind: 'or', parts };
  };
  const andExpr = (): WhereAst => {
    const parts = [notExpr()];
    while (tokens[pos] === 'AND') { pos++; parts.push(notExpr()); }
    return parts.length === 1 ? parts[0] : { kind: 'and', parts };
  };
  const notExpr = (): WhereAst => {
    if (tokens[pos] === 'NOT') { pos++; return { kind: 'not', inner: notExpr() }; }
    const t = tokens[pos++];
    if (t === '(') { const inner = orExpr(); pos++; return inner; }
    if (t && typeof t === 'object') return { kind: 'cond', cond: t.cond };
    throw new Error('unparsable');
  };
  try {
    return tokens.length ? orExpr() : undefined;
  } catch {
    return undefined;
  }
}

type Bound = { stamp: number; exclusive: boolean };
const tighter = (a: Bound, b: Bound) => (a.stamp !== b.stamp ? (a.stamp > b.stamp ? a : b) : a.exclusive ? a : b);
const looser = (a: Bound, b: Bound) => (a.stamp !== b.stamp ? (a.stamp < b.stamp ? a : b) : a.exclusive ? b : a);

function boundOf(node: WhereAst): Bound | undefined {
  switch (node.kind) {
    case 'cond': {
      const c = node.cond;
      if (String(c.field).toLowerCase() !== 'systemmodstamp' || c.literalType !== 'DATETIME') return undefined;
      if (c.operator !== '>' && c.operator !== '>=' && c.operator !== '=') return undefined;
      const stamp = parseInstant(String(c.value));
      return Number.isNaN(stamp) ? undefined : { stamp, exclusive: c.operator === '>' };
    }
    case 'and': {
      let best: Bound | undefined;
      for (const p of node.parts) {
        const b = boundOf(p);
        if (b) best = best ? tighter(best, b) : b;
      }
      return best;
    }
    case 'or': {
      // Every branch must bound the scan, and the loosest bound wins: the keyset cursor
      // `(TS > t OR (TS = t AND Id > id))` implies TS >= t.
      let worst: Bound | undefined;
      for (const p of node.parts) {
        const b = boundOf(p);
        if (!b) return undefined;
        worst = worst ? looser(worst, b) : b;
      }
      return worst;
    }
    case 'not':
      return undefined;
  }
}

/** The lower bound on SystemModstamp the WHERE clause implies, if any (used to start an index scan). */
function modstampLowerBound(where: WhereClause | undefined): Bound | undefined {
  const tokens: Token[] = [];
  flattenWhere(where, tokens);
  const ast = whereAst(tokens);
  return ast ? boundOf(ast) : undefined;
}

// ---------- output ----------

export function formatDatetime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

export function outputValue(f: FieldDef, v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (f.type === 'datetime' && typeof v === 'number') return formatDatetime(v);
  return v;
}

export function recordUrl(version: string, type: string, id: string): string {
  return `/services/data/${version}/sobjects/${type}/${id}`;
}

// ---------- the query ----------

export function compileQuery(ctx: QueryContext, soql: string, opts: { includeDeleted: boolean }): CompiledQuery {
  let q: Query;
  try {
    q = parseQuery(soql) as Query;
  } catch (e) {
    // The parser names what it found on the message's last line; nothing found is the end of the query.
    const msg = (e as Error).message;
    const found = (/found --> '?(.*?)'? <--/.exec(msg) ?? /but found: '(.*)'/.exec(msg))?.[1];
    if (found === '') throw queryError('MALFORMED_QUERY', soql, '', 'unexpected token: <EOF>');
    const token = found || soql.trim().split(/\s+/)[0] || soql;
    throw queryError('MALFORMED_QUERY', soql, token, `unexpected token: ${token}`);
  }
  return compileParsed(ctx, soql, q, opts, false);
}

/** A parent-to-child sub-query: its compiled query (every matching child, in order) and how to group it. */
interface ChildQuery {
  name: string;
  field: string;
  query: CompiledQuery;
  limit?: number;
  byParent?: Map<unknown, Rec[]>;
}

function compileParsed(ctx: QueryContext, soql: string, q: Query, opts: { includeDeleted: boolean }, nested: boolean): CompiledQuery {
  if (!q.sObject) throw queryError('MALFORMED_QUERY', soql, 'FROM', 'unexpected token: FROM');
  const object = ctx.object(q.sObject);
  if (!object) {
    throw queryError('INVALID_TYPE', soql, q.sObject, `sObject type '${q.sObject}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`);
  }
  if ((q as any).groupBy || (q as any).having) throw queryError('MALFORMED_QUERY', soql, 'GROUP', 'The sandbox does not support GROUP BY');

  // Field list.
  let countOnly = false;
  let aggregate: { alias: string; field?: ResolvedPath } | undefined;
  const selected: ResolvedPath[] = [];
  const children: ChildQuery[] = [];
  for (const fld of q.fields ?? []) {
    const f = fld as any;
    if (f.type === 'Field') selected.push(resolvePath(ctx, soql, object, [f.field], f.field));
    else if (f.type === 'FieldRelationship') selected.push(resolvePath(ctx, soql, object, [...f.relationships, f.field], f.rawValue ?? f.field));
    else if (f.type === 'FieldFunctionExpression' && String(f.functionName).toUpperCase() === 'FIELDS') {
      const group = String(f.parameters?.[0] ?? '').toUpperCase();
      if (group !== 'ALL' && group !== 'STANDARD' && group !== 'CUSTOM') throw queryError('MALFORMED_QUERY', soql, f.rawValue ?? 'FIELDS', `unexpected token: ${String(f.parameters?.[0] ?? ')')}`);
      // ALL and CUSTOM are unbounded (custom fields can be added at any time): REST takes them only with LIMIT <= 200.
      if (group !== 'STANDARD' && (q.limit === undefined || (q.limit ?? 0) > 200)) throw queryError('MALFORMED_QUERY', soql, f.rawValue ?? 'FIELDS', 'The SOQL FIELDS function must have a LIMIT of at most 200');
      for (const name of object.order) {
        const def = object.fields.get(name.toLowerCase())!;
        if (group === 'ALL' || (group === 'CUSTOM') === def.custom) selected.push(resolvePath(ctx, soql, object, [name], name));
      }
    } else if (f.type === 'FieldFunctionExpression' && String(f.functionName).toUpperCase() === 'COUNT') {
      if (!f.parameters?.length) countOnly = true;
      else aggregate = { alias: f.alias ?? 'expr0', field: resolvePath(ctx, soql, object, String(f.parameters[0]).split('.'), String(f.parameters[0])) };
    } else if (f.type === 'FieldSubquery' && !nested) {
      // Children of each row through a child relationship (Account → Opportunities): compiled over the
      // child object once, LIMIT applied per parent, as Salesforce applies it.
      const sub = f.subquery as Query & { relationshipName: string };
      const rel = childRelationshipsOf(object, ctx.objects()).find((c) => c.relationshipName?.toLowerCase() === String(sub.relationshipName).toLowerCase());
      if (!rel) throw queryError('INVALID_TYPE', soql, String(sub.relationshipName), `Didn't understand relationship '${String(sub.relationshipName)}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`);
      const query = compileParsed(ctx, soql, { ...sub, sObject: rel.childSObject, limit: undefined, offset: undefined } as Query, opts, true);
      children.push({ name: rel.relationshipName!, field: rel.field, query, limit: sub.limit });
    } else if (f.type === 'FieldSubquery') {
      throw queryError('MALFORMED_QUERY', soql, '(SELECT', 'unexpected token: (SELECT: a sub-query cannot hold another');
    } else {
      throw queryError('MALFORMED_QUERY', soql, f.rawValue ?? f.functionName ?? 'SELECT', `The sandbox does not support ${String(f.rawValue ?? f.type)} in the field list`);
    }
  }
  if (countOnly && selected.length) throw queryError('MALFORMED_QUERY', soql, 'COUNT()', 'COUNT() must be the only element in the SELECT list.');
  const seen = new Set<string>();
  for (const p of selected) {
    const key = p.canonical.join('.').toLowerCase();
    if (seen.has(key)) throw new ApiError(400, 'INVALID_FIELD', `duplicate field selected: ${p.canonical.join('.')}`);
    seen.add(key);
  }

  const pred = compileWhere(ctx, soql, object, q.where);

  // Order.
  const orderBy = ((q as any).orderBy ? ([] as any[]).concat((q as any).orderBy) : []).map((o: any) => {
    if (o.fn) throw queryError('MALFORMED_QUERY', soql, 'ORDER BY', 'The sandbox does not support functions in ORDER BY');
    const path = String(o.field).split('.');
    const p = resolvePath(ctx, soql, object, path, String(o.field));
    const desc = String(o.order ?? 'ASC').toUpperCase() === 'DESC';
    // Salesforce default: NULLS FIRST for ascending, NULLS LAST for descending.
    const nullsFirst = o.nulls ? String(o.nulls).toUpperCase() === 'FIRST' : !desc;
    return { p, desc, nullsFirst };
  });

  // Candidates: the SystemModstamp index when the query is an incremental read, else every row.
  const table = ctx.table(object.name);
  const lower = modstampLowerBound(q.where);
  let rows: Rec[] = [];
  const keep = (rec: Rec) => (opts.includeDeleted || !rec.IsDeleted) && (!pred || pred(rec));
  const indexOrder = orderBy.length >= 1 && orderBy[0].p.canonical.join('.') === 'SystemModstamp' && !orderBy[0].desc &&
    (orderBy.length === 1 || (orderBy.length === 2 && orderBy[1].p.canonical.join('.') === 'Id' && !orderBy[1].desc));
  if (lower || indexOrder) {
    const entries = table.byModstamp();
    const start = lower ? Table.lowerBound(entries, lower.stamp, lower.exclusive) : 0;
    const limitHint = indexOrder && q.limit !== undefined ? (q.limit ?? 0) + ((q as any).offset ?? 0) : Infinity;
    for (let i = start; i < entries.length && rows.length < limitHint; i++) {
      const rec = entries[i].rec;
      if (keep(rec)) rows.push(rec);
    }
  } else {
    for (const rec of table.byId.values()) if (keep(rec)) rows.push(rec);
  }
  if (orderBy.length && !indexOrder) {
    const keys = orderBy.map((o) => ({ ...o, read: (r: Rec) => comparable(o.p.field, o.p.get(r)) }));
    rows.sort((a, b) => {
      for (const k of keys) {
        const x: any = k.read(a);
        const y: any = k.read(b);
        if (x === y) continue;
        if (x === null) return k.nullsFirst ? -1 : 1;
        if (y === null) return k.nullsFirst ? 1 : -1;
        const c = x < y ? -1 : x > y ? 1 : 0;
        if (c !== 0) return k.desc ? -c : c;
      }
      return 0;
    });
  }
  const offset = (q as any).offset ?? 0;
  if (offset > 2000) throw queryError('MALFORMED_QUERY', soql, 'OFFSET', 'Maximum SOQL offset allowed is 2000');
  if (offset || q.limit !== undefined) rows = rows.slice(offset, q.limit !== undefined ? offset + (q.limit ?? 0) : undefined);

  const project = (rec: Rec, version: string): Record<string, unknown> => {
    const out: Record<string, unknown> = { attributes: { type: object.name, url: recordUrl(version, object.name, rec.Id) } };
    for (const p of selected) {
      if (p.canonical.length === 1) {
        out[p.field.name] = outputValue(p.field, p.get(rec));
        continue;
      }
      // Parent relationship: nested objects with their own attributes, or null when the lookup is empty.
      let cur: Record<string, unknown> = out;
      let obj = object;
      let src: Rec | undefined = rec;
      for (let i = 0; i < p.canonical.length - 1; i++) {
        const relName = p.canonical[i];
        const ref = obj.relationships.get(relName.toLowerCase())!;
        const target = ref.referenceTo[0];
        const id: unknown = src?.[ref.name];
        src = typeof id === 'string' ? ctx.table(target).byId.get(id) : undefined;
        if (!src) {
          if (!(relName in cur)) cur[relName] = null;
          break;
        }
        const existing = cur[relName];
        const next = existing && typeof existing === 'object' ? (existing as Record<string, unknown>) : { attributes: { type: target, url: recordUrl(version, target, src.Id) } };
        cur[relName] = next;
        cur = next;
        obj = ctx.object(target)!;
        if (i === p.canonical.length - 2) cur[p.field.name] = outputValue(p.field, src[p.field.name]);
      }
    }
    for (const c of children) {
      if (!c.byParent) {
        c.byParent = new Map();
        for (const child of c.query.rows) {
          const siblings = c.byParent.get(child[c.field]);
          if (siblings) siblings.push(child);
          else c.byParent.set(child[c.field], [child]);
        }
      }
      const mine = (c.byParent.get(rec.Id) ?? []).slice(0, c.limit ?? undefined);
      // A parent without children has null there, not an empty list.
      out[c.name] = mine.length ? { totalSize: mine.length, done: true, records: mine.map((child) => c.query.project(child, version)) } : null;
    }
    return out;
  };

  const columns = (): QueryColumns => ({
    columnMetadata: countOnly ? [] : [...queryColumns(selected, aggregate), ...children.map((c) => subqueryColumn(c.name, c.query.columns().columnMetadata))],
    entityName: object.name,
    groupBy: false,
    idSelected: selected.some((p) => p.canonical.length === 1 && p.field.name === 'Id'),
    keyPrefix: object.keyPrefix,
  });
  if (aggregate) {
    const f = aggregate.field!;
    const value = rows.filter((r) => f.get(r) !== null && f.get(r) !== undefined).length;
    return { object, rows: [], project, countOnly: false, aggregate: { alias: aggregate.alias, value }, columns, subqueries: [] };
  }
  return { object, rows, project, countOnly, columns, subqueries: children.map((c) => c.name) };
}
