import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCosellError } from '../../lib/errors.js';
import type { Redecision } from '../../rules/lifecycle.js';
import { updateRegistration } from '../../registrations/registrationWorkflow.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { redecideUpdate, registrationWorkflowId, registration } from '../../lib/workflowClient.js';

/**
 * A page never waits on a registration workflow without bound: a workflow no worker serves (gone, or
 * stuck behind an earlier change) makes the update fail with COSELL_REGISTRATION_BUSY after the
 * deadline — the link shows why and retries — instead of the page sitting `running`.
 */
let client: Client;
const taskQueue = uniqueQueue('no-worker'); // nobody polls it
const id = `deadline:${taskQueue}`;

beforeAll(async () => {
  client = await testClient();
  await client.workflow.start(registration, { workflowId: registrationWorkflowId(id), taskQueue, args: [{ id, partnerId: 'acme', linkId: 'l', sourceId: 's', submittedAt: new Date().toISOString(), decision: { outcome: 'review', ruleId: 'tier-auto-approval', reason: 'test' } }] });
});

afterAll(async () => {
  await client?.workflow.getHandle(registrationWorkflowId(id)).terminate('test over').catch(() => undefined);
  await client?.connection.close();
});

describe('registration updates have a deadline', () => {
  it('fails with COSELL_REGISTRATION_BUSY when the workflow does not take the update in time', async () => {
    const started = Date.now();
    const req = { decision: { outcome: 'review', ruleId: 'tier-auto-approval', reason: 'raised' }, before: {}, after: {}, changes: ['amount'] } as unknown as Redecision;
    const err = await updateRegistration(client, id, redecideUpdate, req, 'redecide:deadline-test', 1_500).then(() => undefined, (e: unknown) => e);
    const waited = Date.now() - started;
    expect(isCosellError(err, 'COSELL_REGISTRATION_BUSY'), String(err)).toBe(true);
    expect((err as Error).message).toContain(`registration ${id}'s workflow did not take the redecide update within 1.5 s`);
    expect(waited).toBeGreaterThanOrEqual(1_400);
    expect(waited).toBeLessThan(15_000);
  }, 30_000);
});
