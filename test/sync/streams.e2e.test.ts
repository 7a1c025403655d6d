import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { LoadedNetwork } from '../../lib/config.js';
import { startLinks } from '../../lib/links.js';
import { streamStatuses } from '../../lib/streams.js';
import { Engine } from '../../sync/build.js';
import { pumpStream } from '../../sync/stream.js';
import { replayDeadLetters } from '../../sync/page.js';
import type { LinkStatus } from '../../sync/types.js';
import { statusQuery } from '../../workflows/index.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, testWorker, uniqueQueue } from '../helpers/temporal.js';
import { copyStockMapping } from './helpers.js';
import { drain } from '../helpers/drain.js';
import { tempDir } from '../helpers/tmp.js';
import { streamNotifySignal, streamStatusQuery, linkHandle, streamHandle, linkWorkflowId, streamWorkflowId } from '../../lib/workflowClient.js';

/**
 * Links on change streams, end to end on the sandbox CRMs and the real dev server: two vendor →
 * partner links read ONE vendor Opportunity stream; a vendor change reaches both partners through the
 * stream's wake-up signal (the links' own schedule is an hour); a failing partner does not hold the
 * other back and catches up once it recovers; a link that followed its own feed switches to the stream
 * without losing or re-delivering anything.
 */

/**
 * `vendor` is the network's id of the sandbox's vendor org: workflows on the shared dev server are named
 * after it (`stream:<vendor>:Opportunity`), so the workflow test gives it an id of its own.
 */
function network(sb: TestSandbox, prefix: string, streams: boolean, suffix = '', vendor = 'vendor'): LoadedNetwork {
  const conn = sandboxEnv(sb, prefix);
  const dir = tempDir('cosell-streams-');
  // Every vendor opportunity goes to every partner (share: all, no partner filter): the fan-out is the point.
  const opps = copyStockMapping(dir, 'salesforce-opportunity-to-hubspot-deal.yaml', [[/^filter: .*$/m, '']]);
  return testNetwork(`
vendor: { id: ${vendor}, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
  - { id: globex, name: Globex Integrators, kind: hubspot, tier: silver, connection: ${conn.globex} }
links:
  - { id: opps-to-acme${suffix}, from: ${vendor}.Opportunity, to: acme.deals, mapping: ${opps}, share: all, schedule: 1h }
  - { id: opps-to-globex${suffix}, from: ${vendor}.Opportunity, to: globex.deals, mapping: ${opps}, share: all, schedule: 1h }
${streams ? 'streams: { enabled: true, poll: 1s, coalesce: 2s }' : ''}
`);
}

const partnerSandbox = () =>
  startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 4, opportunities: 8, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
      { id: 'globex', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
    ],
  });

async function dealAmount(sb: TestSandbox, partner: string, oppId: string): Promise<number | undefined> {
  const res = await sb.hubspot(partner).crm.deals.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'cosell_source_id', operator: 'EQ' as never, value: oppId }] }], properties: ['amount'], limit: 1 });
  const v = res.results[0]?.properties.amount;
  return v === undefined || v === null ? undefined : Number(v);
}

