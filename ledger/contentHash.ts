import { createHash } from 'node:crypto';

type Value = string | number | boolean | null | undefined;

const NUMERIC = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * The canonical text of one field value, so that the same content hashes the same on both CRMs even
 * though they spell it differently (HubSpot returns every property as a string, Salesforce returns
 * numbers and booleans; datetimes come with or without milliseconds and offsets):
 * null / undefined / '' → null; numbers and plain numeric strings → the shortest number text
 * ('1000.00' → '1000', but '0123' stays text); booleans and 'true'/'false' → 'true'/'false';
 * ISO datetimes → UTC with ms; other strings are kept as they are.
 */
export function canonicalValue(v: Value): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (NUMERIC.test(v)) return String(Number(v));
  if (v === 'true' || v === 'false') return v;
  if (ISO_DATETIME.test(v)) {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  return v;
}

/**
 * A stable hash of a record's (mapped) fields for echo suppression and change detection: key order
 * does not matter, nor do the CRM spellings `canonicalValue` folds together. With `keys`, only those
 * fields count (e.g. the fields a link writes), and a missing key counts as null.
 */
export function contentHash(fields: Record<string, Value>, keys?: readonly string[]): string {
  const names = [...(keys ?? Object.keys(fields))].sort();
  const canonical = names.map((k) => [k, canonicalValue(fields[k])]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 32);
}
