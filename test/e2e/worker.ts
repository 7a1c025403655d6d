/**
 * A cosell worker process for tests that kill and restart workers (`node --import tsx test/e2e/worker.ts`).
 * Same as `cosell worker --config FILE`, but it loads the workflow bundle the test run already built
 * (WORKFLOW_BUNDLE) instead of bundling again on every restart. Like `cosell worker`, it runs Salesforce
 * Change Data Capture (app/cdc.ts) for the orgs whose connection has `pubsub`, each topic only while it
 * holds the topic's lease; its ready line names its lease holder id.
 *   env: TEMPORAL_ADDRESS, COSELL_CONFIG (network file), COSELL_TASK_QUEUE, WORKFLOW_BUNDLE
 */
import { createActivities } from '../../activities/index.js';
import { cdcNotifier, cdcOrgIds, leaseHolderId, startChangeCapture } from '../../app/cdc.js';
import { connectClient } from '../../lib/client.js';
import { loadNetwork } from '../../lib/config.js';
import { openEngine } from '../../app/engine.js';
import { createWorker } from '../../app/worker.js';

const loaded = loadNetwork(process.env.COSELL_CONFIG!);
const engine = await openEngine(loaded);
const worker = await createWorker({
  address: process.env.TEMPORAL_ADDRESS,
  taskQueue: process.env.COSELL_TASK_QUEUE,
  codePath: process.env.WORKFLOW_BUNDLE,
  activities: createActivities({ engine }),
});
const holder = leaseHolderId();
const client = cdcOrgIds(loaded).length ? await connectClient(process.env.TEMPORAL_ADDRESS) : undefined;
const cdc = client ? await startChangeCapture(loaded, { ledger: engine.ledger, notifier: cdcNotifier(client, loaded), holder }) : undefined;
process.once('SIGTERM', () => worker.shutdown());
process.stdout.write(`worker ready ${process.pid} holder ${holder}\n`);
await worker.run();
await cdc?.stop();
await client?.connection.close();
await engine.close();
