import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { log } from './logger.js';
import { freePort } from './ports.js';

/**
 * The Temporal SDK's Runtime (its Rust core) is a process-wide singleton: `Runtime.install` works only
 * while none exists — not after a Worker or NativeConnection made one implicitly, nor twice. It is
 * dropped again when its last worker and connection close, and the next one is then made from the
 * options last installed. So cosell installs it in one place, before anything native starts, and
 * tolerates finding one already there (a demo or a test that started a worker first).
 *
 * With metrics wanted, the runtime gets a Prometheus exporter. The SDK binds that server itself and
 * cannot report a port the OS picked, so it listens on a loopback port chosen here (a probe: another
 * process may take the port before the SDK binds it, which fails the install — then we pick again,
 * as app/devServer.ts does). The ops server (lib/opsServer.ts) reads it and merges it into its own
 * /metrics: one scrape target, and the exporter never faces the network.
 */

let metricsAddress: string | undefined;
let metricsWanted = false;
let warnedUnavailable = false;

const quietLogger = () => new DefaultLogger('WARN', (entry) => log.warn({ sdk: entry.meta }, entry.message));

export interface RuntimeMetricsState {
  /** host:port of the runtime's own Prometheus exporter (absent: no runtime metrics in this process). */
  address?: string;
}

/**
 * Install the Temporal runtime (quiet logger; with `metrics`, the Prometheus exporter) unless one is
 * already installed. Once metrics were asked for in this process, every later install (after the
 * runtime was dropped) keeps them.
 */
export async function installRuntime(opts: { metrics?: boolean } = {}): Promise<RuntimeMetricsState> {
  if (opts.metrics) metricsWanted = true;
  for (let attempt = 1; ; attempt++) {
    const address = metricsWanted ? `127.0.0.1:${await freePort()}` : undefined;
    try {
      Runtime.install({
        logger: quietLogger(),
        ...(address ? { telemetryOptions: { metrics: { prometheus: { bindAddress: address } } } } : {}),
      });
      metricsAddress = address;
      return { address };
    } catch (e) {
      if (e instanceof IllegalStateError) {
        // Someone made the runtime before us: whatever it was made with stays until it is dropped.
        if (opts.metrics && !metricsAddress && !warnedUnavailable) {
          warnedUnavailable = true;
          log.warn('the Temporal runtime was created before metrics were asked for: /metrics serves cosell\'s series only (start the ops server before any worker or connection)');
        }
        return { address: metricsAddress };
      }
      if (address && /address already in use/i.test(String((e as Error)?.message)) && attempt < 5) continue;
      throw e;
    }
  }
}

/** Where the runtime's exporter listens now (undefined when this process runs without runtime metrics). */
export function runtimeMetricsAddress(): string | undefined {
  return metricsAddress;
}
