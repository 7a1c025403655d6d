import type { Client } from '@temporalio/client';
import type { LoadedNetwork } from '../lib/config.js';
import type { Connector, CrmRecord, Fields } from '../connectors/types.js';
import type { Ledger, Registration } from '../ledger/index.js';
import { log } from '../lib/logger.js';
import { streamIdOf } from '../ledger/streams.js';
import { pumpFeeds } from '../sync/stream.js';
import { rulesIndexConsumerId, streamsEnabled } from '../sync/streamPlan.js';
import { normalizeCompanyName, normalizeDomain } from '../lib/normalize.js';
import { AccountIndex, isExclusive, type Policy, type RegistrationStatus, type VendorAccount } from '../rules/index.js';
import { temporalClient } from '../lib/activityContext.js';
import { attributionFields } from './attribution.js';
import { ACTIVE_LEDGER_STATUSES, detailsOf } from './details.js';
import { countryCode, str } from './fieldValues.js';
import { INDEX_FIELDS, indexFieldsOf } from './indexFields.js';
import { NAMED_ACCOUNT_FIELD, NAMED_ACCOUNT_SPEC, PROTECTED_FIELDS } from './vendorFields.js';
import { registrationHandle, vendorClosedSignal } from '../lib/workflowClient.js';

/**
 * Keeps the Rules of Engagement's vendor-account index current from the vendor CRM's own change feed
 * (Account and Opportunity, incrementally from cursors in the ledger), so a decision never re-reads
 * the CRM: every change lands in `ledger.accounts` (durable, shared by workers) and in the in-memory
 * rules `AccountIndex` this worker decides against (loaded from the ledger on first use).
 *
 * The same feed watches the vendor opportunities that carry registrations: a closed one signals its
 * registration workflow (won / lost), and a vendor-side edit that removes or replaces an exclusive
 * registration's attribution is undone on the vendor and audited as `attribution-protected`.
 */

const CURSOR_PREFIX = 'rules-index';
/** On change streams: a decision polls the vendor's stream itself when its last poll is older than this. */
export const RULES_INDEX_MAX_STALENESS_MS = 10_000;
/** How far back `refreshFromLedger` re-reads: worker clock skew plus a late-committing write. */
export const LEDGER_LOOKBACK_MS = 15_000;

export interface VendorOpportunityEvent {
  registrationId: string;
  vendorOpportunityId: string;
  outcome: 'won' | 'lost';
}

/** Computes the attribution an exclusive registration must show (set by registrationIndexFeed: it needs the policy and the partners). */
export type ExpectedAttribution = (reg: Registration) => Fields | undefined;

export class AccountIndexFeed {
  readonly index = new AccountIndex();
  private loaded?: Promise<void>;
  private fields = { Account: [...INDEX_FIELDS.Account], Opportunity: [] as string[] };
  private running: Promise<unknown> = Promise.resolve();
  /** Set by registrationIndexFeed (it knows the policy and the partners' names). */
  expectedAttribution?: ExpectedAttribution;
  /**
   * Set when the network's change streams are on: the index reads the vendor's Account and Opportunity
   * streams (their logs in the ledger) instead of the CRM's feeds (see followStream).
   */
  streams?: { maxStalenessMs: number };

  constructor(
    readonly ledger: Ledger,
    readonly vendor: Connector,
    readonly vendorOrgId: string,
    private readonly client?: Client,
  ) {}

  /** Load the index from the ledger once (and make sure the vendor has the named-account flag). */
  ensureLoaded(): Promise<void> {
    this.loaded ??= (async () => {
      if (this.vendor.kind === 'salesforce') {
        await this.vendor.ensureFields('Account', [NAMED_ACCOUNT_SPEC]);
      }
      await this.refreshFromLedger();
      await this.loadRegistrations();
    })();
    this.loaded.catch(() => (this.loaded = undefined));
    return this.loaded;
  }

  /** Newest `updated_at` of the ledger's account rows this worker has applied (undefined: none yet). */
  private seenUpTo?: string;

