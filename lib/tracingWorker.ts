import { trace } from '@opentelemetry/api';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { LoadedNetwork } from './config.js';
import { activityAttributesFor, resultAttributes } from './spanAttributes.js';
import type { Tracing } from './tracing.js';

/**
 * The worker's half of tracing, through the Temporal SDK's OpenTelemetry interceptors:
 * - workflow code: the interceptor module compiled into the bundle (TRACED_WORKFLOW_MODULES in
 *   lib/tracing.ts, see workflowBundleOptions in app/worker.ts) makes RunWorkflow / StartActivity / signal / update spans
 *   inside the sandbox, carried out through the `exporter` sink to the process's span processor;
 * - activities: a RunActivity span per attempt, child of the workflow's StartActivity span (the
 *   context travels in the activity's headers), with cosell's attributes (lib/spanAttributes.ts);
 *   CRM calls made inside it are its children (connectors/traced.ts).
 */

export interface TracedWorkerParts {
  /** Outermost first: the span opens before cosell's interceptors run, so it records the classified failure. */
  activityInterceptors: ActivityInterceptorsFactory[];
  sinks: InjectedSinks<any>;
}

export function tracedWorkerParts(tracing: Tracing, network?: LoadedNetwork): TracedWorkerParts {
  const attributesOf = activityAttributesFor(network);
  const otelActivity: ActivityInterceptorsFactory = (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  });
  // Inside the RunActivity span: what the activity worked on before it runs (so a failure still says
  // which link), what it did once it returns.
  const cosellAttributes: ActivityInterceptorsFactory = () => ({
    inbound: {
      async execute(input, next) {
        const span = trace.getActiveSpan();
        span?.setAttributes(attributesOf(input.args));
        const result = await next(input);
        span?.setAttributes(resultAttributes(result));
        return result;
      },
    } satisfies ActivityInboundCallsInterceptor,
  });
  return {
    activityInterceptors: [otelActivity, cosellAttributes],
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
