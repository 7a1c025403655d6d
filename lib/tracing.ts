import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Tracer } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CosellError } from './errors.js';
import { PACKAGE_ROOT } from './packagePaths.js';

/**
 * OpenTelemetry tracing for a cosell process, asked for the standard way (the OTEL_* variables every
 * OpenTelemetry SDK reads) or with `cosell worker --traces`. Nothing of OpenTelemetry loads with this
 * module (the API alone is ~60 ms of imports): the SDK and the exporters load when tracing starts, so a
 * CLI call without tracing pays nothing.
 * The worker side (interceptors, workflow span sink, traced bundle) is lib/tracingWorker.ts; CRM calls
 * get their spans in connectors/traced.ts.
 */

const require = createRequire(import.meta.url);

/** Workflow interceptor modules a traced workflow bundle is built with (app/worker.ts; an untraced bundle has none). */
export const TRACED_WORKFLOW_MODULES: readonly string[] = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

export type TracesExporter = 'otlp' | 'console';

export interface TracingSettings {
  exporter: TracesExporter;
  /** Where OTLP/HTTP spans go, for the log line (the exporter reads the OTEL_EXPORTER_OTLP_* variables itself). */
  endpoint?: string;
}

const EXPORTERS = ['otlp', 'console', 'none'] as const;

/**
 * Whether and how to trace, from the environment and the --traces flag:
 * - OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: off (with --traces: a usage error, they disagree);
 * - OTEL_TRACES_EXPORTER=otlp|console: on, with that exporter;
 * - otherwise an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or
 *   --traces turns it on with OTLP/HTTP (the SDK's default exporter, http://localhost:4318/v1/traces);
 * - nothing set: off (undefined).
 */
