import { describe, expect, inject, it } from 'vitest';
import { INVARIANTS, OP_KINDS, runSequence, type Invariant, type OpKind } from './run.js';
import { newSeed } from './random.js';
import { CI_EXCLUDED_INVARIANTS, CI_EXCLUDED_OPS, describeReport, PERMISSIVE_MAPPING_IN_CI } from './scope.js';

/**
 * The model-based convergence test ("Jepsen for CRM sync"), CI size: a few short random sequences of
 * CRM operations against the sandbox, real workers on the real Temporal dev server, invariants
 * checked after every settle (test/convergence/README.md). The long form is `npm run bench:soak`.
 * COSELL_SOAK_SEED=<seed> replays one sequence.
 */
const SEQUENCES = Number(process.env.COSELL_CONVERGENCE_SEQUENCES ?? 2);
const EPOCHS = Number(process.env.COSELL_CONVERGENCE_EPOCHS ?? 6);
/** Each sequence starts no new epoch after this (at least 1 runs): the file stays near 3 minutes on a busy machine. */
const BUDGET_MS = Number(process.env.COSELL_CONVERGENCE_BUDGET_MS ?? 75_000);
const replay = process.env.COSELL_SOAK_SEED ? Number(process.env.COSELL_SOAK_SEED) : undefined;
const seeds = replay !== undefined ? [replay] : Array.from({ length: SEQUENCES }, () => newSeed());

const ops = OP_KINDS.filter((k) => !(k in CI_EXCLUDED_OPS)) as OpKind[];
const invariants = INVARIANTS.filter((k) => !(k in CI_EXCLUDED_INVARIANTS)) as Invariant[];

// The sequences run side by side (each its own sandbox, worker process and links): CI stays ≤ 3 minutes.
for (const [k, why] of Object.entries(CI_EXCLUDED_OPS)) console.log(`convergence: operation "${k}" EXCLUDED in CI: ${why}`);
for (const [k, why] of Object.entries(CI_EXCLUDED_INVARIANTS)) console.log(`convergence: invariant "${k}" EXCLUDED in CI: ${why}`);
if (!PERMISSIVE_MAPPING_IN_CI) console.log('convergence: vendor → partner mapping WITH its partner filter in CI (the engine\'s own partner scope is not on main)');
console.log(`convergence: operations ${ops.join(', ')}; invariants ${invariants.join(', ')}`);

describe.concurrent('convergence (model-based, randomized)', () => {
  for (const seed of seeds) {
    it(`seed ${seed}: random operations settle to the model, every invariant holds`, async () => {
      console.log(`convergence: seed ${seed} (replay: COSELL_SOAK_SEED=${seed} npx vitest run test/convergence/)`);
      const report = await runSequence({
        seed,
        epochs: EPOCHS,
        budgetMs: replay === undefined ? BUDGET_MS : undefined,
        minEpochs: 1,
        opsPerEpoch: [2, 4],
        ops,
        invariants,
        permissiveVendorMapping: PERMISSIVE_MAPPING_IN_CI,
        temporalAddress: inject('temporalAddress'),
        workflowBundlePath: inject('workflowBundlePath'),
        log: (l) => console.log(`convergence ${seed}: ${l}`),
      });
      console.log(describeReport(report));
      expect(report.failures, describeReport(report)).toEqual([]);
      expect(report.checksPassed).toBeGreaterThan(0);
    }, 290_000); // ~2 min on an idle machine; the margin is for a loaded one (world start alone can take 100 s)
  }
});
