import type { Command } from 'commander';
import { createActivities } from '../activities/index.js';
import { cdcNotifier, cdcOrgIds, startChangeCapture } from '../app/cdc.js';
import { connectClient } from '../lib/client.js';
import { CosellError } from '../lib/errors.js';
import { pushEndpoints } from '../lib/config.js';
import { assertConfig } from '../lib/configCheck.js';
import { openEngine } from '../app/engine.js';
import { log } from '../lib/logger.js';
import { activeTracing, startTracing, tracingSettings } from '../lib/tracing.js';
import { runWorkerUntilSignal } from '../app/worker.js';
import { defaultNotifier } from '../push/notifiers.js';
import { startPushReceivers } from '../push/start.js';
import { formatProblem } from '../mappings/index.js';

/** A TCP port (0: any free one), else a usage error naming the flag. */
function metricsPort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65_535) throw new CosellError('COSELL_INPUT_INVALID', `--metrics-port (or $COSELL_METRICS_PORT) must be a port number 0-65535, not '${value}'`, { hint: 'e.g. --metrics-port 9464, or 0 for any free port' });
  return n;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a cosell worker against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY (and TLS) until SIGINT/SIGTERM')
    .option('--task-queue <name>', 'task queue to poll', process.env.COSELL_TASK_QUEUE ?? 'cosell')
    .option('--max-activities-per-second <n>', 'cap for the whole task queue across all workers (server-enforced): keeps a shared CRM budget when you scale out', Number)
    .option('-c, --config <file>', 'network file: run its links (sync engine + ledger) in this worker (default $COSELL_CONFIG)', process.env.COSELL_CONFIG)
    .option('--metrics-port <port>', 'serve Prometheus /metrics (cosell\'s and the Temporal runtime\'s), /healthz and /readyz on this port (0: any free one; default $COSELL_METRICS_PORT, else none)', process.env.COSELL_METRICS_PORT || undefined)
    .option('--metrics-host <host>', 'interface for the metrics port (0.0.0.0 for a scraper on another host)', process.env.COSELL_METRICS_HOST ?? '127.0.0.1')
    .option('--traces', 'export OpenTelemetry traces of workflows, activities and CRM calls (OTLP/HTTP to $OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318; OTEL_TRACES_EXPORTER=console prints them); the OTEL_* variables alone turn it on too')
    .action(async (opts: { taskQueue: string; config?: string; maxActivitiesPerSecond?: number; metricsPort?: string; metricsHost: string; traces?: boolean }) => {
      const port = opts.metricsPort === undefined ? undefined : metricsPort(opts.metricsPort);
      // Usually started by cli/main.ts from OTEL_*; --traces alone starts it here (a flag that contradicts
      // OTEL_TRACES_EXPORTER=none is a usage error).
      const tracing = activeTracing() ?? (opts.traces ? await startTracing(tracingSettings(process.env, { flag: true })!, { command: 'worker' }) : undefined);
      // The whole configuration is checked offline first (network, mappings against their snapshots,
      // rules policy, credentials): any problem exits 2 with every file:line:col before anything connects.
      const checked = opts.config ? assertConfig(opts.config) : undefined;
      for (const w of checked?.warnings ?? []) log.warn(formatProblem(w));
      // Without a network file the worker runs the activities that need none (e.g. hello/overlaps).
      const engine = checked ? await openEngine(checked.loaded) : undefined;
      // Push sources (the network's push: sections): webhook endpoints served by this process, their
      // events stored in the ledger before they are acknowledged and handed to the streams / links.
      const cdcOrgs = checked ? cdcOrgIds(checked.loaded) : [];
      const client = checked && (pushEndpoints(checked.loaded.network).length > 0 || cdcOrgs.length > 0) ? await connectClient() : undefined;
      const push = engine && client ? await startPushReceivers({ network: checked!.loaded, ledger: engine.ledger, notifier: defaultNotifier(client, checked!.loaded) }) : undefined;
      for (const e of push?.endpoints ?? []) log.info({ org: e.org, url: e.url }, 'receiving HubSpot webhooks');
      // Salesforce Change Data Capture (connection.pubsub): a long-lived subscriber per org in this
      // process, its replay ids in the ledger (app/cdc.ts).
      const cdc = engine && client && cdcOrgs.length ? await startChangeCapture(checked!.loaded, { ledger: engine.ledger, notifier: cdcNotifier(client, checked!.loaded) }) : undefined;
      try {
        await runWorkerUntilSignal({
          taskQueue: opts.taskQueue,
          maxTaskQueueActivitiesPerSecond: opts.maxActivitiesPerSecond,
          ...(engine ? { activities: createActivities({ engine }), ledger: engine.ledger } : {}),
          ...(port !== undefined ? { metricsPort: port, metricsHost: opts.metricsHost } : {}),
          ...(tracing ? { tracing, network: checked?.loaded } : {}),
        });
      } finally {
        await cdc?.stop();
        await push?.stop();
        await client?.connection.close();
        await engine?.close();
        await tracing?.shutdown();
      }
    });
}
