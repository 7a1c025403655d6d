import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { exitCodeOf, isCosellError, toCosellError } from '../lib/errors.js';
import { registerCodecServer } from './codecServer.js';
import { registerConsole } from './console.js';
import { registerMapping } from './mapping.js';
import { registerSync } from './sync.js';
import { registerUp } from './up.js';
import { registerValidate } from './validate.js';
import { registerWorker } from './worker.js';
import { registerSandbox } from './sandbox.js';
import { registerOverlaps } from './overlaps.js';
import { registerRegistrations } from './registrations.js';
import { registerReport } from './report.js';
import { registerAws } from './aws.js';
import { registerSchema } from './schema.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export function buildProgram(): Command {
  // exitOverride and the error output are set before any subcommand exists: commander copies them
  // into each subcommand when it is created, so a usage error inside `cosell sync pause` is thrown
  // to main() (exit 2) like one at the top level, instead of commander exiting 1 on its own.
  const program = new Command('cosell')
    .description('Joint selling over Temporal: keep deals and accounts in sync between a vendor CRM and its partners\' CRMs.')
    .version(version, '-V, --version', 'print the cosell version')
    .exitOverride()
    .showHelpAfterError('(run `cosell --help` for the list of commands, `cosell <command> --help` for one)')
    .showSuggestionAfterError(true);
  registerUp(program);
  registerMapping(program);
  registerWorker(program);
  registerSync(program);
  registerValidate(program);
  registerSandbox(program);
  registerOverlaps(program);
  registerRegistrations(program);
  registerReport(program);
  registerAws(program);
  registerSchema(program);
  registerCodecServer(program);
  registerConsole(program);
  return program;
}

/**
 * Exit codes, the same for every command and subcommand: 0 ok, 1 runtime failure (Temporal, a CRM or
 * the ledger failed or refused), 2 usage or configuration (a bad option or argument, an unknown link,
 * partner, status or registration, an invalid network/mapping/rules file) — see exitCodeOf.
 */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
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
  }
}
