/**
 * The one positioned problem of every config-like file cosell reads (network, mappings, policy,
 * console users, sandbox config) and the one way it is printed, so `cosell validate`, the worker's
 * start-up check, thrown errors and editors all say the same thing the same way.
 */
export type Severity = 'error' | 'warning';

export interface Problem {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
  code: string;
  severity: Severity;
  message: string;
  hint?: string;
}

/** `file:line:col: CODE: message` (warnings say so), plus an indented `hint:` line when there is one. */
export function formatProblem(p: Problem): string {
  const head = `${p.file}:${p.line}:${p.col}: ${p.code}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
  return p.hint ? `${head}\n    hint: ${p.hint}` : head;
}

export function formatProblems(problems: Problem[]): string {
  return problems.map(formatProblem).join('\n');
}

export function hasErrors(problems: Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** In reading order: file, then position, then code (stable output for tests and diffs). */
export function sortProblems<P extends Problem>(problems: P[]): P[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.code.localeCompare(b.code));
}
