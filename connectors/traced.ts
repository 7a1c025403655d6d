import { SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import type { Connector } from './types.js';

/**
 * CRM calls as OpenTelemetry spans (`crm.<method>`, client kind), children of whatever span is active
 * — under a worker, the activity's RunActivity span — so a trace shows which CRM calls a page made and
 * how long each took, retries and rate-budget waits inside the connector included. Attributes are the
 * org, its CRM, the object and how many records went in and came out; never field values.
 * connectors/index.ts wraps every connector in this while tracing is on (lib/tracing.ts).
 */

/** The calls that reach the CRM (rateState is local; close is not a call worth a span). */
const TRACED: ReadonlySet<string> = new Set<keyof Connector>(['listObjects', 'describe', 'changes', 'deletions', 'readByIds', 'associationsOf', 'readByField', 'upsert', 'update', 'remove', 'associate', 'ensureFields']);

export function tracedConnector<C extends Connector>(connector: C, tracer: Tracer = trace.getTracer('cosell')): C {
  return new Proxy(connector, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof value !== 'function' || !TRACED.has(prop)) return value;
      return (...args: unknown[]) =>
        tracer.startActiveSpan(`crm.${prop}`, { kind: SpanKind.CLIENT, attributes: callAttributes(target, prop, args) }, async (span) => {
          try {
            const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            span.setAttributes(resultSize(result));
            return result;
          } catch (e) {
            span.recordException(e as Error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: String((e as Error)?.message ?? e).slice(0, 200) });
            throw e;
          } finally {
            span.end();
          }
        });
    },
  });
}

function callAttributes(c: Connector, method: string, args: unknown[]): Attributes {
  const out: Attributes = { 'cosell.org': c.orgId, 'cosell.crm': c.kind };
  // associate(associations) takes no object; every other call names it first.
  if (method !== 'associate' && typeof args[0] === 'string') out['cosell.object'] = args[0];
  const items = args.find(Array.isArray);
  if (items) out['cosell.crm.items'] = items.length;
  if (method === 'readByField' || method === 'upsert') out['cosell.crm.field'] = String(args[1]);
  return out;
}

function resultSize(result: unknown): Attributes {
  if (Array.isArray(result)) return { 'cosell.crm.results': result.length, ...failed(result) };
  if (result instanceof Map) return { 'cosell.crm.results': result.size };
  if (typeof result === 'object' && result !== null && Array.isArray((result as { records?: unknown }).records)) {
    const page = result as { records: unknown[]; caughtUp?: unknown };
    return { 'cosell.crm.results': page.records.length, ...(typeof page.caughtUp === 'boolean' ? { 'cosell.crm.caught_up': page.caughtUp } : {}) };
  }
  return {};
}

/** Writes answer per record: how many the CRM refused. */
function failed(results: unknown[]): Attributes {
  const n = results.filter((r) => typeof r === 'object' && r !== null && (r as { status?: unknown }).status === 'failed').length;
  return results.some((r) => typeof r === 'object' && r !== null && 'status' in r) ? { 'cosell.crm.failed': n } : {};
}
