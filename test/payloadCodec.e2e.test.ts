import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import { connectClient } from '../lib/client.js';
import { KEY_ID_METADATA } from '../lib/payloadCodec.js';
import { createWorker, workflowBundleOptions } from '../app/worker.js';
import { helloCosell } from '../workflows/index.js';
import { temporalAddress, testClient, testWorker, uniqueQueue } from './helpers/temporal.js';
import { tempDir } from './helpers/tmp.js';

// Business data (a customer name, a CRM error text quoting a record) must never reach Temporal history
// in plaintext once a key is configured: checked on the raw history bytes, fetched WITHOUT the codec.
const taskQueue = uniqueQueue('codec');
const marker = `Initech-Customer-${randomBytes(6).toString('hex')}`;
const oldKey = `old:${randomBytes(32).toString('base64')}`;
const newKey = `new:${randomBytes(32).toString('base64')}`;
let failWith: string | undefined;
let raw: Client;
const saved = process.env.COSELL_PAYLOAD_KEYS;

async function runWorker<T>(keys: string, fn: (client: Client) => Promise<T>): Promise<T> {
  if (keys) process.env.COSELL_PAYLOAD_KEYS = keys;
  else delete process.env.COSELL_PAYLOAD_KEYS;
  const activities = {
    ...createActivities(),
    async describeWorker(): Promise<string> {
      if (failWith) throw ApplicationFailure.create({ message: failWith, nonRetryable: true });
      return 'the codec test worker';
    },
  };
  const worker: Worker = await testWorker({ taskQueue, activities });
  const client = await connectClient(temporalAddress()); // the product's client: picks the key up from the environment
  try {
    return await worker.runUntil(fn(client));
  } finally {
    await client.connection.close();
  }
}

/** Every byte of the workflow's history as the server stores it (no codec on this client). */
async function rawHistory(workflowId: string): Promise<{ bytes: Buffer; payloads: temporal.api.common.v1.IPayload[] }> {
  const res = await raw.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
  const history = temporal.api.history.v1.History.create(res.history ?? {});
  const payloads: temporal.api.common.v1.IPayload[] = [];
  // Search attributes stay plaintext by design (the server indexes them; cosell puts only ids and states there).
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object' || v instanceof Uint8Array) return;
    const o = v as Record<string, unknown>;
    if ('data' in o && 'metadata' in o && o.data instanceof Uint8Array) payloads.push(o as temporal.api.common.v1.IPayload);
    for (const [k, x] of Object.entries(o)) if (k !== 'searchAttributes' && k !== 'upsertWorkflowSearchAttributesEventAttributes') walk(x);
  };
  walk(res.history);
  return { bytes: Buffer.from(temporal.api.history.v1.History.encode(history).finish()), payloads };
}

beforeAll(async () => {
  raw = await testClient();
});
afterAll(async () => {
  if (saved === undefined) delete process.env.COSELL_PAYLOAD_KEYS;
  else process.env.COSELL_PAYLOAD_KEYS = saved;
  await raw?.connection.close();
});

