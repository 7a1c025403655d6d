import type { CrmRecord, FeedCursor, Fields, WriteResult } from '../connectors/types.js';
import { isConnectorError } from '../connectors/errors.js';
import { log } from '../lib/logger.js';
import type { AuditInput, DeadLetterInput, PairWrite } from '../ledger/types.js';
import type { SnapshotWrite } from '../ledger/types.js';
import { applyPartnerScope } from './partnerScope.js';
import { planWrite } from './plan.js';
import type { LinkRuntime } from './runtime.js';
import type { PageReport, SyncCounts } from './types.js';
import { hashFields, pick } from './values.js';

/** Dead-letter codes the engine itself assigns (CRM rejections keep the CRM's own code). */
export const PARKED_PARENT = 'PARENT_NOT_SYNCED';

interface Outcome {
  counts: Partial<SyncCounts>;
  pairs: PairWrite[];
  snapshots: SnapshotWrite[];
  deadLetters: DeadLetterInput[];
  resolved: string[];
  audits: AuditInput[];
}

function inc(c: Partial<SyncCounts>, k: keyof SyncCounts, n = 1) {
  c[k] = (c[k] ?? 0) + n;
}

/**
 * Move a batch of source records end to end: map → gate (rules) → plan against what the target has →
 * write in the CRM's batch size → collect what the ledger must record. Writes nothing to the ledger:
 * the caller commits the outcome together with the cursor, in one transaction.
 */
