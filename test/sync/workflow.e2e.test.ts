import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkStatuses } from '../../lib/links.js';
import type { LinkStatus } from '../../sync/types.js';
import { statusQuery } from '../../workflows/index.js';
import { startLinkHarness, waitForLink, type LinkHarness } from '../helpers/linkWorker.js';
import { uniqueQueue } from '../helpers/temporal.js';
import { pauseSignal, resumeSignal, resyncUpdate, syncNowSignal, linkHandle, linkWorkflowId } from '../../lib/workflowClient.js';

let h: LinkHarness;
const taskQueue = uniqueQueue('link-wf');
const prefix = taskQueue.replace(/[^a-z0-9]/g, '').slice(-8);
const linkId = `acme-deals-${prefix}`;

beforeAll(async () => {
  h = await startLinkHarness({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor' },
      { id: 'acme', kind: 'hubspot', role: 'partner' },
    ],
    envPrefix: 'WF',
    taskQueue,
    startLinks: true,
    network: (conn) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`,
  });
});

afterAll(() => h?.close());

const waitFor = (pred: (s: LinkStatus) => boolean, timeoutMs = 30_000) => waitForLink(h.client, linkId, pred, { timeoutMs });

describe('linkSync workflow on the real dev server', () => {
  it('catches up, goes idle, and shows its state in search attributes and the status query', async () => {
    const s = await waitFor((x) => x.state === 'idle');
    expect(s.counts.created).toBe(30);
    expect(s.cursor?.modifiedAt).toMatch(/^\d{4}-/);
    const desc = await linkHandle(h.client, linkId).describe();
    expect(desc.searchAttributes).toMatchObject({ CosellKind: ['link'], CosellLink: [linkId], CosellPartner: ['acme'], CosellObject: ['deals'], CosellState: ['idle'] });
    const listed = await linkStatuses(h.client);
    expect(listed.find((r) => r.workflowId === linkWorkflowId(linkId))?.status?.state).toBe('idle');
  });

  it('a change in the partner CRM lands on syncNow; pause holds it, resume releases it', async () => {
    const hs = h.sb.hubspot('acme');
    const deals = await hs.crm.deals.basicApi.getPage(1, undefined, ['dealname']);
    const deal = deals.results[0];
    const handle = linkHandle(h.client, linkId);
    await handle.signal(pauseSignal);
    await waitFor((x) => x.state === 'paused');
    await hs.crm.deals.basicApi.update(deal.id, { properties: { dealname: 'Renamed by partner rep' } });
    await handle.signal(syncNowSignal);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await handle.query(statusQuery)).state).toBe('paused');
    await handle.signal(resumeSignal);
    const s = await waitFor((x) => x.state === 'idle' && x.counts.updated >= 1);
    expect(s.counts.updated).toBe(1);
    const opp = await h.sb.jsforce('vendor').query<{ Name: string }>(`SELECT Name FROM Opportunity WHERE Partner_Deal_Id__c = 'acme:${deal.id}'`);
    expect(opp.records[0].Name).toBe('Renamed by partner rep');
  });

  it('resync re-applies the mapping to every record (back-fill) without duplicates', async () => {
    const handle = linkHandle(h.client, linkId);
    const before = (await handle.query(statusQuery)).counts;
    await handle.executeUpdate(resyncUpdate, { args: [{ from: 'full' }] });
    const s = await waitFor((x) => x.state === 'idle' && x.counts.read >= before.read + 30);
    expect(s.counts.created).toBe(before.created); // nothing new: upserts by match key
    const count = await h.sb.jsforce('vendor').query("SELECT COUNT() FROM Opportunity WHERE Registered_Partner_Id__c = 'acme'");
    expect(count.totalSize).toBe(30);
  });
});