async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('a link switching from its own feed to the stream', () => {
  let sb: TestSandbox;
  let ledger: Ledger;
  beforeAll(async () => {
    sb = await partnerSandbox();
    ledger = await openLedger({ file: tempLedgerFile() });
  });
  afterAll(async () => {
    await ledger?.close();
    await sb?.stop();
  });

  it('starts where its own feed stopped: nothing it synced is delivered again, nothing changed since is lost', async () => {
    const direct = new Engine({ network: network(sb, 'HOFF', false), ledger });
    expect((await drain(direct, 'opps-to-acme')).created).toBe(8);
    const opps = await sb.jsforce('vendor').query<{ Id: string }>('SELECT Id FROM Opportunity ORDER BY Id');
    // Changed after the link's last page, before the switch.
    await sb.jsforce('vendor').sobject('Opportunity').update({ Id: opps.records[3].Id, Amount: 4242 });
    await direct.close();

    const streamed = new Engine({ network: network(sb, 'HOFF', true), ledger });
    await drain(streamed, 'opps-to-acme'); // registers the link (handoff floor at its old cursor) and its fields
    for (let i = 0; !(await pumpStream(streamed, 'vendor:Opportunity')).caughtUp; i++) expect(i).toBeLessThan(50);
    const totals = await drain(streamed, 'opps-to-acme');
    expect(totals).toMatchObject({ read: 1, updated: 1 });
    expect(totals.created ?? 0).toBe(0);
    expect(await dealAmount(sb, 'acme', opps.records[3].Id)).toBe(4242);
    // A link new to everything reads the whole log (no floor): every record, from the ledger.
    const fresh = await drain(streamed, 'opps-to-globex');
    expect(fresh).toMatchObject({ read: 8, created: 8 });
    expect((await drain(streamed, 'opps-to-acme')).read ?? 0).toBe(0);
    // Replays (parked records, after every catch-up) read the log, not the vendor: no call per link.
    await sb.jsforce('vendor').sobject('Opportunity').update({ Id: opps.records[5].Id, Amount: 5151 });
    for (let i = 0; !(await pumpStream(streamed, 'vendor:Opportunity')).caughtUp; i++) expect(i).toBeLessThan(50);
    await ledger.commitPage({ linkId: 'opps-to-globex', feed: 'changes', deadLetters: [{ sourceId: opps.records[5].Id, payload: {}, reason: 'parked for the test', code: 'PARENT_NOT_SYNCED', kind: 'not_found' }] });
    const calls = async () => ((await (await fetch(`${sb.baseUrls.vendor}/__sandbox/stats`)).json()) as { requests: number }).requests;
    const before = await calls();
    const replayed = await replayDeadLetters(await streamed.link('opps-to-globex'), { codes: ['PARENT_NOT_SYNCED'] });
    expect(replayed.counts.updated).toBe(1);
    expect(await calls()).toBe(before);
    expect(await dealAmount(sb, 'globex', opps.records[5].Id)).toBe(5151);
    await streamed.close();
  });
});

