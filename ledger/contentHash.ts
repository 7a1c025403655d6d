import { createHash } from 'node:crypto';
import type { FieldType } from '../connectors/types.js';
import { normalizeValue } from '../sync/values.js';

type Value = string | number | boolean | null | undefined;

/**
 * The canonical text of one field value, so that the same content hashes the same on both CRMs even
 * though they spell it differently. It is the sync's own canonicaliser (`normalizeValue` in
 * sync/values.ts) written as text — one set of rules, so the ledger and the engine never disagree on
 * whether two values are equal: blank → null; with the field's type the form is exact (text stays text,
 * '00123' ≠ '123'); without one, only plain decimals without leading zeros are numbers ('1000.00' →
 * '1000', '0123' stays text); booleans → 'true'/'false'; ISO datetimes → UTC with ms.
 */
export function canonicalValue(v: Value, type?: FieldType): string | null {
  const n = normalizeValue(v, type);
  return n === null ? null : String(n);
}

/**
 * A stable hash of a record's (mapped) fields for echo suppression and change detection: key order
 * does not matter, nor do the CRM spellings `canonicalValue` folds together. With `keys`, only those
 * fields count (e.g. the fields a link writes), and a missing key counts as null.
 */
export function contentHash(fields: Record<string, Value>, keys?: readonly string[], types: Readonly<Record<string, FieldType | undefined>> = {}): string {
  const names = [...(keys ?? Object.keys(fields))].sort();
  const canonical = names.map((k) => [k, canonicalValue(fields[k], types[k])]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 32);
}
