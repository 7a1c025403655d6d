import { CosellError } from '../lib/errors.js';
import type { DialectName } from './migrations.js';

/**
 * Bound on rows per multi-row statement: keeps every statement under SQLite's and PostgreSQL's
 * bind-parameter limits (32,766 / 65,535) for the widest table.
 */
export const CHUNK = 500;

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Normalise a timestamp to ISO-8601 UTC with ms, the one form the ledger stores and compares. */
export function isoTime(value: string, what: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CosellError('COSELL_LEDGER', `${what} is not a valid timestamp: ${JSON.stringify(value)}`);
  return new Date(t).toISOString();
}

export function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** Keep the last occurrence per key (a page may carry one record twice; ON CONFLICT may not touch a row twice). */
export function lastByKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  const m = new Map<string, T>();
  for (const it of items) {
    const k = key(it);
    m.delete(k);
    m.set(k, it);
  }
  return [...m.values()];
}

/** Rows sorted by key: concurrent transactions then lock rows in the same order and cannot deadlock. */
export function sortedBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const RETRYABLE_PG = new Set(['40001', '40P01']); // serialization failure, deadlock detected

/** Run a transaction body, retrying PostgreSQL serialization failures and deadlocks a few times. */
export async function withRetry<T>(dialect: DialectName, body: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await body();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (dialect !== 'postgres' || !code || !RETRYABLE_PG.has(code) || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20));
    }
  }
}
