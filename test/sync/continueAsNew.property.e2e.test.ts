import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LinkStatus } from '../../sync/types.js';
import { linkSync } from '../../workflows/index.js';
import { startLinkHarness, waitForLink } from '../helpers/linkWorker.js';
import { uniqueQueue } from '../helpers/temporal.js';
import { sleep } from '../helpers/wait.js';
import { linkWorkflowId, pauseSignal, resumeSignal, resyncUpdate, syncNowSignal } from '../../lib/workflowClient.js';

/**
 * Randomized (fast-check), on the real dev server: resync updates, syncNow, pause and resume sent at
 * random moments — several in flight at once — to a linkSync workflow that continues as new after
 * every cycle (maxHistoryEvents: 1). No accepted update may be dropped (each returns the link's
 * status, none fails because its run ended), and every accepted resync is carried out: a cursor reset
 * that starts after the update was sent, ends before it returned and re-reads at least from where
 * that resync asked.
 */

const RUNS = Number(process.env.COSELL_PROP_RUNS ?? 3);

type Step =
  | { kind: 'resync'; from: 'full' | number /* minutes ago */ }
  | { kind: 'syncNow' | 'pause' | 'resume' }
  | { kind: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.constant<'full'>('full'), fc.integer({ min: 1, max: 120 })).map((from): Step => ({ kind: 'resync', from })) },
  { weight: 2, arbitrary: fc.constantFrom<Step>({ kind: 'syncNow' }, { kind: 'pause' }, { kind: 'resume' }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 400 }).map((ms): Step => ({ kind: 'wait', ms })) },
);

interface Reset {
  from: string;
  startedAt: number;
  endedAt?: number;
}

/** Does a reset from `reset` re-read everything a resync from `asked` wants? ('full' re-reads all.) */
function covers(reset: string, asked: string): boolean {
  if (reset === 'full') return true;
  if (asked === 'full') return false;
  return Date.parse(reset) <= Date.parse(asked);
}

async function runOnce(steps: Step[]): Promise<{ resyncs: number; resets: number; runs: number }> {
  const taskQueue = uniqueQueue('can-prop');
  const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-8);
  const linkId = `acme-can-${tag}`;
  const resets: Reset[] = [];
  const h = await startLinkHarness({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 0, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 2, opportunities: 8, owners: 1 } },
    ],
    envPrefix: `CANP${tag.toUpperCase()}`,
    taskQueue,
    pageSize: 3, // several pages a cycle: continue-as-new is also reached between pages
    network: (conn) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`,
    // Every cursor reset the workflow asks for, with when it ran (the test's clock).
    wrap: (acts) => ({
      ...acts,
      async resetLinkCursor(id: string, from: string) {
        const r: Reset = { from, startedAt: Date.now() };
        resets.push(r);
        await acts.resetLinkCursor(id, from);
        r.endedAt = Date.now();
      },
    }),
  });
  try {
    const handle = await h.client.workflow.start(linkSync, { taskQueue, workflowId: linkWorkflowId(linkId), args: [{ linkId, maxHistoryEvents: 1 }] });
    await waitForLink(h.client, linkId, (s) => s.state === 'idle', { what: 'the first catch-up' });
    // A slow partner CRM: every activity of a cycle (pages, deletions, parked replays) takes long
    // enough for updates to arrive while it runs — the moments just before a continue-as-new.
    await h.sb.faults('acme', { latencyMs: 120 });
    const sent: Array<{ from: string; sentAt: number; done: Promise<{ status?: LinkStatus; error?: unknown; at: number }> }> = [];
    for (const s of steps) {
      if (s.kind === 'wait') await sleep(s.ms);
      else if (s.kind === 'resync') {
        const from = s.from === 'full' ? 'full' : new Date(Date.now() - s.from * 60_000).toISOString();
        const sentAt = Date.now();
        // Not awaited: updates pile up while the workflow pages, pauses and continues as new.
        const done = handle.executeUpdate(resyncUpdate, { args: [{ from }] }).then(
          (status) => ({ status, at: Date.now() }),
          (error: unknown) => ({ error, at: Date.now() }),
        );
        sent.push({ from, sentAt, done });
      } else await handle.signal(s.kind === 'syncNow' ? syncNowSignal : s.kind === 'pause' ? pauseSignal : resumeSignal);
    }
    await handle.signal(resumeSignal); // a paused link holds its resyncs until resumed
    const results = await Promise.all(sent.map((x) => x.done));
    results.forEach((r, i) => {
      expect(r.error, `resync ${i} (from ${sent[i].from}) was accepted and then dropped: ${String((r.error as Error | undefined)?.cause ?? r.error)}`).toBeUndefined();
      expect(r.status?.linkId).toBe(linkId);
      const served = resets.some((x) => x.endedAt !== undefined && x.startedAt >= sent[i].sentAt && x.endedAt <= r.at && covers(x.from, sent[i].from));
      expect(served, `resync ${i} from ${sent[i].from} (sent ${sent[i].sentAt}, returned ${r.at}) has no cursor reset serving it: ${JSON.stringify(resets)}`).toBe(true);
    });
    await waitForLink(h.client, linkId, (s) => s.state === 'idle', { what: 'idle at the end' });
    const desc = await handle.describe();
    return { resyncs: sent.length, resets: resets.length, runs: desc.runId === handle.firstExecutionRunId ? 1 : 2 };
  } finally {
    await h.close();
  }
}

describe('continue-as-new never drops an in-flight update (fast-check, real dev server)', () => {
  it('every accepted resync returns and is carried out while the workflow continues as new after every cycle', async () => {
    let n = 0;
    let continued = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 12 }), async (steps) => {
        const t0 = Date.now();
        const r = await runOnce(steps);
        if (r.runs > 1) continued++;
        console.log(`run ${++n}: ${steps.map((s) => (s.kind === 'resync' ? `resync(${s.from})` : s.kind === 'wait' ? `wait ${s.ms}` : s.kind)).join(', ')} → ${r.resyncs} resyncs, ${r.resets} resets (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }),
      { numRuns: RUNS, endOnFailure: true, verbose: 2, ...(process.env.COSELL_PROP_SEED ? { seed: Number(process.env.COSELL_PROP_SEED) } : {}) },
    );
    expect(continued).toBe(RUNS); // every run did continue as new (the point of the test)
  }, 300_000);
});