  /**
   * Apply the ledger's account rows written since this worker last looked — by any worker: the
   * vendor feed's cursors are shared, so a change another worker consumed never reaches this one's
   * own feed, only its row in `ledger.accounts`. Re-reads a look-back window (writers' clocks differ
   * and a write may commit late); applying a row twice is harmless. Returns the rows applied.
   */
  async refreshFromLedger(): Promise<number> {
    const since = this.seenUpTo ? new Date(Date.parse(this.seenUpTo) - LEDGER_LOOKBACK_MS).toISOString() : '1970-01-01T00:00:00.000Z';
    let n = 0;
    for await (const page of this.ledger.accounts.changedSince(this.vendorOrgId, since)) {
      for (const a of page) {
        const opps = ((a.details as { openOpportunities?: VendorAccount['openOpportunities'] } | null)?.openOpportunities ?? []) as VendorAccount['openOpportunities'];
        this.index.upsertAccount({ id: a.accountId, name: a.name ?? '', domain: a.domainNorm, owner: a.owner, named: a.named, country: a.country, hasOpenOpportunity: a.hasOpenOpportunity, openOpportunities: opps });
        if (!this.seenUpTo || a.updatedAt > this.seenUpTo) this.seenUpTo = a.updatedAt;
        n++;
      }
    }
    return n;
  }

  /** Refresh the active registrations (first-to-register) from the ledger: other workers decide too. */
  async loadRegistrations(): Promise<void> {
    const active = await this.ledger.registrations.list({ status: ACTIVE_LEDGER_STATUSES });
    const keep = new Set(active.map((r) => r.id));
    for (const id of this.trackedRegistrations) if (!keep.has(id)) this.index.removeRegistration(id);
    for (const r of active) this.trackRegistration(r);
  }

  private readonly trackedRegistrations = new Set<string>();

  trackRegistration(r: Registration): void {
    if (!ACTIVE_LEDGER_STATUSES.includes(r.status)) {
      this.index.removeRegistration(r.id);
      this.trackedRegistrations.delete(r.id);
      return;
    }
    this.trackedRegistrations.add(r.id);
    this.index.upsertRegistration({
      id: r.id,
      partnerId: r.partner,
      customerName: r.customerName ?? '',
      website: r.customerDomain,
      registeredAt: r.submittedAt,
      status: r.status as 'submitted',
    });
  }

  /**
   * Bring this worker's index up to the vendor's truth: the rows other workers wrote to the ledger,
   * then every vendor Account / Opportunity change since the shared cursors (one call at a time per
   * worker). Throws when either cannot be read — deciders must not go on without it.
   */
  catchUp(opts: { maxPages?: number } = {}): Promise<{ accounts: number; opportunities: number; closed: VendorOpportunityEvent[]; protected: number }> {
    const run = this.running.then(() => this.doCatchUp(opts.maxPages ?? 50));
    this.running = run.catch(() => undefined);
    return run;
  }

  /** Read only what the vendor has (the registration fields appear once a registration link is built). */
  private async refreshFields(): Promise<void> {
    if (this.fields.Opportunity.length === INDEX_FIELDS.Opportunity.length) return;
    const [Account, Opportunity] = await Promise.all([indexFieldsOf(this.vendor, 'Account'), indexFieldsOf(this.vendor, 'Opportunity')]);
    this.fields = { Account, Opportunity };
  }

  private async doCatchUp(maxPages: number) {
    await this.ensureLoaded();
    // First what other workers already applied (the shared cursors below start after it).
    await this.refreshFromLedger();
    await this.refreshFields();
    const result = { accounts: 0, opportunities: 0, closed: [] as VendorOpportunityEvent[], protected: 0 };
    result.accounts = await this.follow('Account', this.fields.Account, maxPages, (recs) => this.applyAccounts(recs));
    result.opportunities = await this.follow('Opportunity', this.fields.Opportunity, maxPages, async (recs) => {
      const r = await this.applyOpportunities(recs);
      result.closed.push(...r.closed);
      result.protected += r.protected;
    });
    for (const ev of result.closed) await this.signalClosed(ev);
    return result;
  }

  private async follow(object: string, fields: string[], maxPages: number, apply: (recs: CrmRecord[]) => Promise<void>): Promise<number> {
    if (this.streams) return this.followStream(object, fields, maxPages, apply);
    const feedId = `${CURSOR_PREFIX}:${this.vendorOrgId}:${object}`;
    let n = 0;
    for (let i = 0; i < maxPages; i++) {
      const cur = await this.ledger.cursors.getOrStart(feedId, 'changes');
      const page = await this.vendor.changes(object, cur, { fields, pageSize: 2000 });
      if (page.records.length) await apply(page.records);
      // `from`: a step backwards (or nowhere, while not caught up) fails loudly instead of stalling the index.
      await this.ledger.commitPage({ linkId: feedId, feed: 'changes', cursor: page.next, generation: cur.generation, from: cur, caughtUp: page.caughtUp });
      n += page.records.length;
      if (page.caughtUp) break;
    }
    return n;
  }

