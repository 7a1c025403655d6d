import type { Command } from 'commander';
import { runWorkerUntilSignal } from '../lib/worker.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a cosell worker against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY (and TLS) until SIGINT/SIGTERM')
    .option('--task-queue <name>', 'task queue to poll', process.env.COSELL_TASK_QUEUE ?? 'cosell')
    .action(async (opts: { taskQueue: string }) => {
      await runWorkerUntilSignal({ taskQueue: opts.taskQueue });
    });
}
