import type { Client } from '@temporalio/client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openLedger, registrationId, type Ledger } from '../../ledger/index.js';
import { Engine } from '../../sync/build.js';
import { registrationGateFor } from '../../registrations/gate.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { testPolicy } from '../helpers/registrations.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { testClient, uniqueQueue } from '../helpers/temporal.js';
import { drain } from '../helpers/drain.js';
import { eventually } from '../helpers/wait.js';
import { registrationWorkflowId, registrationHandle } from '../../lib/workflowClient.js';

/**
 * Randomized (fast-check model-based commands), on the real dev server: partners create and edit
 * deals on a registration link while the process "crashes" at random points — right after a
 * registration's workflow was started but before the ledger recorded it, or before it was started —
 * and registrations finish (their workflow ends) at random moments in between. Every later page
 * retries. Whatever the order: each registration's workflow is started once and only once (the same
 * run every time it is looked at, a single execution of its id), a finished one is never started
 * again, and every registration ends up recorded as started.
 */

const RUNS = Number(process.env.COSELL_PROP_RUNS ?? 6);
const POLICY = `
version: 1
currency: USD
tiers: { gold: { autoApproveUpTo: 100000 } }
review: { sla: 1h, onTimeout: escalate, escalateTo: channel-ops }
exclusivity: { period: 1h, extension: 1h, maxExtensions: 1 }
`;

type CrashPoint = 'afterStart' | 'beforeStart';

interface Model {
  deals: Array<{ id: string; runId?: string; finished: boolean }>;
}

interface Real {
  sb: TestSandbox;
  ledger: Ledger;
  engine: Engine;
  client: Client;
  linkId: string;
  crash: CrashState;
}

interface CrashState {
  /** The crash still to happen in this page run: at the (skip+1)-th point of its kind. */
  armed?: { point: CrashPoint; skip: number };
  crashed: number;
}

class Crash extends Error {}

/** Whether the armed crash happens at this point (counting down its skips); a crash happens once. */
function fires(crash: CrashState, point: CrashPoint): boolean {
  if (crash.armed?.point !== point) return false;
  if (crash.armed.skip-- > 0) return false;
  crash.armed = undefined;
  crash.crashed++;
  return true;
}

/** The ledger, failing where a crash is armed: recording a started workflow, or the decision's audit just before the start. */
function crashingLedger(ledger: Ledger, crash: CrashState): Ledger {
  const registrations = Object.create(ledger.registrations) as Ledger['registrations'];
  registrations.update = async (...args: Parameters<Ledger['registrations']['update']>) => {
    const patch = args[1] as { details?: { workflowStarted?: boolean } };
    if (patch.details?.workflowStarted === true && fires(crash, 'afterStart')) {
      throw new Crash('crash between starting the registration workflow and recording it');
    }
    return ledger.registrations.update(...args);
  };
  const audit = Object.create(ledger.audit) as Ledger['audit'];
  audit.append = async (...args: Parameters<Ledger['audit']['append']>) => {
    if (args[0].some((e) => e.action === 'registration.decided') && fires(crash, 'beforeStart')) {
      throw new Crash('crash after the decision, before its workflow was started');
    }
    return ledger.audit.append(...args);
  };
  return Object.assign(Object.create(ledger) as Ledger, { registrations, audit });
}

const handleOf = (r: Real, dealId: string) => registrationHandle(r.client, registrationId('acme', dealId));

/** New deals, then (usually) a page run that crashes at one of their registrations. */
class CreateDeals implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly count: number,
    readonly then?: SyncPage,
  ) {}
  check = (m: Readonly<Model>) => m.deals.length < 8;
  async run(m: Model, r: Real) {
    for (let i = 0; i < this.count; i++) {
      const n = m.deals.length + 1;
      const deal = await r.sb.hubspot('acme').crm.deals.basicApi.create({ properties: { dealname: `Customer ${n} Holdings`, amount: String(2000 * n), closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy' }, associations: [] });
      m.deals.push({ id: deal.id, finished: false });
    }
    await this.then?.run(m, r);
  }
  toString = () => `create(${this.count})${this.then ? `+${this.then.toString()}` : ''}`;
}

class EditDeal implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.deals.length > 0;
  async run(m: Model, r: Real) {
    const d = m.deals[this.index % m.deals.length];
    await r.sb.hubspot('acme').crm.deals.basicApi.update(d.id, { properties: { description: `edited ${Date.now()}` } });
  }
  toString = () => `edit(#${this.index})`;
}

/** The registration ran to its end (here: ended by ops) — if its workflow exists yet. */
class Finish implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.deals.length > 0;
  async run(m: Model, r: Real) {
    const d = m.deals[this.index % m.deals.length];
    const desc = await handleOf(r, d.id).describe().catch(() => undefined);
    if (!desc || desc.status.name !== 'RUNNING') return;
    d.runId ??= desc.runId;
    await handleOf(r, d.id).terminate('registration over');
    d.finished = true;
  }
  toString = () => `finish(#${this.index})`;
}

