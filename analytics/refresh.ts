import type { Connector, CrmRecord } from '../connectors/types.js';
import type { FactApplyResult, FactChange, Ledger } from '../ledger/index.js';
import { streamIdOf } from '../ledger/streams.js';
import type { Engine } from '../sync/build.js';
import { pumpFeeds } from '../sync/stream.js';
import { streamsEnabled } from '../sync/streamPlan.js';
import type { Policy } from '../rules/policy.js';
import { chunks } from '../ledger/util.js';
import { FACT_FIELDS, opportunityFact, type FactContext } from './facts.js';

/**
 * Keeps the fact store current from the vendor's Opportunity changes, incrementally: on change
 * streams (the network's `streams: { enabled: true }`) as consumer `analytics:<vendor>` of the
 * vendor's `<vendor>:Opportunity` log — no CRM read of its own, the facts and the position commit in
 * one transaction — else from the connector's own change and deletion feeds, with cursors
 * `analytics:<vendor>:Opportunity` in the ledger (re-applying a version is a no-op: facts are compared
 * with the stored version before any cell moves).
 */

export const analyticsConsumerId = (vendorOrgId: string) => `analytics:${vendorOrgId}`;
const PAGE = 2000;

export interface RefreshOptions {
  /** Read the vendor's Opportunity change stream instead of the CRM feed. */
  streams?: boolean;
  /** On streams: poll the stream first when its last poll is older than this (default 60 s). */
  maxStalenessMs?: number;
  maxPages?: number;
  /** The vendor currency (policy currency) for records without one. */
  currency: string;
  /** A field with the record's ISO currency (multi-currency orgs: CurrencyIsoCode), read when the org has it. */
  currencyField?: string;
  heartbeat?: (details: unknown) => void;
}

export interface RefreshSummary extends Omit<FactApplyResult, 'advanced' | 'cells'> {
  read: number;
  cells: number;
  source: 'stream' | 'feed';
  caughtUp: boolean;
}

