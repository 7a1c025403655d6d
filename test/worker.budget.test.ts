import { describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import { helloCosell } from '../workflows/index.js';
import { testClient, testWorker, uniqueQueue } from './helpers/temporal.js';

/**
 * A CRM budget must hold when several workers share it. Within one worker the connectors' rate budget
 * does it; across workers, the task queue's activity rate limit does — the Temporal server enforces it
 * over every worker that polls the queue. Two workers, a cap of 4 activities/s, 16 activities.
 */
describe('rate budget across several workers', () => {
  it('two workers on one task queue together stay under the queue-wide activity rate', async () => {
    const taskQueue = uniqueQueue('budget');
    const client = await testClient();
    const starts: Array<{ at: number; worker: number }> = [];
    const workers = await Promise.all(
      [0, 1].map((worker) =>
        testWorker({
          taskQueue,
          maxTaskQueueActivitiesPerSecond: 4,
          activities: { ...createActivities(), describeWorker: async () => (starts.push({ at: Date.now(), worker }), `worker ${worker}`) },
        }),
      ),
    );
    await workers[0].runUntil(
      workers[1].runUntil(async () => {
        const handles = await Promise.all(Array.from({ length: 16 }, (_, i) => client.workflow.start(helloCosell, { taskQueue, workflowId: `${taskQueue}-${i}`, args: [`w${i}`] })));
        await Promise.all(handles.map((h) => h.result()));
      }),
    );
    expect(starts).toHaveLength(16);
    expect(new Set(starts.map((s) => s.worker)).size).toBe(2); // both workers took work…
    const times = starts.map((s) => s.at).sort((a, b) => a - b);
    // …yet together they keep to the server's token bucket: an initial burst, then ~4/s. Unlimited, all 16
    // would start within a few hundred ms.
    // (The average over the steady part, not the busiest second: on a loaded machine a worker that was
    // briefly descheduled runs two dispatched activities back to back without the server letting more through.)
    const steady = times.filter((t) => t >= times[0] + 1000);
    expect(steady.length).toBeGreaterThanOrEqual(4);
    const perSecond = (steady.length - 1) / ((steady[steady.length - 1] - steady[0]) / 1000);
    expect(perSecond).toBeLessThanOrEqual(5);
    expect(times[15] - times[0]).toBeGreaterThanOrEqual(1500);
    await client.connection.close();
  }, 120_000);
});
