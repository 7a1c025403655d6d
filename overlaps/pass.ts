import type { Connector, UpdateInput, WriteResult } from '../connectors/types.js';
import type { LoadedNetwork } from '../lib/config.js';
import { log } from '../lib/logger.js';
import { resolveSecret } from '../lib/secrets.js';
import type { Ledger } from '../ledger/index.js';
import { computeOverlapsAsync, type OverlapStats } from './engine.js';
import { createKeyHasher } from './hashing.js';
import { partnershipOf, type Partnership } from './partnership.js';
import { readSide } from './read.js';
import { memoHasher, openStreamSide } from './incremental.js';
import { streamsEnabled } from '../sync/streamPlan.js';
import type { Overlap, Relation, Side, SideAccount } from './types.js';
import { parseVendorField, planPartnerWriteback, planVendorWriteback, withPartnerSegment, writebackTarget, type WritebackPlan } from './writeback.js';

/**
 * One account-mapping pass for one partnership, end to end: ensure the write-back fields, read both
 * sides, hash and match (computeOverlaps), write each side's half back natively, and record the result
 * in the ledger. Used by the `runOverlapPass` activity and by `cosell overlaps --refresh`.
 * Returns counts only — never records — so it is safe to hand to a workflow.
 */
export interface OverlapDeps {
  network: LoadedNetwork;
  connector(orgId: string): Promise<Connector>;
  ledger?: Ledger;
}

export interface OverlapPassOptions {
  /** Write the fields back into both CRMs (default true). */
  writeBack?: boolean;
  /** Record the overlaps in the ledger (default true when a ledger is given). */
  store?: boolean;
  heartbeat?: (details: Record<string, unknown>) => void;
  /** On change streams: run even when nothing changed since the last pass (`cosell overlaps --refresh`). */
  force?: boolean;
}

const EMPTY_STATS: OverlapStats = { vendorRecords: 0, partnerRecords: 0, vendorShared: 0, partnerShared: 0, vendorKeys: 0, partnerKeys: 0, overlaps: 0, byPair: {}, byMatch: {}, vendorAccountsOverlapping: 0, partnerAccountsOverlapping: 0 };

export interface WritebackCounts {
  set: number;
  cleared: number;
  failed: number;
}

export interface OverlapPassSummary {
  partner: string;
  /** On change streams: nothing either side reads changed since the last pass, so nothing was recomputed. */
  skipped?: boolean;
  /** On change streams: match keys hashed in this pass (keys seen in earlier passes are not hashed again). */
  hashedKeys?: number;
  finishedAt: string;
  durationMs: number;
  stats: OverlapStats;
  writes: { vendor: WritebackCounts; partner: WritebackCounts } | null;
  ledger: { added: number; removed: number; changed: number; unchanged: number } | null;
}

export interface OverlapPassResult {
  summary: OverlapPassSummary;
  overlaps: Overlap[];
}

export async function runOverlapPass(deps: OverlapDeps, partnerId: string, opts: OverlapPassOptions = {}): Promise<OverlapPassResult> {
  const started = Date.now();
  const beat = opts.heartbeat ?? (() => undefined);
  const p: Partnership = partnershipOf(deps.network, partnerId);
  const hasher = createKeyHasher(resolveSecret(p.secret, `${deps.network.file}: partners.${partnerId}.sharing.secret`), partnerId);
  const [vendorConn, partnerConn] = await Promise.all([deps.connector(p.vendor.orgId), deps.connector(p.partner.orgId)]);
  const vendorTarget = writebackTarget('vendor', vendorConn.kind);
  const partnerTarget = writebackTarget('partner', partnerConn.kind);
  const writeBack = opts.writeBack !== false;
  if (writeBack) {
    // Only when missing: ensureFields forgets the cached describe, which would cost a call every pass.
    for (const [conn, t] of [[vendorConn, vendorTarget], [partnerConn, partnerTarget]] as const) {
      if (!(t.field in (await conn.describe(t.object)).fields)) await conn.ensureFields(t.object, [t.spec]);
    }
  }

  // On change streams each side is read from its org's streams in the ledger, and only when one moved.
  const streamed = deps.ledger && streamsEnabled(deps.network) ? { vendor: await openStreamSide(deps.ledger, vendorConn, p.vendor.orgId, 'vendor', partnerId), partner: await openStreamSide(deps.ledger, partnerConn, p.partner.orgId, 'partner', partnerId) } : undefined;
  if (streamed && !streamed.vendor.changed && !streamed.partner.changed && !opts.force) {
    const summary: OverlapPassSummary = { partner: partnerId, skipped: true, finishedAt: new Date().toISOString(), durationMs: Date.now() - started, stats: EMPTY_STATS, writes: null, ledger: null, hashedKeys: 0 };
    return { summary, overlaps: [] };
  }
  const memo = streamed ? memoHasher(partnerId, hasher) : undefined;

  // Each side is read (and, in computeOverlaps, hashed) on its own; only hashes meet.
  const progress = (info: { side: Side; object: string; records: number }) => beat({ phase: 'read', ...info });
  const vendorAccounts = await readSide(vendorConn, 'vendor', progress, streamed?.vendor.source);
  const partnerAccounts = await readSide(partnerConn, 'partner', progress, streamed?.partner.source);
  beat({ phase: 'match', vendor: vendorAccounts.length, partner: partnerAccounts.length });
  const { overlaps, stats } = await computeOverlapsAsync({ vendor: vendorAccounts, partner: partnerAccounts, sharing: p.sharing, hasher: memo?.hasher ?? hasher }, (phase) => beat({ phase }));

  let writes: OverlapPassSummary['writes'] = null;
  if (writeBack) {
    const vendorPlan = planVendorWriteback(vendorAccounts, partnerId, overlaps, vendorTarget.field);
    const partnerPlan = planPartnerWriteback(partnerAccounts, overlaps, partnerTarget.field);
    writes = {
      vendor: await writeVendor(vendorConn, vendorTarget.object, vendorTarget.field, partnerId, vendorPlan, vendorAccounts, beat),
      partner: await writePlan(partnerConn, partnerTarget.object, partnerPlan, 'partner', beat),
    };
  }

  let ledger: OverlapPassSummary['ledger'] = null;
  if (deps.ledger && opts.store !== false) {
    const diff = await deps.ledger.overlaps.replace(
      partnerId,
      overlaps.map((o) => ({
        vendorAccountId: o.vendorId,
        partnerRecordId: o.partnerId,
        hashedKey: o.hashedKey,
        classification: o.pair,
        score: o.score,
        details: { vendorRelation: o.vendorRelation, partnerRelation: o.partnerRelation, matchedOn: o.matchedOn, vendorName: o.vendorLabel ?? null, partnerName: o.partnerLabel ?? null },
      })),
    );
    ledger = { added: diff.added.length, removed: diff.removed.length, changed: diff.changed.length, unchanged: diff.unchanged };
  }

  // Only a pass that wrote its result counts as "passed" (a dry run leaves the next pass due).
  if (writeBack && opts.store !== false) {
    await streamed?.vendor.commit();
    await streamed?.partner.commit();
  }
  const summary: OverlapPassSummary = { partner: partnerId, finishedAt: new Date().toISOString(), durationMs: Date.now() - started, stats, writes, ledger, ...(memo ? { hashedKeys: memo.misses() } : {}) };
  // One line per pass only when the pass changed something (a pass every few minutes that finds the
  // same overlaps would otherwise fill the demo's terminal); an unchanged pass logs at debug.
  const wrote = (w?: WritebackCounts) => (w ? w.set + w.cleared + w.failed > 0 : false);
  const changed = (ledger ? ledger.added + ledger.removed + ledger.changed > 0 : true) || wrote(writes?.vendor) || wrote(writes?.partner);
  log[changed ? 'info' : 'debug']({ partner: partnerId, overlaps: stats.overlaps, byPair: stats.byPair, writes, ledger, ms: summary.durationMs }, 'overlap pass done');
  return { summary, overlaps };
}

