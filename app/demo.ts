import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { startOverlapWorkflows } from '../overlaps/start.js';
import { startScorecard } from '../analytics/start.js';
import { startSandbox, type Sandbox } from '@cosell/sandbox';
import { startInbox, type Inbox } from '@cosell/sandbox/inbox';
import { startRulesIndex } from '../registrations/start.js';
import type { Engine } from '../sync/build.js';
import type { CdcEventSeen } from '../connectors/salesforce/cdc/subscriber.js';
import { cdcNotifier, startChangeCapture, type ChangeCapture } from './cdc.js';
import { connectClient, TASK_QUEUE } from '../lib/client.js';
import { startCodecServer, type CodecServer } from '../lib/codecServer.js';
import type { LoadedNetwork } from '../lib/config.js';
import { assertConfig } from '../lib/configCheck.js';
import { startDevServer, type DevServer } from './devServer.js';
import { openEngine } from './engine.js';
import { startLinks } from '../lib/links.js';
import { startStreams } from '../lib/streams.js';
import { defaultNotifier } from '../push/notifiers.js';
import { startPushReceivers, type PushReceivers } from '../push/start.js';
import { log, registerSecret } from '../lib/logger.js';
import { demoNetworkEnv, exportSandboxEnv, shellExports } from './sandboxEnv.js';
import { codePath, statePath } from '../lib/packagePaths.js';
import type { OpsServer } from '../lib/opsServer.js';
import { launchWorker } from './worker.js';
import { activeTracing } from '../lib/tracing.js';
import { acquireDemoLock } from './demoLock.js';

export const DEMO_NETWORK = codePath('examples', 'network.yaml');
/** Held while a demo runs (app/demoLock.ts): `npm start` refuses to start a second one over it. */
export const DEMO_LOCK_FILE = statePath('.cosell', 'demo.lock');

export interface Demo {
  server: DevServer;
  /** The codec server the Web UI reads encrypted history through. */
  codec: CodecServer;
  sandbox: Sandbox;
  /** Where the demo's Slack and Teams notifications land (examples/network.yaml's notifications:). */
  inbox: Inbox;
  network: LoadedNetwork;
  engine: Engine;
  client: Client;
  worker: Worker;
  /** The worker's /metrics, /healthz and /readyz (lib/opsServer.ts). */
  ops: OpsServer;
  links: string[];
  /** Change streams (`stream:<org>:<object>`) running, when the network has them on. */
  streams: string[];
  /** The webhook endpoints the worker serves (HubSpot partners push their changes to them). */
  push?: PushReceivers;
  /** Partners whose account-mapping workflow (`overlap:<partner>`) runs. */
  overlaps: string[];
  /** The analytics workflow keeping the fact store and the partner scorecards current (`scorecard:<vendor>`). */
  scorecard?: string;
  /** Change Data Capture (push) from the vendor org: wakes the links reading its objects. */
  cdc: ChangeCapture;
  stop(): Promise<void>;
}

/**
 * The whole product on embedded defaults: the sandbox CRMs (vendor + partners), a local Temporal dev
 * server with its Web UI, the SQLite ledger, one worker, and every link of examples/network.yaml
 * running. Everything started here is stopped by `stop()`, in reverse order.
 */