describe('links on one stream, on the real dev server', () => {
  let sb: TestSandbox;
  let ledger: Ledger;
  let engine: Engine;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  let net: LoadedNetwork;
  const taskQueue = uniqueQueue('streams');
  const suffix = `-${taskQueue.replace(/[^a-z0-9]/g, '').slice(-6)}`;
  const vendorId = `vendor${suffix}`;
  const status = (link: string) => linkHandle(client, `${link}${suffix}`).query(statusQuery);

  beforeAll(async () => {
    sb = await partnerSandbox();
    net = network(sb, 'STRE2E', true, suffix, vendorId);
    ledger = await openLedger({ file: tempLedgerFile() });
    engine = new Engine({ network: net, ledger });
    client = await testClient();
    worker = await testWorker({ taskQueue, activities: createActivities({ engine }) });
    running = worker.run();
    await startLinks(client, net, { taskQueue });
  });

  afterAll(async () => {
    for (const id of [linkWorkflowId(`opps-to-acme${suffix}`), linkWorkflowId(`opps-to-globex${suffix}`), streamWorkflowId(`${vendorId}:Opportunity`)]) {
      await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    }
    worker?.shutdown();
    await running;
    await engine?.close();
    await ledger?.close();
    await sb?.stop();
    await client?.connection.close();
  });

  it('both links fill from the one stream, and a vendor change reaches both through its wake-up', async () => {
    for (const l of ['opps-to-acme', 'opps-to-globex']) await eventually(`${l} idle`, () => status(l), (s: LinkStatus) => s.state === 'idle' && s.counts.created === 8);
    const streams = await streamStatuses(client);
    const mine = streams.find((s) => s.workflowId === streamWorkflowId(`${vendorId}:Opportunity`));
    expect(mine?.status).toMatchObject({ mode: 'poll', consumers: expect.arrayContaining([`link:opps-to-acme${suffix}`, `link:opps-to-globex${suffix}`]) });
    expect(mine!.status!.head).toBeGreaterThanOrEqual(8);

    const opp = (await sb.jsforce('vendor').query<{ Id: string }>('SELECT Id FROM Opportunity ORDER BY Id')).records[0].Id;
    await sb.jsforce('vendor').sobject('Opportunity').update({ Id: opp, Amount: 777 });
    for (const p of ['acme', 'globex']) await eventually(`${p} deal amount`, () => dealAmount(sb, p, opp), (a) => a === 777, 20_000);
  });

  it('one failing partner never delays the other; it catches up once it recovers', async () => {
    const opp = (await sb.jsforce('vendor').query<{ Id: string }>('SELECT Id FROM Opportunity ORDER BY Id')).records[1].Id;
    await sb.faults('globex', { errorRate: 1 });
    try {
      await sb.jsforce('vendor').sobject('Opportunity').update({ Id: opp, Amount: 888 });
      await eventually('acme deal amount', () => dealAmount(sb, 'acme', opp), (a) => a === 888, 20_000);
      expect((await status('opps-to-globex')).counts.updated).toBe(1); // only the first test's change
    } finally {
      await sb.faults('globex', {});
    }
    await eventually('globex deal amount', () => dealAmount(sb, 'globex', opp), (a) => a === 888, 90_000);
  });

  // Last: once pushed to, the stream polls only every `reconcile` (15 min).
  it('a push notification (ids) is read by id and appended; the stream shows mode push and its last event', async () => {
    const opp = (await sb.jsforce('vendor').query<{ Id: string }>('SELECT Id FROM Opportunity ORDER BY Id')).records[2].Id;
    await sb.jsforce('vendor').sobject('Opportunity').update({ Id: opp, Amount: 999 });
    await streamHandle(client, `${vendorId}:Opportunity`).signal(streamNotifySignal, { ids: [opp] });
    for (const p of ['acme', 'globex']) await eventually(`${p} deal amount`, () => dealAmount(sb, p, opp), (a) => a === 999, 20_000);
    const s = await eventually('stream status', () => streamHandle(client, `${vendorId}:Opportunity`).query(streamStatusQuery), (x) => x.mode === 'push' && !!x.lastEventAt);
    expect(s.state).not.toBe('error');
    expect(await ledger.streams.get(`${vendorId}:Opportunity`)).toMatchObject({ mode: 'push' });
  });

  it('push under steady change: notifications are gathered (one read per window, doubling to `coalesce`), a change after a quiet spell is read at once', async () => {
    const vendor = sb.jsforce('vendor');
    const opps = (await vendor.query<{ Id: string }>('SELECT Id FROM Opportunity ORDER BY Id')).records.map((r) => r.Id);
    for (const [i, id] of opps.entries()) await vendor.sobject('Opportunity').update({ Id: id, Amount: 6000 + i });
    await new Promise((r) => setTimeout(r, 2_500)); // a quiet spell longer than coalesce (2s)
    const stream = streamHandle(client, `${vendorId}:Opportunity`);
    const stats = async () => (await (await fetch(`${sb.baseUrls.vendor}/__sandbox/stats`)).json()) as { requests: number; writes: number };
    const before = await stats();
    const firstSignalAt = (await stream.fetchHistory()).events!.length;
    const NOTIFICATIONS = 48;
    for (let i = 0; i < NOTIFICATIONS; i++) {
      await stream.signal(streamNotifySignal, { ids: [opps[i % opps.length]!] });
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const p of ['acme', 'globex']) for (const [i, id] of opps.entries()) await eventually(`${p} deal amount`, () => dealAmount(sb, p, id), (a) => a === 6000 + i, 30_000);
    await new Promise((r) => setTimeout(r, 2_500)); // the last window's read
    const after = await stats();
    const reads = after.requests - after.writes - (before.requests - before.writes);
    console.log(`streams: ${NOTIFICATIONS} push notifications over ${NOTIFICATIONS / 10} s → ${reads} vendor reads`);
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(8);

    // The history shows why: the burst's first notification was read with no wait before it; then the
    // waits after each read doubled from 250 ms and stopped at coalesce.
    const events = (await stream.fetchHistory()).events!.slice(firstSignalAt);
    const kinds = events.map((e) => (e.activityTaskScheduledEventAttributes ? `read:${e.activityTaskScheduledEventAttributes.activityType?.name}` : e.timerStartedEventAttributes ? `wait:${Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0) * 1000 + Math.round(Number(e.timerStartedEventAttributes.startToFireTimeout?.nanos ?? 0) / 1e6)}` : ''));
    const steps = kinds.filter((k) => k === 'read:readStream' || (k.startsWith('wait:') && Number(k.slice(5)) <= 2_000));
    expect(steps[0]).toBe('read:readStream');
    const waits = steps.filter((k) => k.startsWith('wait:')).map((k) => Number(k.slice(5)));
    expect(waits.slice(0, 4)).toEqual([250, 500, 1_000, 2_000]);
    expect(Math.max(...waits)).toBe(2_000);
  }, 90_000);
});
