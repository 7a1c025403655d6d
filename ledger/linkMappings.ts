import type { Kysely } from 'kysely';
import type { LedgerTables } from './schema.js';
import { fromJson, nowIso, toJson } from './util.js';

/** The mapping a link last applied to all its pairs, and a changed mapping's back-fill in progress. */
export interface LinkMappingState {
  linkId: string;
  /** Fingerprint of the mapping every existing pair was last synced with. */
  fingerprint: string;
  /** A changed mapping being re-applied to the existing pairs (null when none is). */
  pendingFingerprint: string | null;
  /** The back-fill's position: pairs are re-planned in source id order, after this one. */
  afterSourceId: string | null;
  /** Counts of the back-fill so far. */
  progress: Record<string, number> | null;
  updatedAt: string;
}

export class LinkMappings {
  constructor(private readonly db: Kysely<LedgerTables>) {}

  async get(linkId: string): Promise<LinkMappingState | undefined> {
    const r = await this.db.selectFrom('link_mappings').selectAll().where('link_id', '=', linkId).executeTakeFirst();
    if (!r) return undefined;
    return { linkId: r.link_id, fingerprint: r.fingerprint, pendingFingerprint: r.pending_fingerprint, afterSourceId: r.after_source_id, progress: fromJson(r.progress), updatedAt: r.updated_at };
  }

  /** Insert or replace the link's state (one row per link; the link's workflow is its only writer). */
  async put(state: Omit<LinkMappingState, 'updatedAt'>): Promise<void> {
    const row = {
      link_id: state.linkId,
      fingerprint: state.fingerprint,
      pending_fingerprint: state.pendingFingerprint,
      after_source_id: state.afterSourceId,
      progress: toJson(state.progress),
      updated_at: nowIso(),
    };
    await this.db
      .insertInto('link_mappings')
      .values(row)
      .onConflict((oc) => oc.column('link_id').doUpdateSet({ fingerprint: row.fingerprint, pending_fingerprint: row.pending_fingerprint, after_source_id: row.after_source_id, progress: row.progress, updated_at: row.updated_at }))
      .execute();
  }
}
