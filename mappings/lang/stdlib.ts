/**
 * The standard library. Every function is pure: it sees only its arguments (and `now`, which reads the
 * context's clock, never the system's), so a mapping is a deterministic function of record + context.
 */
import { normalizeDomain } from '../../lib/normalize.js';
import type { MappingContext } from '../types.js';
import { ANY, SCALAR, T, TEXTUAL, type Mask } from './types.js';
import { describeValue, fail, parseInstant, toDate, toDateTime, toNumber, toText, type Value } from './runtime.js';

export interface Param {
  name: string;
  accepts: Mask;
  optional?: boolean;
}

export interface FnSpec {
  name: string;
  signature: string;
  doc: string;
  params: Param[];
  /** Extra arguments of this type (variadic functions). */
  rest?: Param;
  returns: Mask | ((args: Mask[]) => Mask);
  /** Reads the context clock: excluded from compile-time value analysis. */
  usesClock?: boolean;
  fn: (args: Value[], ctx: MappingContext) => Value;
}

/**
 * Input bound of every standard-library call: text arguments (and the items of list arguments, in
 * total) longer than this fail the record — a dead letter with the reason — instead of costing
 * unbounded work. Salesforce's longest text field holds 131,072 characters, HubSpot's 65,536.
 */
export const MAX_TEXT = 131_072;

const NUM = T.number | T.null;
const TXT = TEXTUAL | T.null;
const str = (v: Value): string | null => (v === null ? null : toText(v));

function numArg(v: Value, fn: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'number') return fail(`${fn}() needs a number, not ${describeValue(v)}`);
  return v;
}

function intArg(v: Value, fn: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail(`${fn}(): ${what} must be a whole number, not ${describeValue(v)}`);
  return v;
}

