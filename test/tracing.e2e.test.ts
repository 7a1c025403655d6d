import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../lib/client.js';
import { startLinks } from '../lib/links.js';
import { linkWorkflowId } from '../lib/workflowClient.js';
import { startTracing, type Tracing } from '../lib/tracing.js';
import { startLinkHarness, waitForLink, type LinkHarness } from './helpers/linkWorker.js';
import { temporalAddress, uniqueQueue } from './helpers/temporal.js';
import { eventually } from './helpers/wait.js';

/**
 * A link sync traced end to end on the real dev server: the client that starts the link (lib/client.ts
 * connectClient, with tracing on), the traced workflow bundle, the activity interceptors and the CRM
 * calls of the real jsforce / HubSpot clients against the sandbox — one trace, parent → child at every
 * step, with cosell's attributes. Spans land in an in-memory exporter; test/cli/workerTraces.e2e.test.ts
 * sends them over OTLP/HTTP.
 */

let h: LinkHarness;
let tracing: Tracing;
let client: Client;
const exporter = new InMemorySpanExporter();
const taskQueue = uniqueQueue('traces');
const prefix = taskQueue.replace(/[^a-z0-9]/g, '').slice(-8);
const linkId = `acme-deals-${prefix}`;

beforeAll(async () => {
  tracing = await startTracing({ exporter: 'otlp' }, { exporter, command: 'test' });
  h = await startLinkHarness({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor' },
      { id: 'acme', kind: 'hubspot', role: 'partner' },
    ],
    envPrefix: 'TRACE',
    taskQueue,
    tracing,
    network: (conn) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`,
  });
  client = await connectClient(temporalAddress());
}, 240_000);

afterAll(async () => {
  await client?.connection.close();
  await h?.close();
  await tracing?.shutdown();
});

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanId;

describe('tracing a link sync', () => {
  it('joins the CLI-side start, the workflow, its activities and their CRM calls in one trace, parent to child', async () => {
    await startLinks(client, h.network, { taskQueue });
    const status = await waitForLink(client, linkId, (s) => s.state === 'idle', { timeoutMs: 60_000 });
    expect(status.counts.created).toBe(30);
    // linkSync runs for ever: cancelling it ends its RunWorkflow span, which the sink then exports.
    await client.workflow.getHandle(linkWorkflowId(linkId)).cancel();
    const spans = await eventually('the RunWorkflow span', async () => {
      await tracing.flush();
      const all = exporter.getFinishedSpans();
      return byName(all, 'RunWorkflow:linkSync').length ? all : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });

    const [start] = byName(spans, 'StartWorkflow:linkSync');
    expect(start, spans.map((s) => s.name).join(', ')).toBeDefined();
    expect(start.resource.attributes).toMatchObject({ 'service.name': 'cosell', 'cosell.command': 'test' });
    const trace = start.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === trace);

    // StartWorkflow (client) → RunWorkflow → StartActivity:syncPage → RunActivity:syncPage → crm.*
    const [run] = byName(inTrace, 'RunWorkflow:linkSync');
    expect(parentOf(run)).toBe(start.spanContext().spanId);
    expect(run.attributes).toMatchObject({ workflowId: linkWorkflowId(linkId) });
    const scheduled = byName(inTrace, 'StartActivity:syncPage');
    expect(scheduled.length).toBeGreaterThan(0);
    for (const s of scheduled) expect(parentOf(s)).toBe(run.spanContext().spanId);
    const pages = byName(inTrace, 'RunActivity:syncPage');
    expect(pages.length).toBe(scheduled.length);
    const scheduledIds = new Set(scheduled.map((s) => s.spanContext().spanId));
    for (const p of pages) expect(scheduledIds.has(parentOf(p)!)).toBe(true);

    // The activity spans say which link, partner and orgs, and what the page did.
    for (const p of pages) {
      expect(p.attributes).toMatchObject({ 'cosell.link': linkId, 'cosell.partner': 'acme', 'cosell.from.org': 'acme', 'cosell.from.object': 'deals', 'cosell.to.org': 'vendor', 'cosell.to.object': 'Opportunity', temporalWorkflowId: linkWorkflowId(linkId) });
    }
    const sum = (k: string) => pages.reduce((n, p) => n + Number(p.attributes[k] ?? 0), 0);
    expect(sum('cosell.page.created')).toBe(30);
    expect(pages.some((p) => p.attributes['cosell.result.caughtUp'] === true)).toBe(true);

    // Each page's CRM calls are its children: the HubSpot change feed read, the Salesforce writes.
    const pageIds = new Set(pages.map((p) => p.spanContext().spanId));
    const crm = inTrace.filter((s) => s.name.startsWith('crm.') && pageIds.has(parentOf(s)!));
    const reads = crm.filter((s) => s.name === 'crm.changes');
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) expect(r.attributes).toMatchObject({ 'cosell.org': 'acme', 'cosell.crm': 'hubspot', 'cosell.object': 'deals' });
    expect(reads.reduce((n, r) => n + Number(r.attributes['cosell.crm.results'] ?? 0), 0)).toBeGreaterThanOrEqual(30);
    const writes = crm.filter((s) => s.name === 'crm.upsert' && s.attributes['cosell.org'] === 'vendor');
    expect(writes.reduce((n, w) => n + Number(w.attributes['cosell.crm.items'] ?? 0), 0)).toBe(30);
    for (const w of writes) expect(w.attributes).toMatchObject({ 'cosell.crm': 'salesforce', 'cosell.object': 'Opportunity', 'cosell.crm.failed': 0 });
    // Not a single span of the link's run escaped the trace the client started (the test's own status
    // queries and the cancel are client calls, each a trace of its own).
    const clientCall = /^(QueryWorkflow|CancelWorkflow):?/;
    const linkSpans = spans.filter((s) => !clientCall.test(s.name) && (s.attributes['cosell.link'] === linkId || s.attributes.workflowId === linkWorkflowId(linkId) || s.attributes.temporalWorkflowId === linkWorkflowId(linkId)));
    expect(linkSpans.length).toBeGreaterThan(pages.length * 2);
    expect(linkSpans.filter((s) => s.spanContext().traceId !== trace).map((s) => s.name)).toEqual([]);
  }, 120_000);

  it('a signal from a client joins the signalling trace', async () => {
    // The link's workflow was cancelled above; a new run, and a syncNow from a span of our own.
    exporter.reset();
    await startLinks(client, h.network, { taskQueue });
    await waitForLink(client, linkId, (s) => s.state === 'idle', { timeoutMs: 60_000 });
    const { syncNowSignal } = await import('../workflows/index.js');
    const traceId = await tracing.tracer.startActiveSpan('operator', async (span) => {
      await client.workflow.getHandle(linkWorkflowId(linkId)).signal(syncNowSignal);
      span.end();
      return span.spanContext().traceId;
    });
    const spans = await eventually('the signal handled in the workflow', async () => {
      await tracing.flush();
      const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      return all.some((s) => s.name === 'HandleSignal:syncNow') ? all : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const [operator] = byName(spans, 'operator');
    const [sent] = byName(spans, 'SignalWorkflow:syncNow');
    const [handled] = byName(spans, 'HandleSignal:syncNow');
    expect(parentOf(sent)).toBe(operator.spanContext().spanId);
    expect(parentOf(handled)).toBe(sent.spanContext().spanId);
    await client.workflow.getHandle(linkWorkflowId(linkId)).terminate('test over');
  }, 120_000);
});