/**
 * The vendor field is shared by every partner's pass. Just before writing, re-read the accounts we are
 * about to change and re-apply only this partner's segment to their fresh value, so a concurrent
 * pass for another partner is not overwritten (the window left is one batch; the next pass heals it).
 */
async function writeVendor(
  conn: Connector,
  object: string,
  field: string,
  partnerId: string,
  plan: WritebackPlan,
  accounts: readonly SideAccount[],
  beat: (d: Record<string, unknown>) => void,
): Promise<WritebackCounts> {
  // What this partner's segment must read on each account we change (undefined: removed).
  const relationOf = new Map<string, Relation | undefined>();
  const byId = new Map(accounts.map((a) => [a.id, a]));
  for (const u of plan.updates) relationOf.set(u.id, parseVendorField(u.fields[field] as string | null).get(partnerId) as Relation | undefined);
  const counts: WritebackCounts = { set: 0, cleared: 0, failed: 0 };
  const chunk = conn.batchSize * 5;
  for (let i = 0; i < plan.updates.length; i += chunk) {
    const part = plan.updates.slice(i, i + chunk);
    const fresh = new Map((await conn.readByIds(object, part.map((u) => u.id), [field])).map((r) => [r.id, r.fields[field]]));
    const inputs: UpdateInput[] = [];
    for (const u of part) {
      const current = fresh.has(u.id) ? (fresh.get(u.id) as string | null) : (byId.get(u.id)?.current ?? null);
      const next = withPartnerSegment(current, partnerId, relationOf.get(u.id));
      if (next !== (current || null)) inputs.push({ id: u.id, fields: { [field]: next } });
    }
    tally(counts, inputs, await update(conn, object, inputs), (id) => relationOf.get(id) === undefined);
    beat({ phase: 'write', side: 'vendor', written: i + part.length, of: plan.updates.length });
  }
  return counts;
}

async function writePlan(conn: Connector, object: string, plan: WritebackPlan, side: Side, beat: (d: Record<string, unknown>) => void): Promise<WritebackCounts> {
  const counts: WritebackCounts = { set: 0, cleared: 0, failed: 0 };
  const chunk = conn.batchSize * 5;
  for (let i = 0; i < plan.updates.length; i += chunk) {
    const part = plan.updates.slice(i, i + chunk);
    tally(counts, part, await update(conn, object, part), (_id, fields) => Object.values(fields)[0] === null);
    beat({ phase: 'write', side, written: i + part.length, of: plan.updates.length });
  }
  return counts;
}

async function update(conn: Connector, object: string, inputs: UpdateInput[]): Promise<WriteResult[]> {
  return inputs.length ? conn.update(object, inputs) : [];
}

function tally(counts: WritebackCounts, inputs: UpdateInput[], results: WriteResult[], isClear: (id: string, fields: UpdateInput['fields']) => boolean): void {
  results.forEach((r, i) => {
    if (r.status === 'failed') {
      counts.failed++;
      log.warn({ recordId: inputs[i].id, error: r.error }, 'overlap write-back failed for one record');
    } else if (isClear(inputs[i].id, inputs[i].fields)) counts.cleared++;
    else counts.set++;
  });
}
