import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CosellError } from '../lib/errors.js';
import { demoNetworkEnv, exportSandboxEnv, shellExports } from '../app/sandboxEnv.js';
import { loadSandboxConfig } from '../app/sandboxConfig.js';
import { startInbox, type Inbox } from '@cosell/sandbox/inbox';
import { startSandbox } from '@cosell/sandbox';

/**
 * `cosell sandbox [--config FILE] [--seed N] [--json]`: host the emulated CRMs until SIGTERM/SIGINT.
 * With --json it prints exactly one JSON line once every org listens:
 *   {"orgs": {"<id>": {"kind": "salesforce", "instanceUrl", "accessToken", "clientId", "clientSecret", ...}
 *                   | {"kind": "hubspot", "basePath", "accessToken"}}}
 * With --write-env (not --env-file: Node 20 reads that flag anywhere on its command line) it also runs
 * the notifications inbox and writes what examples/network.yaml references — the COSELL_<ORG>_*
 * connection variables, the inbox's webhook URLs, the partnerships' account-mapping keys — as `export …`
 * lines (owner-only) for workers in other processes or containers to source (compose.yaml:
 * deploy/cosell-env.sh). Written whole, then renamed: a reader never sees half of it.
 */
export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('run the emulated Salesforce orgs and HubSpot portals (the demo network by default)')
    .option('--config <file>', 'sandbox config (YAML or JSON); default: the demo network')
    .option('--seed <n>', 'seed for the generated data')
    .option('--persist <file>', 'save the data to this file on stop and reload it on start')
    .option('--json', 'print the connection info as one JSON line once ready')
    .option('--write-env <file>', 'once ready, write what examples/network.yaml reads (the orgs\' connection variables, the notifications inbox\'s webhook URLs, account-mapping keys) as `export …` lines to this file')
    .action(async (opts: { config?: string; seed?: string; persist?: string; json?: boolean; writeEnv?: string }) => {
      const seed = opts.seed === undefined ? undefined : Number(opts.seed);
      if (seed !== undefined && !Number.isInteger(seed)) throw new CosellError('COSELL_CONFIG_INVALID', `--seed must be an integer, got "${opts.seed}"`);
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const sandbox = await startSandbox({ config: opts.config === undefined ? undefined : loadSandboxConfig(opts.config), seed, persistFile: opts.persist });
      let inbox: Inbox | undefined;
      try {
        if (opts.writeEnv) {
          inbox = await startInbox();
          const vars: Record<string, string> = {};
          exportSandboxEnv(sandbox.orgs, 'COSELL', vars);
          Object.assign(vars, demoNetworkEnv(inbox));
          writeFileSync(`${opts.writeEnv}.tmp`, shellExports(vars), { mode: 0o600 });
          renameSync(`${opts.writeEnv}.tmp`, opts.writeEnv);
        }
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
        await inbox?.stop();
        await sandbox.stop();
      }
    });
}
