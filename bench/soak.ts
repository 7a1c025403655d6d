/**
 * `npm run bench:soak`: the convergence test's long form (test/convergence/). Random sequences of CRM
 * operations — creates, two-way edits, conflicts, rapid flips, registration races, amount raises,
 * deal moves, merges, deletes, worker SIGKILLs — against the sandbox, with real `cosell worker`
 * processes on a real Temporal dev server (app/devServer.ts), every invariant checked after every
 * settle, for COSELL_SOAK_MINUTES (default 30). Prints operations run, sequences, invariant checks
 * passed and, on a failure, the seed, the failing invariant, the operations and the replay command.
 *
 * Env: COSELL_SOAK_MINUTES (30), COSELL_SOAK_OPS=create,flip,… (only these operations), COSELL_SOAK_SEED (replay one sequence and stop), COSELL_SOAK_EPOCHS
 * (epochs per sequence, 12), COSELL_SOAK_ALL=0 (the CI scope: leave out what scope.ts excludes),
 * COSELL_SOAK_KEEP_GOING=1 (start new sequences after a failing one, to collect
 * every failing seed of the run), COSELL_SOAK_DIAGNOSE=1 (carry on after a failing epoch; later
 * failures may be knock-on), COSELL_SOAK_PERMISSIVE=0|1 (the vendor→partner
 * mapping with / without its partner filter; default: without). Writes bench/results/soak.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '../app/devServer.js';
import { workflowBundleFile } from '../app/worker.js';
import { newSeed } from '../test/convergence/random.js';
import { INVARIANTS, OP_KINDS, runSequence, type Invariant, type OpKind, type SequenceReport } from '../test/convergence/run.js';
import { CI_EXCLUDED_INVARIANTS, CI_EXCLUDED_OPS, describeReport, PERMISSIVE_MAPPING_IN_CI } from '../test/convergence/scope.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MINUTES = Number(process.env.COSELL_SOAK_MINUTES ?? 30);
const REPLAY = process.env.COSELL_SOAK_SEED ? Number(process.env.COSELL_SOAK_SEED) : undefined;
const EPOCHS = Number(process.env.COSELL_SOAK_EPOCHS ?? 12);
const ALL = process.env.COSELL_SOAK_ALL !== '0';
const KEEP_GOING = process.env.COSELL_SOAK_KEEP_GOING === '1';
const DIAGNOSE = process.env.COSELL_SOAK_DIAGNOSE === '1';

const ONLY = process.env.COSELL_SOAK_OPS?.split(',').map((x) => x.trim()).filter(Boolean);
for (const k of ONLY ?? []) if (!(OP_KINDS as readonly string[]).includes(k)) throw new Error(`COSELL_SOAK_OPS: no operation "${k}" (operations: ${OP_KINDS.join(', ')})`);
const ops = (ONLY ?? (ALL ? OP_KINDS : OP_KINDS.filter((k) => !(k in CI_EXCLUDED_OPS)))) as OpKind[];
const invariants = (ALL ? INVARIANTS : INVARIANTS.filter((k) => !(k in CI_EXCLUDED_INVARIANTS))) as Invariant[];
const permissive = process.env.COSELL_SOAK_PERMISSIVE ? process.env.COSELL_SOAK_PERMISSIVE !== '0' : ALL ? true : PERMISSIVE_MAPPING_IN_CI;

const stamp = () => new Date().toISOString().slice(11, 19);
const say = (line: string) => console.log(`[${stamp()}] ${line}`);

say(`soak: ${REPLAY !== undefined ? `replaying seed ${REPLAY}` : `${MINUTES} min`}; operations: ${ops.join(', ')}; invariants: ${invariants.join(', ')}; vendor→partner mapping ${permissive ? 'without' : 'with'} its partner filter`);
if (!ALL) for (const [k, why] of Object.entries({ ...CI_EXCLUDED_OPS, ...CI_EXCLUDED_INVARIANTS })) say(`soak: EXCLUDED ${k}: ${why}`);

const [server, bundlePath] = await Promise.all([startDevServer({ ui: false }), workflowBundleFile()]);
// A sequence that crashed can leave a call in flight on the client it closed ("Channel has been shut
// down"); that late rejection belongs to the crashed sequence, already reported, and must not end the
// soak before the next sequence. Recorded in the summary, never swallowed silently.
const lateRejections: string[] = [];
process.on('unhandledRejection', (e) => {
  const text = (e as Error)?.stack ?? String(e);
  lateRejections.push(text);
  say(`late rejection (recorded, soak goes on): ${text.split('\n')[0]}`);
});
const deadline = Date.now() + MINUTES * 60_000;
const reports: SequenceReport[] = [];
let crashed: string | undefined;
try {
  do {
    const seed = REPLAY ?? newSeed();
    say(`sequence ${reports.length + 1}: seed ${seed} (replay: COSELL_SOAK_SEED=${seed} npm run bench:soak)`);
    try {
      const r = await runSequence({
        seed, epochs: EPOCHS, opsPerEpoch: [2, 5], ops, invariants, permissiveVendorMapping: permissive,
        temporalAddress: server.address, workflowBundlePath: bundlePath, log: (l) => say(`  ${l}`), keepGoing: DIAGNOSE,
      });
      reports.push(r);
      say(describeReport(r));
      if (r.failures.length && !KEEP_GOING) break;
    } catch (e) {
      // The harness itself failed (e.g. links never caught up): that is a failure of the run too.
      crashed = `seed ${seed}: ${(e as Error).stack ?? String(e)}`;
      say(`sequence crashed: ${crashed}\n  replay: COSELL_SOAK_SEED=${seed} npm run bench:soak`);
      if (!KEEP_GOING) break;
    }
  } while (REPLAY === undefined && Date.now() < deadline);
} finally {
  await server.stop();
}

const failed = reports.filter((r) => r.failures.length);
const summary = {
  minutes: MINUTES,
  ranMinutes: Number((reports.reduce((s, r) => s + r.ms, 0) / 60_000).toFixed(1)),
  sequences: reports.length,
  operations: reports.reduce((s, r) => s + r.operations, 0),
  opsByKind: reports.reduce<Record<string, number>>((acc, r) => {
    for (const [k, n] of Object.entries(r.opsByKind)) acc[k] = (acc[k] ?? 0) + (n ?? 0);
    return acc;
  }, {}),
  epochs: reports.reduce((s, r) => s + r.epochs, 0),
  workerKills: reports.reduce((s, r) => s + r.kills, 0),
  invariantChecksPassed: reports.reduce((s, r) => s + r.checksPassed, 0),
  failures: failed.map((r) => ({ seed: r.seed, invariants: [...new Set(r.failures.map((f) => f.invariant))], first: r.failures[0], replay: `COSELL_SOAK_SEED=${r.seed} npm run bench:soak` })),
  crashed,
  lateRejections,
  operationsRun: ops,
  invariantsChecked: invariants,
  excluded: ALL ? {} : { ...CI_EXCLUDED_OPS, ...CI_EXCLUDED_INVARIANTS },
  permissiveVendorMapping: permissive,
  at: new Date().toISOString(),
};
mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results', 'soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
say(`soak: ${summary.sequences} sequences, ${summary.operations} operations, ${summary.epochs} epochs, ${summary.workerKills} worker kills, ${summary.invariantChecksPassed} invariant checks passed, ${failed.length} failing sequences${crashed ? ', harness crashed' : ''}${lateRejections.length ? `, ${lateRejections.length} late rejections` : ''} → bench/results/soak.json`);
process.exitCode = failed.length || crashed ? 1 : 0;