describe('encrypted Temporal history on the real dev server', () => {
  const okId = `codec-ok-${taskQueue}`;
  const failId = `codec-fail-${taskQueue}`;

  it('a customer name in input and result, and a failing activity quoting it, never show in raw history', async () => {
    const { result, failure } = await runWorker(oldKey, async (client) => {
      failWith = undefined;
      const result = await client.workflow.execute(helloCosell, { taskQueue, workflowId: okId, args: [marker] });
      failWith = `CRM rejected Account Name=${marker}: duplicate value`;
      const failure = await client.workflow.execute(helloCosell, { taskQueue, workflowId: failId, args: ['someone'] }).catch((e) => e);
      return { result, failure };
    });
    // With the codec everything decodes, failure message included.
    expect(result).toBe(`Hello ${marker}, from a cosell worker on the codec test worker`);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(failure.cause?.cause?.message).toBe(`CRM rejected Account Name=${marker}: duplicate value`);

    for (const id of [okId, failId]) {
      const { bytes, payloads } = await rawHistory(id);
      expect(bytes.length).toBeGreaterThan(0);
      expect(bytes.includes(Buffer.from(marker))).toBe(false); // not in any payload, failure message or stack trace
      expect(bytes.includes(Buffer.from('Initech-Customer'))).toBe(false);
      expect(payloads.length).toBeGreaterThan(0);
      for (const p of payloads) {
        expect(Buffer.from(p.metadata!.encoding!).toString()).toBe('binary/encrypted');
        expect(Buffer.from(p.metadata![KEY_ID_METADATA]!).toString()).toBe('old');
      }
    }
    // The failure's common attributes really were moved into the encrypted payload.
    const { bytes } = await rawHistory(failId);
    expect(bytes.includes(Buffer.from('Encoded failure'))).toBe(true);
    expect(bytes.includes(Buffer.from('duplicate value'))).toBe(false);
  });

  it('a failure thrown by workflow code itself (an ApplicationFailure naming the customer) is encrypted too', async () => {
    // Bundled exactly as cosell bundles its own workflows (app/worker.ts workflowBundleOptions).
    const dir = tempDir('cosell-codec-bundle-');
    const codePath = path.join(dir, 'bundle.js');
    writeFileSync(codePath, (await bundleWorkflowCode(workflowBundleOptions(fileURLToPath(new URL('./helpers/failingWorkflow.ts', import.meta.url))))).code);
    const queue = uniqueQueue('codec-wf');
    const id = `codec-wf-fail-${queue}`;
    process.env.COSELL_PAYLOAD_KEYS = oldKey;
    const worker = await createWorker({ address: temporalAddress(), taskQueue: queue, codePath, activities: {} });
    const client = await connectClient(temporalAddress());
    try {
      const failure = await worker.runUntil(client.workflow.execute('failInWorkflowCode', { taskQueue: queue, workflowId: id, args: [marker] }).catch((e) => e));
      // the product's client decodes it
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(failure.cause?.message).toBe(`registration refused: ${marker} is already registered by another partner`);
    } finally {
      await client.connection.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const { bytes } = await rawHistory(id);
    expect(bytes.includes(Buffer.from('Encoded failure'))).toBe(true);
    expect(bytes.includes(Buffer.from(marker))).toBe(false);
    expect(bytes.includes(Buffer.from('already registered'))).toBe(false);
    expect(bytes.includes(Buffer.from('failInWorkflowCode'))).toBe(true); // the raw read did see the history
  });

  it('after rotation the new key encrypts and history sealed with the old key still decodes', async () => {
    const rotatedId = `codec-rotated-${taskQueue}`;
    const { old, fresh } = await runWorker(`${newKey},${oldKey}`, async (client) => {
      failWith = undefined;
      const old = await client.workflow.getHandle(okId).result();
      const fresh = await client.workflow.execute(helloCosell, { taskQueue, workflowId: rotatedId, args: [marker] });
      return { old, fresh };
    });
    expect(old).toBe(`Hello ${marker}, from a cosell worker on the codec test worker`);
    expect(fresh).toBe(old);
    const { bytes, payloads } = await rawHistory(rotatedId);
    expect(bytes.includes(Buffer.from(marker))).toBe(false);
    expect(payloads.map((p) => Buffer.from(p.metadata![KEY_ID_METADATA]!).toString())).toEqual(payloads.map(() => 'new'));
  });

  it('a client without the old key cannot read what it sealed: a clear COSELL_PAYLOAD_KEY error', async () => {
    process.env.COSELL_PAYLOAD_KEYS = newKey;
    const client = await connectClient(temporalAddress());
    try {
      const err = await client.workflow.getHandle(okId).result().catch((e) => e);
      expect(String(err?.message ?? err) + String(err?.cause?.message ?? '')).toMatch(/key id "old"/);
    } finally {
      await client.connection.close();
    }
  });

  it('without a key nothing changes: history is plaintext (and the raw-bytes check above would see the marker)', async () => {
    const plainId = `codec-plain-${taskQueue}`;
    const out = await runWorker('', async (client) => {
      failWith = undefined;
      return client.workflow.execute(helloCosell, { taskQueue, workflowId: plainId, args: [marker] });
    });
    expect(out).toContain(marker);
    const { bytes, payloads } = await rawHistory(plainId);
    expect(bytes.includes(Buffer.from(marker))).toBe(true);
    expect(payloads.some((p) => Buffer.from(p.metadata!.encoding!).toString() === 'json/plain')).toBe(true);
  });
});
