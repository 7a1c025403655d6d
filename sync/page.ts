import type { CrmRecord, DeletedRecord, FeedCursor, Fields, WriteResult } from '../connectors/types.js';
import type { DeadLetterCode } from '../lib/errors.js';
import { ConnectorError } from '../connectors/errors.js';
import { log } from '../lib/logger.js';
import type { AuditInput, DeadLetterInput, PageCommit, PairWrite, RecordPair, SnapshotWrite } from '../ledger/types.js';
import { AWAITING_PEER_LINKS } from '../registrations/firstToRegister.js';
import { applyPartnerScope } from './partnerScope.js';
import { syncStreamPage } from './streamConsumer.js';
import type { CompiledMapping, MappingContext } from '../mappings/types.js';
import type { ObjectSchema } from '../connectors/types.js';
import { planWrite, type FieldPolicy, type WritePlan } from './plan.js';
import type { LinkRuntime } from './runtime.js';
import type { PageReport, SyncCounts } from './types.js';
import { fieldTypes, hashFields, pick, sameValue, type FieldTypes } from './values.js';

/** Dead-letter codes the engine itself assigns (CRM rejections keep the CRM's own code). */
export const PARKED_PARENT = 'PARENT_NOT_SYNCED' satisfies DeadLetterCode;

export interface Outcome {
  counts: Partial<SyncCounts>;
  pairs: PairWrite[];
  snapshots: SnapshotWrite[];
  deadLetters: DeadLetterInput[];
  resolved: string[];
  audits: AuditInput[];
}

/** What an outcome writes in a page commit: pairs, snapshots, dead letters (new and resolved), audit events. */
export function outcomeWrites(o: Outcome): Pick<PageCommit, 'pairs' | 'snapshots' | 'deadLetters' | 'resolvedDeadLetters' | 'audits'> {
  return { pairs: o.pairs, snapshots: o.snapshots, deadLetters: o.deadLetters, resolvedDeadLetters: o.resolved, audits: o.audits };
}

function inc(c: Partial<SyncCounts>, k: keyof SyncCounts, n = 1) {
  c[k] = (c[k] ?? 0) + n;
}

/** Where a pair's base keeps the parent an association-modelled parent last pointed at (not a field name). */
export const PARENT_BASE_KEY = '@parent';

const policyCache = new WeakMap<CompiledMapping, Record<string, FieldPolicy>>();
function policiesOf(mapping: CompiledMapping): Record<string, FieldPolicy> {
  let p = policyCache.get(mapping);
  if (!p) policyCache.set(mapping, (p = Object.fromEntries(Object.entries(mapping.policies).map(([k, v]) => [k, { owner: v.owner }]))));
  return p;
}
const typeCache = new WeakMap<ObjectSchema, FieldTypes>();
function typesOf(schema: ObjectSchema): FieldTypes {
  let t = typeCache.get(schema);
  if (!t) typeCache.set(schema, (t = fieldTypes(schema)));
  return t;
}

/**
 * The base of a pair's three-way plan: what its fields were when last synced, in target terms. The
 * pair keeps the mapped values this link last synced; on a two-way pair the source record may since
 * have been written by the reverse link (which cannot update this link's mapped values), so when the
 * source's last-synced snapshot holds every field the mapping reads, the mapping applied to it is the
 * base — but only for the fields whose value the target holds as last synced (`targetSynced`, its
 * snapshot). Those are the round-trip fields (`amount` ⇄ `Amount`): the reverse link's write came from
 * the target's own value. A one-way copy of a round-trip field (`cosell_vendor_amount ← Amount`) was
 * never written by the reverse link: the mapped snapshot claims a value the target does not hold, and
 * taken as the base it made the new value "no news" for ever (convergence seed 1144309237). For those
 * the pair's own base (what this link last wrote) stands. A mapping back-fill plans against what the
 * *old* mapping synced: the pair's own values.
 */
function baseOf(rt: LinkRuntime, pair: RecordPair, snapshot: Fields | undefined, ctx: MappingContext, backfill: boolean | undefined, targetSynced: Fields | undefined, types: FieldTypes): Fields | undefined {
  const own = pair.base ?? undefined;
  if (backfill || !snapshot || !rt.mapping.sourceFields.every((f) => f in snapshot)) return own;
  const synced = rt.mapping.apply(snapshot, ctx);
  const errored = new Set(synced.errors.map((e) => e.field));
  // A field the target is not known to hold as derived keeps the pair's own base, or none (then the
  // plan compares the target with its own synced state).
  const heldByTarget = (k: string, v: unknown) => !!targetSynced && k in targetSynced && sameValue(targetSynced[k], v, types[k]);
  const derived = Object.fromEntries(Object.entries(synced.fields).filter(([k, v]) => !errored.has(k) && heldByTarget(k, v)));
  // Fields the source lost last time were not synced, whatever the snapshot says (see withLosers).
  const lost = lostFields(own);
  return { ...own, ...derived, ...Object.fromEntries(Object.entries(own ?? {}).filter(([k]) => lost.has(k))) };
}

