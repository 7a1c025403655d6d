/**
 * The determinism check the test run ends with (test/globalSetup.ts teardown): every workflow run
 * on the dev server replayed on the bundle. Here it must tell a history the bundle replays from one
 * it does not — recorded by a worker whose helloCosell drifted (test/helpers/driftedWorkflow.ts). Its
 * id starts with DRIFTED_ID_PREFIX, so the run-end check (no query) skips it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { DRIFTED_ID_PREFIX, replayLiveHistories } from '../helpers/replay.js';
import { temporalAddress, testClient, testWorker, uniqueQueue } from '../helpers/temporal.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const queue = uniqueQueue('live-replay');
const drifted = `${DRIFTED_ID_PREFIX}${queue}`;
const faithful = `${queue}-faithful`;

describe('replaying the live histories of a test run', () => {
  it('flags the run a drifted worker recorded, with its history and the events around the divergence, and passes the faithful one', { timeout: 180_000 }, async () => {
    const client = await testClient();
    const connection = await NativeConnection.connect({ address: temporalAddress() });
    const driftedWorker = await Worker.create({
      connection,
      taskQueue: `${queue}-d`,
      workflowsPath: path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/driftedWorkflow.ts'),
    });
    await driftedWorker.runUntil(client.workflow.execute('helloCosell', { taskQueue: `${queue}-d`, workflowId: drifted, args: ['drift'] }));
    await connection.close();
    const worker = await testWorker({ taskQueue: `${queue}-f` });
    await worker.runUntil(client.workflow.execute('helloCosell', { taskQueue: `${queue}-f`, workflowId: faithful, args: ['faith'] }));

    const dir = tempDir('cosell-live-replay-');
    // Visibility (what the check lists) trails the runs' completion by a moment.
    const r = await eventually('both runs listed and replayed', () => replayLiveHistories(temporalAddress(), { codePath: inject('workflowBundlePath') }, dir, `WorkflowId = '${drifted}' OR WorkflowId = '${faithful}'`).then((x) => x.replayed === 2 && x), { intervalMs: 1000 });
    expect(r.nondeterministic.map((f) => f.workflowId)).toEqual([drifted]);
    const [f] = r.nondeterministic;
    expect(f!.error).toMatch(/Nondeterminism/);
    expect(existsSync(f!.file)).toBe(true);
    expect(f!.around.join('\n')).toMatch(/TIMER_STARTED timer 1 1 ms/);
    await client.connection.close();
  });
});
