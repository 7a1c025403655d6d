import type { Command } from 'commander';
import { CosellError } from '../lib/errors.js';
import { startSandbox } from '../sandbox/index.js';

/**
 * `cosell sandbox [--config FILE] [--seed N] [--json]`: host the emulated CRMs until SIGTERM/SIGINT.
 * With --json it prints exactly one JSON line once every org listens:
 *   {"orgs": {"<id>": {"kind": "salesforce", "instanceUrl", "accessToken", "clientId", "clientSecret", ...}
 *                   | {"kind": "hubspot", "basePath", "accessToken"}}}
 */
export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('run the emulated Salesforce orgs and HubSpot portals (the demo network by default)')
    .option('--config <file>', 'sandbox config (YAML or JSON); default: the demo network')
    .option('--seed <n>', 'seed for the generated data')
    .option('--persist <file>', 'save the data to this file on stop and reload it on start')
    .option('--json', 'print the connection info as one JSON line once ready')
    .action(async (opts: { config?: string; seed?: string; persist?: string; json?: boolean }) => {
      const seed = opts.seed === undefined ? undefined : Number(opts.seed);
      if (seed !== undefined && !Number.isInteger(seed)) throw new CosellError('COSELL_CONFIG_INVALID', `--seed must be an integer, got "${opts.seed}"`);
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const sandbox = await startSandbox({ config: opts.config, seed, persistFile: opts.persist });
      try {
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ orgs: sandbox.orgs })}\n`);
        } else {
          const lines = ['', 'cosell sandbox is up.', ''];
          for (const [id, info] of Object.entries(sandbox.orgs)) {
            const base = info.kind === 'salesforce' ? info.instanceUrl : info.kind === 'hubspot' ? info.basePath : info.endpoint;
            lines.push(`  ${id.padEnd(12)} ${info.kind.padEnd(10)} ${base.padEnd(26)} page ${sandbox.pages[id]}`);
          }
          lines.push('', '  Connection details (tokens, client ids): cosell sandbox --json', '  Press Ctrl-C to stop.', '');
          process.stdout.write(lines.join('\n'));
        }
        await stopped;
      } finally {
        await sandbox.stop();
      }
    });
}
