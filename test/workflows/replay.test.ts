/**
 * Determinism guard: histories recorded from the demo (test/fixtures/histories, see record.ts there)
 * replay against today's workflow bundle without a nondeterminism error. A workflow change that would
 * break the runs already live in users' Temporal clusters fails here; gate it with patched() instead.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { workflowBundle } from '../../app/worker.js';
import { HISTORY_FIXTURES as fixtures, replayRecordedHistories, WORKFLOW_TYPES } from '../helpers/replay.js';

describe('recorded workflow histories', () => {
  it('every workflow type has a recorded history', () => {
    const types = new Set(fixtures.map((f) => f.split('-')[0]!.replace(/\.pb$/, '')));
    expect(WORKFLOW_TYPES.length).toBeGreaterThan(5);
    expect([...types].sort()).toEqual([...WORKFLOW_TYPES].sort());
  });

  const replayAll = async (workflowBundle: { codePath: string } | { code: string }) => {
    const { failed, replayed } = await replayRecordedHistories(workflowBundle);
    expect(failed).toEqual([]);
    expect(replayed).toBe(fixtures.length);
  };

  it('replay on the current workflow code without nondeterminism', { timeout: 120_000 }, () => replayAll({ codePath: inject('workflowBundlePath') }));

  // Turning tracing on (lib/tracing.ts) swaps the bundle of a cluster's running workflows for the
  // traced one: the OpenTelemetry interceptors must not change what any of them replays to.
  it('replay on the traced workflow bundle too', { timeout: 180_000 }, async () => {
    const { code } = await workflowBundle({ traced: true });
    expect(code).toContain('OpenTelemetryInboundInterceptor');
    expect(readFileSync(inject('workflowBundlePath'), 'utf8')).not.toContain('OpenTelemetryInboundInterceptor'); // the untraced bundle has none
    await replayAll({ code });
  });
});
