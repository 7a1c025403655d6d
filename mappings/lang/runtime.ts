/**
 * Runtime semantics shared by the compiler and the reference interpreter: value coercions, operators
 * and the rules for reading data. Only primitives, arrays and plain data objects ever flow through an
 * expression; keys are read with Object.hasOwn so nothing reaches prototypes or globals.
 *
 * Dates are 'YYYY-MM-DD' strings and datetimes ISO-8601 UTC strings with milliseconds, so they compare
 * correctly as strings and serialise as CRM field values without conversion.
 */
import type { FieldSchema, FieldType } from '../../connectors/types.js';
import { FORBIDDEN_KEYS, type Scalar } from './ast.js';

export type Value = Scalar | Value[] | DataObject;
export interface DataObject {
  readonly [key: string]: unknown;
}

/** A failure evaluating an expression on one record (bad date, division by zero...). */
export class EvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalError';
  }
}

export function fail(message: string): never {
  throw new EvalError(message);
}

export function isPlainObject(v: unknown): v is DataObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Whatever arrives from a record or the context, made into an expression value. */
export function normalise(v: unknown): Value {
  if (v === undefined || v === null) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'bigint':
      return Number(v);
    case 'object':
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
      if (Array.isArray(v)) return v as Value[];
      return isPlainObject(v) ? v : null;
    default:
      return null; // functions, symbols: never visible
  }
}

