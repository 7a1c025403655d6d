import { sql, type Kysely } from 'kysely';
import type { LedgerTables } from './schema.js';
import { nowIso } from './util.js';

export interface StoredReplayId {
  orgId: string;
  topic: string;
  replayId: string;
  updatedAt: string;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Salesforce Change Data Capture positions: the replay id of the last event a subscription handed on,
 * per (org, topic). Forward-only (compare-and-set in one statement): a late or duplicated write can
 * never move a subscription back, whichever worker makes it.
 */
export class ReplayIds {
  constructor(private readonly db: Kysely<LedgerTables>) {}

  async get(orgId: string, topic: string): Promise<StoredReplayId | undefined> {
    const row = await this.db.selectFrom('cdc_replay_ids').selectAll().where('org_id', '=', orgId).where('topic', '=', topic).executeTakeFirst();
    return row ? { orgId: row.org_id, topic: row.topic, replayId: row.replay_id, updatedAt: row.updated_at } : undefined;
  }

  async list(orgId?: string): Promise<StoredReplayId[]> {
    let q = this.db.selectFrom('cdc_replay_ids').selectAll();
    if (orgId) q = q.where('org_id', '=', orgId);
    const rows = await q.orderBy('org_id').orderBy('topic').execute();
    return rows.map((row) => ({ orgId: row.org_id, topic: row.topic, replayId: row.replay_id, updatedAt: row.updated_at }));
  }

  /** Store `replayId` unless a later one is stored already. Returns whether it was stored. */
  async advance(orgId: string, topic: string, replayId: string): Promise<boolean> {
    if (!DECIMAL.test(replayId)) throw new RangeError(`replay id must be a decimal integer, got ${JSON.stringify(replayId)}`);
    const row = await this.db
      .insertInto('cdc_replay_ids')
      .values({ org_id: orgId, topic, replay_id: replayId, updated_at: nowIso() })
      .onConflict((oc) =>
        oc
          .columns(['org_id', 'topic'])
          .doUpdateSet((eb) => ({ replay_id: eb.ref('excluded.replay_id'), updated_at: eb.ref('excluded.updated_at') }))
          .where(sql<boolean>`(length(excluded.replay_id), excluded.replay_id) > (length(cdc_replay_ids.replay_id), cdc_replay_ids.replay_id)`),
      )
      .returning('replay_id')
      .executeTakeFirst();
    return row !== undefined;
  }
}
