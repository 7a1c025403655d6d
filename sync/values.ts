import { hash } from 'node:crypto';
import type { FieldValue, Fields } from '../connectors/types.js';

/**
 * One comparable form for a field value, whatever CRM it came from: HubSpot sends every property as a
 * string, Salesforce sends typed JSON, dates come back as midnight datetimes. Comparing normalised
 * values is what lets the sync tell a real change from its own echo.
 */
export function normalizeValue(v: unknown): FieldValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : null;
  if (typeof v !== 'string') return JSON.stringify(v);
  const s = v.trim();
  if (s === '') return null;
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^-?\d+(\.\d+)?$/.test(s) && s.length < 16) return Math.round(Number(s) * 1e6) / 1e6;
  const midnight = /^(\d{4}-\d{2}-\d{2})T00:00(:00(\.0+)?)?(Z|[+-]00:?00)$/.exec(s);
  if (midnight) return midnight[1];
  const dt = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s) ? Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : NaN;
  if (!Number.isNaN(dt)) return new Date(dt).toISOString();
  return s;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return normalizeValue(a) === normalizeValue(b);
}

export function pick(fields: Fields, names: Iterable<string>): Fields {
  const out: Fields = {};
  for (const n of names) if (n in fields) out[n] = fields[n];
  return out;
}

export function normalizeFields(fields: Fields): Fields {
  const out: Fields = {};
  for (const k of Object.keys(fields).sort()) out[k] = normalizeValue(fields[k]);
  return out;
}

/** A stable content hash of the normalised fields (key order independent). */
export function hashFields(fields: Fields): string {
  return hash('sha256', JSON.stringify(normalizeFields(fields)), 'base64url').slice(0, 22);
}

/** Do `current` and `next` agree on every field of `next`? Missing in `current` counts as unknown → different. */
export function coversAll(current: Fields | undefined, next: Fields): boolean {
  if (!current) return false;
  for (const k of Object.keys(next)) if (!(k in current) || !sameValue(current[k], next[k])) return false;
  return true;
}
