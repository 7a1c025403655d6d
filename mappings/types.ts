/**
 * Public types of the mapping engine: what the sync engine, the CLI and the preview see.
 */
import type { Fields } from '../connectors/types.js';

export type Owner = 'source' | 'target' | 'fill-if-blank' | 'newest';
export const OWNERS: readonly Owner[] = ['source', 'target', 'fill-if-blank', 'newest'];

/**
 * What a mapping may read besides the record. Objects are plain data; only their own keys are visible.
 * Treat a context as immutable once built: compiled mappings reuse values computed from the same
 * context objects (build a new object instead of editing one in place).
 */
export interface MappingContext {
  partner?: Record<string, unknown>;
  vendor?: Record<string, unknown>;
  registration?: Record<string, unknown>;
  link?: Record<string, unknown>;
  now: Date;
}

export interface FieldPolicy {
  owner: Owner;
  /** The `when` condition's source text (evaluated by `apply`; kept here for audit and display). */
  when?: string;
}

export interface FieldError {
  field: string;
  message: string;
}

export interface ApplyResult {
  fields: Fields;
  errors: FieldError[];
}

export interface CompiledMapping {
  name: string;
  description?: string;
  file: string;
  sourceObject: string;
  targetObject: string;
  /** Upsert key: target field `target` receives the value of source field `source`. */
  match: { source: string; target: string };
  /** Source fields the mapping reads (fetch these from the connector); includes the match field. */
  sourceFields: string[];
  /** Target fields `apply` can write (the match field excluded: it is the upsert key). */
  targetFields: string[];
  policies: Record<string, FieldPolicy>;
  /** The record filter (`filter:`); true when the mapping has none. Throws EvalError on a bad record. */
  filter(record: Fields, ctx: MappingContext): boolean;
  /**
   * Maps one source record to target fields. Never throws for data problems: a field that fails (bad
   * date, unknown number...) is left out of `fields` and reported in `errors` by target field name.
   * Fields whose `when` is false are left out. The match key is not included (see `matchKey`).
   */
  apply(record: Fields, ctx: MappingContext): ApplyResult;
  /** The upsert key value for a record: `match.key` if the mapping defines one, else the source field as text. */
  matchKey(record: Fields, ctx: MappingContext): string | null;
}


import type { Problem, Severity } from '../lib/problems.js';

export type { Problem, Severity };
