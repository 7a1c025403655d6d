import type { Command } from 'commander';
import path from 'node:path';
import { DEMO_ENV_FILE, startDemo } from '../app/demo.js';
import { DEMO_CONSOLE_USERS, startDemoConsole } from '../app/demoConsole.js';
import { helloCosell } from '../workflows/index.js';
import { TASK_QUEUE } from '../lib/client.js';
import { linksReading } from '../app/cdc.js';
import { streamSpec, streamsEnabled } from '../sync/streamPlan.js';
import { shareDemoOpportunities } from '../app/demoAws.js';
import { seedParityDemo } from '../app/demoParity.js';
import { activeTracing } from '../lib/tracing.js';
import { overlapWorkflowId, streamWorkflowId } from '../lib/workflowClient.js';
import { streamIdOf } from '../ledger/streams.js';

/**
 * `cosell up` (npm start): the whole product on embedded defaults, in one process tree. Everything it
 * starts is stopped on Ctrl-C / SIGTERM; the dev server runs in its own process group so nothing is
 * left behind.
 */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start the demo: a local Temporal dev server with its Web UI, sandbox CRMs, the ledger, a worker, and every link syncing')
    .option('--ui-port <port>', 'preferred Temporal Web UI port', '8233')
    .option('--console-port <port>', 'port of the channel console (default: any free one)', '0')
    .option('--metrics-port <port>', "port of the worker's /metrics, /healthz and /readyz (default: any free one)", '0')
    .option('--persist <file>', 'keep the sandbox CRMs\' data in this file across restarts')
    .option('--exit-after-start', 'stop everything once the demo is up (for smoke tests)')
    .action(async (opts: { uiPort: string; consolePort: string; metricsPort: string; persist?: string; exitAfterStart?: boolean }) => {
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      let printEvents = false;
      const demo = await startDemo({
        uiPort: Number(opts.uiPort),
        metricsPort: Number(opts.metricsPort),
        persistFile: opts.persist,
        // Each change event the vendor org pushes, once the banner is out.
        onCdcEvent: (e) => {
          if (!printEvents) return;
          const lag = e.commitTimestamp ? ` ${e.at - e.commitTimestamp} ms after commit` : '';
          const woke = streamsEnabled(demo.network) ? streamWorkflowId(streamIdOf(e.org, e.object)) : linksReading(demo.network, e.org, e.object).join(', ') || 'no link';
          const what = e.action === 'echo' ? "cosell's own write, not re-read" : e.action === 'notified' ? `woke ${woke}` : e.action;
          process.stdout.write(`  push ${e.org}.${e.object} ${e.changeType} ${e.recordIds.join(',')} (replay ${e.replayId}, ${what}${lag})\n`);
        },
      });
      let consoleApp: Awaited<ReturnType<typeof startDemoConsole>> | undefined;
      try {
        consoleApp = await startDemoConsole(demo, { port: Number(opts.consolePort) });
        const hello = await demo.client.workflow.execute(helloCosell, { taskQueue: TASK_QUEUE, workflowId: 'hello-cosell', args: ['ops'], workflowIdConflictPolicy: 'TERMINATE_EXISTING' });
        const ui = `${demo.server.uiUrl}/namespaces/${demo.server.namespace}/workflows`;
        const orgName = (id: string) => (id === demo.network.network.vendor.id ? demo.network.network.vendor.name : demo.network.partner(id)?.name ?? id);
        const lines = [
          '',
          'cosell is up.',
          '',
          `  Channel console    ${consoleApp.url}   (review queue, registrations, link health, mappings, overlaps)`,
          ...demo.network.network.links.filter((l) => l.registration).slice(0, 1).map((l) => `    mapping preview  ${consoleApp!.url}/mappings/${l.id}   (live deals as a diff, each as the RoE gate would decide it: create / held / rejected)`),
          `    sign in as       ${consoleApp.logins.map((l) => `${l.name} / ${l.password} (${l.role})`).join(', ')}`,
          `                     (passwords new at each start; users file ${path.relative(process.cwd(), DEMO_CONSOLE_USERS) || DEMO_CONSOLE_USERS})`,
          '',
          `  Temporal Web UI    ${ui}`,
          `    links            ${ui}?query=${encodeURIComponent("CosellKind='link'")}`,
          ...(demo.streams.length ? [`    change streams   ${ui}?query=${encodeURIComponent("CosellKind='stream'")}`] : []),
          `  Temporal gRPC      ${demo.server.address}   (export TEMPORAL_ADDRESS=${demo.server.address} to use the CLI)`,
          `  first workflow     hello-cosell → ${hello}`,
          '',
          '  Sandbox CRMs (read-only pages, like a CRM list view):',
          ...Object.entries(demo.sandbox.pages).map(([id, url]) => `    ${id.padEnd(9)} ${orgName(id).padEnd(24)} ${url}`),
          `  Notifications      ${demo.inbox.url}   (Slack / Teams incoming-webhook sandbox: review requests, decisions, escalations)`,
          '',
          `  Links syncing      ${demo.links.join(', ')}`,
          ...(demo.streams.length
            ? [
                `  Change streams     ${demo.streams.map((s) => { const push = streamSpec(demo.network, s)?.push; return `${streamWorkflowId(s)} (${push ? `mode push: ${push}` : 'mode poll'})`; }).join(', ')}`,
                `                     (one read per org object for every link, the rules index and the overlap passes; with push, polling is the reconciler every ${demo.network.network.streams?.reconcile ?? '15m'}; \`cosell status\`)`,
              ]
            : []),
          ...(demo.push
            ? [
                `  Push (webhooks)    ${demo.push.endpoints.map((e) => `${e.org} → ${e.url}`).join(', ')}`,
                `                     (the HubSpot portals deliver signed webhooks; each event is stored in the ledger, then ${demo.streams.length ? 'told to its change stream' : 'wakes the links'}; polling reconciles)`,
              ]
            : []),
          ...[...demo.cdc.subscribers.entries()].map(([org, sub]) => `  Push (CDC)         ${org}: ${sub.status().map((t) => t.topic).join(', ')} over the Pub/Sub API → ${streamsEnabled(demo.network) ? 'their change streams' : 'syncNow on the links reading them'}; change events print below (CDC lease holder ${demo.cdc.holder}: more workers on the ledger stand by)`),
          `  Account mapping    ${demo.overlaps.map(overlapWorkflowId).join(', ')}  (Partner_Overlaps__c on vendor accounts; try \`cosell overlaps acme\`)`,
          ...(demo.scorecard
            ? [`  Analytics          ${demo.scorecard}: fact store from the vendor's Opportunities (eight quarters of seeded history), partner scorecards on the vendor's partner Accounts (Partner_*__c)`]
            : []),
          `  Ledger             ${demo.engine.ledger.location}`,
          `  History            encrypted (AES-256-GCM; key from ${process.env.COSELL_PAYLOAD_KEY_FILE ? path.relative(process.cwd(), process.env.COSELL_PAYLOAD_KEY_FILE) || process.env.COSELL_PAYLOAD_KEY_FILE : 'COSELL_PAYLOAD_KEY(S)'})`,
          `  Codec server       ${demo.codec.url}   (the Web UI decodes history through it; \`cosell codec-server\` runs one on its own)`,
          `  Metrics            ${demo.ops.url}/metrics   (Prometheus: records per link, lag, dead letters, quota, registrations, temporal_*; ${demo.ops.url}/readyz, /healthz)`,
          tracingLine(),
          '',
          '  Use the CLI from another terminal:',
          `    source ${path.relative(process.cwd(), DEMO_ENV_FILE) || DEMO_ENV_FILE}`,
          '    npx cosell status                                   # every link and change stream: state, lag, counts',
          '    npx cosell registrations list --status pending-review  # then: npx cosell registrations approve ID --by you',
          '    npx cosell overlaps acme                            # account mapping with a partner',
          '    npx cosell report --by partners-on-deal             # joint-selling KPIs: sourced/influenced, win rate and cycle days joint vs direct, ROPI, tiers',
          '    npx cosell report --html report.html                # the same as a self-contained page with charts: open report.html in a browser',
          '',
          'Press Ctrl-C to stop everything.',
          '',
        ];
        process.stdout.write(lines.join('\n'));
        printEvents = true;
        // The two demo seeds below wait for the first sync; Ctrl-C ends their waits (or they keep the process alive).
        const seeding = new AbortController();
        void stopped.then(() => seeding.abort());
        const signal = seeding.signal;
        // Registration parity (multi-level approval, Action Required) on two fresh demo deals, once decided.
        const seeded = opts.exitAfterStart
          ? Promise.resolve()
          : seedParityDemo({ sandbox: demo.sandbox, client: demo.client, signal }).then(
              (out) => void process.stdout.write(['', '  Registration parity (the same workflow updates the CLI and console use):', ...out, ''].join('\n') + '\n'),
              (e: unknown) => void (signal.aborted || process.stdout.write(`  (registration parity demo not seeded: ${e instanceof Error ? e.message : String(e)})\n`)),
            );
        // Co-selling with AWS: a seller shares a few vendor opportunities with AWS Partner Central.
        const sharedWithAws = opts.exitAfterStart || !demo.sandbox.orgs.aws
          ? Promise.resolve()
          : shareDemoOpportunities({ sandbox: demo.sandbox, signal }).then(
              (out) => void process.stdout.write(['', '  AWS co-sell (AWS Partner Central, Sandbox catalog):', ...out, ''].join('\n') + '\n'),
              (e: unknown) => void (signal.aborted || process.stdout.write(`  (AWS co-sell demo not seeded: ${e instanceof Error ? e.message : String(e)})\n`)),
            );
        if (!opts.exitAfterStart) await stopped;
        await Promise.race([Promise.all([seeded, sharedWithAws]), new Promise((r) => setTimeout(r, 2000))]);
      } finally {
        await consoleApp?.stop();
        await demo.stop();
      }
    });
}

/** Tracing on (where spans go) or off (how to turn it on). */
function tracingLine(): string {
  const t = activeTracing();
  if (!t) return '  Tracing            off   (OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npm start exports OpenTelemetry spans of workflows, activities and CRM calls; OTEL_TRACES_EXPORTER=console prints them)';
  return `  Tracing            ${t.settings.exporter === 'console' ? 'to the console' : `OTLP/HTTP → ${t.settings.endpoint ?? 'http://localhost:4318/v1/traces'}`}   (service ${String(t.resource.attributes['service.name'])}: workflow, activity and CRM-call spans)`;
}