export async function refreshFacts(ledger: Ledger, vendor: Connector, vendorOrgId: string, opts: RefreshOptions): Promise<RefreshSummary> {
  const schema = await vendor.describe('Opportunity');
  const currencyField = opts.currencyField ?? 'CurrencyIsoCode';
  const fields = [...FACT_FIELDS, currencyField].filter((f) => f in schema.fields);
  const summary: RefreshSummary = { read: 0, changed: 0, unchanged: 0, deleted: 0, stale: 0, cells: 0, source: opts.streams ? 'stream' : 'feed', caughtUp: false };
  const add = (r: FactApplyResult) => {
    summary.changed += r.changed;
    summary.unchanged += r.unchanged;
    summary.deleted += r.deleted;
    summary.stale += r.stale;
    summary.cells += r.cells;
  };
  const toChanges = async (records: CrmRecord[]): Promise<FactChange[]> => {
    const ctx: FactContext = { defaultCurrency: opts.currency, currencyField: fields.includes(currencyField) ? currencyField : undefined, registrationOf: await registrationsOf(ledger, records) };
    return records.map((r) => ({ id: r.id, modifiedAt: r.modifiedAt, fact: opportunityFact(r, ctx) }));
  };
  const maxPages = opts.maxPages ?? 1000;

  if (opts.streams) {
    const streamId = streamIdOf(vendorOrgId, 'Opportunity');
    const consumer = analyticsConsumerId(vendorOrgId);
    const { info } = await ledger.streams.ensure(streamId, vendorOrgId, 'Opportunity', fields);
    const polled = info.lastPollAt ? Date.parse(info.lastPollAt) : 0;
    if (Date.now() - polled > (opts.maxStalenessMs ?? 60_000)) {
      for (let i = 0; i < maxPages; i++) if ((await pumpFeeds(ledger, vendor, (await ledger.streams.get(streamId))!, { maxPages: 5 })).caughtUp) break;
    }
    let pos = (await ledger.streams.position(streamId, consumer)) ?? (await ledger.streams.attach(streamId, consumer));
    for (let i = 0; i < maxPages; i++) {
      const entries = await ledger.streams.read(streamId, pos.seq, PAGE);
      if (!entries.length) {
        summary.caughtUp = true;
        break;
      }
      // Entries read before the field set was widened lack our fields: their re-read versions come later in the log.
      const live = entries.filter((e) => !e.deletedAt && e.fields && fields.every((f) => f in e.fields!));
      const changes = await toChanges(live.map((e) => ({ id: e.id, modifiedAt: e.modifiedAt, fields: e.fields! })));
      for (const e of entries) if (e.deletedAt) changes.push({ id: e.id, modifiedAt: e.deletedAt, fact: null });
      const seq = entries[entries.length - 1]!.seq;
      add(await ledger.facts.apply(vendorOrgId, changes, { stream: { streamId, consumer, seq, generation: pos.generation } }));
      pos = { ...pos, seq };
      summary.read += entries.length;
      opts.heartbeat?.({ consumer, seq, read: summary.read });
      if (entries.length < PAGE) {
        summary.caughtUp = true;
        break;
      }
    }
    return summary;
  }

  const feedId = `${analyticsConsumerId(vendorOrgId)}:Opportunity`;
  let changesDone = false;
  for (let i = 0; i < maxPages; i++) {
    const cur = await ledger.cursors.getOrStart(feedId, 'changes');
    const page = await vendor.changes('Opportunity', cur, { fields, pageSize: PAGE });
    if (page.records.length) add(await ledger.facts.apply(vendorOrgId, await toChanges(page.records)));
    await ledger.commitPage({ linkId: feedId, feed: 'changes', cursor: page.next, generation: cur.generation, from: cur, caughtUp: page.caughtUp });
    summary.read += page.records.length;
    opts.heartbeat?.({ feed: 'changes', read: summary.read });
    if (page.caughtUp) {
      changesDone = true;
      break;
    }
  }
  let deletionsDone = false;
  for (let i = 0; i < maxPages; i++) {
    const cur = await ledger.cursors.getOrStart(feedId, 'deletions');
    const page = await vendor.deletions('Opportunity', cur, { pageSize: PAGE });
    if (page.records.length) add(await ledger.facts.apply(vendorOrgId, page.records.map((d) => ({ id: d.id, modifiedAt: d.deletedAt, fact: null }))));
    await ledger.commitPage({ linkId: feedId, feed: 'deletions', cursor: page.next, generation: cur.generation, from: cur, caughtUp: page.caughtUp });
    summary.read += page.records.length;
    if (page.caughtUp) {
      deletionsDone = true;
      break;
    }
  }
  summary.caughtUp = changesDone && deletionsDone;
  return summary;
}

/** The registrations naming these opportunities as their vendor opportunity (for deals without attribution fields). */
async function registrationsOf(ledger: Ledger, records: readonly CrmRecord[]): Promise<FactContext['registrationOf']> {
  const ids = records.filter((r) => !r.fields.Partner_Attribution__c && !r.fields.Registered_Partner_Id__c).map((r) => r.id);
  const found = new Map<string, { id: string; partner: string }>();
  for (const part of chunks(ids)) {
    if (!part.length) continue;
    const rows = await ledger.db
      .selectFrom('registrations')
      .select(['id', 'partner', 'vendor_opportunity_id'])
      .where('vendor_opportunity_id', 'in', part)
      .where('status', 'in', ['approved', 'auto-approved', 'won', 'lost'])
      .orderBy('submitted_at')
      .execute();
    for (const r of rows) if (!found.has(r.vendor_opportunity_id!)) found.set(r.vendor_opportunity_id!, { id: r.id, partner: r.partner });
  }
  return (id) => found.get(id);
}

/** The refresh for a network's vendor, as the worker and `cosell report --refresh` run it. */
export async function refreshNetworkFacts(engine: Pick<Engine, 'network' | 'ledger' | 'connector'>, policy: Policy | undefined, opts: Pick<RefreshOptions, 'heartbeat' | 'maxPages'> = {}): Promise<RefreshSummary> {
  const vendorId = engine.network.network.vendor.id;
  return refreshFacts(engine.ledger, await engine.connector(vendorId), vendorId, {
    ...opts,
    streams: streamsEnabled(engine.network),
    currency: policy?.currency ?? 'USD',
    currencyField: policy?.analytics.currencyField,
  });
}
