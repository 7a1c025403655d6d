import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../connectors/index.js';
import type { CdcNotifier } from '../../connectors/salesforce/cdc/subscriber.js';
import type { ReconcileReason } from '../../push/types.js';
import { CdcSubscriber, type CdcEventSeen, type CdcSubscriberOptions } from '../../connectors/salesforce/cdc/subscriber.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * Salesforce Change Data Capture end to end: the sandbox org's Pub/Sub API (gRPC + TLS) and the
 * unmodified salesforce-pubsub-api-client inside cosell's CdcSubscriber, positions in a real ledger.
 * Writes are made through the REST API by a person (an owner of the org, password grant) unless a
 * test is about cosell's own writes.
 */

/** `at` is the org's clock (events carry commit times on it; tests move it). */
type Note = { kind: 'notify'; object: string; ids: string[]; at: number } | { kind: 'reconcile'; object: string; reason: ReconcileReason; at: number };

class RecordingNotifier implements CdcNotifier {
  notes: Note[] = [];
  delayMs = 0;
  async notify(_org: string, object: string, ids: string[]): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    this.notes.push({ kind: 'notify', object, ids, at: org().clock.now() });
  }
  async reconcile(_org: string, object: string, reason: ReconcileReason): Promise<void> {
    this.notes.push({ kind: 'reconcile', object, reason, at: org().clock.now() });
  }
  notifiedIds(): Set<string> {
    return new Set(this.notes.flatMap((n) => (n.kind === 'notify' ? n.ids : [])));
  }
  reconciles(reason?: ReconcileReason): Note[] {
    return this.notes.filter((n) => n.kind === 'reconcile' && (!reason || n.reason === reason));
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

const TOPIC = '/data/OpportunityChangeEvent';
let sb: TestSandbox;
let ledger: Ledger;
let dir: string;
let human: jsforce.Connection;
let humanId: string;
let integrationId: string;
let orgN = 0;
const running: CdcSubscriber[] = [];

const org = () => sb.org('vendor') as SalesforceOrg;
const bus = () => org().cdc!.bus;
const server = () => org().cdc!.server()!;
const info = () => sb.orgs.vendor as Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;

/** A subscriber on its own cosell org id (its own positions), started and live on the server. */
async function subscriber(notifier: CdcNotifier, opts: Partial<CdcSubscriberOptions> & { orgId?: string } = {}) {
  const events: CdcEventSeen[] = [];
  const before = server().subscriptions().length;
  const sub = new CdcSubscriber({
    orgId: opts.orgId ?? `vendor-${++orgN}`,
    connection: { instanceUrl: info().instanceUrl, loginUrl: info().loginUrl, auth: { clientId: 'env:CDC_TEST_CLIENT_ID', clientSecret: 'env:CDC_TEST_CLIENT_SECRET' } },
    endpoint: info().pubsub!.endpoint,
    caPem: info().pubsub!.caPem,
    objects: ['Opportunity'],
    positions: ledger.replayIds,
    notifier,
    reconnect: { minMs: 30, maxMs: 300 },
    onEvent: (e) => events.push(e),
    ...opts,
  });
  running.push(sub);
  const orgId = sub.orgId;
  await sub.start();
  // Live once the server has taken its first FetchRequest (a write before that would be before LATEST).
  await until(() => server().subscriptions().slice(before).some((s) => s.open && s.topic === TOPIC && s.requests.length > 0), 'the subscription');
  return { sub, orgId, events, stat: () => server().subscriptions().slice(before).filter((s) => s.topic === TOPIC) };
}

async function stopAll() {
  await Promise.all(running.splice(0).map((s) => s.stop()));
}

const newOpp = (i: number | string) => ({ Name: `CDC ${i}`, StageName: 'Prospecting', CloseDate: '2027-03-01', Amount: 100 });

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', pubsub: { keepaliveMs: 300 } }] });
  process.env.CDC_TEST_CLIENT_ID = info().clientId;
  process.env.CDC_TEST_CLIENT_SECRET = info().clientSecret;
  dir = mkdtempSync(path.join(os.tmpdir(), 'cosell-cdc-'));
  ledger = await openLedger({ file: path.join(dir, 'ledger.sqlite') });
  // A person of the org (a seeded owner), logged in with the password grant: their writes are not cosell's.
  const admin = sb.jsforce('vendor');
  const users = (await admin.query<{ Id: string; Username: string }>('SELECT Id, Username FROM User')).records;
  integrationId = users.find((u) => u.Username === info().username)!.Id;
  const owner = users.find((u) => u.Username !== info().username)!;
  humanId = owner.Id;
  const res = await fetch(`${info().loginUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: info().clientId, client_secret: info().clientSecret, username: owner.Username, password: info().password! }).toString(),
  });
  const token = (await res.json()) as { access_token: string };
  human = new jsforce.Connection({ instanceUrl: info().instanceUrl, accessToken: token.access_token, version: '62.0' });
});

afterAll(async () => {
  await stopAll();
  await ledger?.close();
  await sb?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Salesforce Change Data Capture (sandbox Pub/Sub API + real client)', () => {
  it('delivers creates, updates and deletes in commit order, with the committing user and transaction', async () => {
    const n = new RecordingNotifier();
    const { orgId, events } = await subscriber(n);
    const created = (await human.sobject('Opportunity').create(newOpp('order'))) as { id: string };
    await human.sobject('Opportunity').update({ Id: created.id, Amount: 250, Description: 'bigger' });
    await human.sobject('Opportunity').destroy(created.id);
    // The sandbox's Recycle Bin restore (it runs as the integration user, so it is cosell's own write here).
    const restored = await fetch(`${sb.baseUrls.vendor}/__sandbox/restore/Opportunity/${created.id}`, { method: 'POST' });
    expect(restored.ok).toBe(true);
    await until(() => events.filter((e) => e.recordIds.includes(created.id)).length === 4, 'four events');
    const all = events.filter((e) => e.recordIds.includes(created.id));
    expect(all.map((e) => e.changeType)).toEqual(['CREATE', 'UPDATE', 'DELETE', 'UNDELETE']);
    expect(all[3].action).toBe('echo');
    const mine = all.slice(0, 3);
    expect(mine.map((e) => e.replayId)).toEqual([...mine.map((e) => e.replayId)].sort((a, b) => a - b));
    expect(new Set(mine.map((e) => e.transactionKey)).size).toBe(3);
    expect(mine.every((e) => e.commitUser === humanId && e.action === 'notified')).toBe(true);
    expect(n.notifiedIds().has(created.id)).toBe(true);
    // The position is stored after the notifier took the events.
    const stored = await ledger.replayIds.get(orgId, TOPIC);
    expect(Number(stored!.replayId)).toBe(all[3].replayId);
    await stopAll();
  });

  it('resumes after a restart from the stored replay id: nothing lost, nothing handed on twice', async () => {
    const orgId = `vendor-restart-${++orgN}`;
    const n1 = new RecordingNotifier();
    const first = await subscriber(n1, { orgId });
    const a = (await human.sobject('Opportunity').create(newOpp('restart-a'))) as { id: string };
    await until(() => n1.notifiedIds().has(a.id), 'the first create');
    await first.sub.stop();
    const last = Number((await ledger.replayIds.get(orgId, TOPIC))!.replayId);
    // Written while cosell is down.
    const b = (await human.sobject('Opportunity').create(newOpp('restart-b'))) as { id: string };
    await human.sobject('Opportunity').update({ Id: a.id, Amount: 7 });
    await human.sobject('Opportunity').destroy(b.id);
    const missed = bus().events(TOPIC).filter((e) => e.replayId > last).map((e) => e.replayId);
    expect(missed).toHaveLength(3);
    const n2 = new RecordingNotifier();
    const second = await subscriber(n2, { orgId });
    await until(() => second.events.length >= 3, 'the missed events');
    expect(second.events.map((e) => e.replayId)).toEqual(missed);
    expect(second.events.every((e) => e.replayId > last)).toBe(true);
    expect(n2.notifiedIds()).toEqual(new Set([a.id, b.id]));
    await stopAll();
  });

  it('a stored replay id past retention: reconcile by polling, then push again from LATEST', async () => {
    const orgId = `vendor-expired-${++orgN}`;
    const n1 = new RecordingNotifier();
    const first = await subscriber(n1, { orgId });
    const a = (await human.sobject('Opportunity').create(newOpp('expire'))) as { id: string };
    await until(() => n1.notifiedIds().has(a.id), 'the create');
    await first.sub.stop();
    await human.sobject('Opportunity').update({ Id: a.id, Amount: 8 });
    // Retention 1 s of org clock, and 5 s pass: the stored replay id is no longer kept.
    await sb.faults('vendor', { cdcRetentionMs: 1000 });
    await sb.clock('vendor', { advanceMs: 5000 });
    try {
      const n2 = new RecordingNotifier();
      const froms: string[] = [];
      const second = await subscriber(n2, { orgId, onSubscribed: (_t, from) => froms.push(from) });
      await until(() => n2.reconciles('replay-id-expired').length === 1, 'the reconcile');
      expect(froms).toContain('latest');
      const c = (await human.sobject('Opportunity').create(newOpp('after-expiry'))) as { id: string };
      await until(() => n2.notifiedIds().has(c.id), 'push after resubscribing');
      expect(second.events.some((e) => e.recordIds.includes(a.id))).toBe(false);
    } finally {
      await sb.faults('vendor', {});
      await stopAll();
    }
  });

  it('GAP events are re-read by id; an overflow event (no ids) asks for a reconcile', async () => {
    const n = new RecordingNotifier();
    const { events } = await subscriber(n);
    try {
      await sb.faults('vendor', { cdcGapRate: 1 });
      const a = (await human.sobject('Opportunity').create(newOpp('gap'))) as { id: string };
      await until(() => n.notifiedIds().has(a.id), 'the gap create');
      expect(events.find((e) => e.recordIds.includes(a.id))!.changeType).toBe('GAP_CREATE');
      await sb.faults('vendor', { cdcOverflowAfter: 2 });
      const results = (await human.sobject('Opportunity').create([1, 2, 3, 4, 5].map((i) => newOpp(`overflow-${i}`)))) as Array<{ id: string }>;
      await until(() => n.reconciles('overflow').length === 1, 'the overflow reconcile');
      const ids = results.map((r) => r.id);
      expect(ids.slice(0, 2).every((id) => n.notifiedIds().has(id))).toBe(true);
      expect(events.filter((e) => e.changeType === 'GAP_OVERFLOW')).toHaveLength(1);
    } finally {
      await sb.faults('vendor', {});
      await stopAll();
    }
  });

  it('duplicated deliveries are handed on once', async () => {
    const n = new RecordingNotifier();
    const { sub, events, stat } = await subscriber(n);
    try {
      await sb.faults('vendor', { cdcDuplicateRate: 1 });
      const a = (await human.sobject('Opportunity').create(newOpp('dup'))) as { id: string };
      await human.sobject('Opportunity').update({ Id: a.id, Amount: 3 });
      await until(() => events.filter((e) => e.action === 'duplicate').length === 2, 'both duplicates');
      const sent = stat().flatMap((s) => s.sent);
      expect(sent.length).toBe(4);
      const handled = events.filter((e) => e.action !== 'duplicate').map((e) => e.replayId);
      expect(new Set(handled).size).toBe(handled.length);
      expect(handled).toHaveLength(2);
      expect(sub.status()[0].duplicates).toBe(2);
    } finally {
      await sb.faults('vendor', {});
      await stopAll();
    }
  });

  it("recognises cosell's own writes (integration user, client=cosell) and still advances past them", async () => {
    // One subscriber knows cosell by its integration user (looked up), one by its client name only.
    const byUser = new RecordingNotifier();
    const u = await subscriber(byUser);
    const byClient = new RecordingNotifier();
    const c = await subscriber(byClient, { self: { userId: '005000000000000AAA' } });
    process.env.CDC_TEST_TOKEN = info().accessToken;
    const connector = await createConnector({ kind: 'salesforce', orgId: 'vendor', instanceUrl: info().instanceUrl, auth: { accessToken: 'env:CDC_TEST_TOKEN' } });
    const person = (await human.sobject('Opportunity').create(newOpp('echo-person'))) as { id: string };
    // As the integration user, through plain jsforce (no client name) …
    await sb.jsforce('vendor').sobject('Opportunity').update({ Id: person.id, Amount: 11 });
    // … and through cosell's own connector (Sforce-Call-Options client=cosell).
    const [w] = await connector.update('Opportunity', [{ id: person.id, fields: { Amount: 12 } }]);
    expect(w.status).toBe('updated');
    await until(() => u.events.length === 3 && c.events.length === 3, 'three events each');
    expect(u.events.map((e) => e.action)).toEqual(['notified', 'echo', 'echo']);
    expect(u.events.slice(1).every((e) => e.commitUser === integrationId)).toBe(true);
    expect(c.events.map((e) => e.action)).toEqual(['notified', 'notified', 'echo']);
    // Echo is not handed on, but the position moves past it.
    expect(byUser.notes.filter((x) => x.kind === 'notify')).toHaveLength(1);
    expect(Number((await ledger.replayIds.get(u.orgId, TOPIC))!.replayId)).toBe(u.events[2].replayId);
    await connector.close();
    await stopAll();
  });

  it('flow control: never more events in flight than requested (asserted on the server)', async () => {
    const n = new RecordingNotifier();
    n.delayMs = 20;
    const { events, stat } = await subscriber(n, { batchSize: 5 });
    const results = (await human.sobject('Opportunity').create(Array.from({ length: 40 }, (_, i) => newOpp(`flow-${i}`)))) as Array<{ id: string }>;
    await until(() => events.length >= 40, 'forty events', 15_000);
    const s = stat();
    expect(s.flatMap((x) => x.requests).every((r) => r >= 1 && r <= 5)).toBe(true);
    expect(Math.max(...s.map((x) => x.maxCredit))).toBeLessThanOrEqual(5);
    expect(s.reduce((a, x) => a + x.delivered, 0)).toBe(40);
    expect(results.every((r) => n.notifiedIds().has(r.id))).toBe(true);
    await stopAll();
  });

  it('several subscribers on one ledger: only the lease holder subscribes; at its stop a standby takes over from the stored replay id', async () => {
    const orgId = `vendor-lease-${++orgN}`;
    const before = server().subscriptions().length;
    const open = () => server().subscriptions().slice(before).filter((s) => s.open && s.topic === TOPIC);
    const lease = (holder: string) => ({ store: ledger.cdcLeases, holder, ttlMs: 1500, renewMs: 300 });
    const notes = [new RecordingNotifier(), new RecordingNotifier(), new RecordingNotifier()];
    // subscriber() resolves once any new subscription is live: only the holder's is.
    await Promise.all(notes.map((n, i) => subscriber(n, { orgId, lease: lease(`w${i}`) })));
    await until(() => open().length === 1 && open()[0].requests.length > 0, 'one subscription');
    await new Promise((r) => setTimeout(r, 1000)); // three renew intervals: still one
    expect(open()).toHaveLength(1);
    const holder = (await ledger.cdcLeases.get(orgId, TOPIC))!;
    const h = Number(holder.holder.slice(1));
    const a = (await human.sobject('Opportunity').create(newOpp('lease-a'))) as { id: string };
    await until(() => notes[h].notifiedIds().has(a.id), 'the holder hands on');
    const stored = Number((await ledger.replayIds.get(orgId, TOPIC))!.replayId);
    // The holder stops (released); written meanwhile: the taker must read it from the stored position.
    const holderSub = running.find((x) => x.orgId === orgId && x.status()[0].leaseHolder === holder.holder)!;
    await holderSub.stop();
    const b = (await human.sobject('Opportunity').create(newOpp('lease-b'))) as { id: string };
    await until(() => notes.some((n, i) => i !== h && n.notifiedIds().has(b.id)), 'a standby takes over');
    const taker = (await ledger.cdcLeases.get(orgId, TOPIC))!;
    expect(taker.holder).not.toBe(holder.holder);
    expect(taker.epoch).toBe(holder.epoch + 1);
    const t = Number(taker.holder.slice(1));
    // Resumed after the stored position (the write made while nobody subscribed is there), not at LATEST, and not twice.
    const takerStream = server().subscriptions().slice(before).filter((s) => s.topic === TOPIC && s.open);
    expect(takerStream).toHaveLength(1);
    expect(takerStream[0].sent[0]).toBe(bus().events(TOPIC).find((e) => e.replayId > stored)!.replayId);
    expect(notes[t].notifiedIds().has(a.id)).toBe(false);
    expect(notes.filter((_, i) => i !== h && i !== t).every((n) => n.notes.length === 0)).toBe(true);
    await stopAll();
  });

  it('randomized writes and faults: every emitted change is handed on once, overflow reconciled, only dropped events missing', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('create' as const) }),
      fc.record({ kind: fc.constant('update' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('bulk' as const), n: fc.integer({ min: 2, max: 6 }) }),
      fc.record({ kind: fc.constant('dropStreams' as const) }),
    );
    const faults = fc.record({
      cdcDropRate: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.3, noNaN: true })),
      cdcDelayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 80 })),
      cdcDuplicateRate: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true })),
      cdcGapRate: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true })),
      cdcOverflowAfter: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(faults, fc.array(op, { minLength: 2, maxLength: 9 }), fc.integer({ min: 1, max: 10 }), async (f, ops, batchSize) => {
        const n = new RecordingNotifier();
        const start = bus().headId;
        const { orgId, events } = await subscriber(n, { batchSize });
        const live: string[] = [];
        const written = new Set<string>();
        try {
          await sb.faults('vendor', Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)));
          for (const o of ops) {
            if (o.kind === 'create') {
              const r = (await human.sobject('Opportunity').create(newOpp('fuzz'))) as { id: string };
              live.push(r.id);
              written.add(r.id);
            } else if (o.kind === 'bulk') {
              const rs = (await human.sobject('Opportunity').create(Array.from({ length: o.n }, () => newOpp('fuzz-bulk')))) as Array<{ id: string }>;
              for (const r of rs) {
                live.push(r.id);
                written.add(r.id);
              }
            } else if (o.kind === 'update' && live.length) {
              const id = live[o.pick % live.length];
              await human.sobject('Opportunity').update({ Id: id, Amount: o.pick });
              written.add(id);
            } else if (o.kind === 'delete' && live.length) {
              const [id] = live.splice(o.pick % live.length, 1);
              await human.sobject('Opportunity').destroy(id);
              written.add(id);
            } else if (o.kind === 'dropStreams') {
              server().dropStreams();
            }
          }
          const published = () => bus().events(TOPIC).filter((e) => e.replayId > start);
          const handled = () => new Set(events.filter((e) => e.action !== 'duplicate').map((e) => e.replayId));
          // Handed on by push, or covered by a reconcile (poll from the feed cursor) asked for after its commit.
          const reconciledAfter = (t: number) => n.reconciles().some((r) => r.at >= t);
          await until(() => published().every((e) => handled().has(e.replayId) || reconciledAfter(e.committedAt)), 'every published event handed on or reconciled', 10_000);
          const pub = published();
          const dropped = bus().dropped.filter((d) => d.topic === TOPIC && d.replayId > start);
          // The sandbox: every write emitted an event (published or dropped), or its transaction overflowed.
          const inEvents = new Set([...pub.flatMap((e) => e.header.recordIds), ...dropped.flatMap((d) => d.recordIds)]);
          const overflowed = pub.some((e) => e.header.changeType === 'GAP_OVERFLOW') || dropped.some((d) => d.changeType === 'GAP_OVERFLOW');
          for (const id of written) if (!inEvents.has(id)) expect(overflowed).toBe(true);
          // The subscriber: every event's records handed on; overflow reconciled; each event handed on once.
          const notified = n.notifiedIds();
          for (const e of pub) {
            if (!handled().has(e.replayId)) continue; // covered by a reconcile (checked above)
            if (e.header.changeType === 'GAP_OVERFLOW') expect(n.reconciles('overflow').length).toBeGreaterThan(0);
            else for (const id of e.header.recordIds) expect(notified.has(id)).toBe(true);
          }
          const once = events.filter((e) => e.action !== 'duplicate').map((e) => e.replayId);
          expect(new Set(once).size).toBe(once.length);
          const delivered = pub.filter((e) => handled().has(e.replayId));
          if (delivered.length) await until(async () => Number((await ledger.replayIds.get(orgId, TOPIC))?.replayId) >= Math.max(...delivered.map((e) => e.replayId)), 'the stored position');
        } finally {
          await sb.faults('vendor', {});
          await stopAll();
        }
      }),
      { numRuns: 6, interruptAfterTimeLimit: 20_000, examples: [[{ cdcDropRate: 0, cdcDelayMs: 1, cdcDuplicateRate: 0, cdcGapRate: 0, cdcOverflowAfter: undefined }, [{ kind: 'create' }, { kind: 'delete', pick: 1 }, { kind: 'create' }, { kind: 'dropStreams' }], 1],
        [{ cdcDropRate: 0, cdcDelayMs: 0, cdcDuplicateRate: 0, cdcGapRate: 0, cdcOverflowAfter: 2 }, [{ kind: 'update', pick: 1 }, { kind: 'dropStreams' }, { kind: 'dropStreams' }, { kind: 'create' }], 4]] },
    );
  });
});
