import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../lib/client.js';
import { startTracing } from '../../lib/tracing.js';
import { temporalAddress, uniqueQueue } from '../helpers/temporal.js';
import { eventually } from '../helpers/wait.js';

/**
 * `cosell worker --traces` as a user runs it, exporting OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT — here
 * a tiny receiver of the test's own, no collector needed. The test process starts a workflow through a
 * traced client; the worker's spans reach the receiver in the same trace, the RunWorkflow span a child
 * of the test's StartWorkflow span. The batch delay is set to a minute, so the spans can only arrive
 * through the flush on SIGTERM (runWorkerUntilSignal shuts the tracer provider down).
 */
interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }> }
interface OtlpRequest { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> }

const received: Array<{ path: string; contentType?: string; body: OtlpRequest }> = [];
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;

describe('cosell worker --traces', () => {
  it('exports the worker\'s spans over OTLP/HTTP, in the trace of the client that started the workflow, flushed on SIGTERM', async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const local = new InMemorySpanExporter();
    const tracing = await startTracing({ exporter: 'otlp' }, { exporter: local });
    const client = await connectClient(temporalAddress());
    const taskQueue = uniqueQueue('traces-cli');
    const env: Record<string, string | undefined> = { ...process.env, COSELL_LOG_FORMAT: 'json', TEMPORAL_ADDRESS: temporalAddress(), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'cosell-worker-test', OTEL_BSP_SCHEDULE_DELAY: '60000' };
    delete env.COSELL_CONFIG;
    delete env.COSELL_METRICS_PORT;
    const child = spawn('node', [bin, 'worker', '--traces', '--task-queue', taskQueue], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await eventually('the worker to start', async () => (out.includes('"msg":"worker started"') ? true : child.exitCode !== null ? Promise.reject(new Error(out)) : undefined), { timeoutMs: 150_000, intervalMs: 200 });
      expect(out).toContain(`"endpoint":"${endpoint}/v1/traces"`);
      const workflowId = `hello-traced-${taskQueue}`;
      const result = await client.workflow.execute('helloCosell', { taskQueue, workflowId, args: ['traces'] });
      expect(result).toMatch(/^Hello traces, from a cosell worker on /);
      expect(received).toEqual([]); // a minute's batch delay: nothing sent yet
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 30 s after SIGTERM'), 30_000))]);
      expect(code, out.slice(-2000)).toBe(0);

      await tracing.flush();
      const [start] = local.getFinishedSpans().filter((s) => s.name === 'StartWorkflow:helloCosell');
      expect(start).toBeDefined();
      expect(received.length).toBeGreaterThan(0);
      for (const r of received) {
        expect(r.path).toBe('/v1/traces');
        expect(r.contentType).toMatch(/^application\/json/);
      }
      const resources = received.flatMap((r) => r.body.resourceSpans);
      const attr = (attrs: Array<{ key: string; value: { stringValue?: string } }>, key: string) => attrs.find((a) => a.key === key)?.value.stringValue;
      for (const rs of resources) {
        expect(attr(rs.resource.attributes, 'service.name')).toBe('cosell-worker-test');
        expect(attr(rs.resource.attributes, 'cosell.command')).toBe('worker');
      }
      const spans = resources.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans));
      const one = (name: string) => {
        const found = spans.filter((s) => s.name === name);
        expect(found, `${name} among ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
        return found[0];
      };
      const run = one('RunWorkflow:helloCosell');
      const schedule = one('StartActivity:describeWorker');
      const activity = one('RunActivity:describeWorker');
      for (const s of [run, schedule, activity]) expect(s.traceId).toBe(start.spanContext().traceId);
      expect(run.parentSpanId).toBe(start.spanContext().spanId);
      expect(schedule.parentSpanId).toBe(run.spanId);
      expect(activity.parentSpanId).toBe(schedule.spanId);
      expect(activity.attributes?.find((a) => a.key === 'temporalWorkflowId')?.value.stringValue).toBe(workflowId);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await client.connection.close();
      await tracing.shutdown();
    }
  }, 240_000);
});
