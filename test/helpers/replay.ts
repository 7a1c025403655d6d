import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { ENCRYPTED_ENCODING, payloadDataConverter } from '../../lib/payloadCodec.js';
import * as workflows from '../../workflows/index.js';

/** The histories recorded from the demo (test/fixtures/histories; record.ts there says how). */
export const HISTORIES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/histories');
export const HISTORY_FIXTURES = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.pb')).sort();
/** Workflow ids of runs a test records with drifted code on purpose (test/workflows/liveReplay.e2e): the run-end check skips them. */
export const DRIFTED_ID_PREFIX = 'drifted-on-purpose-';
/** Every workflow type the cosell worker runs (the functions workflows/index.ts exports). */
export const WORKFLOW_TYPES = Object.entries(workflows).flatMap(([name, v]) => (typeof v === 'function' ? [name] : []));

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

export interface LiveReplay {
  replayed: number;
  /** Histories whose payloads are encrypted (test/payloadCodec.e2e: their keys are that test's own). */
  encrypted: number;
  nondeterministic: Array<{ workflowId: string; runId: string; error: string; file: string; around: string[] }>;
}

/** The events before and just after the one a nondeterminism error names, one line each (id, time, type, what). */
function eventsAround(history: proto.temporal.api.history.v1.IHistory, error: string): string[] {
  const at = Number(/HistoryEvent\(id: (\d+)/.exec(error)?.[1] ?? NaN);
  const events = history.events ?? [];
  const last = Number.isFinite(at) ? at + 3 : events.length;
  return events.slice(Math.max(0, last - 40), last).map((e) => {
    const type = proto.temporal.api.enums.v1.EventType[e.eventType ?? 0]?.replace(/^EVENT_TYPE_/, '') ?? String(e.eventType);
    const time = e.eventTime?.seconds != null ? new Date(Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6)).toISOString().slice(11, 23) : '';
    const what = e.activityTaskScheduledEventAttributes?.activityType?.name ?? (e.timerStartedEventAttributes ? `timer ${e.timerStartedEventAttributes.timerId} ${Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0) * 1000 + Math.round((e.timerStartedEventAttributes.startToFireTimeout?.nanos ?? 0) / 1e6)} ms` : '');
    const timer = e.timerFiredEventAttributes?.timerId ?? e.timerCanceledEventAttributes?.timerId;
    return `${String(e.eventId)} ${time} ${type}${what ? ` ${what}` : ''}${timer ? ` timer ${timer}` : ''}${e.markerRecordedEventAttributes ? ` ${e.markerRecordedEventAttributes.markerName}` : ''}`;
  });
}

/**
 * Every run of cosell's workflow types on a Temporal cluster, replayed on a bundle: what the live
 * workers decided must be what a fresh worker decides from the history. A decision that depends on
 * anything but the history (worker-cache state, a timing race) passes every test that runs it and
 * stalls the workflow only when a worker dies and another replays it — this finds it in any run
 * that made it. Failing histories are written to `dir` (.pb, as test/fixtures/histories) to replay and debug.
 * `query` (a visibility query) narrows the runs replayed; without one, runs drifted on purpose are skipped.
 */
export async function replayLiveHistories(address: string, workflowBundle: { codePath: string } | { code: string }, dir: string, query?: string): Promise<LiveReplay> {
  const types = new Set(WORKFLOW_TYPES);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const result: LiveReplay = { replayed: 0, encrypted: 0, nondeterministic: [] };
  try {
    const runs: Array<{ workflowId: string; runId: string }> = [];
    for await (const wf of client.workflow.list(query ? { query } : {})) if (types.has(wf.type) && (query || !wf.workflowId.startsWith(DRIFTED_ID_PREFIX))) runs.push({ workflowId: wf.workflowId, runId: wf.runId });
    const histories = new Map<string, proto.temporal.api.history.v1.IHistory>();
    async function* fetched() {
      for (let i = 0; i < runs.length; i += 16) {
        const batch = await Promise.all(runs.slice(i, i + 16).map(async (r) => ({ ...r, history: await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory() })));
        for (const r of batch) {
          const input = r.history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
          if (input.some((p) => Buffer.from(p.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING)) {
            result.encrypted++;
            continue;
          }
          const key = `${r.workflowId}\u0000${r.runId}`;
          histories.set(key, r.history);
          yield { workflowId: key, history: r.history };
        }
      }
    }
    for await (const r of Worker.runReplayHistories({ workflowBundle }, fetched())) {
      result.replayed++;
      const history = histories.get(r.workflowId);
      histories.delete(r.workflowId);
      if (!r.error) continue;
      const [workflowId, runId] = r.workflowId.split('\u0000') as [string, string];
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${workflowId.replace(/[^\w.-]+/g, '_')}-${runId}.pb`);
      writeFileSync(file, proto.temporal.api.history.v1.History.encode(history ?? {}).finish());
      result.nondeterministic.push({ workflowId, runId, error: r.error.message, file, around: eventsAround(history ?? {}, r.error.message) });
    }
  } finally {
    await connection.close();
  }
  return result;
}
