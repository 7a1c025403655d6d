import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { describeWorker } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });

/** The first workflow `cosell up` runs: proves the worker, the activity path and search attributes work. */
export async function helloCosell(name: string): Promise<string> {
  upsertSearchAttributes({ CosellKind: ['hello'] });
  const where = await describeWorker();
  return `Hello ${name}, from a cosell worker on ${where}`;
}