/**
 * Records of this page whose pair was ended by a deletion that has since been undone in a CRM (a
 * Salesforce Recycle Bin undelete, a HubSpot restore — the same id comes back). A user expects the
 * pair to carry on where it stopped, so both are re-linked and resume syncing, audited `restored`:
 *   source  the pair was marked deleted (`deletes: flag`: the target kept, flagged) and the source is
 *           read again (the change feed only returns live records) → the same target is updated, its
 *           deleted flag cleared. With `archive` the target is gone and the source is synced as new.
 *   target  the target was found deleted and left so (`targetDeletes: leave`); on a two-way pair the
 *           reverse link re-linked the target record since (its own pair live and newer than the
 *           deletion) → the target is there again and is written as before.
 * `pairs` is updated in place (deletion marks cleared for these records).
 */
async function findRestored(rt: LinkRuntime, ids: string[], pairs: Map<string, RecordPair>): Promise<Map<string, 'source' | 'target'>> {
  const out = new Map<string, 'source' | 'target'>();
  for (const id of ids) {
    const p = pairs.get(id);
    if (p?.deletedAt && rt.link.deletes === 'flag') {
      pairs.set(id, { ...p, deletedAt: null });
      out.set(id, 'source');
    }
  }
  const pairedWith = rt.link.pairedWith;
  const gone = ids.map((id) => pairs.get(id)).filter((p): p is RecordPair => !!p && !p.deletedAt && !!p.targetDeletedAt);
  if (pairedWith && gone.length) {
    const reverse = await rt.ledger.pairs.bySource(pairedWith, gone.map((p) => p.targetId));
    for (const p of gone) {
      const r = reverse.get(p.targetId);
      if (r && !r.deletedAt && r.updatedAt > p.targetDeletedAt!) {
        pairs.set(p.sourceId, { ...p, targetDeletedAt: null });
        out.set(p.sourceId, 'target');
      }
    }
  }
  return out;
}

function restoredAudit(rt: LinkRuntime, rec: CrmRecord, targetId: string, side: 'source' | 'target'): AuditInput {
  const where = side === 'source' ? `${rt.sourceOrg.id} ${rt.sourceObject} ${rec.id}` : `${rt.targetOrg.id} ${rt.targetObject} ${targetId}`;
  return {
    linkId: rt.link.id,
    sourceId: rec.id,
    targetId,
    action: 'restored',
    details: { restored: side, reason: `${where} was deleted and has been restored (same id): re-linked, syncing again${side === 'source' && rt.link.deletes === 'flag' ? `, ${rt.deletedFlagField} cleared` : ''}` },
    eventKey: `${rt.link.id}:${rec.id}:${rec.modifiedAt}:restored:${side}`,
  };
}

/** Where a pair's base lists the fields whose source value lost a conflict (comma-separated names). */
const LOST_BASE_KEY = '@lost';
const lostFields = (base: Fields | undefined | null) => new Set(String(base?.[LOST_BASE_KEY] ?? '').split(',').filter(Boolean));

/**
 * A source value that lost a conflict was not synced: the next base keeps the field's old value, so
 * the value is weighed again on the next change (and wins once the target's value is gone) instead of
 * counting as "no news" for ever.
 */
function withLosers(next: Fields, planBase: Fields | undefined, plan: WritePlan): Fields {
  const lost = plan.conflicts.filter((c) => c.winner === 'target').map((c) => c.field);
  if (lost.length === 0) return next;
  const out: Fields = { ...next, [LOST_BASE_KEY]: lost.join(',') };
  for (const f of lost) {
    if (planBase && f in planBase) out[f] = planBase[f];
    else delete out[f];
  }
  return out;
}

function sameFields(a: Fields | null | undefined, b: Fields, types: FieldTypes): boolean {
  if (!a) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!(k in a) || !(k in b) || !sameValue(a[k], b[k], types[k])) return false;
  return true;
}

/**
 * Two-way: records of this link's source that the paired link created, found by the key it wrote into
 * them (LinkRuntime.pairedMatch) — source record id → its origin in this link's target. One read of
 * the target, only for records with no pair yet that carry a key.
 */