/** One page run of the link (a Temporal activity attempt), crashing at a random point when armed; the next one retries. */
class SyncPage implements fc.AsyncCommand<Model, Real> {
  constructor(readonly crash?: { point: CrashPoint; skip: number }) {}
  check = () => true;
  async run(m: Model, r: Real) {
    r.crash.armed = this.crash && { ...this.crash };
    try {
      await drain(r.engine, r.linkId);
    } catch (e) {
      if (!(e instanceof Crash)) throw e;
      return;
    } finally {
      r.crash.armed = undefined;
    }
    await checkStartedOnce(m, r);
  }
  toString = () => (this.crash ? `sync(crash ${this.crash.point}${this.crash.skip ? ` #${this.crash.skip + 1}` : ''})` : 'sync');
}

/**
 * Every registration the model knows: one run, the first one seen; finished ones stay finished. After
 * a page run that caught up, every registration the ledger has is recorded as started — a deal the
 * feed has not delivered yet (no ledger row) is checked on a later page; `final`: none may be missing.
 */
async function checkStartedOnce(m: Model, r: Real, final = false): Promise<void> {
  for (const d of m.deals) {
    const reg = await r.ledger.registrations.get(registrationId('acme', d.id));
    let why: unknown;
    const desc = await handleOf(r, d.id).describe().catch((e: unknown) => void (why = e));
    if (!desc) {
      const dump = `ledger: ${JSON.stringify(reg)}; dead letters: ${JSON.stringify(await r.ledger.deadLetters.list({ linkId: r.linkId }))}; audit: ${JSON.stringify((await r.ledger.audit.list({ linkId: r.linkId })).filter((a) => a.sourceId === d.id))}`;
      expect(reg, `deal ${d.id} decided without a registration workflow (${String(why)}; ${dump})`).toBeUndefined();
      expect(final, `deal ${d.id} never reached the gate (${dump})`).toBe(false);
      continue;
    }
    d.runId ??= desc.runId;
    expect(desc.runId, `registration of deal ${d.id} was started again`).toBe(d.runId);
    if (d.finished) expect(desc.status.name).toBe('TERMINATED');
    expect(reg?.details?.workflowStarted, `registration of deal ${d.id} recorded as started`).toBe(true);
  }
}

async function runOnce(cmds: Array<fc.AsyncCommand<Model, Real>>): Promise<{ crashed: number; deals: number }> {
  const taskQueue = uniqueQueue('reg-once-prop');
  const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
  const linkId = `acme-once-${tag}`;
  const sb = await startTestSandbox({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 1, opportunities: 0, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
    ],
  }, { uniqueIds: true });
  const conn = sandboxEnv(sb, `RONCEP${tag.toUpperCase()}`);
  const network = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true }
`);
  const ledger = await openLedger({ file: tempLedgerFile() });
  const client = await testClient();
  const crash: CrashState = { crashed: 0 };
  // No worker: the registration workflows only have to exist (and end when the test ends them).
  const engine = new Engine({ network, ledger: crashingLedger(ledger, crash), gateFor: registrationGateFor({ policy: testPolicy(POLICY).policy, client, taskQueue }) });
  const real: Real = { sb, ledger, engine, client, linkId, crash };
  const model: Model = { deals: [] };
  try {
    await fc.asyncModelRun(() => ({ model, real }), cmds);
    // No more crashes: the next pages settle everything.
    await eventually('every deal registered', async () => {
      await drain(engine, linkId);
      for (const d of model.deals) if (!(await ledger.registrations.get(registrationId('acme', d.id)))) return false;
      return true;
    }, { timeoutMs: 10_000 }).catch(() => undefined); // what is still missing fails below, with the ledger's view
    await checkStartedOnce(model, real, true);
    // One execution per registration id, ever (visibility may lag a moment behind).
    for (const d of model.deals) {
      const id = registrationWorkflowId(registrationId('acme', d.id));
      expect(await client.workflow.count(`WorkflowId = '${id}'`).then((c) => c.count), `executions of ${id}`).toBe(1);
    }
    return { crashed: crash.crashed, deals: model.deals.length };
  } finally {
    for (const d of model.deals) await handleOf(real, d.id).terminate('test over').catch(() => undefined);
    await engine.close();
    await ledger.close();
    await sb.stop();
    await client.connection.close();
  }
}

const command = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({ count: fc.integer({ min: 1, max: 3 }), point: fc.constantFrom<CrashPoint | undefined>('afterStart', 'afterStart', 'beforeStart', undefined), skip: fc.nat(2) })
      .map(({ count, point, skip }) => new CreateDeals(count, point ? new SyncPage({ point, skip: skip % count }) : undefined)),
  },
  { weight: 1, arbitrary: fc.nat(10).map((i) => new EditDeal(i)) },
  { weight: 3, arbitrary: fc.nat(10).map((i) => new Finish(i)) },
  { weight: 2, arbitrary: fc.constant(new SyncPage()) },
  { weight: 1, arbitrary: fc.record({ point: fc.constantFrom<CrashPoint>('afterStart', 'beforeStart'), skip: fc.constant(0) }).map((c) => new SyncPage(c)) },
);
/** Commands whose precondition fails where they stand are skipped by asyncModelRun. */
const sequence = fc.array(command, { minLength: 6, maxLength: 14 });

describe('registration workflows start once under random crashes (fast-check, real dev server)', () => {
  it('a crash between starting a registration and recording it never restarts a finished one nor starts two', async () => {
    let n = 0;
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(sequence, async (cmds) => {
        const t0 = Date.now();
        const r = await runOnce(cmds);
        crashes += r.crashed;
        console.log(`run ${++n}: ${cmds.join(', ')} → ${r.deals} deals, ${r.crashed} crashes (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }),
      { numRuns: RUNS, endOnFailure: true, verbose: 2, ...(process.env.COSELL_PROP_SEED ? { seed: Number(process.env.COSELL_PROP_SEED) } : {}) },
    );
    expect(crashes).toBeGreaterThan(0); // the runs did crash where it matters
  }, 300_000);
});