export async function startDemo(opts: { uiPort?: number; metricsPort?: number; persistFile?: string; onCdcEvent?(e: CdcEventSeen): void } = {}): Promise<Demo> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => log.warn({ err: e }, 'while stopping'));
  };
  // Before anything starts: a second demo would wipe the running one's ledger.
  const lock = acquireDemoLock(DEMO_LOCK_FILE);
  stops.push(async () => lock.release());
  try {
    ensureDemoPayloadKey();
    // The Web UI decodes the encrypted history through a codec server holding the demo's key (loopback only).
    const codec = await startCodecServer();
    stops.push(() => codec.stop());
    const [server, sandbox] = await Promise.all([startDevServer({ ui: true, uiPort: opts.uiPort ?? 8233, uiCodecEndpoint: codec.url }), startSandbox({ persistFile: opts.persistFile })]);
    stops.push(() => server.stop(), () => sandbox.stop());
    const uiPort = new URL(server.uiUrl!).port;
    for (const host of ['127.0.0.1', 'localhost']) codec.allow(`http://${host}:${uiPort}`);
    exportSandboxEnv(sandbox.orgs, 'COSELL');
    const inbox = await startInbox();
    stops.push(() => inbox.stop());
    const extras = demoNetworkEnv(inbox);
    Object.assign(process.env, extras);
    for (const [k, v] of Object.entries(extras)) if (k.endsWith('_OVERLAP_KEY')) registerSecret(v);
    // The ledger must describe the same CRM data: a fresh sandbox gets a fresh ledger (old cursors would
    // point past the regenerated records); with --persist both survive restarts together.
    const ledgerFile = statePath('.cosell', 'demo-ledger.sqlite');
    if (!opts.persistFile) for (const f of [ledgerFile, `${ledgerFile}-wal`, `${ledgerFile}-shm`]) rmSync(f, { force: true });
    process.env.COSELL_LEDGER_FILE = ledgerFile;
    // The worker's webhook endpoint for the HubSpot partners (push.webhooks in examples/network.yaml).
    process.env.COSELL_PUSH_LISTEN ??= '127.0.0.1:0';
    // The same offline check as `cosell worker` (every problem at file:line:col) before anything runs.
    const network = assertConfig(DEMO_NETWORK).loaded;
    writeDemoEnv(server.address);
    const engine = await openEngine(network);
    stops.push(() => engine.close());
    // The worker with its ops server, as `cosell worker --metrics-port` runs it (any free port by default).
    // Traced when OTEL_* asked for it (cli/main.ts started tracing): the traced bundle and interceptors.
    const tracing = activeTracing();
    const launched = await launchWorker({ address: server.address, activities: createActivities({ engine }), ledger: engine.ledger, metricsPort: opts.metricsPort ?? 0, ...(tracing ? { tracing, network } : {}) });
    const { worker } = launched;
    const ops = launched.ops!; // always there: a metrics port was given
    const running = launched.run();
    stops.push(async () => {
      // Ctrl-C reaches the SDK's runtime too, which shuts its workers down by itself: launched.shutdown()
      // leaves a worker that is already stopping alone (shutting it down again threw a stack trace).
      launched.shutdown();
      await running;
      await launched.close();
    });
    const client = await connectClient(server.address);
    stops.push(() => client.connection.close());
    const links = await startLinks(client, network, { taskQueue: TASK_QUEUE }); // and their change streams
    const streams = await startStreams(client, network, { taskQueue: TASK_QUEUE });
    await startRulesIndex(client, network, { taskQueue: TASK_QUEUE }); // registrations: vendor-account index, closes, protection
    const overlaps = await startOverlapWorkflows(client, network, { taskQueue: TASK_QUEUE });
    const scorecard = await startScorecard(client, network, { taskQueue: TASK_QUEUE }); // analytics: facts + partner scorecards
    const push = await startDemoPush(sandbox, network, engine, client);
    if (push) stops.push(() => push.stop());
    const cdc = await startChangeCapture(network, { ledger: engine.ledger, notifier: cdcNotifier(client, network), onEvent: opts.onCdcEvent });
    stops.push(() => cdc.stop());
    return { server, codec, sandbox, inbox, network, engine, client, worker, ops, links, streams, overlaps, scorecard, push, cdc, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The app id the demo's HubSpot portals sign their webhooks for. */
export const DEMO_HUBSPOT_APP_ID = 1_000_123;

/**
 * Push in the demo: the worker serves each HubSpot partner's webhook endpoint, and each sandbox portal
 * is set up the way an admin sets up a HubSpot app — target URL, subscriptions to every deal and
 * company event — so partner changes arrive signed within milliseconds instead of at the next poll.
 */
async function startDemoPush(sandbox: Sandbox, network: LoadedNetwork, engine: Engine, client: Client): Promise<PushReceivers | undefined> {
  const push = await startPushReceivers({ network, ledger: engine.ledger, notifier: defaultNotifier(client, network) });
  if (!push) return undefined;
  const events = ['creation', 'propertyChange', 'deletion', 'merge', 'restore', 'associationChange'] as const;
  const subscriptions = (['deal', 'company'] as const).flatMap((object) => events.map((event) => ({ object, event, ...(event === 'propertyChange' ? { propertyName: '*' } : {}) })));
  for (const e of push.endpoints) sandbox.org(e.org).setWebhooks?.({ targetUrl: e.url, appId: DEMO_HUBSPOT_APP_ID, subscriptions });
  return {
    ...push,
    stop: async () => {
      for (const e of push.endpoints) sandbox.org(e.org).setWebhooks?.(undefined);
      await push.stop();
    },
  };
}

export const DEMO_PAYLOAD_KEY_FILE = statePath('.cosell', 'payload.key');

/**
 * The demo encrypts Temporal history like production should: a key generated once into a git-ignored,
 * owner-only file (kept across restarts so older history still decodes), named by COSELL_PAYLOAD_KEY_FILE
 * for the worker and, through demo.env, for the CLI in another terminal. A key the user set wins.
 */
function ensureDemoPayloadKey(): void {
  if (process.env.COSELL_PAYLOAD_KEY || process.env.COSELL_PAYLOAD_KEYS || process.env.COSELL_PAYLOAD_KEY_FILE) return;
  if (!existsSync(DEMO_PAYLOAD_KEY_FILE)) {
    mkdirSync(path.dirname(DEMO_PAYLOAD_KEY_FILE), { recursive: true });
    writeFileSync(DEMO_PAYLOAD_KEY_FILE, `demo-${Date.now().toString(36)}:${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  }
  process.env.COSELL_PAYLOAD_KEY_FILE = DEMO_PAYLOAD_KEY_FILE;
}

export const DEMO_ENV_FILE = statePath('.cosell', 'demo.env');

/**
 * The demo's environment for the CLI in another terminal (`source .cosell/demo.env`): the sandbox
 * orgs' URLs and credentials and the Temporal address. Sandbox-only secrets, in a git-ignored file
 * readable by its owner only — never in the network file or the logs.
 */
function writeDemoEnv(temporalAddress: string): void {
  const vars = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('COSELL_') && e[0] !== 'COSELL_CONFIG' && e[1] !== undefined));
  mkdirSync(path.dirname(DEMO_ENV_FILE), { recursive: true });
  writeFileSync(DEMO_ENV_FILE, shellExports({ TEMPORAL_ADDRESS: temporalAddress, COSELL_CONFIG: DEMO_NETWORK, ...vars }), { mode: 0o600 });
}