export function tracingSettings(env: NodeJS.ProcessEnv = process.env, opts: { flag?: boolean } = {}): TracingSettings | undefined {
  const raw = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  if (raw && raw.includes(',')) throw invalid(`OTEL_TRACES_EXPORTER='${env.OTEL_TRACES_EXPORTER}': cosell exports traces to one exporter`, 'set one of otlp, console or none');
  if (raw && !(EXPORTERS as readonly string[]).includes(raw)) throw invalid(`OTEL_TRACES_EXPORTER='${env.OTEL_TRACES_EXPORTER}' is not an exporter cosell has`, 'set otlp (OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT), console or none');
  if (disabled || raw === 'none') {
    if (opts.flag) throw invalid(`--traces asks for tracing but ${disabled ? 'OTEL_SDK_DISABLED=true' : 'OTEL_TRACES_EXPORTER=none'} turns it off`, `drop --traces, or unset ${disabled ? 'OTEL_SDK_DISABLED' : 'OTEL_TRACES_EXPORTER'}`);
    return undefined;
  }
  const endpointVar = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ? 'OTEL_EXPORTER_OTLP_ENDPOINT' : undefined;
  const exporter: TracesExporter | undefined = raw === 'otlp' || raw === 'console' ? raw : endpointVar || opts.flag ? 'otlp' : undefined;
  if (!exporter) return undefined;
  if (exporter === 'console' || !endpointVar) return { exporter };
  const value = env[endpointVar]!.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${endpointVar}='${redactUrl(value)}' is not a URL`, 'e.g. http://localhost:4318 (OTLP/HTTP; a collector, Jaeger or Tempo)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`${endpointVar}='${redactUrl(value)}' is not an http(s) URL: cosell exports OTLP over HTTP`, 'e.g. http://localhost:4318 (port 4318 is OTLP/HTTP; 4317 is gRPC, which cosell does not speak)');
  // The base endpoint gets the signal's path appended (the OTLP spec); the traces one is used as is.
  const endpoint = endpointVar === 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' ? url.href : new URL('v1/traces', url.href.endsWith('/') ? url.href : `${url.href}/`).href;
  return { exporter, endpoint: redactUrl(endpoint) };
}

function invalid(message: string, hint: string): CosellError {
  return new CosellError('COSELL_CONFIG_INVALID', message, { hint });
}

/** A URL for a log line: credentials in it (user:password@) never reach the logs. */
function redactUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.href;
  } catch {
    return value.replace(/\/\/[^/@]*@/, '//***@');
  }
}

/** A running tracer provider: what the worker's interceptors and the workflow span sink need. */
export interface Tracing {
  readonly settings: TracingSettings;
  readonly resource: Resource;
  /** Where every finished span goes, the workflow spans the worker receives from its sandbox included. */
  readonly spanProcessor: SpanProcessor;
  readonly tracer: Tracer;
  /** Export what is buffered now. */
  flush(): Promise<void>;
  /** Flush and stop; the global OpenTelemetry API goes back to no-ops (idempotent). */
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** The tracing this process started, if any: clients made now get the client interceptor, connectors their spans. */
export function activeTracing(): Tracing | undefined {
  return active;
}

export interface StartTracingOptions {
  /** service.name when OTEL_SERVICE_NAME does not set one (default cosell). */
  serviceName?: string;
  /** The cosell command this process runs (worker, sync, up…): resource attribute cosell.command. */
  command?: string;
  /** Instead of the one the settings name (tests: an in-memory exporter). */
  exporter?: SpanExporter;
}

/**
 * Start the process's tracer provider (one per process: the OpenTelemetry API is global) and register
 * it with the AsyncLocalStorage context manager and the W3C trace-context propagator the Temporal
 * interceptors carry spans across processes with. Resource: service.name (OTEL_SERVICE_NAME, else the
 * given name), service.version, plus OTEL_RESOURCE_ATTRIBUTES; sampling follows OTEL_TRACES_SAMPLER.
 */
export async function startTracing(settings: TracingSettings, opts: StartTracingOptions = {}): Promise<Tracing> {
  if (active) throw new CosellError('COSELL_INPUT_INVALID', 'tracing is already started in this process', { hint: 'use activeTracing()' });
  const [{ context, propagation, trace }, { Resource: ResourceClass, envDetectorSync }, base, { NodeTracerProvider }] = await Promise.all([import('@opentelemetry/api'), import('@opentelemetry/resources'), import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/sdk-trace-node')]);
  const exporter = opts.exporter ?? (settings.exporter === 'console' ? new base.ConsoleSpanExporter() : new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter());
  const resource = ResourceClass.default()
    .merge(new ResourceClass({ 'service.name': opts.serviceName ?? 'cosell', 'service.version': cosellVersion(), ...(opts.command ? { 'cosell.command': opts.command } : {}) }))
    .merge(envDetectorSync.detect());
  // Batched: a page's spans leave in one request, off the activity's path (OTEL_BSP_* tune it).
  const spanProcessor = new base.BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor], mergeResourceWithDefaults: false });
  provider.register();
  let stopped: Promise<void> | undefined;
  const tracing: Tracing = {
    settings,
    resource,
    spanProcessor,
    tracer: provider.getTracer('cosell'),
    flush: () => provider.forceFlush(),
    shutdown: () =>
      (stopped ??= (async () => {
        try {
          await provider.shutdown();
        } catch (e) {
          // A collector that is gone must not turn a clean stop into a failure: the spans are lost, said once.
          (await import('./logger.js')).log.warn({ err: String((e as Error)?.message ?? e) }, 'tracing: the last spans could not be exported');
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
          if (active === tracing) active = undefined;
        }
      })()),
  };
  active = tracing;
  (await import('./logger.js')).log.info({ exporter: opts.exporter ? opts.exporter.constructor.name : settings.exporter, ...(settings.exporter === 'otlp' && !opts.exporter ? { endpoint: settings.endpoint ?? 'http://localhost:4318/v1/traces' } : {}), service: resource.attributes['service.name'] }, 'tracing on');
  return tracing;
}

function cosellVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
