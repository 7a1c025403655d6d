import { CosellError } from '../lib/errors.js';

/**
 * Options every command spells the same way. `-c/--config` defaults to $COSELL_CONFIG, then
 * cosell.yaml, for every command that reads the network file (read when the program is built, so an
 * in-process caller that sets COSELL_CONFIG sees it).
 */
export const configOption = () => ['-c, --config <file>', 'network file ($COSELL_CONFIG, else cosell.yaml)', process.env.COSELL_CONFIG ?? 'cosell.yaml'] as const;
export const jsonOption = ['--json', 'machine-readable output (one JSON document on stdout)'] as const;
export const limitOption = ['--limit <n>', 'print at most this many rows', '50'] as const;

/** A whole number ≥ 0 from an option value, or a usage error naming the option. */
export function wholeNumber(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new CosellError('COSELL_INPUT_INVALID', `${option} must be a whole number (got "${value}")`);
  return n;
}

/** Print one JSON document (what every `--json` writes). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
