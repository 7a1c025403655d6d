import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tracedConnector } from '../connectors/traced.js';
import type { Connector } from '../connectors/types.js';
import { parseNetwork } from '../lib/config.js';
import { isCosellError } from '../lib/errors.js';
import { activityAttributesFor, resultAttributes } from '../lib/spanAttributes.js';
import { tracingSettings } from '../lib/tracing.js';

/**
 * The pure parts of tracing: when the OTEL_* variables and --traces turn it on, what an activity span
 * says about cosell, and CRM-call spans from connectors/traced.ts (on a tracer provider of the test's
 * own, never the global one). test/tracing.e2e.test.ts runs the whole thing on the dev server.
 */

const network = parseNetwork(
  `
vendor:
  id: vendor
  name: Contoso
  kind: salesforce
  connection: { instanceUrl: https://contoso.my.salesforce.com, auth: { clientId: env:SF_ID, clientSecret: env:SF_SECRET } }
partners:
  - { id: acme, name: Acme, kind: hubspot, tier: gold, connection: { auth: { accessToken: env:ACME_TOKEN } } }
  - { id: globex, name: Globex, kind: hubspot, tier: gold, connection: { auth: { accessToken: env:GLOBEX_TOKEN } } }
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: m.yaml }
  - { id: vendor-opps-to-globex, from: vendor.Opportunity, to: globex.deals, mapping: m.yaml }
streams: { enabled: true }
`,
  'cosell.yaml',
).loaded!;

describe('tracingSettings', () => {
  it('is off with nothing set, on with an OTLP endpoint, --traces or an exporter name', () => {
    expect(tracingSettings({})).toBeUndefined();
    expect(tracingSettings({}, { flag: true })).toEqual({ exporter: 'otlp' });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({ exporter: 'otlp', endpoint: 'http://collector:4318/v1/traces' });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base/' })).toEqual({ exporter: 'otlp', endpoint: 'http://collector:4318/base/v1/traces' });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/traces', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://other:4318' })).toEqual({ exporter: 'otlp', endpoint: 'https://tempo.example/otlp/traces' });
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'console' })).toEqual({ exporter: 'console' });
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'OTLP' })).toEqual({ exporter: 'otlp' });
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBeUndefined();
    expect(tracingSettings({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined();
  });

  it('refuses what it cannot do, naming the variable and the fix', () => {
    const refusal = (env: NodeJS.ProcessEnv, flag?: boolean) => {
      try {
        tracingSettings(env, { flag });
      } catch (e) {
        if (isCosellError(e)) return `${e.code}: ${e.message} (${e.hint})`;
        throw e;
      }
      throw new Error('accepted');
    };
    expect(refusal({ OTEL_TRACES_EXPORTER: 'zipkin' })).toMatch(/^COSELL_CONFIG_INVALID: OTEL_TRACES_EXPORTER='zipkin'.*otlp.*console.*none/);
    expect(refusal({ OTEL_TRACES_EXPORTER: 'otlp,console' })).toMatch(/one exporter/);
    expect(refusal({ OTEL_TRACES_EXPORTER: 'none' }, true)).toMatch(/--traces .*OTEL_TRACES_EXPORTER=none.*unset OTEL_TRACES_EXPORTER/);
    expect(refusal({ OTEL_SDK_DISABLED: 'TRUE' }, true)).toMatch(/OTEL_SDK_DISABLED=true/);
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT='collector:4318' is not an http\(s\) URL/);
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost 4318' })).toMatch(/is not a URL/);
    expect(refusal({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://x:4317' })).toMatch(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=.*gRPC/);
  });

  it('never puts the credentials of an endpoint URL in what it reports (property)', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9]{4,12}$/);
    fc.assert(
      fc.property(word, word, fc.constantFrom('OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), fc.constantFrom('http', 'https', 'ftp'), (user, password, variable, scheme) => {
        const env = { [variable]: `${scheme}://${user}:${password}@collector.internal:4318/p` };
        let text: string;
        try {
          text = JSON.stringify(tracingSettings(env));
        } catch (e) {
          text = `${(e as Error).message} ${(e as { hint?: string }).hint ?? ''}`;
        }
        expect(text).not.toContain(password);
        expect(text).not.toContain(`${user}:`);
      }),
      { numRuns: 200 },
    );
  });
});

