import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { startConsole } from '../console/server.js';
import { hashPassword, loadUsers } from '../console/users.js';
import { connectClient } from '../lib/client.js';
import { loadNetwork } from '../lib/config.js';
import { openEngine, openNetworkLedger } from '../app/engine.js';
import { CosellError } from '../lib/errors.js';
import type { Engine } from '../sync/build.js';

/** Read a password: piped stdin as it is (first line), or typed twice on a terminal without echo. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readFileSync(0, 'utf8').split(/\r?\n/)[0];
  const ask = (prompt: string) =>
    new Promise<string>((resolve) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
      const out = rl as unknown as { _writeToOutput(s: string): void };
      rl.question(prompt, (answer) => (rl.close(), process.stdout.write('\n'), resolve(answer)));
      out._writeToOutput = (s: string) => void (s.startsWith(prompt) ? process.stdout.write(prompt) : undefined);
    });
  const first = await ask('password: ');
  if ((await ask('again: ')) !== first) throw new CosellError('COSELL_INPUT_INVALID', 'the two passwords differ');
  return first;
}

export function registerConsole(program: Command): void {
  const cmd = program.command('console').description('the channel console: review queue, registrations, link health, mappings, overlaps (a web app; prints its URL)');

  cmd
    .command('serve', { isDefault: true })
    .description('serve the console (the default of `cosell console`)')
    .option('-c, --config <file>', 'network file', process.env.COSELL_CONFIG ?? 'cosell.yaml')
    .option('--users <file>', 'console users and roles (YAML, scrypt password hashes)', process.env.COSELL_CONSOLE_USERS ?? 'console-users.yaml')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free one)', '8420')
    .option('--tls-key <file>', 'serve HTTPS with this PEM key (cookies become Secure)')
    .option('--tls-cert <file>', 'and this PEM certificate')
    .option('--trust-proxy', 'behind a TLS-terminating proxy: trust X-Forwarded-* (cookies Secure over its HTTPS)')
    .option('--temporal-ui <url>', 'Temporal Web UI base URL, for links to workflow pages', process.env.COSELL_TEMPORAL_UI)
    .action(async (opts: { config: string; users: string; host: string; port: string; tlsKey?: string; tlsCert?: string; trustProxy?: boolean; temporalUi?: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CosellError('COSELL_INPUT_INVALID', `--port must be a port number, not ${opts.port}`);
      if (Boolean(opts.tlsKey) !== Boolean(opts.tlsCert)) throw new CosellError('COSELL_INPUT_INVALID', '--tls-key and --tls-cert go together');
      const users = loadUsers(opts.users);
      const network = loadNetwork(opts.config);
      const ledger = await openNetworkLedger(network);
      const client = await connectClient();
      let engine: Promise<Engine> | undefined;
      const running = await startConsole(
        {
          network,
          ledger,
          client,
          engine: () => (engine ??= openEngine(network)),
          users,
          temporalUi: opts.temporalUi ? { url: opts.temporalUi.replace(/\/$/, ''), namespace: client.options.namespace } : undefined,
        },
        { host: opts.host, port, trustProxy: opts.trustProxy, tls: opts.tlsKey ? { key: readFileSync(opts.tlsKey, 'utf8'), cert: readFileSync(opts.tlsCert!, 'utf8') } : undefined },
      );
      process.stdout.write(`cosell console: ${running.url}  (${users.users.length} user${users.users.length === 1 ? '' : 's'} from ${opts.users}; Ctrl-C stops it)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await running.stop();
      if (engine) await (await engine).close();
      await ledger.close();
      await client.connection.close();
    });

  cmd
    .command('hash-password')
    .description('print the scrypt hash of a password for the console users file (reads it from stdin, or asks twice on a terminal)')
    .action(async () => {
      process.stdout.write(`${await hashPassword(await readPassword())}\n`);
    });
}
