import type { SequenceReport } from './run.js';
import type { Invariant } from './invariants.js';
import type { OpKind } from './ops.js';

/**
 * What the CI-sized run leaves out, and why: only operations and invariants whose fixes (issue #12)
 * are on main run in CI, so CI is green without hiding anything — each exclusion is printed by the
 * test. `npm run bench:soak` runs everything (COSELL_SOAK_ALL=0 gives it this CI scope instead).
 * Remove an entry as soon as its fix lands. Empty now: CI runs every operation and invariant (the
 * mechanism stays, so a newly found open bug can be excluded visibly rather than silently).
 */
export const CI_EXCLUDED_OPS: Partial<Record<OpKind, string>> = {};

// `race` was excluded for seeds 86446722 and 1937672808: a later-created deal read first was auto-approved
// before the earlier one was seen on the other partner's link (fixed: registrations/firstToRegister.ts; regression
// test test/registrations/race.e2e.test.ts).
// `moveOnly` was excluded (seed 219388616): a deal moved to another company by its association alone was
// never re-read — HubSpot's search feed does not see association changes. The association reconciler
// (sync/associationDrift.ts) and associationChange webhooks on change streams fixed it.
// `convergence` was excluded for seeds 1181339356 and 1144309237: the first was a model bug (fixed close
// dates in 2027 crossed the policy's 365-day far-out rule from December 2026 on: ops.ts value()), the
// second an engine bug (one-way copies of a round-trip field never followed: sync/page.ts baseOf,
// regression test test/sync/oneWayFields.e2e.test.ts). Seed 1411463240 (a fresh-clone CI run) found that
// a merge into a company the same partner already holds left the opportunity on the merged-away account:
// the re-decided (later, rejected) registration protected every field, the parent reference too
// (registrations/gate.ts: a held in-pipeline opportunity still follows its parent).
export const CI_EXCLUDED_INVARIANTS: Partial<Record<Invariant, string>> = {};

/**
 * The vendor → partner mapping without its partner filter: isolation must hold through the engine's
 * partner scope (sync/partnerScope.ts), not through the mapping.
 */
export const PERMISSIVE_MAPPING_IN_CI = true;

export function describeReport(r: SequenceReport): string {
  const kinds = Object.entries(r.opsByKind).map(([k, n]) => `${k} ${n}`).join(', ');
  const head = `seed ${r.seed}: ${r.operations} operations (${kinds}) in ${r.epochs} epochs, ${r.kills} worker kills, ${r.checksPassed} invariant checks passed, ${r.failures.length} failures, ${(r.ms / 1000).toFixed(0)} s`;
  if (r.failures.length === 0) return head;
  return [
    head,
    ...r.failures.slice(0, 20).map((f) => `  FAILED ${f.invariant}: ${f.detail}`),
    ...(r.failures.length > 20 ? [`  … ${r.failures.length - 20} more`] : []),
    '  operations:',
    ...r.history.map((h) => `    ${h}`),
    `  replay: COSELL_SOAK_SEED=${r.seed} npx vitest run test/convergence/   (or: COSELL_SOAK_SEED=${r.seed} npm run bench:soak)`,
  ].join('\n');
}