export async function processRecords(rt: LinkRuntime, records: CrmRecord[], opts: { replay?: boolean } = {}): Promise<Outcome> {
  const out: Outcome = { counts: {}, pairs: [], snapshots: [], deadLetters: [], resolved: [], audits: [] };
  if (records.length === 0) return out;
  const { mapping, ledger, link } = rt;
  const ctx = rt.context();
  const linkId = link.id;
  const readFields = new Set([...mapping.sourceFields, mapping.match.source, ...(rt.parent ? [rt.parent.sourceField] : [])]);

  // What the source looks like now, for the reverse link's echo check.
  if (rt.sourceIsATarget) for (const r of records) out.snapshots.push({ orgId: rt.sourceOrg.id, object: rt.sourceObject, recordId: r.id, fields: pick(r.fields, readFields), modifiedAt: r.modifiedAt });

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

  // Rules of Engagement (registration links).
  const gated = rt.gate ? await rt.gate.check(candidates.map((c) => ({ sourceId: c.rec.id, source: c.rec.fields, mapped: c.mapped }))) : undefined;

  // Plan against what the target has.
  const pairs = await ledger.pairs.bySource(linkId, candidates.map((c) => c.rec.id));
  // Two-way links: a record that came *from* the target over the paired link is already paired with
  // its origin — update that record rather than creating a second one.
  if (link.pairedWith) {
    const unpaired = candidates.filter((c) => !pairs.has(c.rec.id)).map((c) => c.rec.id);
    const reverse = unpaired.length ? await ledger.pairs.byTarget(link.pairedWith, unpaired) : new Map();
    for (const [recordId, p] of reverse) {
      if (!p.deletedAt) pairs.set(recordId, { ...p, linkId, sourceId: recordId, targetId: p.sourceId, matchKey: null });
    }
  }
  const targetIds = [...pairs.values()].filter((p) => !p.deletedAt).map((p) => p.targetId);
  const targetSnaps = await ledger.snapshots.get(rt.targetOrg.id, rt.targetObject, targetIds);
  type Write = Candidate & { targetId?: string; write: Fields; before: Fields; decisions: unknown[] };
  const creates: Write[] = [];
  const updates: Write[] = [];
  for (const c of candidates) {
    const decision = gated?.get(c.rec.id);
    if (decision && decision.action !== 'write') {
      inc(out.counts, 'skipped');
      out.audits.push({ linkId, sourceId: c.rec.id, action: decision.action === 'hold' ? 'held' : 'rejected', decisions: decision.decisions ?? [], details: { reason: decision.reason ?? null }, eventKey: `${linkId}:${c.rec.id}:${c.rec.modifiedAt}:${decision.action}` });
      out.resolved.push(c.rec.id);
      continue;
    }
    const mapped = { ...c.mapped, ...(decision?.fields ?? {}) };
    for (const f of decision?.protect ?? []) delete mapped[f];
    const pair = pairs.get(c.rec.id);
    const live = pair && !pair.deletedAt ? pair : undefined;
    const snap = live ? (targetSnaps.get(live.targetId) ?? { fields: {} }) : undefined;
    const plan = planWrite(mapped, snap, Object.fromEntries(Object.entries(mapping.policies).map(([k, v]) => [k, { owner: v.owner }])), c.rec.modifiedAt);
    const decisions: unknown[] = [...(decision?.decisions ?? []), ...plan.conflicts.map((x) => ({ rule: 'field-owner', ...x }))];
    if (live && Object.keys(plan.write).length === 0) {
      inc(out.counts, 'unchanged');
      out.resolved.push(c.rec.id);
      if (plan.conflicts.length) out.audits.push({ linkId, sourceId: c.rec.id, targetId: live.targetId, action: 'conflict', decisions, eventKey: `${linkId}:${c.rec.id}:${c.rec.modifiedAt}:conflict` });
      continue;
    }
    (live ? updates : creates).push({ ...c, mapped, targetId: live?.targetId, write: plan.write, before: plan.before, decisions });
  }

  // Write in the CRM's batch size (the connector chunks). Updates of records deleted in the target fall back to an upsert.
  const writeStart = performance.now();
  const upsertResults = creates.length ? await rt.target.upsert(rt.targetObject, mapping.match.target, creates.map((w) => ({ key: w.key, fields: w.write }))) : [];
  let updateResults = updates.length ? await rt.target.update(rt.targetObject, updates.map((w) => ({ id: w.targetId!, fields: w.write }))) : [];
  const gone = updates.map((w, i) => ({ w, r: updateResults[i] })).filter((x) => x.r?.status === 'failed' && x.r.error?.kind === 'not_found');
  if (gone.length) {
    const again = await rt.target.upsert(rt.targetObject, mapping.match.target, gone.map((x) => ({ key: x.w.key, fields: x.w.mapped })));
    updateResults = updateResults.slice();
    gone.forEach((x, i) => (updateResults[updates.indexOf(x.w)] = again[i]));
  }

  log.debug({ link: linkId, creates: creates.length, updates: updates.length, writeMs: Math.round(performance.now() - writeStart) }, 'sync: writes');
  const landed: Array<{ w: Write; id: string }> = [];
  const settle = (w: Write, r: WriteResult | undefined) => {
    if (!r || r.status === 'failed' || !r.id) {
      const err = r?.error;
      if (err && (err.kind === 'transient' || err.kind === 'rate_limited' || err.kind === 'auth' || err.kind === 'quota_exhausted')) {
        // Not the record's fault: fail the activity so Temporal retries the page (writes are upserts).
        throw Object.assign(new Error(`${err.kind}: ${err.message}`), { connectorKind: err.kind });
      }
      out.deadLetters.push({ sourceId: w.rec.id, payload: w.rec, reason: err?.message ?? 'write failed without a reason', code: err?.crmCode ?? null, kind: err?.kind ?? null, fields: err?.fields ?? null });
      inc(out.counts, 'failed');
      return;
    }
    inc(out.counts, r.status === 'created' ? 'created' : 'updated');
    landed.push({ w, id: r.id });
    out.resolved.push(w.rec.id);
    out.pairs.push({ sourceId: w.rec.id, targetId: r.id, matchKey: w.key, sourceHash: hashFields(pick(w.rec.fields, readFields)), targetHash: hashFields(w.mapped) });
    out.snapshots.push({ orgId: rt.targetOrg.id, object: rt.targetObject, recordId: r.id, fields: { ...w.write, [mapping.match.target]: w.key }, merge: true });
    out.audits.push({
      linkId,
      sourceId: w.rec.id,
      targetId: r.id,
      action: r.status,
      before: w.before,
      after: w.write,
      decisions: w.decisions.length ? w.decisions : null,
      details: opts.replay ? { replay: true } : null,
      eventKey: `${linkId}:${w.rec.id}:${w.rec.modifiedAt}:${hashFields(w.write)}`,
    });
  };
  creates.forEach((w, i) => settle(w, upsertResults[i]));
  updates.forEach((w, i) => settle(w, updateResults[i]));

  // Associations the target models as links rather than fields (HubSpot deal → company).
  if (rt.parent && !rt.parent.targetField) {
    const assoc = landed.filter((l) => l.w.parentTargetId).map((l) => ({ fromObject: rt.targetObject, fromId: l.id, toObject: rt.parent!.targetObject, toId: l.w.parentTargetId! }));
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
  const { ledger, link, mapping } = rt;
  const cur = await ledger.cursors.getOrStart(link.id, 'changes');
  const fields = [...new Set([...mapping.sourceFields, mapping.match.source, ...(rt.parent ? [rt.parent.sourceField] : [])])];
  const read = (from: FeedCursor) => rt.source.changes(rt.sourceObject, from, { fields, pageSize: rt.pageSize });
  const t0 = performance.now();
  let page = await rt.readAhead.take(cur, cur.generation);
  const readAhead = page !== undefined;
  if (!page) {
    try {
      page = await read(cur);
    } catch (e) {
      throw withQuota(e);
    }
  }
  const next = page.next;
  if (!page.caughtUp) rt.readAhead.start(next, cur.generation, () => read(next));
  // The position only: a feed's state (look-back memory) stays in the ledger, out of Temporal.
  const at = { modifiedAt: page.next.modifiedAt, id: page.next.id };
  heartbeat({ cursor: at, records: page.records.length });
  const t1 = performance.now();
  let outcome: Outcome;
  // Keep heartbeating while the page's writes run (retries and rate-limit waits can take a while), so
  // the workflow can use a short heartbeat timeout and a killed worker's page is retried quickly.
  const beat = setInterval(() => heartbeat({ cursor: at, records: page.records.length }), 3_000);
  try {
    outcome = await processRecords(rt, page.records);
  } catch (e) {
    throw withQuota(e);
  } finally {
    clearInterval(beat);
  }
  const t2 = performance.now();
  await ledger.commitPage({
    linkId: link.id,
    feed: 'changes',
    cursor: page.next,
    generation: cur.generation,
    from: cur,
    caughtUp: page.caughtUp,
    pairs: outcome.pairs,
    snapshots: outcome.snapshots,
    deadLetters: outcome.deadLetters,
    resolvedDeadLetters: outcome.resolved,
    audits: outcome.audits,
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
  const { ledger, link } = rt;
  const cur = await ledger.cursors.getOrStart(link.id, 'deletions');
  let page;
  try {
    page = await rt.source.deletions(rt.sourceObject, cur, { pageSize: rt.pageSize });
  } catch (e) {
    throw withQuota(e);
  }
  const counts: Partial<SyncCounts> = { pages: 1 };
  const pairs = await ledger.pairs.bySource(link.id, page.records.map((r) => r.id));
  const live = page.records.filter((r) => pairs.get(r.id) && !pairs.get(r.id)!.deletedAt);
  const audits: AuditInput[] = [];
  if (live.length && link.deletes !== 'ignore') {
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
      audits.push({ linkId: link.id, sourceId: r.id, targetId, action: link.deletes === 'archive' ? 'archived' : 'flagged-deleted', details: { deletedAt: r.deletedAt, mergedInto: r.mergedInto ?? null }, eventKey: `${link.id}:${r.id}:delete` });
    }
  }
  await ledger.commitPage({
    linkId: link.id,
    feed: 'deletions',
    cursor: page.next,
    generation: cur.generation,
    from: cur,
    caughtUp: page.caughtUp,
    deletedPairs: link.deletes === 'ignore' ? [] : live.map((r) => r.id),
    audits,
  });
  return { counts, caughtUp: page.caughtUp };
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
export async function replayDeadLetters(rt: LinkRuntime, opts: { codes?: string[]; ids?: number[]; pageSize?: number; heartbeat?: (d: unknown) => void } = {}): Promise<PageReport> {
  const { ledger, link } = rt;
  const counts: Partial<SyncCounts> = {};
  const fields = [...new Set([...rt.mapping.sourceFields, rt.mapping.match.source, ...(rt.parent ? [rt.parent.sourceField] : [])])];
  let afterId: number | undefined;
  for (;;) {
    const pending = await ledger.deadLetters.list({ linkId: link.id, status: 'pending', codes: opts.codes, ids: opts.ids, afterId, limit: opts.pageSize ?? REPLAY_PAGE_SIZE });
    if (pending.length === 0) break;
    afterId = pending[pending.length - 1].id;
    const records = await rt.source.readByIds(rt.sourceObject, pending.map((d) => d.sourceId), fields);
    const outcome = await processRecords(rt, records, { replay: true });
    const stillFailing = new Set(outcome.deadLetters.map((d) => d.sourceId));
    await ledger.commitPage({
      linkId: link.id,
      feed: 'changes',
      replayedDeadLetters: pending.map((d) => d.id),
      pairs: outcome.pairs,
      snapshots: outcome.snapshots,
      deadLetters: outcome.deadLetters,
      resolvedDeadLetters: outcome.resolved.filter((id) => !stillFailing.has(id)),
      audits: outcome.audits,
    });
    for (const [k, v] of Object.entries(outcome.counts) as Array<[keyof SyncCounts, number]>) inc(counts, k, v);
    opts.heartbeat?.({ replayedThrough: afterId });
  }
  return { counts, caughtUp: true };
}

/** Quota exhaustion is not an error to retry: it becomes a typed failure the workflow waits out. */
function withQuota(e: unknown): unknown {
  if (isConnectorError(e, 'quota_exhausted')) return Object.assign(e, { quotaResetsAt: e.resetsAt });
  return e;
}
