import type { Command } from 'commander';
import { startDevServer, type DevServer } from '../lib/devServer.js';
import { connectClient, TASK_QUEUE } from '../lib/client.js';
import { createWorker } from '../lib/worker.js';
import { helloCosell } from '../workflows/index.js';

/**
 * `cosell up` (npm start): the whole product on embedded defaults, in one process tree. Everything it
 * starts is stopped on Ctrl-C / SIGTERM, and the dev server runs in its own process group so nothing is
 * left behind.
 */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start a local Temporal dev server with its Web UI, a worker, and run the demo network')
    .option('--ui-port <port>', 'preferred Temporal Web UI port', '8233')
    .option('--exit-after-start', 'stop everything once the demo is up (for smoke tests)')
    .action(async (opts: { uiPort: string; exitAfterStart?: boolean }) => {
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      let server: DevServer | undefined;
      const cleanups: Array<() => Promise<unknown>> = [];
      try {
        server = await startDevServer({ ui: true, uiPort: Number(opts.uiPort) });
        const worker = await createWorker({ address: server.address });
        const running = worker.run();
        cleanups.push(async () => {
          worker.shutdown();
          await running;
        });
        const client = await connectClient(server.address);
        cleanups.push(() => client.connection.close());
        const hello = await client.workflow.execute(helloCosell, { taskQueue: TASK_QUEUE, workflowId: 'hello-cosell', args: ['ops'], workflowIdConflictPolicy: 'TERMINATE_EXISTING' });

        const lines = [
          '',
          'cosell is up.',
          `  Temporal Web UI   ${server.uiUrl}/namespaces/${server.namespace}/workflows`,
          `  Temporal gRPC     ${server.address}  (export TEMPORAL_ADDRESS=${server.address} to use the CLI against it)`,
          `  first workflow    hello-cosell → ${hello}`,
          '',
          'Press Ctrl-C to stop everything.',
          '',
        ];
        process.stdout.write(lines.join('\n'));
        if (!opts.exitAfterStart) await stopped;
      } finally {
        for (const c of cleanups.reverse()) await c().catch(() => undefined);
        await server?.stop();
      }
    });
}