  /**
   * The same from the vendor object's change stream: entries after this index's position in the log
   * (consumer `rules-index:<vendor>`), applied, then the position moves (applying is idempotent: upserts
   * and re-assertions, so a crash between the two re-applies a page, harmlessly). A decision must not
   * run on a stale index: when the stream has not polled within `maxStalenessMs`, this polls it first
   * (one poll of the org object, shared with every consumer of the stream), and a stream that cannot be
   * read fails the catch-up like the direct feed would.
   */
  private async followStream(object: string, fields: string[], maxPages: number, apply: (recs: CrmRecord[]) => Promise<void>): Promise<number> {
    const streamId = streamIdOf(this.vendorOrgId, object);
    const consumer = rulesIndexConsumerId(this.vendorOrgId);
    const { info } = await this.ledger.streams.ensure(streamId, this.vendorOrgId, object, fields);
    const polled = info.lastPollAt ? Date.parse(info.lastPollAt) : 0;
    if (Date.now() - polled > this.streams!.maxStalenessMs) {
      for (let i = 0; i < maxPages; i++) if ((await pumpFeeds(this.ledger, this.vendor, (await this.ledger.streams.get(streamId))!, { maxPages: 5 })).caughtUp) break;
    }
    let pos = await this.ledger.streams.position(streamId, consumer);
    if (!pos) {
      // Switching over from its own feed: start at the log's start; re-applying what it had is harmless.
      pos = await this.ledger.streams.attach(streamId, consumer);
    }
    let n = 0;
    for (let i = 0; i < maxPages; i++) {
      const entries = await this.ledger.streams.read(streamId, pos.seq, 2000);
      if (entries.length === 0) break;
      const records = entries.filter((e) => !e.deletedAt && e.fields && fields.every((f) => f in e.fields!)).map((e) => ({ id: e.id, modifiedAt: e.modifiedAt, fields: e.fields! }));
      if (records.length) await apply(records);
      const seq = entries[entries.length - 1].seq;
      await this.ledger.streams.advance(streamId, consumer, seq, pos.generation);
      pos = { ...pos, seq };
      n += records.length;
      if (entries.length < 2000) break;
    }
    return n;
  }

  private async applyAccounts(records: CrmRecord[]): Promise<void> {
    const rows = records.map((r) => {
      const prev = this.index.getAccount(r.id);
      const account: VendorAccount = {
        id: r.id,
        name: String(r.fields.Name ?? ''),
        domain: normalizeDomain(str(r.fields.Website)) ?? null,
        owner: str(r.fields.OwnerId),
        named: r.fields[NAMED_ACCOUNT_FIELD] === true || r.fields[NAMED_ACCOUNT_FIELD] === 'true',
        country: countryCode(r.fields.BillingCountry),
        openOpportunities: prev?.openOpportunities ?? [],
        hasOpenOpportunity: (prev?.openOpportunities?.length ?? 0) > 0,
      };
      this.index.upsertAccount(account);
      return account;
    });
    await this.persist(rows);
  }

  private async persist(accounts: VendorAccount[]): Promise<void> {
    await this.ledger.accounts.upsert(
      accounts.map((a) => ({
        orgId: this.vendorOrgId,
        accountId: a.id,
        name: a.name,
        nameNorm: normalizeCompanyName(a.name) || null,
        domainNorm: a.domain ?? null,
        owner: a.owner ?? null,
        named: !!a.named,
        country: a.country ?? null,
        hasOpenOpportunity: !!a.openOpportunities?.length,
        details: { openOpportunities: a.openOpportunities ?? [] },
      })),
    );
  }

  private async applyOpportunities(records: CrmRecord[]): Promise<{ closed: VendorOpportunityEvent[]; protected: number }> {
    const touched = new Map<string, VendorAccount>();
    const closed: VendorOpportunityEvent[] = [];
    let protectedCount = 0;
    for (const r of records) {
      const regId = str(r.fields.Partner_Deal_Id__c);
      if (regId) {
        // An active registration's own opportunity: not "the vendor already works this customer" (that
        // is first-to-register's job), but watched for closing and for attribution tampering.
        const reg = await this.ledger.registrations.get(regId);
        if (!reg) continue;
        if (!reg.vendorOpportunityId) await this.ledger.registrations.update(reg.id, { vendorOpportunityId: r.id });
        const isClosed = r.fields.IsClosed === true || r.fields.IsClosed === 'true';
        if (ACTIVE_LEDGER_STATUSES.includes(reg.status)) {
          if (isClosed) closed.push({ registrationId: reg.id, vendorOpportunityId: r.id, outcome: r.fields.IsWon === true || r.fields.IsWon === 'true' ? 'won' : 'lost' });
          else if (isExclusive(reg.status as RegistrationStatus) && (await this.protect(reg, r))) protectedCount++;
          continue;
        }
        // The registration ended (expired, rejected after a change) but the vendor still works the
        // opportunity: from now on it is the vendor's open opportunity at its account, so a second
        // partner registering the customer meets the open-opportunity rule instead of auto-approval.
      }
      const accountId = str(r.fields.AccountId);
      if (!accountId) continue;
      const account = touched.get(accountId) ?? this.index.getAccount(accountId);
      if (!account) continue;
      const open = r.fields.IsClosed !== true && r.fields.IsClosed !== 'true';
      const others = (account.openOpportunities ?? []).filter((o) => o.id !== r.id);
      const next: VendorAccount = { ...account, openOpportunities: open ? [...others, { id: r.id, name: str(r.fields.Name) ?? undefined }] : others };
      next.hasOpenOpportunity = next.openOpportunities!.length > 0;
      this.index.upsertAccount(next);
      touched.set(accountId, next);
    }
    if (touched.size) await this.persist([...touched.values()]);
    return { closed, protected: protectedCount };
  }