function roundTo(n: number, digits: number): number {
  if (digits < 0 || digits > 15) fail('round(): digits must be between 0 and 15');
  const f = 10 ** digits;
  const r = Math.round(Math.abs(n) * f + Number.EPSILON * Math.abs(n) * f) / f;
  return n < 0 ? (r === 0 ? 0 : -r) : r;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function formatValue(v: Value, pattern: Value): Value {
  if (v === null) return null;
  if (typeof pattern !== 'string') return fail('format(): the pattern must be text');
  if (typeof v === 'number') {
    const dot = pattern.indexOf('.');
    const decimals = dot < 0 ? 0 : pattern.length - dot - 1;
    if (!/^[#0,]*(\.0*)?$/.test(pattern)) return fail(`format(): unknown number pattern ${JSON.stringify(pattern)} (use e.g. "0.00" or "#,##0")`);
    const fixed = roundTo(v, decimals).toFixed(decimals);
    if (!pattern.includes(',')) return fixed;
    const [int, frac] = fixed.split('.');
    const sign = int.startsWith('-') ? '-' : '';
    const grouped = int.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return sign + grouped + (frac !== undefined ? '.' + frac : '');
  }
  const t = parseInstant(v);
  if (t === null) return fail(`format(): cannot format ${describeValue(v)}`);
  const d = new Date(t);
  return pattern.replace(/YYYY|YY|MM|DD|HH|mm|ss|SSS/g, (tok) => {
    switch (tok) {
      case 'YYYY':
        return pad(d.getUTCFullYear(), 4);
      case 'YY':
        return pad(d.getUTCFullYear() % 100);
      case 'MM':
        return pad(d.getUTCMonth() + 1);
      case 'DD':
        return pad(d.getUTCDate());
      case 'HH':
        return pad(d.getUTCHours());
      case 'mm':
        return pad(d.getUTCMinutes());
      case 'ss':
        return pad(d.getUTCSeconds());
      default:
        return pad(d.getUTCMilliseconds(), 3);
    }
  });
}

function addDays(d: Value, n: Value): Value {
  if (d === null || n === null) return null;
  const days = intArg(n, 'addDays', 'days');
  if (typeof d !== 'string') return fail(`addDays() needs a date, not ${describeValue(d)}; convert with date(...)`);
  const t = parseInstant(d);
  if (t === null) return fail(`addDays(): cannot read ${describeValue(d)} as a date`);
  const out = new Date(t + days * 86_400_000);
  const dateOnly = typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d.trim());
  return dateOnly ? out.toISOString().slice(0, 10) : out.toISOString();
}

/**
 * Registrable domain of a URL, host name or e-mail address ("https://www.Acme.co.uk/x" → "acme.co.uk"),
 * by the one normalisation the rules and account mapping also use (lib/normalize.ts), so a domain a
 * mapping writes matches the domains they compare.
 */
export function normaliseDomain(v: Value): Value {
  if (v === null) return null;
  return normalizeDomain(toText(v));
}

function list(v: Value, fn: string): Value[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) return fail(`${fn}() needs a list, not ${describeValue(v)}`);
  return v;
}

const SPECS: FnSpec[] = [
  { name: 'trim', signature: 'trim(text)', doc: 'removes leading and trailing white space', params: [{ name: 'text', accepts: TXT }], returns: T.text | T.null, fn: ([s]) => str(s)?.trim() ?? null },
  { name: 'lower', signature: 'lower(text)', doc: 'lower case', params: [{ name: 'text', accepts: TXT }], returns: T.text | T.null, fn: ([s]) => str(s)?.toLowerCase() ?? null },
  { name: 'upper', signature: 'upper(text)', doc: 'upper case', params: [{ name: 'text', accepts: TXT }], returns: T.text | T.null, fn: ([s]) => str(s)?.toUpperCase() ?? null },
  {
    name: 'substring',
    signature: 'substring(text, start, length?)',
    doc: 'part of a text; start counts from 0',
    params: [{ name: 'text', accepts: TXT }, { name: 'start', accepts: T.number }, { name: 'length', accepts: T.number, optional: true }],
    returns: T.text | T.null,
    fn: ([s, start, len]) => {
      const t = str(s);
      if (t === null) return null;
      const from = Math.max(0, intArg(start, 'substring', 'start'));
      return len === undefined || len === null ? t.slice(from) : t.slice(from, from + Math.max(0, intArg(len, 'substring', 'length')));
    },
  },
  {
    name: 'replace',
    signature: 'replace(text, find, with)',
    doc: 'replaces every occurrence of find (plain text, not a pattern)',
    params: [{ name: 'text', accepts: TXT }, { name: 'find', accepts: T.text }, { name: 'with', accepts: TXT }],
    returns: T.text | T.null,
    fn: ([s, find, rep]) => {
      const t = str(s);
      if (t === null) return null;
      const f = toText(find);
      if (f === '') return t;
      const parts = t.split(f);
      const r = toText(rep);
      // The result can be |text| × |with| long: refuse before building it.
      if (t.length + (parts.length - 1) * (r.length - f.length) > MAX_TEXT) return fail(`replace(): the result would be longer than ${MAX_TEXT} characters`);
      return parts.join(r);
    },
  },
  {
    name: 'split',
    signature: 'split(text, separator)',
    doc: 'a list of the parts (empty parts kept)',
    params: [{ name: 'text', accepts: TXT }, { name: 'separator', accepts: T.text }],
    returns: T.list | T.null,
    fn: ([s, sep]) => {
      const t = str(s);
      return t === null ? null : t.split(toText(sep));
    },
  },
  {
    name: 'join',
    signature: 'join(list, separator?)',
    doc: 'the items as text, nulls skipped; separator defaults to ";" (the CRMs\' multi-select form)',
    params: [{ name: 'list', accepts: T.list | T.null }, { name: 'separator', accepts: T.text, optional: true }],
    returns: T.text | T.null,
    fn: ([l, sep]) => {
      const items = list(l, 'join');
      if (items === null) return null;
      const s = sep === undefined ? ';' : toText(sep);
      const texts = items.filter((x) => x !== null).map((x) => toText(x as Value));
      if (texts.reduce((n, x) => n + x.length, 0) + Math.max(0, texts.length - 1) * s.length > MAX_TEXT) return fail(`join(): the result would be longer than ${MAX_TEXT} characters`);
      return texts.join(s);
    },
  },
  { name: 'number', signature: 'number(value)', doc: 'a number from text ("" and null give null); fails on anything else', params: [{ name: 'value', accepts: TXT | T.number }], returns: NUM, fn: ([v]) => toNumber(v) },
  {
    name: 'round',
    signature: 'round(number, digits?)',
    doc: 'rounds half away from zero to digits decimals (default 0)',
    params: [{ name: 'number', accepts: NUM }, { name: 'digits', accepts: T.number, optional: true }],
    returns: NUM,
    fn: ([n, d]) => {
      const x = numArg(n, 'round');
      return x === null ? null : roundTo(x, d === undefined || d === null ? 0 : intArg(d, 'round', 'digits'));
    },
  },
  { name: 'date', signature: 'date(value)', doc: 'a date (YYYY-MM-DD, UTC) from a date, datetime or epoch milliseconds', params: [{ name: 'value', accepts: TXT | T.number }], returns: T.date | T.null, fn: ([v]) => toDate(v) },
  { name: 'datetime', signature: 'datetime(value)', doc: 'an ISO-8601 UTC datetime from a date, datetime or epoch milliseconds', params: [{ name: 'value', accepts: TXT | T.number }], returns: T.datetime | T.null, fn: ([v]) => toDateTime(v) },
  {
    name: 'format',
    signature: 'format(value, pattern)',
    doc: 'numbers: "0.00", "#,##0"; dates: YYYY YY MM DD HH mm ss SSS (UTC)',
    params: [{ name: 'value', accepts: TXT | T.number }, { name: 'pattern', accepts: T.text }],
    returns: T.text | T.null,
    fn: ([v, p]) => formatValue(v, p),
  },
  {
    name: 'addDays',
    signature: 'addDays(date, days)',
    doc: 'a date (or datetime) moved by whole days',
    params: [{ name: 'date', accepts: T.date | T.datetime | T.null }, { name: 'days', accepts: NUM }],
    returns: (a) => (a[0] & (T.date | T.datetime)) | T.null,
    fn: ([d, n]) => addDays(d, n),
  },
  { name: 'now', signature: 'now()', doc: 'the sync run\'s clock ($now), a datetime', params: [], returns: T.datetime, usesClock: true, fn: (_a, ctx) => ctx.now.toISOString() },
  { name: 'today', signature: 'today()', doc: 'the sync run\'s date (UTC)', params: [], returns: T.date, usesClock: true, fn: (_a, ctx) => ctx.now.toISOString().slice(0, 10) },
  { name: 'domain', signature: 'domain(url)', doc: 'registrable domain of a URL, host or e-mail, lower case ("https://www.Acme.co.uk/x" → "acme.co.uk"); null for free-mail addresses, IPs and single labels', params: [{ name: 'url', accepts: TXT }], returns: T.text | T.null, fn: ([v]) => normaliseDomain(v) },
  {
    name: 'coalesce',
    signature: 'coalesce(a, b, ...)',
    doc: 'the first argument that is neither null nor empty text',
    params: [{ name: 'value', accepts: ANY }],
    rest: { name: 'value', accepts: ANY },
    returns: (a) => a.reduce((m, x) => m | x, 0),
    fn: (args) => {
      for (const v of args) if (v !== null && v !== '') return v;
      return null;
    },
  },
  { name: 'string', signature: 'string(value)', doc: 'the value as text (null stays null)', params: [{ name: 'value', accepts: SCALAR }], returns: T.text | T.null, fn: ([v]) => str(v) },
  {
    name: 'length',
    signature: 'length(textOrList)',
    doc: 'number of characters or items (null gives 0)',
    params: [{ name: 'value', accepts: TXT | T.list }],
    returns: T.number,
    fn: ([v]) => (v === null ? 0 : Array.isArray(v) ? v.length : toText(v).length),
  },
  { name: 'contains', signature: 'contains(text, part)', doc: 'true when part occurs in text', params: [{ name: 'text', accepts: TXT }, { name: 'part', accepts: TXT }], returns: T.boolean, fn: ([s, p]) => s !== null && toText(s).includes(toText(p)) },
  { name: 'startsWith', signature: 'startsWith(text, prefix)', doc: 'true when text starts with prefix', params: [{ name: 'text', accepts: TXT }, { name: 'prefix', accepts: TXT }], returns: T.boolean, fn: ([s, p]) => s !== null && toText(s).startsWith(toText(p)) },
  { name: 'endsWith', signature: 'endsWith(text, suffix)', doc: 'true when text ends with suffix', params: [{ name: 'text', accepts: TXT }, { name: 'suffix', accepts: TXT }], returns: T.boolean, fn: ([s, p]) => s !== null && toText(s).endsWith(toText(p)) },
  { name: 'isBlank', signature: 'isBlank(value)', doc: 'true for null and for text that is empty or white space', params: [{ name: 'value', accepts: ANY }], returns: T.boolean, fn: ([v]) => v === null || (typeof v === 'string' && v.trim() === '') },
  { name: 'abs', signature: 'abs(number)', doc: 'absolute value', params: [{ name: 'number', accepts: NUM }], returns: NUM, fn: ([n]) => (numArg(n, 'abs') === null ? null : Math.abs(n as number)) },
  { name: 'floor', signature: 'floor(number)', doc: 'rounds down', params: [{ name: 'number', accepts: NUM }], returns: NUM, fn: ([n]) => (numArg(n, 'floor') === null ? null : Math.floor(n as number)) },
  { name: 'ceil', signature: 'ceil(number)', doc: 'rounds up', params: [{ name: 'number', accepts: NUM }], returns: NUM, fn: ([n]) => (numArg(n, 'ceil') === null ? null : Math.ceil(n as number)) },
  {
    name: 'min',
    signature: 'min(a, b, ...)',
    doc: 'smallest number, nulls ignored',
    params: [{ name: 'number', accepts: NUM }],
    rest: { name: 'number', accepts: NUM },
    returns: NUM,
    fn: (args) => extreme(args, 'min'),
  },
  {
    name: 'max',
    signature: 'max(a, b, ...)',
    doc: 'largest number, nulls ignored',
    params: [{ name: 'number', accepts: NUM }],
    rest: { name: 'number', accepts: NUM },
    returns: NUM,
    fn: (args) => extreme(args, 'max'),
  },
];

function extreme(args: Value[], which: 'min' | 'max'): Value {
  let best: number | null = null;
  for (const a of args) {
    const n = numArg(a, which);
    if (n !== null && (best === null || (which === 'min' ? n < best : n > best))) best = n;
  }
  return best;
}

/** How much text a call's arguments carry (list items counted one level deep, as lists hold scalars). */
function textSize(args: Value[]): number {
  let n = 0;
  for (const a of args) {
    if (typeof a === 'string') n += a.length;
    else if (Array.isArray(a)) {
      n += a.length;
      for (const x of a) if (typeof x === 'string') n += x.length;
    }
  }
  return n;
}

/** Every function, behind the input bound (checked before the function runs, so its cost is bounded). */
function bounded(spec: FnSpec): FnSpec {
  const inner = spec.fn;
  return {
    ...spec,
    fn: (args, ctx) => {
      const size = textSize(args);
      if (size > MAX_TEXT) return fail(`${spec.name}(): its arguments hold ${size} characters, more than the limit of ${MAX_TEXT}`);
      return inner(args, ctx);
    },
  };
}

export const STDLIB: ReadonlyMap<string, FnSpec> = new Map(SPECS.map((s) => [s.name, bounded(s)]));

export function returnMask(spec: FnSpec, args: Mask[]): Mask {
  return typeof spec.returns === 'function' ? spec.returns(args) : spec.returns;
}
