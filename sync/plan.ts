import type { Fields } from '../connectors/types.js';
import { normalizeValue, sameValue } from './values.js';

/** Who wins a field on a link (from the mapping's per-field `owner`). */
export type FieldOwner = 'source' | 'target' | 'fill-if-blank' | 'newest';

export interface FieldPolicy {
  owner: FieldOwner;
}

export interface TargetState {
  /** What we know of the target record's fields: read from the CRM by the reverse link, or what we last wrote. */
  fields: Fields;
  modifiedAt?: string;
}

export interface Conflict {
  field: string;
  policy: FieldOwner;
  sourceValue: unknown;
  targetValue: unknown;
  resolution: 'source' | 'target';
}

export interface WritePlan {
  /** The fields to send (empty: nothing to do). */
  write: Fields;
  /** The target's values for those fields before the write (for the audit's before → after). */
  before: Fields;
  conflicts: Conflict[];
}

const isBlank = (v: unknown) => normalizeValue(v) === null;

/**
 * Decide what a mapped record changes in its target. Only fields whose value differs from the target's
 * known state are written — which is what stops ping-pong: the echo of our own write maps back to
 * values the other side already has, so it plans no write at all. Per-field owners settle fields that
 * both sides changed; every such decision is returned for the audit.
 */
export function planWrite(mapped: Fields, target: TargetState | undefined, policies: Record<string, FieldPolicy>, sourceModifiedAt?: string): WritePlan {
  const write: Fields = {};
  const before: Fields = {};
  const conflicts: Conflict[] = [];
  const creating = target === undefined;
  for (const [field, value] of Object.entries(mapped)) {
    const known = target !== undefined && field in target.fields;
    const current = known ? target!.fields[field] : undefined;
    if (known && sameValue(current, value)) continue;
    const owner = policies[field]?.owner ?? 'source';
    let wins = true;
    if (!creating) {
      if (owner === 'target') wins = !known; // the target owns it: set once, never overwritten
      else if (owner === 'fill-if-blank') wins = !known || isBlank(current);
      else if (owner === 'newest') wins = !target!.modifiedAt || !sourceModifiedAt || sourceModifiedAt >= target!.modifiedAt;
    }
    if (!wins) {
      if (known) conflicts.push({ field, policy: owner, sourceValue: value, targetValue: current, resolution: 'target' });
      continue;
    }
    if (known && owner !== 'source' && !isBlank(current)) conflicts.push({ field, policy: owner, sourceValue: value, targetValue: current, resolution: 'source' });
    write[field] = value;
    if (known) before[field] = current ?? null;
  }
  return { write, before, conflicts };
}