describe('activity span attributes', () => {
  const attributesOf = activityAttributesFor(network);

  it('name the link, its partner and orgs for a link activity, in either direction', () => {
    expect(attributesOf(['acme-deals'])).toEqual({ 'cosell.link': 'acme-deals', 'cosell.partner': 'acme', 'cosell.from.org': 'acme', 'cosell.from.object': 'deals', 'cosell.to.org': 'vendor', 'cosell.to.object': 'Opportunity' });
    expect(attributesOf(['vendor-opps-to-globex', [1, 2, 3]])).toMatchObject({ 'cosell.link': 'vendor-opps-to-globex', 'cosell.partner': 'globex', 'cosell.from.org': 'vendor', 'cosell.ids': 3 });
  });

  it('name the stream, the partner, the source record and registration of the other activities', () => {
    expect(attributesOf(['vendor:Opportunity', ['a', 'b']])).toEqual({ 'cosell.stream': 'vendor:Opportunity', 'cosell.org': 'vendor', 'cosell.object': 'Opportunity', 'cosell.ids': 2 });
    expect(attributesOf(['acme'])).toEqual({ 'cosell.partner': 'acme' });
    expect(attributesOf([{ linkId: 'acme-deals', sourceId: '0061', state: { id: 'acme:0061', partnerId: 'acme' }, effects: [] }])).toMatchObject({ 'cosell.link': 'acme-deals', 'cosell.partner': 'acme', 'cosell.source_id': '0061' });
    expect(attributesOf([{ dispute: { registrationId: 'acme:0061', partnerId: 'acme', reason: 'we were first' }, resolution: {} }])).toEqual({ 'cosell.registration': 'acme:0061', 'cosell.partner': 'acme' });
    expect(attributesOf(['no-such-thing'])).toEqual({});
    expect(attributesOf([])).toEqual({});
  });

  it('carry a report\'s counts and numbers, never its strings', () => {
    expect(resultAttributes({ counts: { read: 30, created: 28, failed: 2 }, caughtUp: true, lagMs: 1200, cursor: { modifiedAt: '2026-01-01T00:00:00.000Z', id: 'x' } })).toEqual({
      'cosell.page.read': 30,
      'cosell.page.created': 28,
      'cosell.page.failed': 2,
      'cosell.result.caughtUp': true,
      'cosell.result.lagMs': 1200,
    });
    expect(resultAttributes('Hello')).toEqual({});
    expect(resultAttributes(undefined)).toEqual({});
  });

  it('never carry a value from a request or a result other than ids, counts and flags (property)', () => {
    // Whatever a request holds besides its ids (a partner's reason, names, amounts as text), no attribute
    // repeats it: a trace backend is not a place partner data may leak to.
    const secret = fc.stringMatching(/^[a-z]{3,8} [a-z]{3,8}$/); // has a space: no id in the network does
    const request = fc.record({ linkId: fc.constantFrom('acme-deals', 'vendor-opps-to-globex', 'unknown-link'), sourceId: fc.stringMatching(/^[0-9A-Za-z]{1,18}$/), reason: secret, name: secret, state: fc.record({ partnerId: fc.constantFrom('acme', 'globex'), reason: secret, customer: secret }) }, { requiredKeys: ['reason'] });
    const result = fc.record({ counts: fc.dictionary(fc.constantFrom('read', 'created', 'failed'), fc.nat()), message: secret, caughtUp: fc.boolean(), detail: fc.record({ text: secret }) }, { requiredKeys: ['message'] });
    fc.assert(
      fc.property(request, result, (req, res) => {
        const attrs = { ...attributesOf([req]), ...resultAttributes(res) };
        const secrets = [req.reason, req.name, req.state?.reason, req.state?.customer, res.message, res.detail?.text].filter((s): s is string => s !== undefined);
        for (const v of Object.values(attrs)) expect(secrets).not.toContain(v);
        for (const v of Object.values(attrs)) expect(typeof v === 'number' || typeof v === 'boolean' || /^[\w:.-]+$/.test(String(v))).toBe(true);
        if (req.sourceId !== undefined) expect(attrs['cosell.source_id']).toBe(req.sourceId);
      }),
      { numRuns: 300 },
    );
  });
});

describe('tracedConnector', () => {
  const setup = () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const calls: string[] = [];
    const fake = {
      kind: 'hubspot',
      orgId: 'acme',
      batchSize: 100,
      async changes(object: string) {
        calls.push(`changes ${object}`);
        return { records: [{ id: '1' }, { id: '2' }], next: { modifiedAt: '', id: '' }, caughtUp: true };
      },
      async upsert(_object: string, _field: string, inputs: unknown[]) {
        calls.push('upsert');
        return inputs.map((_, i) => ({ status: i === 0 ? 'failed' : 'created' }));
      },
      async readByIds() {
        throw new Error('HTTP 401 token revoked');
      },
      rateState() {
        return { dailyUsed: 3 };
      },
    } as unknown as Connector;
    return { exporter, calls, c: tracedConnector(fake, provider.getTracer('test')) };
  };

  it('makes a span per CRM call with the org, object and record counts, and passes results through', async () => {
    const { exporter, calls, c } = setup();
    const page = await c.changes('deals', { modifiedAt: '', id: '' });
    expect(page.records).toHaveLength(2);
    const written = await c.upsert('deals', 'cosell_id', [{ key: 'a', fields: {} }, { key: 'b', fields: {} }, { key: 'c', fields: {} }]);
    expect(written.map((w) => w.status)).toEqual(['failed', 'created', 'created']);
    expect(c.rateState()).toEqual({ dailyUsed: 3 }); // local, not a span
    expect(c.orgId).toBe('acme');
    expect(calls).toEqual(['changes deals', 'upsert']);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['crm.changes', 'crm.upsert']);
    expect(spans[0].attributes).toEqual({ 'cosell.org': 'acme', 'cosell.crm': 'hubspot', 'cosell.object': 'deals', 'cosell.crm.results': 2, 'cosell.crm.caught_up': true });
    expect(spans[1].attributes).toEqual({ 'cosell.org': 'acme', 'cosell.crm': 'hubspot', 'cosell.object': 'deals', 'cosell.crm.items': 3, 'cosell.crm.field': 'cosell_id', 'cosell.crm.results': 3, 'cosell.crm.failed': 1 });
  });

  it('marks a failed call as an error and rethrows it unchanged', async () => {
    const { exporter, c } = setup();
    await expect(c.readByIds('deals', ['1'])).rejects.toThrow('HTTP 401 token revoked');
    const [span] = exporter.getFinishedSpans();
    expect(span.name).toBe('crm.readByIds');
    expect(span.status).toEqual({ code: 2, message: 'HTTP 401 token revoked' });
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
  });
});
