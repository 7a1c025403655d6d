import { hash } from 'node:crypto';
import type { FieldType, FieldValue, Fields } from '../connectors/types.js';

/** Field types compared as text: whatever a value looks like, "00123" and "123" are different values. */
const TEXT_TYPES: ReadonlySet<FieldType> = new Set(['id', 'string', 'text', 'picklist', 'multipicklist', 'reference']);
const NUMBER_TYPES: ReadonlySet<FieldType> = new Set(['number', 'currency', 'percent']);

/** A plain decimal without leading zeros: only such text is read as a number when the type is unknown. */
const PLAIN_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const MIDNIGHT = /^(\d{4}-\d{2}-\d{2})T00:00(:00(\.0+)?)?(Z|[+-]00:?00)$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** Numbers compare to 6 decimals (CRMs store currency and percent with fewer); beyond 1e15 there are none. */
const roundNumber = (n: number): number | null => (!Number.isFinite(n) ? null : Math.abs(n) >= 1e15 ? n : Math.round(n * 1e6) / 1e6);
const parseDatetime = (s: string): number => (DATETIME.test(s) || DATE_ONLY.test(s) ? Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : NaN);

/**
 * THE value canonicaliser (the sync's plans and hashes and the ledger's content hash all use it): one
 * comparable form for a field value, whatever CRM it came from. HubSpot sends every property as a
 * string, Salesforce sends typed JSON, dates come back as midnight datetimes; comparing canonical
 * values is what lets the sync tell a real change from its own echo.
 *
 * With the field's `type` (the target schema's, from the connector's describe()) the form is exact:
 * text fields stay text ("00123" ≠ "123": zip codes, account numbers), number fields are numbers,
 * dates are YYYY-MM-DD, datetimes ISO UTC with ms. Without a type it guesses conservatively: only a
 * plain decimal without leading zeros, shorter than 16 characters (not an id), is read as a number.
 */
export function normalizeValue(v: unknown, type?: FieldType): FieldValue {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return JSON.stringify(v);
  if (typeof v === 'string' && v.trim() === '') return null;
  if (type && TEXT_TYPES.has(type)) return typeof v === 'number' ? String(roundNumber(v) ?? v) : String(v).trim();
  if (type && NUMBER_TYPES.has(type)) {
    if (typeof v === 'number') return roundNumber(v);
    const s = String(v).trim();
    const n = Number(s);
    return typeof v === 'string' && Number.isFinite(n) ? roundNumber(n) : s;
  }
  if (type === 'boolean') {
    if (typeof v === 'boolean') return v;
    const s = String(v).trim().toLowerCase();
    return s === 'true' ? true : s === 'false' ? false : String(v).trim();
  }
  if (type === 'date' || type === 'datetime') {
    if (typeof v === 'boolean') return v;
    const s = String(v).trim();
    if (type === 'date' && DATE_ONLY.test(s)) return s;
    const d = new Date(typeof v === 'number' ? v : parseDatetime(s));
    if (Number.isNaN(d.getTime())) return typeof v === 'number' ? roundNumber(v) : s;
    const iso = d.toISOString();
    return type === 'date' ? iso.slice(0, 10) : iso;
  }
  return guess(v);
}

/** The untyped form (types unknown: hashes of whole records, schemas not at hand). */
function guess(v: string | number | boolean): FieldValue {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return roundNumber(v);
  const s = v.trim();
  if (s === 'true' || s === 'false') return s === 'true';
  if (PLAIN_NUMBER.test(s) && s.length < 16) return roundNumber(Number(s));
  const midnight = MIDNIGHT.exec(s);
  if (midnight) return midnight[1];
  const dt = DATETIME.test(s) ? parseDatetime(s) : NaN;
  if (!Number.isNaN(dt)) return new Date(dt).toISOString();
  return s;
}

/** Are two values the same for a field of this type (unknown type: the conservative guess)? */
export function sameValue(a: unknown, b: unknown, type?: FieldType): boolean {
  return normalizeValue(a, type) === normalizeValue(b, type);
}

/** Field types by name, from an object schema (what `sameValue` needs to compare a record's fields). */
export type FieldTypes = Readonly<Record<string, FieldType | undefined>>;

export function fieldTypes(schema: { fields: Record<string, { type: FieldType }> } | undefined): FieldTypes {
  const out: Record<string, FieldType> = {};
  for (const [name, f] of Object.entries(schema?.fields ?? {})) out[name] = f.type;
  return out;
}

export function pick(fields: Fields, names: Iterable<string>): Fields {
  const out: Fields = {};
  for (const n of names) if (n in fields) out[n] = fields[n];
  return out;
}

export function normalizeFields(fields: Fields, types: FieldTypes = {}): Fields {
  const out: Fields = {};
  for (const k of Object.keys(fields).sort()) out[k] = normalizeValue(fields[k], types[k]);
  return out;
}

/** A stable content hash of the normalised fields (key order independent). */
export function hashFields(fields: Fields, types: FieldTypes = {}): string {
  return hash('sha256', JSON.stringify(normalizeFields(fields, types)), 'base64url').slice(0, 22);
}

/** Do `current` and `next` agree on every field of `next`? Missing in `current` counts as unknown → different. */
export function coversAll(current: Fields | undefined, next: Fields, types: FieldTypes = {}): boolean {
  if (!current) return false;
  for (const k of Object.keys(next)) if (!(k in current) || !sameValue(current[k], next[k], types[k])) return false;
  return true;
}