async function originsByPairedKey(rt: LinkRuntime, unpaired: CrmRecord[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const pm = rt.pairedMatch;
  if (!pm) return out;
  const byKey = new Map<string, string>();
  for (const r of unpaired) {
    const key = r.fields[pm.target];
    if (key !== undefined && key !== null && key !== '') byKey.set(String(key), r.id);
  }
  if (!byKey.size) return out;
  for (const origin of await rt.target.readByField(rt.targetObject, pm.source, [...byKey.keys()], [pm.source])) {
    const recordId = byKey.get(String(origin.fields[pm.source] ?? origin.id));
    if (recordId) out.set(recordId, origin.id);
  }
  return out;
}

/**
 * Move a batch of source records end to end: map → gate (rules) → plan against what the target has →
 * write in the CRM's batch size → collect what the ledger must record. Writes nothing to the ledger:
 * the caller commits the outcome together with the cursor, in one transaction.
 */
export async function processRecords(rt: LinkRuntime, records: CrmRecord[], opts: { replay?: boolean; backfill?: boolean; details?: Record<string, unknown> } = {}): Promise<Outcome> {
  const out: Outcome = { counts: {}, pairs: [], snapshots: [], deadLetters: [], resolved: [], audits: [] };
  if (records.length === 0) return out;
  const { mapping, ledger, link } = rt;
  const ctx = rt.context();
  const linkId = link.id;
  const readFields = new Set(sourceFieldsOf(rt));

  // Two-way: the source records as last synced (read by this link, or written by the reverse one), for
  // the plans' base; stored again below for the records this page syncs.
  const sourceSnaps = rt.sourceIsATarget ? await ledger.snapshots.get(rt.sourceOrg.id, rt.sourceObject, records.map((r) => r.id)) : undefined;
  const notSynced = new Set<string>();

  // Partner scope: a vendor record reaches a partner only if that partner is on it (sync/partnerScope.ts).
  const scope = await applyPartnerScope(rt, records);
  ({ admitted: records } = scope);
  inc(out.counts, 'read', scope.refused);
  inc(out.counts, 'skipped', scope.refused);
  out.audits.push(...scope.audits);
  out.deadLetters.push(...scope.parked);
  out.resolved.push(...scope.resolved);

  // Map.
  type Candidate = { rec: CrmRecord; key: string; mapped: Fields; parentTargetId?: string };
  const candidates: Candidate[] = [];
  const parentIds = new Set<string>();
  for (const rec of records) {
    inc(out.counts, 'read');
    let keep: boolean;
    try {
      keep = mapping.filter(rec.fields, ctx);
    } catch (e) {
      out.deadLetters.push({ sourceId: rec.id, payload: rec, reason: `filter: ${(e as Error).message}`, code: 'MAPPING_EVAL', kind: 'validation' });
      inc(out.counts, 'failed');
      continue;
    }
    if (!keep) {
      inc(out.counts, 'skipped');
      continue;
    }
    const { fields, errors } = mapping.apply(rec.fields, ctx);
    if (errors.length) {
      out.deadLetters.push({ sourceId: rec.id, payload: rec, reason: errors.map((e) => `${e.field}: ${e.message}`).join('; '), code: 'MAPPING_EVAL', kind: 'validation', fields: errors.map((e) => e.field) });
      inc(out.counts, 'failed');
      continue;
    }
    const key = mapping.matchKey(rec.fields, ctx);
    if (!key) {
      out.deadLetters.push({ sourceId: rec.id, payload: rec, reason: `match key ${mapping.match.source} is empty`, code: 'MATCH_KEY_MISSING', kind: 'validation', fields: [mapping.match.source] });
      inc(out.counts, 'failed');
      continue;
    }
    const parentRef = rt.parent ? rec.fields[rt.parent.sourceField] : undefined;
    if (parentRef !== undefined && parentRef !== null && parentRef !== '') parentIds.add(String(parentRef));
    candidates.push({ rec, key, mapped: fields });
  }

  // Rules of Engagement (registration links) — before parent parking: a deal is registered (its
  // customer claimed, first to register) when it is read, even if its company has not synced yet;
  // only its write waits for the parent. (Parked undecided, an earlier deal could lose to a later
  // one decided meanwhile on another link: registrations/firstToRegister.ts.)
  const gated = rt.gate ? await rt.gate.check(candidates.map((c) => ({ sourceId: c.rec.id, source: c.rec.fields, mapped: c.mapped }))) : undefined;

  // Parents first: a record whose parent has not synced yet is parked and retried after each catch-up.
  if (rt.parent && parentIds.size) {
    const parents = await ledger.pairs.bySource(rt.parent.linkId, [...parentIds]);
    for (let i = candidates.length - 1; i >= 0; i--) {
      const c = candidates[i];
      const ref = c.rec.fields[rt.parent.sourceField];
      if (ref === undefined || ref === null || ref === '') continue;
      const p = parents.get(String(ref));
      if (!p || p.deletedAt) {
        out.deadLetters.push({ sourceId: c.rec.id, payload: c.rec, reason: `parent ${rt.parent.sourceField}=${ref} has not synced on link ${rt.parent.linkId} yet`, code: PARKED_PARENT, kind: 'not_found' });
        inc(out.counts, 'skipped');
        candidates.splice(i, 1);
        continue;
      }
      c.parentTargetId = p.targetId;
      if (rt.parent.targetField) c.mapped[rt.parent.targetField] = p.targetId;
    }
  }


  // Plan against what the target has (see sync/plan.ts): its snapshot and the pair's base first; then
  // the records whose plan would write are planned again against the target as it is now (one batched
  // read), so an edit made there since the sync last looked is weighed, never overwritten blind.
  const pairs = await ledger.pairs.bySource(linkId, candidates.map((c) => c.rec.id));
  // Two-way links: a record that came *from* the target over the paired link is already paired with
  // its origin — update that record rather than creating a second one.
  if (link.pairedWith) {
    const unpaired = candidates.filter((c) => !pairs.has(c.rec.id)).map((c) => c.rec.id);
    const reverse = unpaired.length ? await ledger.pairs.byTarget(link.pairedWith, unpaired) : new Map();
    for (const [recordId, p] of reverse) {
      if (!p.deletedAt && !p.targetDeletedAt) pairs.set(recordId, { ...p, linkId, sourceId: recordId, targetId: p.sourceId, matchKey: null, base: null, targetDeletedAt: null });
    }
    for (const [recordId, origin] of await originsByPairedKey(rt, candidates.map((c) => c.rec).filter((r) => !pairs.has(r.id)))) {
      pairs.set(recordId, { linkId, sourceId: recordId, targetId: origin, matchKey: null, sourceHash: null, targetHash: null, base: null, targetDeletedAt: null, deletedAt: null, createdAt: '', updatedAt: '' });
    }
  }
  const restored = await findRestored(rt, candidates.map((c) => c.rec.id), pairs);
  // A restored source's flag is always written: the deletion set it on the target outside the snapshot
  // and the base, which still say `false` after an earlier restore (a second restore planned no change).
  const clearFlagOnRestore = (sourceId: string, plan: WritePlan): WritePlan => {
    if (restored.get(sourceId) === 'source' && rt.deletedFlagField) plan.write[rt.deletedFlagField] = false;
    return plan;
  };
  const targetIds = [...pairs.values()].filter((p) => !p.deletedAt && !p.targetDeletedAt).map((p) => p.targetId);
  const targetSnaps = await ledger.snapshots.get(rt.targetOrg.id, rt.targetObject, targetIds);
  const policies = policiesOf(mapping);
  const types = typesOf(rt.targetSchema);
  const assocParent = rt.parent && !rt.parent.targetField;
  type Planned = Candidate & { pair?: RecordPair; plan: WritePlan; gateDecisions: unknown[]; base: Fields; planBase?: Fields };
  const planned: Planned[] = [];
  for (const c of candidates) {
    const decision = gated?.get(c.rec.id);
    if (decision && decision.action !== 'write') {
      inc(out.counts, 'skipped');
      notSynced.add(c.rec.id);
      out.audits.push({ linkId, sourceId: c.rec.id, action: decision.action === 'hold' ? 'held' : 'rejected', decisions: decision.decisions ?? [], details: { reason: decision.reason ?? null }, eventKey: `${linkId}:${c.rec.id}:${c.rec.modifiedAt}:${decision.action}` });
      if (decision.park) out.deadLetters.push({ sourceId: c.rec.id, payload: c.rec, reason: decision.reason ?? 'not decided yet', code: decision.park, kind: 'not_found' });
      else out.resolved.push(c.rec.id);
      continue;
    }
    const mapped = { ...c.mapped, ...(decision?.fields ?? {}) };
    // The record's own parent, synced on the parent link, is its account — over the vendor account the
    // registration gate matched by customer (two partners' companies of one customer are two accounts).
    if (rt.parent?.targetField && c.parentTargetId && decision?.fields && rt.parent.targetField in decision.fields) mapped[rt.parent.targetField] = c.parentTargetId;
    for (const f of decision?.protect ?? []) delete mapped[f];
    // A restored source clears the flag its deletion set on the target (`deletes: flag`).
    if (restored.get(c.rec.id) === 'source' && rt.deletedFlagField) mapped[rt.deletedFlagField] = false;
    const pair = pairs.get(c.rec.id);
    const live = pair && !pair.deletedAt ? pair : undefined;
    if (live?.targetDeletedAt && link.targetDeletes !== 'recreate') {
      // Deleted in the target by someone else and left so (audited when found): nothing to write.
      inc(out.counts, 'skipped');
      out.resolved.push(c.rec.id);
      continue;
    }
    // What this plan syncs becomes the pair's next base (a field the mapping leaves out this time, e.g.
    // a false `when`, is no longer known as synced).
    const base: Fields = { ...mapped, ...(assocParent && c.parentTargetId ? { [PARENT_BASE_KEY]: c.parentTargetId } : {}) };
    const current = live && !live.targetDeletedAt ? (targetSnaps.get(live.targetId) ?? { fields: {} }) : undefined;
    const planBase = live ? baseOf(rt, live, sourceSnaps?.get(c.rec.id)?.fields, ctx, opts.backfill, current?.fields, types) : undefined;
    const plan = clearFlagOnRestore(c.rec.id, planWrite(mapped, current, policies, c.rec.modifiedAt, { base: planBase, types }));
    planned.push({ ...c, mapped, pair: live, plan, gateDecisions: decision?.decisions ?? [], base, planBase });
  }

  const fresh = planned.filter((p) => p.pair && !p.pair.targetDeletedAt && (Object.keys(p.plan.write).length > 0 || p.plan.conflicts.length > 0));
  const targetGone = new Set<string>();
  if (fresh.length) {
    const readFieldsT = [...new Set([...mapping.targetFields, mapping.match.target, ...(rt.parent?.targetField ? [rt.parent.targetField] : [])])];
    const now = new Map((await rt.target.readByIds(rt.targetObject, fresh.map((p) => p.pair!.targetId), readFieldsT)).map((r) => [r.id, r]));
    for (const p of fresh) {
      const r = now.get(p.pair!.targetId);
      if (!r) {
        targetGone.add(p.rec.id);
        continue;
      }
      const fields = pick(r.fields, readFieldsT);
      const synced = targetSnaps.get(r.id)?.fields;
      p.plan = clearFlagOnRestore(p.rec.id, planWrite(p.mapped, { fields: { ...synced, ...fields }, modifiedAt: r.modifiedAt }, policies, p.rec.modifiedAt, { base: p.planBase, targetBase: synced, types }));
      // The snapshot says what was last *synced*, so only the fields seen to agree with the source go in
      // (a target edit not synced yet must stay news for the reverse link).
      const agreed = Object.fromEntries(Object.entries(fields).filter(([k, v]) => k in p.mapped && sameValue(v, p.mapped[k], types[k])));
      if (Object.keys(agreed).length) out.snapshots.push({ orgId: rt.targetOrg.id, object: rt.targetObject, recordId: r.id, fields: agreed, modifiedAt: r.modifiedAt });
    }
  }

  type Write = Planned & { targetId?: string; write: Fields; before: Fields; decisions: unknown[]; recreatedFrom?: string };
  const creates: Write[] = [];
  const updates: Write[] = [];
  const reassociate: Planned[] = [];
  /** The target record is gone (deleted there, not by us): the link's `targetDeletes` policy decides. */
  const onTargetGone = (p: Planned, targetId: string): Write | undefined => {
    if (link.targetDeletes === 'recreate') {
      const plan = planWrite(p.mapped, undefined, policies);
      return { ...p, base: { ...p.mapped, ...(assocParent && p.parentTargetId ? { [PARENT_BASE_KEY]: p.parentTargetId } : {}) }, write: plan.write, before: {}, decisions: p.gateDecisions, recreatedFrom: targetId };
    }
    inc(out.counts, 'skipped');
    out.resolved.push(p.rec.id);
    out.pairs.push({ sourceId: p.rec.id, targetId, targetDeleted: true });
    out.audits.push({ linkId, sourceId: p.rec.id, targetId, action: 'target-deleted', details: { policy: 'leave', reason: `the ${rt.targetObject} record was deleted in ${rt.targetOrg.id}; the link leaves it deleted (targetDeletes: leave)` }, eventKey: `${linkId}:${p.rec.id}:${targetId}:target-deleted` });
    return undefined;
  };
  for (const p of planned) {
    p.base = withLosers(p.base, p.planBase, p.plan);
    const decisions: unknown[] = [...p.gateDecisions, ...p.plan.conflicts.map((x) => ({ rule: 'field-owner', ...x }))];
    if (p.pair && (targetGone.has(p.rec.id) || p.pair.targetDeletedAt)) {
      const w = onTargetGone(p, p.pair.targetId);
      if (w) creates.push(w);
      continue;
    }
    if (p.pair && Object.keys(p.plan.write).length === 0) {
      inc(out.counts, 'unchanged');
      out.resolved.push(p.rec.id);
      // The base follows the source even when nothing is written: the same value next time is no news.
      const back = restored.get(p.rec.id);
      if (!sameFields(p.pair.base, p.base, types) || back) out.pairs.push({ sourceId: p.rec.id, targetId: p.pair.targetId, base: p.base, ...(back === 'target' ? { relinked: true } : {}) });
      if (back) out.audits.push(restoredAudit(rt, p.rec, p.pair.targetId, back));
      if (assocParent && p.parentTargetId && p.pair.base?.[PARENT_BASE_KEY] !== p.parentTargetId) reassociate.push(p);
      if (p.plan.conflicts.length) out.audits.push({ linkId, sourceId: p.rec.id, targetId: p.pair.targetId, action: 'conflict', decisions, eventKey: `${linkId}:${p.rec.id}:${p.rec.modifiedAt}:conflict` });
      continue;
    }
    (p.pair ? updates : creates).push({ ...p, targetId: p.pair?.targetId, write: p.plan.write, before: p.plan.before, decisions });
  }

  // Write in the CRM's batch size (the connector chunks).
  const writeStart = performance.now();
  const upsertResults = creates.length ? await rt.target.upsert(rt.targetObject, mapping.match.target, creates.map((w) => ({ key: w.key, fields: w.write }))) : [];
  const updateResults = updates.length ? await rt.target.update(rt.targetObject, updates.map((w) => ({ id: w.targetId!, fields: w.write }))) : [];
  // Deleted in the target between the read and the write: the same policy as above.
  const lateGone = updates.map((w, i) => ({ w, i, r: updateResults[i] })).filter((x) => x.r?.status === 'failed' && x.r.error?.kind === 'not_found');
  const again = lateGone.map((x) => ({ ...x, re: onTargetGone(x.w, x.w.targetId!) }));
  const recreate = again.filter((x) => x.re);
  const recreated = recreate.length ? await rt.target.upsert(rt.targetObject, mapping.match.target, recreate.map((x) => ({ key: x.re!.key, fields: x.re!.write }))) : [];

  log.debug({ link: linkId, creates: creates.length, updates: updates.length, writeMs: Math.round(performance.now() - writeStart) }, 'sync: writes');
  const landed: Array<{ w: Planned; id: string }> = [];
  const settle = (w: Write, r: WriteResult | undefined) => {
    if (!r || r.status === 'failed' || !r.id) {
      const err = r?.error;
      if (err && (err.kind === 'transient' || err.kind === 'rate_limited' || err.kind === 'auth' || err.kind === 'quota_exhausted')) {
        // Not the record's fault: fail the activity so Temporal retries the page (writes are upserts).
        throw new ConnectorError(err.kind, err.message, { crmCode: err.crmCode, fields: err.fields });
      }
      out.deadLetters.push({ sourceId: w.rec.id, payload: w.rec, reason: err?.message ?? 'write failed without a reason', code: err?.crmCode ?? null, kind: err?.kind ?? null, fields: err?.fields ?? null });
      inc(out.counts, 'failed');
      return;
    }
    inc(out.counts, r.status === 'created' ? 'created' : 'updated');
    landed.push({ w, id: r.id });
    out.resolved.push(w.rec.id);
    const back = w.recreatedFrom ? undefined : restored.get(w.rec.id);
    out.pairs.push({ sourceId: w.rec.id, targetId: r.id, matchKey: w.key, sourceHash: hashFields(pick(w.rec.fields, readFields)), targetHash: hashFields(w.mapped), base: w.base, ...(back === 'target' ? { relinked: true } : {}) });
    if (back) out.audits.push(restoredAudit(rt, w.rec, r.id, back));
    out.snapshots.push({ orgId: rt.targetOrg.id, object: rt.targetObject, recordId: r.id, fields: { ...w.write, [mapping.match.target]: w.key }, merge: true });
    const action = w.recreatedFrom ? 'recreated' : r.status;
    out.audits.push({
      linkId,
      sourceId: w.rec.id,
      targetId: r.id,
      action,
      before: w.before,
      after: w.write,
      decisions: w.decisions.length ? w.decisions : null,
      details: w.recreatedFrom || opts.replay || opts.details ? { ...opts.details, ...(opts.replay ? { replay: true } : {}), ...(w.recreatedFrom ? { previousTargetId: w.recreatedFrom, policy: 'recreate', reason: `the ${rt.targetObject} record was deleted in ${rt.targetOrg.id}; re-created from the source (targetDeletes: recreate)` } : {}) } : null,
      eventKey: `${linkId}:${w.rec.id}:${w.rec.modifiedAt}:${w.recreatedFrom ? 'recreated:' : ''}${hashFields(w.write)}`,
    });
  };
  creates.forEach((w, i) => settle(w, upsertResults[i]));
  const late = new Map(recreate.map((x, j) => [x.i, { w: x.re!, r: recreated[j] }]));
  updates.forEach((w, i) => {
    if (lateGone.some((x) => x.i === i)) {
      const re = late.get(i);
      if (re) settle(re.w, re.r);
      return;
    }
    settle(w, updateResults[i]);
  });

  // What the source looks like now, for the reverse link (its view of its target) and the next base.
  // Records not synced (dead-lettered, parked, held) keep their old snapshot: their change is still news.
  if (rt.sourceIsATarget) {
    for (const d of out.deadLetters) notSynced.add(d.sourceId);
    const mine = records.filter((r) => !notSynced.has(r.id)).map((r) => ({ orgId: rt.sourceOrg.id, object: rt.sourceObject, recordId: r.id, fields: pick(r.fields, readFields), modifiedAt: r.modifiedAt }));
    out.snapshots.unshift(...mine);
  }

  // Associations the target models as links rather than fields (HubSpot deal → company), also when
  // only the parent changed (a deal moved to another company).
  if (rt.parent && !rt.parent.targetField) {
    const assoc = [...landed.filter((l) => l.w.parentTargetId).map((l) => ({ id: l.id, to: l.w.parentTargetId! })), ...reassociate.map((p) => ({ id: p.pair!.targetId, to: p.parentTargetId! }))].map(
      (a) => ({ fromObject: rt.targetObject, fromId: a.id, toObject: rt.parent!.targetObject, toId: a.to }),
    );
    if (assoc.length) {
      const res = await rt.target.associate(assoc);
      const bad = res.find((r) => r.status === 'failed');
      if (bad && bad.error && bad.error.kind !== 'validation' && bad.error.kind !== 'not_found') throw new Error(`associate: ${bad.error.message}`);
    }
  }
  return out;
}

/** One page of the change feed, end to end; the cursor moves in the same transaction as the page's writes. */
export async function syncChangesPage(rt: LinkRuntime, heartbeat: (d: unknown) => void = () => {}): Promise<PageReport> {
  // On a change stream the page comes from the stream's log in the ledger, not from the CRM.
  if (rt.stream) return syncStreamPage(rt, heartbeat);
  const { ledger, link } = rt;
  const cur = await ledger.cursors.getOrStart(link.id, 'changes');
  const fields = sourceFieldsOf(rt);
  const read = (from: FeedCursor) => rt.source.changes(rt.sourceObject, from, { fields, pageSize: rt.pageSize });
  const t0 = performance.now();
  let page = await rt.readAhead.take(cur, cur.generation);
  const readAhead = page !== undefined;
  if (!page) page = await read(cur);
  const next = page.next;
  if (!page.caughtUp) rt.readAhead.start(next, cur.generation, () => read(next));
  // The position only: a feed's state (look-back memory) stays in the ledger, out of Temporal.
  const at = { modifiedAt: page.next.modifiedAt, id: page.next.id };
  const t1 = performance.now();
  const outcome = await heartbeating(heartbeat, { cursor: at, records: page.records.length }, () => processRecords(rt, page.records));
  const t2 = performance.now();
  await ledger.commitPage({
    linkId: link.id,
    feed: 'changes',
    cursor: page.next,
    generation: cur.generation,
    from: cur,
    caughtUp: page.caughtUp,
    ...outcomeWrites(outcome),
  });
  const ms = (a: number, b: number) => Math.round(b - a);
  log.debug({ link: link.id, records: page.records.length, readAhead, readMs: ms(t0, t1), processMs: ms(t1, t2), commitMs: ms(t2, performance.now()) }, 'sync: page');
  const newest = page.records.reduce((m, r) => (r.modifiedAt > m ? r.modifiedAt : m), '');
  return {
    counts: { ...outcome.counts, pages: 1 },
    caughtUp: page.caughtUp,
    cursor: { modifiedAt: page.next.modifiedAt, id: page.next.id },
    lagMs: newest ? Math.max(0, Date.now() - Date.parse(newest)) : page.caughtUp ? 0 : undefined,
  };
}

/** Deleted / archived / merged source records, applied per the link's delete policy. */
export async function syncDeletionsPage(rt: LinkRuntime): Promise<PageReport> {
  // On a change stream, deletions arrive as tombstones in the stream's log, with the changes.
  if (rt.stream) return { counts: {}, caughtUp: true };
  const { ledger, link } = rt;
  const cur = await ledger.cursors.getOrStart(link.id, 'deletions');
  const page = await rt.source.deletions(rt.sourceObject, cur, { pageSize: rt.pageSize });
  const applied = await applyDeletions(rt, page.records);
  await ledger.commitPage({
    linkId: link.id,
    feed: 'deletions',
    cursor: page.next,
    generation: cur.generation,
    from: cur,
    caughtUp: page.caughtUp,
    deletedPairs: applied.deletedPairs,
    audits: applied.audits,
  });
  return { counts: { ...applied.counts, pages: 1 }, caughtUp: page.caughtUp };
}

/**
 * Apply source deletions to the target per the link's delete policy (merged parents first re-point
 * their children). Writes nothing to the ledger: the caller commits `deletedPairs` and `audits` with
 * its position. Records without a live pair are ignored, so applying a deletion twice changes nothing.
 */
export async function applyDeletions(rt: LinkRuntime, records: DeletedRecord[]): Promise<{ counts: Partial<SyncCounts>; deletedPairs: string[]; audits: AuditInput[] }> {
  const { ledger, link } = rt;
  const counts: Partial<SyncCounts> = {};
  const audits: AuditInput[] = [];
  if (records.length === 0) return { counts, deletedPairs: [], audits };
  const pairs = await ledger.pairs.bySource(link.id, records.map((r) => r.id));
  const live = records.filter((r) => pairs.get(r.id) && !pairs.get(r.id)!.deletedAt);
  // Merged away: first re-point the children (on the links whose parent is this one) at the survivor.
  const merged = live.filter((r) => r.mergedInto).map((r) => ({ gone: r.id, goneTarget: pairs.get(r.id)!.targetId, into: r.mergedInto! }));
  if (merged.length) inc(counts, 'updated', await repointChildren(rt, merged));
  // A target without a deletion flag (Partner Central: no custom fields, no delete) keeps its record.
  if (live.length && link.deletes !== 'ignore' && (link.deletes === 'archive' ? rt.target.kind !== 'aws-partner-central' : !!rt.deletedFlagField)) {
    const targetIds = live.map((r) => pairs.get(r.id)!.targetId);
    const results =
      link.deletes === 'archive'
        ? await rt.target.remove(rt.targetObject, targetIds)
        : await rt.target.update(rt.targetObject, targetIds.map((id) => ({ id, fields: { [rt.deletedFlagField]: true } })));
    results.forEach((r, i) => {
      if (r.status === 'failed' && r.error?.kind !== 'not_found') throw new Error(`delete propagation failed for ${targetIds[i]}: ${r.error?.message}`);
    });
    inc(counts, 'deleted', live.length);
    for (const r of live) {
      const targetId = pairs.get(r.id)!.targetId;
      audits.push({ linkId: link.id, sourceId: r.id, targetId, action: link.deletes === 'archive' ? 'archived' : 'flagged-deleted', details: { deletedAt: r.deletedAt, mergedInto: r.mergedInto ?? null }, eventKey: `${link.id}:${r.id}:delete:${r.deletedAt ?? ''}` }); // each deletion (a restored record can be deleted again)
    }
  }
  return { counts, deletedPairs: link.deletes === 'ignore' ? [] : live.map((r) => r.id), audits };
}

/**
 * A parent record merged into another (HubSpot merge, Salesforce MasterRecordId): its children on the
 * links whose `parent` is this link still point at the merged-away record's target. Find them in the
 * target by their parent field, re-read their sources (which the source CRM has re-parented to the
 * survivor) and sync them again, so the parent field follows to the survivor's target; each re-pointed
 * child is audited (`reparented`). Children modelled as associations (no `targetField`) follow through
 * their own change feed instead (processRecords re-associates when a record's parent changed).
 */
async function repointChildren(rt: LinkRuntime, merged: Array<{ gone: string; goneTarget: string; into: string }>): Promise<number> {
  const children = rt.network.network.links.filter((l) => l.enabled !== false && l.parent?.link === rt.link.id && l.parent.targetField);
  if (children.length === 0 || !rt.linkRuntime) return 0;
  const into = new Map(merged.map((m) => [m.goneTarget, m]));
  let repointed = 0;
  for (const child of children) {
    const crt = await rt.linkRuntime(child.id);
    const field = crt.parent!.targetField!;
    const found = await crt.target.readByField(crt.targetObject, field, [...into.keys()], [field]);
    const childPairs = await rt.ledger.pairs.byTarget(child.id, found.map((r) => r.id));
    const parentOf = new Map(found.map((r) => [r.id, String(r.fields[field])]));
    const bySource = new Map([...childPairs.values()].filter((p) => !p.deletedAt).map((p) => [p.sourceId, p]));
    if (bySource.size === 0) continue;
    const records = await crt.source.readByIds(crt.sourceObject, [...bySource.keys()], sourceFieldsOf(crt));
    const outcome = await processRecords(crt, records);
    const written = new Map(outcome.pairs.filter((p) => p.sourceHash !== undefined).map((p) => [p.sourceId, p.targetId]));
    for (const [sourceId, p] of bySource) {
      const m = into.get(parentOf.get(p.targetId) ?? '');
      if (!m || !written.has(sourceId)) continue;
      repointed++;
      outcome.audits.push({ linkId: child.id, sourceId, targetId: p.targetId, action: 'reparented', details: { parentLink: rt.link.id, mergedFrom: m.gone, mergedInto: m.into, field, from: m.goneTarget }, eventKey: `${child.id}:${sourceId}:reparented:${m.gone}` });
    }
    await rt.ledger.commitPage({ linkId: child.id, feed: 'changes', ...outcomeWrites(outcome) });
  }
  return repointed;
}

/** The source fields a link reads: what its mapping reads, the match key, the parent reference, what its gate reads (a registration's dispute field) and the paired link's key (`pairedMatch`). */
export function sourceFieldsOf(rt: Pick<LinkRuntime, 'mapping' | 'parent' | 'gate' | 'pairedMatch'>): string[] {
  return [...new Set([...rt.mapping.sourceFields, rt.mapping.match.source, ...(rt.parent ? [rt.parent.sourceField] : []), ...(rt.gate?.readFields ?? []), ...(rt.pairedMatch ? [rt.pairedMatch.target] : [])])];
}

/** Dead letters replayed per page (one source read, one ledger transaction). */
export const REPLAY_PAGE_SIZE = 500;

/**
 * Re-run dead letters (all pending ones, or only those with given codes / ids) against the current
 * source records, a page at a time through every match: the codes and ids are filtered in SQL, so a
 * few parked records are never starved behind thousands of other dead letters. Each page's
 * "replayed" mark commits in the same transaction as its outcome — a page that fails leaves its
 * dead letters pending for the next replay.
 */
export async function replayDeadLetters(rt: LinkRuntime, opts: { codes?: string[]; ids?: number[]; withoutCode?: boolean; pageSize?: number; heartbeat?: (d: unknown) => void } = {}): Promise<PageReport> {
  const { ledger, link } = rt;
  const counts: Partial<SyncCounts> = {};
  const fields = sourceFieldsOf(rt);
  let afterId: number | undefined;
  let awaiting = 0;
  for (;;) {
    const pending = await ledger.deadLetters.list({ linkId: link.id, status: 'pending', codes: opts.codes, ids: opts.ids, withoutCode: opts.withoutCode, afterId, limit: opts.pageSize ?? REPLAY_PAGE_SIZE });
    if (pending.length === 0) break;
    afterId = pending[pending.length - 1].id;
    const records = await readSourceByIds(rt, pending.map((d) => d.sourceId), fields);
    const outcome = await processRecords(rt, records, { replay: true });
    const stillFailing = new Set(outcome.deadLetters.map((d) => d.sourceId));
    awaiting += outcome.deadLetters.filter((d) => d.code === AWAITING_PEER_LINKS).length;
    await ledger.commitPage({
      linkId: link.id,
      feed: 'changes',
      replayedDeadLetters: pending.map((d) => d.id),
      ...outcomeWrites(outcome),
      resolvedDeadLetters: outcome.resolved.filter((id) => !stillFailing.has(id)),
    });
    for (const [k, v] of Object.entries(outcome.counts) as Array<[keyof SyncCounts, number]>) inc(counts, k, v);
    opts.heartbeat?.({ replayedThrough: afterId });
  }
  return { counts, caughtUp: true, ...(awaiting ? { awaiting } : {}) };
}

/**
 * Source records by id, as they are now. On a change stream, from the stream's log (every record's
 * latest version, no CRM call — replays after every catch-up would otherwise read the source once per
 * link); records the log lacks, or holds without these fields, are read from the CRM.
 */
async function readSourceByIds(rt: LinkRuntime, ids: string[], fields: string[]): Promise<CrmRecord[]> {
  if (!rt.stream) return rt.source.readByIds(rt.sourceObject, ids, fields);
  const logged = await rt.ledger.streams.entries(rt.stream.id, ids);
  const out: CrmRecord[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const e = logged.get(id);
    if (e?.deletedAt) continue; // deleted: as readByIds, it is not returned
    if (e?.fields && fields.every((f) => f in e.fields!)) out.push({ id, modifiedAt: e.modifiedAt, fields: pick(e.fields, fields) });
    else missing.push(id);
  }
  if (missing.length) out.push(...(await rt.source.readByIds(rt.sourceObject, missing, fields)));
  return out;
}

/**
 * Run a page's writes while heartbeating (retries and rate-limit waits can take a while), so the
 * workflow can use a short heartbeat timeout and a killed worker's page is retried quickly.
 */
export async function heartbeating<T>(heartbeat: (d: unknown) => void, details: unknown, work: () => Promise<T>): Promise<T> {
  heartbeat(details);
  const beat = setInterval(() => heartbeat(details), 3_000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
