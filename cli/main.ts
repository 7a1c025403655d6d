import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { exitCodeOf, isCosellError, toCosellError } from '../lib/errors.js';
import { PACKAGE_ROOT } from '../lib/packagePaths.js';
import { activeTracing, startTracing, tracingSettings } from '../lib/tracing.js';

/**
 * Each top-level command's module, loaded only when needed: a command module pulls in its whole stack
 * (the Temporal SDK, jsforce, the sandbox…), and loading all of them made every `cosell` call — even
 * `--help` for one command — pay ~3.5 s of module loading.
 */
const COMMANDS: Array<{ names: string[]; load: () => Promise<(program: Command) => void> }> = [
  { names: ['up'], load: async () => (await import('./up.js')).registerUp },
  { names: ['mapping'], load: async () => (await import('./mapping.js')).registerMapping },
  { names: ['worker'], load: async () => (await import('./worker.js')).registerWorker },
  { names: ['status', 'sync', 'deadletters'], load: async () => (await import('./sync.js')).registerSync },
  { names: ['validate'], load: async () => (await import('./validate.js')).registerValidate },
  { names: ['sandbox'], load: async () => (await import('./sandbox.js')).registerSandbox },
  { names: ['overlaps'], load: async () => (await import('./overlaps.js')).registerOverlaps },
  { names: ['registrations', 'reg'], load: async () => (await import('./registrations.js')).registerRegistrations },
  { names: ['report'], load: async () => (await import('./report.js')).registerReport },
  { names: ['aws'], load: async () => (await import('./aws.js')).registerAws },
  { names: ['schema'], load: async () => (await import('./schema.js')).registerSchema },
  { names: ['codec-server'], load: async () => (await import('./codecServer.js')).registerCodecServer },
  { names: ['console'], load: async () => (await import('./console.js')).registerConsole },
];

// package.json is beside the sources in a checkout and beside dist/ in the package (lib/packagePaths.ts).
const { version } = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

/**
 * The program with every command, or — given the arguments of one invocation — with only the command
 * they name (none for `cosell --version`; all of them when they name none: `cosell --help`, a typo that
 * needs suggestions).
 */
export async function buildProgram(argv?: string[]): Promise<Command> {
  // exitOverride and the error output are set before any subcommand exists: commander copies them
  // into each subcommand when it is created, so a usage error inside `cosell sync pause` is thrown
  // to main() (exit 2) like one at the top level, instead of commander exiting 1 on its own.
  const program = new Command('cosell')
    .description('Joint selling over Temporal: keep deals and accounts in sync between a vendor CRM and its partners\' CRMs.')
    .version(version, '-V, --version', 'print the cosell version')
    .exitOverride()
    .showHelpAfterError('(run `cosell --help` for the list of commands, `cosell <command> --help` for one)')
    .showSuggestionAfterError(true);
  const args = argv?.slice(2);
  const named = args?.find((a) => !a.startsWith('-'));
  const only = COMMANDS.find((c) => named !== undefined && c.names.includes(named));
  const versionOnly = named === undefined && args?.some((a) => a === '-V' || a === '--version');
  for (const c of only ? [only] : versionOnly ? [] : COMMANDS) (await c.load())(program);
  return program;
}

/**
 * Exit codes, the same for every command and subcommand: 0 ok, 1 runtime failure (Temporal, a CRM or
 * the ledger failed or refused), 2 usage or configuration (a bad option or argument, an unknown link,
 * partner, status or registration, an invalid network/mapping/rules file) — see exitCodeOf.
 */
export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv);
  try {
    // OTEL_* asking for traces: this command's Temporal calls are spans, so a workflow it starts or
    // signals joins its trace (lib/tracing.ts); `cosell worker --traces` can also ask (cli/worker.ts).
    const traces = tracingSettings();
    if (traces) await startTracing(traces, { command: argv.slice(2).find((a) => !a.startsWith('-')) });
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; every usage error commander finds is 2.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    const err = toCosellError(e);
    process.stderr.write(`cosell: ${isCosellError(e) ? err.describe() : err.message}\n`);
    process.exitCode = exitCodeOf(err.code);
  } finally {
    await activeTracing()?.shutdown();
  }
}
