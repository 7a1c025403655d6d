import type { Ledger } from '../ledger/index.js';
import type { Engine } from './build.js';
import { outcomeWrites, PARENT_BASE_KEY, processRecords } from './page.js';
import type { LinkRuntime } from './runtime.js';
import { appendByIds, specOf, type PumpReport } from './stream.js';
import type { SyncCounts } from './types.js';

/**
 * The association reconciler. A HubSpot deal moved to another company by its association alone is
 * invisible to the change feed: HubSpot's search sorts and filters on hs_lastmodifieddate, which an
 * association change does not bump, and HubSpot has no feed of association changes (only the
 * associationChange webhook, push/). So on the reconciler's schedule (`streams.reconcile`, default
 * 15 min, with or without streams) the parent references that live in associations are read for every
 * paired record in batches (v4 batch read, 1,000 ids a call) and compared with what the ledger
 * recorded; the records whose parent moved are re-read by id and synced like any change — the vendor
 * Opportunity's AccountId follows, and the registration gate re-decides a changed customer.
 */

const PAGE = 1000;

/** Whether a link's parent reference is an association the change feed cannot see change. */
export function followsAssociation(rt: LinkRuntime): boolean {
  return !!rt.parent && rt.parent.sourceField.startsWith('associations.') && typeof rt.source.associationsOf === 'function';
}

export interface AssociationReport {
  /** Paired records whose association was read. */
  checked: number;
  /** Of those, records whose parent moved since the ledger recorded it (re-read and synced). */
  moved: number;
  counts: Partial<SyncCounts>;
}

/**
 * Paired source ids (a page at a time) whose association now names another parent than the pair's
 * recorded one — its base's parent field (`AccountId`) or, for parents the target models as an
 * association, `@parent`: the target id of the parent's own pair.
 */
export async function* movedParents(rt: LinkRuntime, counter: { checked: number } = { checked: 0 }): AsyncGenerator<string[]> {
  const parent = rt.parent!;
  const recordedKey = parent.targetField ?? PARENT_BASE_KEY;
  let after: string | undefined;
  for (;;) {
    const pairs = await rt.ledger.pairs.list(rt.link.id, { afterSourceId: after, limit: PAGE });
    if (pairs.length === 0) return;
    after = pairs[pairs.length - 1].sourceId;
    const live = pairs.filter((p) => !p.deletedAt && !p.targetDeletedAt);
    if (live.length) {
      const now = await rt.source.associationsOf!(rt.sourceObject, live.map((p) => p.sourceId), parent.sourceField);
      const refs = [...new Set([...now.values()].filter((v): v is string => !!v))];
      const parents = refs.length ? await rt.ledger.pairs.bySource(parent.linkId, refs) : new Map();
      counter.checked += live.length;
      const moved: string[] = [];
      for (const p of live) {
        const ref = now.get(p.sourceId) ?? null;
        const pp = ref ? parents.get(ref) : undefined;
        const expected = pp && !pp.deletedAt ? pp.targetId : null;
        const recorded = p.base?.[recordedKey] ?? null;
        // A parent that has not synced yet (expected null) while the pair points somewhere is a move too:
        // the re-read parks the record until the parent lands (replayParked).
        if (String(expected ?? '') !== String(recorded ?? '')) moved.push(p.sourceId);
      }
      if (moved.length) yield moved;
    }
    if (pairs.length < PAGE) return;
  }
}

/** A link following its own feed (streams off): re-read the moved records and sync them, one transaction a page. */
export async function reconcileAssociations(rt: LinkRuntime, heartbeat: (d: unknown) => void = () => {}): Promise<AssociationReport> {
  const report: AssociationReport = { checked: 0, moved: 0, counts: {} };
  if (!followsAssociation(rt)) return report;
  const fields = [...new Set([...rt.mapping.sourceFields, rt.mapping.match.source, rt.parent!.sourceField])];
  for await (const ids of movedParents(rt, report)) {
    const records = await rt.source.readByIds(rt.sourceObject, ids, fields);
    const outcome = await processRecords(rt, records, { details: { reason: `${rt.parent!.sourceField} changed without a modification time (association reconciler)` } });
    await commitOutcome(rt.ledger, rt.link.id, outcome);
    report.moved += ids.length;
    for (const [k, v] of Object.entries(outcome.counts) as Array<[keyof SyncCounts, number]>) report.counts[k] = (report.counts[k] ?? 0) + v;
    heartbeat({ checked: report.checked, moved: report.moved });
  }
  return report;
}

async function commitOutcome(ledger: Ledger, linkId: string, outcome: Awaited<ReturnType<typeof processRecords>>): Promise<void> {
  await ledger.commitPage({ linkId, feed: 'changes', ...outcomeWrites(outcome) });
}

/**
 * A change stream: the records of its consumer links whose association moved are re-read by id and
 * appended (the new version differs in the association field), so every consumer gets them in order.
 */
export async function reconcileStreamAssociations(engine: Engine, streamId: string, heartbeat: (d: unknown) => void = () => {}): Promise<PumpReport & { checked: number; moved: number }> {
  const spec = specOf(engine, streamId);
  const moved = new Set<string>();
  const counter = { checked: 0 };
  for (const c of spec.consumers) {
    if (c.kind !== 'link') continue;
    const rt = await engine.link(c.of);
    if (!followsAssociation(rt)) continue;
    for await (const ids of movedParents(rt, counter)) {
      for (const id of ids) moved.add(id);
      heartbeat({ streamId, checked: counter.checked, moved: moved.size });
    }
  }
  const report = moved.size ? await appendByIds(engine, streamId, [...moved]) : { streamId, appended: 0, read: 0, caughtUp: true, head: 0, wake: [] };
  return { ...report, checked: counter.checked, moved: moved.size };
}
