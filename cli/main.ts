import { Command, CommanderError } from 'commander';
import { isCosellError, toCosellError } from '../lib/errors.js';
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

export function buildProgram(): Command {
  const program = new Command('cosell')
    .description('Joint selling over Temporal: keep deals and accounts in sync between a vendor CRM and its partners\' CRMs.')
    .showHelpAfterError('(run `cosell --help` for the list of commands)')
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
  registerCodecServer(program);
  registerConsole(program);
  return program;
}

/** Exit codes: 0 ok, 1 runtime failure, 2 invalid input (config, mapping, usage). */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    const err = toCosellError(e);
    process.stderr.write(`cosell: ${isCosellError(e) ? err.describe() : err.message}\n`);
    process.exitCode = err.code.includes('INVALID') ? 2 : 1;
  }
}
