import { readFileSync } from 'node:fs';
import { CosellError, type ErrorCode, type ProblemCode } from './errors.js';
import { formatProblem, type Problem } from './problems.js';

/**
 * Reading the files an admin writes (network, policy, mappings, console users, sandbox): one way to
 * say a file cannot be read — a positioned problem at 1:1 with the OS reason and how to fix it — so
 * `cosell validate`, the worker's start-up check and every loader say it alike.
 */
export type ConfigText = { text: string; problem?: undefined } | { text?: undefined; problem: Problem };

export function readConfigText(file: string, what: string, code: ProblemCode, hint: string): ConfigText {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return { problem: { file, line: 1, col: 1, code, severity: 'error', message: `cannot read ${what} ${file} (${reason})`, hint } };
  }
}

/** The error a loader throws when a file has problems (each printed on its own, with its position). */
export function invalidFile(code: ErrorCode, problems: Problem[]): CosellError {
  return new CosellError(code, problems.map(formatProblem).join('\n'), { details: { problems } });
}

/** Read a file or throw `code` saying why (for loaders that throw rather than return problems). */
export function configTextOrThrow(file: string, what: string, codes: { error: ErrorCode; problem: ProblemCode }, hint: string): string {
  const read = readConfigText(file, what, codes.problem, hint);
  if (read.problem) throw invalidFile(codes.error, [read.problem]);
  return read.text;
}
