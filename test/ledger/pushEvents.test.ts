import { describe, expect, it } from 'vitest';
import type { Ledger, PushEventInput } from '../../ledger/index.js';
import { backends, uniqueLink, useLedgerStore } from './backends.js';

const event = (orgId: string, n: number, extra: Partial<PushEventInput> = {}): PushEventInput => ({
  orgId,
  source: 'hubspot-webhook',
  dedupeKey: `k${n}`,
  eventId: String(n),
  eventType: 'deal.propertyChange',
  occurredAt: new Date(1_700_000_000_000 + n).toISOString(),
  targets: [{ object: 'deals', ids: [String(300 + n)] }],
  payload: { eventId: n },
  ...extra,
});

describe.each(backends)('ledger push events on $name', (backend) => {
  let ledger: Ledger;
  let store: Awaited<ReturnType<typeof backend.create>>;
  useLedgerStore(backend, (s, l) => ((store = s), (ledger = l)));

  it('stores each event once per (org, dedupe key), also within one batch and across orgs', async () => {
    const org = uniqueLink('org');
    const other = uniqueLink('org');
    const first = await ledger.pushEvents.accept([event(org, 1), event(org, 2), event(org, 1)]);
    expect(first).toEqual({ inserted: ['k1', 'k2'], duplicates: 1 });
    const again = await ledger.pushEvents.accept([event(org, 2), event(org, 3), event(other, 2)]);
    expect(again).toEqual({ inserted: ['k3', 'k2'], duplicates: 1 });
    expect((await ledger.pushEvents.list(org)).map((r) => r.event_id)).toEqual(['1', '2', '3']);
    expect(await ledger.pushEvents.counts(org)).toMatchObject({ pending: 3, notified: 0, rejected: 0 });
  });

  it('keeps rejected events with their reason and never hands them out', async () => {
    const org = uniqueLink('org');
    await ledger.pushEvents.accept([event(org, 1, { rejected: 'a deal.merge event without objectId', targets: [] }), event(org, 2)]);
    const claimed = (await ledger.pushEvents.claimDue(100, 30_000)).filter((c) => c.orgId === org);
    expect(claimed.map((c) => c.eventId)).toEqual(['2']);
    const [rejected] = await ledger.pushEvents.list(org, { status: 'rejected' });
    expect(rejected).toMatchObject({ event_id: '1', reason: 'a deal.merge event without objectId' });
    await ledger.pushEvents.markNotified(claimed.map((c) => c.id));
  });

  it('claims under a lease: a second forwarder (own connection) gets none of the same events until it runs out', async () => {
    const org = uniqueLink('org');
    await ledger.pushEvents.accept(Array.from({ length: 20 }, (_, i) => event(org, i)));
    const second = await store.open();
    try {
      const now = new Date();
      const [a, b] = await Promise.all([ledger.pushEvents.claimDue(1000, 60_000, now), second.pushEvents.claimDue(1000, 60_000, now)]);
      const mine = (xs: typeof a) => xs.filter((c) => c.orgId === org).map((c) => c.eventId);
      expect([...mine(a), ...mine(b)].sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
      expect(mine(a).filter((id) => mine(b).includes(id))).toEqual([]);
      expect(mine(await second.pushEvents.claimDue(1000, 60_000, now))).toEqual([]);
      // A forwarder that died holding the lease only delays: after it, the events are claimable again.
      const later = new Date(now.getTime() + 60_001);
      const reclaimed = (await second.pushEvents.claimDue(1000, 60_000, later)).filter((c) => c.orgId === org);
      expect(reclaimed).toHaveLength(20);
      await second.pushEvents.markNotified(reclaimed.map((c) => c.id));
      expect(await ledger.pushEvents.counts(org)).toMatchObject({ pending: 0, notified: 20 });
    } finally {
      await second.close();
    }
  });

  it('a failed notify counts the attempt and holds the event back until its retry time', async () => {
    const org = uniqueLink('org');
    await ledger.pushEvents.accept([event(org, 1)]);
    const [c] = (await ledger.pushEvents.claimDue(1000, 30_000)).filter((x) => x.orgId === org);
    const retryAt = new Date(Date.now() + 5_000);
    await ledger.pushEvents.markFailed([c!.id], 'Temporal unavailable', retryAt);
    expect((await ledger.pushEvents.claimDue(1000, 30_000)).filter((x) => x.orgId === org)).toEqual([]);
    const due = await ledger.pushEvents.nextDueAt();
    expect(due!.getTime()).toBeLessThanOrEqual(retryAt.getTime());
    const [again] = (await ledger.pushEvents.claimDue(1000, 30_000, new Date(retryAt.getTime() + 1))).filter((x) => x.orgId === org);
    expect(again).toMatchObject({ eventId: '1', attempts: 1 });
    const [row] = await ledger.pushEvents.list(org);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_error: 'Temporal unavailable' });
    await ledger.pushEvents.markNotified([again!.id]);
  });

  it('prunes only notified events older than the cut', async () => {
    const org = uniqueLink('org');
    await ledger.pushEvents.accept([event(org, 1), event(org, 2)], new Date('2020-01-01T00:00:00Z'));
    const [c] = (await ledger.pushEvents.claimDue(1000, 30_000)).filter((x) => x.orgId === org && x.eventId === '1');
    await ledger.pushEvents.markNotified([c!.id]);
    const pruned = await ledger.pushEvents.prune(new Date('2020-01-02T00:00:00Z'));
    expect(pruned).toBeGreaterThanOrEqual(1);
    expect((await ledger.pushEvents.list(org)).map((r) => [r.event_id, r.status])).toEqual([['2', 'pending']]);
    // Its dedupe key went with it (HubSpot stopped redelivering long before): the same event is new again.
    expect((await ledger.pushEvents.accept([event(org, 1)])).inserted).toEqual(['k1']);
    const rest = (await ledger.pushEvents.claimDue(1000, 30_000)).filter((x) => x.orgId === org);
    await ledger.pushEvents.markNotified(rest.map((x) => x.id));
  });
});
