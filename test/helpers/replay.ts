import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { payloadDataConverter } from '../../lib/payloadCodec.js';

/** The histories recorded from the demo (test/fixtures/histories; record.ts there says how). */
export const HISTORIES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/histories');
export const HISTORY_FIXTURES = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.pb')).sort();

/**
 * Replay every recorded history on a workflow bundle: the ones that fail (with why) and how many
 * replayed. Used for the checkout's bundles (test/workflows/replay.test.ts) and the installed
 * package's (test/package/install.e2e.test.ts).
 */
export async function replayRecordedHistories(workflowBundle: { codePath: string } | { code: string }): Promise<{ failed: string[]; replayed: number }> {
  const dataConverter = payloadDataConverter({ COSELL_PAYLOAD_KEY_FILE: path.join(HISTORIES_DIR, 'payload.key') });
  const histories = HISTORY_FIXTURES.map((f) => ({ workflowId: f, history: proto.temporal.api.history.v1.History.decode(readFileSync(path.join(HISTORIES_DIR, f))) }));
  const failed: string[] = [];
  let replayed = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle, ...(dataConverter ? { dataConverter } : {}) }, histories)) {
    replayed++;
    if (r.error) failed.push(`${r.workflowId}: ${r.error.message}`);
  }
  return { failed, replayed };
}
