import { Checker, INVARIANTS, Observed, type Failure, type Invariant } from './invariants.js';
import { Model } from './model.js';
import { OP_KINDS, Operations, type AppliedOp, type OpKind } from './ops.js';
import { Random } from './random.js';
import { SCHEDULE_S, sleep, World, type WorldOptions } from './world.js';

/**
 * One random sequence end to end: start a world, then per epoch pause the links, apply a few random
 * operations in the CRMs, resume, let the network settle (sync rounds until a round writes nothing,
 * a worker SIGKILLed in the middle when the epoch asks for it), check every invariant, and prove an
 * idle period writes nothing. Stops at the first epoch that breaks an invariant.
 */
export interface SequenceOptions extends Omit<WorldOptions, 'log'> {
  seed: number;
  epochs: number;
  opsPerEpoch: [number, number];
  ops: readonly OpKind[];
  invariants: readonly Invariant[];
  log?: (line: string) => void;
  /** Start no further epoch once this long has passed since the sequence started (after `minEpochs`). */
  budgetMs?: number;
  minEpochs?: number;
  /** Carry on after an epoch that broke an invariant (to see more than the first bug; later failures may be knock-on). */
  keepGoing?: boolean;
}

export interface SequenceReport {
  seed: number;
  epochs: number;
  operations: number;
  opsByKind: Partial<Record<OpKind, number>>;
  checksPassed: number;
  kills: number;
  failures: Failure[];
  /** The operations that ran, epoch by epoch (printed with a failure). */
  history: string[];
  ms: number;
}

/** A settle gives up after this many sync rounds that all still wrote something: that is ping-pong. */
const MAX_ROUNDS = 8;

export async function runSequence(opts: SequenceOptions): Promise<SequenceReport> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const rnd = new Random(opts.seed);
  const world = await World.start({ ...opts, log });
  const model = new Model();
  const checker = new Checker(world, model, new Set(opts.invariants));
  const ops = new Operations(world, model, rnd, opts.ops);
  const report: SequenceReport = { seed: opts.seed, epochs: 0, operations: 0, opsByKind: {}, checksPassed: 0, kills: 0, failures: [], history: [], ms: 0 };
  try {
    report.failures.push(...(await settle(world, checker, rnd, false, log)));
    for (let e = 1; e <= opts.epochs && (opts.keepGoing || report.failures.length === 0); e++) {
      if (opts.budgetMs && e > (opts.minEpochs ?? 1) && Date.now() - started > opts.budgetMs) break;
      await world.pauseAll();
      const { ops: applied, kill } = await ops.epoch(rnd.int(opts.opsPerEpoch[0], opts.opsPerEpoch[1]));
      record(report, e, applied, log);
      await world.resumeAll(shuffle(rnd, world.linkIds), rnd.int(0, 400));
      const failures = await settle(world, checker, rnd, kill, log);
      model.resolveEpoch();
      if (failures.length === 0) {
        const observed = await Observed.read(world);
        checker.learn(observed);
        failures.push(...checker.check(observed));
      }
      if (failures.length === 0) failures.push(...(await idle(world, checker)));
      report.epochs = e;
      for (const x of failures) log(`epoch ${e}: FAILED ${x.invariant}: ${x.detail}`);
      report.failures.push(...failures.map((x) => ({ ...x, detail: `epoch ${e}: ${x.detail}` })));
    }
  } finally {
    report.kills = world.kills;
    report.checksPassed = checker.passed;
    report.ms = Date.now() - started;
    await world.stop().catch((e: unknown) => log(`world stop: ${(e as Error).message}`));
  }
  return report;
}

function shuffle<T>(rnd: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function record(report: SequenceReport, epoch: number, applied: AppliedOp[], log: (l: string) => void): void {
  for (const op of applied) {
    report.operations++;
    report.opsByKind[op.kind] = (report.opsByKind[op.kind] ?? 0) + 1;
    const line = `epoch ${epoch}: ${op.kind.padEnd(13)} ${op.text}`;
    report.history.push(line);
    log(line);
  }
}

/** Sync rounds until one writes nothing (the worker SIGKILLed during the first when asked). */
async function settle(world: World, checker: Checker, rnd: Random, kill: boolean, log: (l: string) => void): Promise<Failure[]> {
  const t0 = Date.now();
  let before = await world.writes();
  const first = before.total;
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const killNow = kill && round === 1;
    await world.syncRound(120_000, killNow ? async () => (await sleep(rnd.int(0, 1500)), await world.killWorker()) : undefined);
    const after = await world.writes();
    if (after.total === before.total && round > 1) {
      log(`settled in ${round} rounds, ${((Date.now() - t0) / 1000).toFixed(1)} s, ${after.total - first} writes${killNow || kill ? ', worker SIGKILLed and replaced' : ''}`);
      return [];
    }
    if (round === MAX_ROUNDS) {
      const pass = checker.enabled.has('ping-pong');
      return pass ? [{ invariant: 'ping-pong', detail: `still writing after ${MAX_ROUNDS} sync rounds: last round ${JSON.stringify(delta(before, after))}` }] : [];
    }
    before = after;
  }
  return [];
}

/** After settle: two schedule periods of idling and one more forced round must write nothing. */
async function idle(world: World, checker: Checker): Promise<Failure[]> {
  if (!checker.enabled.has('ping-pong')) return [];
  const before = await world.writes();
  await sleep(2 * SCHEDULE_S * 1000);
  await world.syncRound();
  const after = await world.writes();
  if (after.total === before.total) {
    checker.passed++;
    return [];
  }
  return [{ invariant: 'ping-pong', detail: `${after.total - before.total} writes while idle after settle: ${JSON.stringify(delta(before, after))}` }];
}

function delta(a: Awaited<ReturnType<World['writes']>>, b: Awaited<ReturnType<World['writes']>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [org, s] of Object.entries(b.byOrg)) {
    for (const [route, n] of Object.entries(s.writesByRoute)) {
      const d = n - (a.byOrg[org]?.writesByRoute[route] ?? 0);
      if (d) out[`${org} ${route}`] = d;
    }
  }
  return out;
}

export { INVARIANTS, OP_KINDS };
export type { Invariant, OpKind };
