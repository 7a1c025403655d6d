import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinkStatus } from '../../sync/types.js';
import { linkSync, statusQuery } from '../../workflows/index.js';
import { startLinkHarness, waitForLink, type LinkHarness } from '../helpers/linkWorker.js';
import { uniqueQueue } from '../helpers/temporal.js';
import { resyncUpdate, syncNowSignal, linkWorkflowId, linkHandle } from '../../lib/workflowClient.js';

/**
 * The link workflow on the real dev server when things go wrong: failures retrying cannot fix show as
 * state `error` with the reason (no retry storm), bad resync input is refused by the update's
 * validator, and a resync sent while the workflow continues as new is not lost.
 */
let h: LinkHarness;
const taskQueue = uniqueQueue('link-err');
const prefix = taskQueue.replace(/[^a-z0-9]/g, '').slice(-8);
const linkId = `acme-deals-${prefix}`;
const canLink = `acme-can-${prefix}`;

beforeAll(async () => {
  h = await startLinkHarness({
    orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'acme', kind: 'hubspot', role: 'partner' }],
    envPrefix: 'LINKERR',
    taskQueue,
    startLinks: true,
    network: (conn) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
  - { id: ${canLink}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h, enabled: false }
`,
  });
});

afterAll(() => h?.close());

const waitFor = (id: string, pred: (s: LinkStatus) => boolean, timeoutMs = 30_000) => waitForLink(h.client, id, pred, { timeoutMs });

describe('link workflow failures', () => {
  it('a resync sent while the workflow continues as new is not lost', async () => {
    // History threshold 1: the workflow continues as new after every cycle, so updates keep meeting it.
    const handle = await h.client.workflow.start(linkSync, { taskQueue, workflowId: linkWorkflowId(canLink), args: [{ linkId: canLink, maxHistoryEvents: 1 }] });
    const first = await waitFor(canLink, (s) => s.counts.read >= 30);
    for (let i = 0; i < 6; i++) {
      const s = await handle.executeUpdate(resyncUpdate, { args: [{ from: 'full' }] });
      expect(s.linkId).toBe(canLink);
    }
    await waitFor(canLink, (s) => s.counts.read >= first.counts.read + 30);
    await handle.terminate('done');
  }, 90_000);

  it('bad resync input is refused by the update validator, and nothing changes', async () => {
    const handle = linkHandle(h.client, linkId);
    const before = await waitFor(linkId, (s) => s.state === 'idle');
    await expect(handle.executeUpdate(resyncUpdate, { args: [{ from: 'yesterday' }] })).rejects.toThrow();
    const err = await handle.executeUpdate(resyncUpdate, { args: [{ from: 'yesterday' }] }).catch((e: Error & { cause?: Error }) => e);
    expect(String((err as { cause?: Error }).cause?.message)).toMatch(/ISO date or time.*not "yesterday"/);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await handle.query(statusQuery);
    expect(after.state).toBe('idle');
    expect(after.cursor).toEqual(before.cursor);
    expect(after.counts.read).toBe(before.counts.read);
  });

  it('revoked credentials: state error with the reason within seconds, and no retry storm', async () => {
    const handle = linkHandle(h.client, linkId);
    await waitFor(linkId, (s) => s.state === 'idle');
    await h.sb.faults('acme', { expireTokensNow: true }); // the partner revoked the private-app token
    await handle.signal(syncNowSignal);
    const s = await waitFor(linkId, (x) => x.state === 'error', 15_000);
    expect(s.errorCode).toBe('COSELL_CRM_AUTH');
    expect(s.lastError).toMatch(/^COSELL_CRM_AUTH: /);
    const desc = await handle.describe();
    expect(desc.searchAttributes.CosellState).toEqual(['error']);
    // Nothing runs while it waits for a fix: no pending activity, and history stands still.
    const events = desc.historyLength;
    await new Promise((r) => setTimeout(r, 4000));
    const later = await handle.describe();
    expect(later.historyLength).toBe(events);
    expect(later.raw.pendingActivities ?? []).toEqual([]);
    expect((await handle.query(statusQuery)).state).toBe('error');
  }, 60_000);
});
