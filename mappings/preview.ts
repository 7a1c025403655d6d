/**
 * Preview: what a mapping would do to real records, writing nothing. Reads a sample of source records,
 * maps them, reads the matching target records by the match key and diffs field by field, honouring
 * the per-field owners the way the sync does (target: create only; fill-if-blank: only into empty
 * fields; newest: only when the source record is at least as recent).
 */
import { START_CURSOR, type Connector, type CrmRecord, type FieldValue, type Fields } from '../connectors/types.js';
import { fieldTypes, sameValue } from '../sync/values.js';
import { EvalError } from './lang/runtime.js';
import type { CompiledMapping, FieldError, MappingContext, Owner } from './types.js';

export interface PreviewChange {
  field: string;
  current: FieldValue | undefined;
  next: FieldValue;
  /** Set when the field would NOT be written because of its owner policy. */
  heldBy?: Owner;
}

/**
 * What the registration gate (Rules of Engagement) would do with a record on a registration link:
 * the sync's own decision, computed without writing (registrations/gatePreview.ts).
 */
export interface PreviewGate {
  action: 'write' | 'hold' | 'reject';
  /** The registration status it would have (or has: an existing registration). */
  status: string;
  reason: string;
  ruleId?: string;
  registrationId: string;
  /** True when the registration exists already (its current status decides), false for a new decision. */
  existing: boolean;
}

export interface PreviewRow {
  sourceId: string;
  key: string | null;
  targetId?: string;
  /** `held` / `rejected`: the registration gate would keep a create or update out of the target. */
  action: 'create' | 'update' | 'unchanged' | 'filtered' | 'error' | 'held' | 'rejected';
  changes: PreviewChange[];
  errors: FieldError[];
  gate?: PreviewGate;
}

export interface PreviewOptions {
  /** Context for $partner, $vendor...; `now` defaults to the current time. */
  context?: Partial<MappingContext>;
  /** On a registration link: the gate's decision per mapped record (the preview then says held / rejected). */
  gate?: (records: Array<{ sourceId: string; source: Fields; mapped: Fields }>) => Promise<Map<string, PreviewGate>>;
}

export async function previewMapping(mapping: CompiledMapping, source: Connector, target: Connector, sample: number, opts: PreviewOptions = {}): Promise<PreviewRow[]> {
  const ctx: MappingContext = { ...opts.context, now: opts.context?.now ?? new Date() };
  const records: CrmRecord[] = [];
  let cursor = START_CURSOR;
  while (records.length < sample) {
    const page = await source.changes(mapping.sourceObject, cursor, { fields: mapping.sourceFields, pageSize: Math.min(2000, sample - records.length) });
    records.push(...page.records.slice(0, sample - records.length));
    if (page.caughtUp || page.records.length === 0) break;
    cursor = page.next;
  }

  const mapped = records.map((rec) => {
    try {
      if (!mapping.filter(rec.fields, ctx)) return { rec, filtered: true as const };
      return { rec, key: mapping.matchKey(rec.fields, ctx), result: mapping.apply(rec.fields, ctx) };
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      return { rec, error: e.message };
    }
  });

  const keys = [...new Set(mapped.flatMap((m) => ('key' in m && m.key ? [m.key] : [])))];
  const existing = new Map<string, CrmRecord>();
  const readFields = [...new Set([...mapping.targetFields, mapping.match.target])];
  // Compared by the target field's type, as the sync compares them ("00123" is not "123" in a text field).
  const types = fieldTypes(await target.describe(mapping.targetObject));
  for (let i = 0; i < keys.length; i += target.batchSize) {
    const found = await target.readByField(mapping.targetObject, mapping.match.target, keys.slice(i, i + target.batchSize), readFields);
    for (const r of found) {
      const k = r.fields[mapping.match.target];
      if (k !== null && k !== undefined) existing.set(String(k), r);
    }
  }

  const gated = opts.gate
    ? await opts.gate(mapped.flatMap((m) => ('result' in m && m.result && m.key !== null ? [{ sourceId: m.rec.id, source: m.rec.fields, mapped: m.result.fields }] : [])))
    : new Map<string, PreviewGate>();

  return mapped.map((m): PreviewRow => {
    if ('filtered' in m) return { sourceId: m.rec.id, key: null, action: 'filtered', changes: [], errors: [] };
    if ('error' in m) return { sourceId: m.rec.id, key: null, action: 'error', changes: [], errors: [{ field: '(filter)', message: m.error ?? '' }] };
    const current = m.key ? existing.get(m.key) : undefined;
    const changes: PreviewChange[] = [];
    for (const [field, next] of Object.entries(m.result.fields)) {
      const cur = current?.fields[field];
      if (current && sameValue(cur, next, types[field])) continue;
      const owner = mapping.policies[field]?.owner ?? 'source';
      const change: PreviewChange = { field, current: cur, next };
      if (current) {
        if (owner === 'target') change.heldBy = owner;
        else if (owner === 'fill-if-blank' && !(cur === null || cur === undefined || cur === '')) change.heldBy = owner;
        else if (owner === 'newest' && m.rec.modifiedAt < current.modifiedAt) change.heldBy = owner;
      }
      changes.push(change);
    }
    const writes = changes.filter((c) => !c.heldBy).length;
    const gate = gated.get(m.rec.id);
    const mappedAction = m.key === null ? 'error' : !current ? 'create' : writes > 0 ? 'update' : 'unchanged';
    // The gate holds or rejects what the mapping alone would create or update (an unchanged record stays unchanged).
    const action = gate && gate.action !== 'write' && (mappedAction === 'create' || mappedAction === 'update') ? (gate.action === 'hold' ? 'held' : 'rejected') : mappedAction;
    const errors = m.key === null ? [{ field: mapping.match.target, message: `match key ${mapping.match.source} is empty` }, ...m.result.errors] : m.result.errors;
    return { sourceId: m.rec.id, key: m.key, targetId: current?.id, action, changes, errors, ...(gate ? { gate } : {}) };
  });
}
