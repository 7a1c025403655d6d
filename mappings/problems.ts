import type { ProblemCode as AnyProblemCode } from '../lib/errors.js';

/** The mapping files' problem codes: the MAP_ part of the one catalogue (lib/errors.ts ProblemCodes). */
export type ProblemCode = Extract<AnyProblemCode, `MAP_${string}`>;

export { formatProblem, formatProblems, hasErrors, sortProblems } from '../lib/problems.js';
