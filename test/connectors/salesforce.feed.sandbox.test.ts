import { drainFeed } from '../helpers/drain.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SalesforceConnector } from '../../connectors/salesforce/connector.js';
import { START_CURSOR, type FeedCursor } from '../../connectors/types.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { tokenEnv, uniqueOrg } from './salesforce-helpers.js';

/**
 * Regression (issue #12): the Salesforce feed read right up to "now", so a record of a long
 * transaction — stamped (SystemModstamp) when it started, visible only when it committed, after a
 * poll had already read past that stamp — was never delivered. Black-box: the sandbox org emulates
 * the long transaction (`commitLagMs` fault, set through its admin endpoint), writes go through
 * jsforce, the feed is the real connector's.
 */
let sb: TestSandbox;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'sf', kind: 'salesforce', role: 'vendor', seed: { accounts: 3, opportunities: 5, owners: 1 } }] });
}, 120_000);
afterAll(async () => {
  await sb?.stop();
});

function connector(): SalesforceConnector {
  const info = sb.orgs.sf;
  if (info.kind !== 'salesforce') throw new Error('expected a salesforce org');
  return new SalesforceConnector({ kind: 'salesforce', orgId: uniqueOrg('late'), instanceUrl: info.instanceUrl, auth: { accessToken: tokenEnv('LATE_AT', info.accessToken) }, retry: { retries: 2, minDelayMs: 5, maxDelayMs: 50 } });
}

const drain = (c: SalesforceConnector, cursor: FeedCursor, pageSize = 2000) => drainFeed(c, 'Opportunity', cursor, { pageSize, fields: ['Name'] });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const opp = (Name: string) => ({ Name, StageName: 'Prospecting', CloseDate: '2027-01-31' });

describe('Salesforce change feed: late-committed records (long transactions)', () => {
  it('a record committed after a poll, stamped before what that poll read, is still delivered — once', async () => {
    const c = connector();
    const conn = sb.jsforce('sf');
    let { cursor } = await drain(c, START_CURSOR);

    // A long transaction starts (its SystemModstamp is now), and commits 1.5 s later...
    await sb.faults('sf', { commitLagMs: 1500 });
    const late = conn.sobject('Opportunity').create(opp('Late commit'));
    await sleep(200);
    await sb.faults('sf', {});
    // ...while a quick one commits at once, and a poll reads it (its cursor is now past the long one's stamp).
    const quick = await conn.sobject('Opportunity').create(opp('Quick commit'));
    const first = await drain(c, cursor);
    expect(first.records.map((r) => r.fields.Name)).toEqual(['Quick commit']);
    cursor = first.cursor;

    const lateId = ((await late) as { id: string }).id;
    const rows = await conn.query<{ Id: string; Name: string; SystemModstamp: string }>(`SELECT Id, Name, SystemModstamp FROM Opportunity WHERE Id IN ('${lateId}', '${(quick as { id: string }).id}') ORDER BY SystemModstamp`);
    // The emulation is real: the late record is stamped before the one the poll already read.
    expect(rows.records.map((r) => r.Name)).toEqual(['Late commit', 'Quick commit']);

    const second = await drain(c, cursor);
    expect(second.records.map((r) => [r.id, r.fields.Name])).toEqual([[lateId, 'Late commit']]);
    // Delivered once: later polls repeat nothing, and new changes still arrive.
    const third = await drain(c, second.cursor);
    expect(third.records).toEqual([]);
    await conn.sobject('Opportunity').update({ Id: lateId, Name: 'Late commit, renamed' });
    const fourth = await drain(c, third.cursor);
    expect(fourth.records.map((r) => r.fields.Name)).toEqual(['Late commit, renamed']);
    expect((await drain(c, fourth.cursor)).records).toEqual([]);
    // The cursor is the high-water mark: it never went back while the look-back re-read behind it.
    for (const [a, b] of [[cursor, second.cursor], [second.cursor, third.cursor], [third.cursor, fourth.cursor]]) expect(Date.parse(b.modifiedAt)).toBeGreaterThanOrEqual(Date.parse(a.modifiedAt));
  });

  it('a deletion committed late (a mass delete is a long transaction too) is still delivered — once', async () => {
    const c = connector();
    const conn = sb.jsforce('sf');
    const [a, b] = (await conn.sobject('Opportunity').create([opp('Deleted late'), opp('Deleted quickly')])) as Array<{ id: string }>;
    const drainDeleted = async (cursor: FeedCursor) => {
      const ids: string[] = [];
      for (;;) {
        const page = await c.deletions('Opportunity', cursor, { pageSize: 2000 });
        cursor = JSON.parse(JSON.stringify(page.next)) as FeedCursor;
        ids.push(...page.records.map((r) => r.id));
        if (page.caughtUp) return { ids, cursor };
      }
    };
    const { cursor } = await drainDeleted(START_CURSOR);
    await sb.faults('sf', { commitLagMs: 1500 });
    const late = conn.sobject('Opportunity').destroy(a.id);
    await sleep(200);
    await sb.faults('sf', {});
    await conn.sobject('Opportunity').destroy(b.id);
    const first = await drainDeleted(cursor);
    expect(first.ids).toEqual([b.id]);
    await late;
    const second = await drainDeleted(first.cursor);
    expect(second.ids).toEqual([a.id]);
    expect((await drainDeleted(second.cursor)).ids).toEqual([]);
  });

  it('paged: a look-back re-read of several pages delivers only what is new (no needless duplicates)', async () => {
    const c = connector();
    const conn = sb.jsforce('sf');
    const made = await conn.sobject('Opportunity').create(Array.from({ length: 7 }, (_, i) => opp(`Batch ${i}`)));
    expect(made.every((r) => r.success)).toBe(true);
    const all = await drain(c, START_CURSOR, 3);
    expect(new Set(all.records.map((r) => r.id)).size).toBe(all.records.length);
    // Re-scan of the look-back (the 7 recent ones and more, in pages of 3): nothing again.
    const again = await drain(c, all.cursor, 3);
    expect(again.records).toEqual([]);
  });
});
