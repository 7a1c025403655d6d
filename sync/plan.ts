import type { Fields } from '../connectors/types.js';
import { normalizeValue, sameValue, type FieldTypes } from './values.js';

/** Who wins a field on a link (from the mapping's per-field `owner`). */
export type FieldOwner = 'source' | 'target' | 'fill-if-blank' | 'newest';

export interface FieldPolicy {
  owner: FieldOwner;
}

export interface TargetState {
  /** What we know of the target record's fields: read from the CRM by the reverse link, or what we last wrote. */
  fields: Fields;
  /** The target record's modification time as last read (record-level, not per field). */
  modifiedAt?: string;
}

/**
 * A field both sides wanted to set differently, and how it was settled. `loserValue` is the value that
 * did not make it into the target (the source's, or the target's that was overwritten), so no edit is
 * ever dropped without a trace in the audit.
 */
export interface Conflict {
  field: string;
  policy: FieldOwner;
  /** Who won (kept as `resolution` too, the name earlier audit events used). */
  winner: 'source' | 'target';
  resolution: 'source' | 'target';
  sourceValue: unknown;
  targetValue: unknown;
  /** The value both sides last agreed on (the pair's base), null when not known. */
  baseValue: unknown;
  loserValue: unknown;
  sourceModifiedAt: string | null;
  targetModifiedAt: string | null;
}

export interface WritePlan {
  /** The fields to send (empty: nothing to do). */
  write: Fields;
  /** The target's values for those fields before the write (for the audit's before → after). */
  before: Fields;
  conflicts: Conflict[];
}

export interface PlanOptions {
  /**
   * The pair's base: the mapped values this link last synced for the record (target field names).
   * With it the plan is a three-way merge — a field whose mapped value equals its base did not change
   * in the source, so nothing is carried over and an edit made in the target since then stands.
   */
  base?: Fields;
  /**
   * The target record's fields as last synced (the ledger's snapshot: what this link wrote, what the
   * reverse link read, what was seen to agree). With it, "did the target change?" compares the target
   * with its own synced state, not with the source's; without it, with `base`.
   */
  targetBase?: Fields;
  /** The target fields' types (its schema): equality is judged per type ("00123" ≠ "123" in a text field). */
  types?: FieldTypes;
}

/**
 * Decide what a mapped record changes in its target, field by field, as a three-way merge of the base
 * (what we last synced), the source's mapped value and the target's known value:
 * - target already has the value → nothing (this is what kills echoes: our own write maps back to
 *   what the other side already has);
 * - the source did not change the field since the base → nothing: the source has no news, and a
 *   target edit made meanwhile must survive (a partner's A→B→A between two polls is no change);
 * - only the source changed → written, unless the owner keeps it (`target`: set once; `fill-if-blank`);
 * - both changed (the target differs from its own last-synced state, `targetBase`) → the owner decides; `newest` compares the two records' modification times (they are
 *   record-level, so "newest" means "the record edited last"; ties and unknown times go to the source).
 * Without a base (first sync of a pair, or a field new to the mapping) the target counts as changed.
 * Every value that does not end up in the target, or that a write overwrites after a target-side edit,
 * is returned as a conflict with the loser, for the audit.
 */
export function planWrite(mapped: Fields, target: TargetState | undefined, policies: Record<string, FieldPolicy>, sourceModifiedAt?: string, opts: PlanOptions = {}): WritePlan {
  const write: Fields = {};
  const before: Fields = {};
  const conflicts: Conflict[] = [];
  const { base, targetBase, types = {} } = opts;
  for (const [field, value] of Object.entries(mapped)) {
    const type = types[field];
    const known = target !== undefined && field in target.fields;
    const current = known ? target!.fields[field] : undefined;
    if (known && sameValue(current, value, type)) continue;
    const hasBase = base !== undefined && field in base;
    if (hasBase && sameValue(value, base![field], type)) continue;
    if (target === undefined) {
      write[field] = value;
      continue;
    }
    const owner = policies[field]?.owner ?? 'source';
    const blank = !known || normalizeValue(current, type) === null;
    // Did the target change since it was last synced? Unknown: assume it did (the two-way decision of old).
    const targetSynced = targetBase !== undefined && field in targetBase ? targetBase : hasBase ? base : undefined;
    const targetChanged = known && (targetSynced ? !sameValue(current, targetSynced[field], type) : !blank);
    let wins: boolean;
    if (owner === 'target') wins = !known; // the target owns it: set once, never overwritten
    else if (owner === 'fill-if-blank') wins = blank;
    else if (owner === 'newest') wins = !targetChanged || !target.modifiedAt || !sourceModifiedAt || sourceModifiedAt >= target.modifiedAt;
    else wins = true;
    const conflict = (winner: 'source' | 'target'): Conflict => ({
      field,
      policy: owner,
      winner,
      resolution: winner,
      sourceValue: value,
      targetValue: current ?? null,
      baseValue: hasBase ? base![field] : null,
      loserValue: winner === 'source' ? (current ?? null) : value,
      sourceModifiedAt: sourceModifiedAt ?? null,
      targetModifiedAt: target.modifiedAt ?? null,
    });
    if (!wins) {
      conflicts.push(conflict('target'));
      continue;
    }
    // Without a base a source-owned field's overwrite is the plain one-way sync it always was.
    if (targetChanged && (targetSynced || owner !== 'source')) conflicts.push(conflict('source'));
    write[field] = value;
    if (known) before[field] = current ?? null;
  }
  return { write, before, conflicts };
}