export function describeValue(v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `text ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}

export function truthy(v: Value): boolean {
  return v !== null && v !== false && v !== '';
}

export function toText(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return fail(`cannot use ${describeValue(v)} as text; use join() for lists`);
}

// ---------- operators ----------

export function add(a: Value, b: Value): Value {
  if (typeof a === 'string' || typeof b === 'string') return toText(a) + toText(b);
  if (a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number') return finite(a + b);
  return fail(`cannot add ${describeValue(a)} and ${describeValue(b)}`);
}

function finite(n: number): number {
  if (!Number.isFinite(n)) fail('number out of range');
  return n;
}

export function arith(op: '-' | '*' | '/' | '%', a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  if (typeof a !== 'number' || typeof b !== 'number') return fail(`cannot apply "${op}" to ${describeValue(a)} and ${describeValue(b)}`);
  switch (op) {
    case '-':
      return finite(a - b);
    case '*':
      return finite(a * b);
    case '/':
      if (b === 0) fail('division by zero');
      return finite(a / b);
    case '%':
      if (b === 0) fail('division by zero');
      return a % b;
  }
}

export function negate(a: Value): Value {
  if (a === null) return null;
  if (typeof a !== 'number') return fail(`cannot negate ${describeValue(a)}`);
  return a === 0 ? 0 : -a;
}

export function equals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equals(x, b[i]));
  return false;
}

/** < <= > >=: numbers with numbers, text (and dates) with text; null compares false. */
export function compare(op: '<' | '<=' | '>' | '>=', a: Value, b: Value): boolean {
  if (a === null || b === null) return false;
  if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) {
    return fail(`cannot compare ${describeValue(a)} with ${describeValue(b)}`);
  }
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

export function contains(list: Value, item: Value): boolean {
  if (list === null) return false;
  if (!Array.isArray(list)) return fail(`"in" needs a list on its right, not ${describeValue(list)}`);
  for (const x of list) if (equals(x, item)) return true;
  return false;
}

/** `obj.key` / `obj["key"]` on a context object: own data keys only. `list[n]` on lists. */
export function readKey(obj: Value, key: Value): Value {
  if (obj === null || key === null) return null;
  if (Array.isArray(obj)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) return fail(`a list index must be a whole number, not ${describeValue(key)}`);
    return key >= 0 && key < obj.length ? normalise(obj[key]) : null;
  }
  if (typeof obj === 'object') {
    if (typeof key !== 'string') return fail(`an object key must be text, not ${describeValue(key)}`);
    if (FORBIDDEN_KEYS.has(key)) return fail(`the key "${key}" is not allowed`);
    return Object.hasOwn(obj, key) ? normalise(obj[key]) : null;
  }
  return fail(`cannot read "${String(key)}" of ${describeValue(obj)}`);
}

// ---------- dates ----------

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;
const EPOCH_RE = /^-?\d{9,15}$/;

/** Milliseconds since the epoch for an ISO date/datetime or epoch-ms value; null when it is not one. */
export function parseInstant(v: Value): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && Math.abs(v) < 8.64e15 ? Math.trunc(v) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  let m = DATE_RE.exec(s);
  if (m) return validDate(+m[1], +m[2], +m[3]) ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : null;
  m = DATETIME_RE.exec(s);
  if (m) {
    if (!validDate(+m[1], +m[2], +m[3]) || +m[4] > 23 || +m[5] > 59 || (m[6] !== undefined && +m[6] > 59)) return null;
    const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
    let t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0, ms);
    const zone = m[8];
    if (zone && zone !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
    }
    return t;
  }
  if (EPOCH_RE.test(s)) return Number(s);
  return null;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = mo === 2 && (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0));
  return d <= MONTH_DAYS[mo - 1] + (leap ? 1 : 0);
}

/** Digits at [from, from+n) as a number, or -1 when any is not a digit (no regex: this is the hot path). */
function digits(s: string, from: number, n: number): number {
  let out = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    out = out * 10 + c;
  }
  return out;
}

/** YYYY-MM-DD, a real calendar day. */
function isoDay(s: string): boolean {
  if (s.length < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false;
  const y = digits(s, 0, 4);
  const m = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  return y >= 0 && m >= 0 && d >= 0 && validDate(y, m, d);
}

/** The canonical form CRMs and connectors already use (YYYY-MM-DDTHH:mm:ss.sssZ), recognised without a Date. */
function canonicalUtc(s: string): boolean {
  if (s.length !== 24 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90) return false;
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const se = digits(s, 17, 2);
  return isoDay(s) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && se >= 0 && se <= 59 && digits(s, 20, 3) >= 0;
}

export function toDate(v: Value): Value {
  if (v === null || v === '') return null;
  if (typeof v === 'string') {
    if (v.length === 10 && isoDay(v)) return v;
    if (v.length === 24 && canonicalUtc(v)) return v.slice(0, 10);
  }
  const t = parseInstant(v);
  if (t === null) return fail(`cannot read ${describeValue(v)} as a date (expected YYYY-MM-DD, ISO-8601 or epoch milliseconds)`);
  return new Date(t).toISOString().slice(0, 10);
}

export function toDateTime(v: Value): Value {
  if (v === null || v === '') return null;
  if (typeof v === 'string' && canonicalUtc(v)) return v;
  const t = parseInstant(v);
  if (t === null) return fail(`cannot read ${describeValue(v)} as a datetime (expected ISO-8601 or epoch milliseconds)`);
  return new Date(t).toISOString();
}

export function toNumber(v: Value): Value {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return null;
    const n = Number(s);
    // Number() also reads hex/octal/binary literals ("0x10"); CRM numbers are decimal only
    if (!Number.isFinite(n) || (s.length > 1 && s.charCodeAt(0) === 48 && /[xob]/i.test(s[1]))) return fail(`cannot read ${describeValue(v)} as a number`);
    return n;
  }
  return fail(`cannot read ${describeValue(v)} as a number`);
}

export function toBoolean(v: Value): Value {
  if (v === null) return null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === '') return null;
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return fail(`cannot read ${describeValue(v)} as a boolean`);
}

// ---------- reading source fields and writing target fields ----------


/** Names every plain object inherits; a record read of one of these must check own-ness. */
export function isInheritedName(name: string): boolean {
  return name in Object.prototype;
}

/**
 * A source field's value, decoded by its schema type: HubSpot sends numbers, booleans and dates as
 * strings, Salesforce datetimes carry +0000 — expressions always see numbers, booleans, YYYY-MM-DD
 * and ISO UTC. Without a schema type the raw value is used.
 */
export function coerceField(raw: unknown, type: FieldType | undefined, path: string): Value {
  if (raw === undefined || raw === null) return null;
  try {
    switch (type) {
      case 'number':
      case 'currency':
      case 'percent':
        return typeof raw === 'number' ? normalise(raw) : toNumber(normalise(raw));
      case 'boolean':
        return typeof raw === 'boolean' ? raw : toBoolean(normalise(raw));
      case 'date':
        return toDate(normalise(raw));
      case 'datetime':
        return toDateTime(normalise(raw));
      case undefined:
        return normalise(raw);
      default:
        // text-like fields are text: a stray number becomes its digits, anything else is a connector bug
        if (typeof raw === 'string') return raw;
        if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
        return fail(`expected text, got ${describeValue(normalise(raw))}`);
    }
  } catch (e) {
    if (e instanceof EvalError) throw new EvalError(`source field ${path}: ${e.message}`);
    throw e;
  }
}

/** Converts an expression's value into what the target field stores; fails on values the CRM would reject. */
export function toTargetValue(v: Value, field: FieldSchema | undefined, legal?: ReadonlySet<string>): Value {
  if (v === null) return null;
  if (typeof v === 'object' && !Array.isArray(v)) return fail(`${describeValue(v)} cannot be stored in a field`);
  const type = field?.type;
  switch (type) {
    case 'number':
    case 'currency':
    case 'percent':
      if (typeof v !== 'number') return fail(`expected a number, got ${describeValue(v)}`);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') return fail(`expected a boolean, got ${describeValue(v)}`);
      return v;
    case 'date':
      return toDate(v);
    case 'datetime':
      return toDateTime(v);
    case 'multipicklist': {
      const items = Array.isArray(v) ? v.filter((x) => x !== null).map((x) => toText(x as Value)) : toText(v).split(';').filter((x) => x !== '');
      if (legal) for (const item of items) if (!legal.has(item)) fail(`${JSON.stringify(item)} is not an allowed value of ${field?.name}`);
      return items.join(';');
    }
    default: {
      if (Array.isArray(v)) return fail(`a list cannot be stored in a ${type ?? 'plain'} field; use join(...)`);
      const s = toText(v);
      if (legal && !legal.has(s)) return fail(`${JSON.stringify(s)} is not an allowed value of ${field?.name}`);
      if (field?.length !== undefined && s.length > field.length) return fail(`text of ${s.length} characters is longer than ${field.name}'s ${field.length}`);
      return type === undefined ? (v as Scalar) : s;
    }
  }
}
