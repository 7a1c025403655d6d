/**
 * A cosell worker process for tests that kill and restart workers (`node --import tsx test/e2e/worker.ts`).
 * Same as `cosell worker --config FILE`, but it loads the workflow bundle the test run already built
 * (WORKFLOW_BUNDLE) instead of bundling again on every restart.
 *   env: TEMPORAL_ADDRESS, COSELL_CONFIG (network file), COSELL_TASK_QUEUE, WORKFLOW_BUNDLE
 */
import { createActivities } from '../../activities/index.js';
import { loadNetwork } from '../../lib/config.js';
import { openEngine } from '../../lib/engine.js';
import { createWorker } from '../../lib/worker.js';

const engine = await openEngine(loadNetwork(process.env.COSELL_CONFIG!));
const worker = await createWorker({
  address: process.env.TEMPORAL_ADDRESS,
  taskQueue: process.env.COSELL_TASK_QUEUE,
  codePath: process.env.WORKFLOW_BUNDLE,
  activities: createActivities({ engine }),
});
process.once('SIGTERM', () => worker.shutdown());
process.stdout.write(`worker ready ${process.pid}\n`);
await worker.run();
await engine.close();
