import type { Command } from 'commander';
import { startCodecServer } from '../lib/codecServer.js';
import { CosellError } from '../lib/errors.js';
import { log, registerSecret } from '../lib/logger.js';

/**
 * `cosell codec-server`: decode (and encode) encrypted history for the Temporal Web UI and the
 * temporal CLI, with the workers' keys (COSELL_PAYLOAD_KEY*). Loopback only; see lib/codecServer.ts.
 */
export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description('serve POST /decode and /encode on 127.0.0.1 for the Temporal Web UI (--ui-codec-endpoint) and the temporal CLI (--codec-endpoint), with the payload keys; COSELL_CODEC_TOKEN, when set, is required as Authorization')
    .option('--port <port>', 'port on 127.0.0.1', '8888')
    .option('--ui-origin <origin...>', 'Web UI origins allowed to call it from a browser', ['http://localhost:8233', 'http://127.0.0.1:8233'])
    .action(async (opts: { port: string; uiOrigin: string[] }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CosellError('COSELL_INPUT_INVALID', `--port ${opts.port} is not a TCP port`);
      const token = process.env.COSELL_CODEC_TOKEN || undefined;
      if (token) registerSecret(token);
      const server = await startCodecServer({ port, origins: opts.uiOrigin, token });
      process.stdout.write(`codec server on ${server.url} (for ${opts.uiOrigin.join(', ')}${token ? '; Authorization required' : ''})\n  temporal server start-dev --ui-codec-endpoint ${server.url}\n  temporal workflow show -w ID --codec-endpoint ${server.url}${token ? ' --codec-auth "$COSELL_CODEC_TOKEN"' : ''}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.stop();
      log.info('codec server stopped');
    });
}
