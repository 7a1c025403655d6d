import { main as cosellMain } from '../../cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the cosell CLI in this process (the same main() bin/cosell.js calls), with `env` set for the run
 * only; returns the exit code main() set and what it printed. Much cheaper than a child process (tsx
 * compiles the sources once per test file, not per command).
 */
export async function runCliInProcess(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  process.stdout.write = ((c: unknown) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: unknown) => (err.push(String(c)), true)) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await cosellMain(['node', 'cosell', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    process.exitCode = 0;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