  /** Undo a vendor-side edit of an exclusive registration's attribution; true when something was restored. */
  private async protect(reg: Registration, opp: CrmRecord): Promise<boolean> {
    const expected = this.expectedAttribution?.(reg);
    if (!expected) return false;
    const before: Fields = {};
    const restore: Fields = {};
    for (const f of PROTECTED_FIELDS) {
      if (!(f in expected) || !(f in opp.fields)) continue;
      if ((opp.fields[f] ?? null) !== (expected[f] ?? null)) {
        before[f] = opp.fields[f] ?? null;
        restore[f] = expected[f] ?? null;
      }
    }
    if (!Object.keys(restore).length) return false;
    const [res] = await this.vendor.update('Opportunity', [{ id: opp.id, fields: restore }]);
    await this.ledger.audit.append([
      {
        linkId: detailsOf(reg).linkId ?? `${CURSOR_PREFIX}:${this.vendorOrgId}`,
        sourceId: reg.sourceId,
        targetId: opp.id,
        action: 'attribution-protected',
        before,
        after: restore,
        decisions: [{ rule: 'channel-conflict', reason: `registration ${reg.id} is exclusive until ${reg.expiresAt}; a vendor-side change to its attribution is not accepted` }],
        details: { registrationId: reg.id, restored: res?.status !== 'failed', error: res?.error?.message ?? null },
        actor: 'cosell',
        eventKey: `attribution-protected:${reg.id}:${opp.modifiedAt}`,
      },
    ]);
    log.warn({ registration: reg.id, opportunity: opp.id, before }, 'vendor-side change to a protected registration attribution was undone');
    return true;
  }

  private async signalClosed(ev: VendorOpportunityEvent): Promise<void> {
    const client = temporalClient(this.client);
    if (!client) return;
    try {
      await registrationHandle(client, ev.registrationId).signal(vendorClosedSignal, { outcome: ev.outcome, vendorOpportunityId: ev.vendorOpportunityId });
    } catch (e) {
      log.warn({ err: e, registration: ev.registrationId }, 'could not signal the registration workflow that its opportunity closed');
    }
  }
}

const feeds = new WeakMap<Ledger, Map<string, AccountIndexFeed>>();

/** One feed per (ledger, vendor org) in this process, shared by every registration link and activity. */
export function sharedAccountIndexFeed(ledger: Ledger, vendor: Connector, vendorOrgId: string, client?: Client, opts: { network?: LoadedNetwork } = {}): AccountIndexFeed {
  let byOrg = feeds.get(ledger);
  if (!byOrg) feeds.set(ledger, (byOrg = new Map()));
  let feed = byOrg.get(vendorOrgId);
  if (!feed) byOrg.set(vendorOrgId, (feed = new AccountIndexFeed(ledger, vendor, vendorOrgId, client)));
  if (opts.network && streamsEnabled(opts.network)) feed.streams ??= { maxStalenessMs: RULES_INDEX_MAX_STALENESS_MS };
  return feed;
}

/**
 * The shared feed of a network's vendor as registrations use it: protecting the attribution the
 * policy gives each exclusive registration (the gate and the registration activities build it alike;
 * `policy` is read when a registration is first protected).
 */
export function registrationIndexFeed(ledger: Ledger, vendor: Connector, vendorOrgId: string, network: LoadedNetwork, policy: () => Policy, client?: Client): AccountIndexFeed {
  const feed = sharedAccountIndexFeed(ledger, vendor, vendorOrgId, client, { network });
  feed.expectedAttribution ??= (reg) => {
    const p = network.partner(reg.partner);
    return attributionFields(reg, p?.name ?? reg.partner, policy(), p?.roles);
  };
  return feed;
}
