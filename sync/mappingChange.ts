import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { LinkConfig } from '../lib/config.js';
import { outcomeWrites, processRecords, sourceFieldsOf } from './page.js';
import type { LinkRuntime } from './runtime.js';
import type { PageReport, SyncCounts } from './types.js';

/** Largest number of pairs re-planned by one back-fill page (one source read, one target read, one commit). */
const BACKFILL_PAGE = 500;

/**
 * What a link's mapping means, as a short hash: the parsed mapping document (so comments and layout do
 * not count) and the link settings that shape what it writes. Two mappings with one fingerprint write
 * the same fields for the same record.
 */
export function mappingFingerprint(mappingFile: string, link: Pick<LinkConfig, 'filter' | 'parent' | 'registration'>): string {
  const doc = parseYaml(readFileSync(mappingFile, 'utf8')) as unknown;
  const meaning = canonical({ mapping: doc, filter: link.filter ?? null, parent: link.parent ?? null, registration: link.registration ?? false });
  return createHash('sha256').update(meaning).digest('hex').slice(0, 16);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * A changed mapping is re-applied to every existing pair (users' complaint #9: 0 of 3,000 records
 * changed after a mapping change). The ledger keeps the fingerprint of the mapping each link last
 * applied; when the compiled one differs, the paired source records are re-read (in source id order,
 * one page per call) and planned again like any change — three-way, so target-side edits still count —
 * and the back-fill is audited: `mapping-changed` (old → new fingerprint, pairs to do) when it starts,
 * `mapping-applied` with the counts when done. Progress is stored after each page, so a retried or
 * restarted activity resumes where it stopped (a page done twice plans nothing the second time).
 *
 * Returns one page's report while there is back-fill work (the caller keeps calling; `caughtUp` is
 * false), or undefined when the link's mapping is the one its pairs were synced with. The first time a
 * link runs on a ledger its mapping is recorded as applied (there is nothing older to compare with).
 */
export async function backfillMappingPage(rt: LinkRuntime): Promise<PageReport | undefined> {
  const { ledger, link } = rt;
  const fingerprint = rt.mappingFingerprint;
  if (!fingerprint) return undefined;
  const state = await ledger.linkMappings.get(link.id);
  if (!state) {
    await ledger.linkMappings.put({ linkId: link.id, fingerprint, pendingFingerprint: null, afterSourceId: null, progress: null });
    return undefined;
  }
  if (state.fingerprint === fingerprint && state.pendingFingerprint === null) return undefined;

  let { afterSourceId, progress } = state;
  if (state.pendingFingerprint !== fingerprint) {
    // A new change (or a change of mind mid-way): start from the first pair.
    const pairs = await ledger.pairs.count(link.id);
    afterSourceId = null;
    progress = { startedAt: Date.now() };
    await ledger.commitPage({
      linkId: link.id,
      feed: 'changes',
      audits: [{ action: 'mapping-changed', details: { mapping: rt.mapping.file, from: state.fingerprint, to: fingerprint, pairs }, eventKey: `${link.id}:mapping-changed:${fingerprint}:${progress.startedAt}` }],
    });
    await ledger.linkMappings.put({ linkId: link.id, fingerprint: state.fingerprint, pendingFingerprint: fingerprint, afterSourceId, progress });
  }

  const pairs = await ledger.pairs.list(link.id, { afterSourceId: afterSourceId ?? undefined, limit: Math.min(rt.pageSize, BACKFILL_PAGE) });
  if (pairs.length === 0) {
    const { startedAt, ...counts } = progress ?? {};
    await ledger.commitPage({
      linkId: link.id,
      feed: 'changes',
      audits: [{ action: 'mapping-applied', details: { mapping: rt.mapping.file, from: state.fingerprint, to: fingerprint, ...counts }, eventKey: `${link.id}:mapping-applied:${fingerprint}:${startedAt ?? 0}` }],
    });
    await ledger.linkMappings.put({ linkId: link.id, fingerprint, pendingFingerprint: null, afterSourceId: null, progress: null });
    return { counts: {}, caughtUp: false };
  }
  const ids = pairs.filter((p) => !p.targetDeletedAt).map((p) => p.sourceId);
  const records = ids.length ? await rt.source.readByIds(rt.sourceObject, ids, sourceFieldsOf(rt)) : [];
  const outcome = await processRecords(rt, records, { backfill: true, details: { mappingChange: fingerprint } });
  await ledger.commitPage({
    linkId: link.id,
    feed: 'changes',
    ...outcomeWrites(outcome),
  });
  const next: Record<string, number> = { ...(progress ?? {}), pairs: (progress?.pairs ?? 0) + pairs.length };
  for (const [k, v] of Object.entries(outcome.counts) as Array<[keyof SyncCounts, number]>) next[k] = (next[k] ?? 0) + v;
  await ledger.linkMappings.put({ linkId: link.id, fingerprint: state.fingerprint, pendingFingerprint: fingerprint, afterSourceId: pairs[pairs.length - 1].sourceId, progress: next });
  return { counts: outcome.counts, caughtUp: false };
}
