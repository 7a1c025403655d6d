import { describe, expect, it } from 'vitest';
import { helloCosell } from '../workflows/index.js';
import { testClient, testWorker, uniqueQueue } from './helpers/temporal.js';

describe('foundation: a workflow with a real activity on the real Temporal dev server', () => {
  it('runs helloCosell end to end and sets its search attribute', async () => {
    const taskQueue = uniqueQueue('foundation');
    const client = await testClient();
    const worker = await testWorker({ taskQueue });
    const result = await worker.runUntil(async () => {
      const handle = await client.workflow.start(helloCosell, { taskQueue, workflowId: `hello-${taskQueue}`, args: ['tester'] });
      const out = await handle.result();
      const desc = await handle.describe();
      expect(desc.status.name).toBe('COMPLETED');
      expect(desc.searchAttributes.CosellKind).toEqual(['hello']);
      return out;
    });
    expect(result).toMatch(/^Hello tester, from a cosell worker on .+ \(node v\d+/);
    await client.connection.close();
  });
});
