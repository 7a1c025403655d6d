import Fastify, { type FastifyInstance } from 'fastify';
import { pushEndpoints, type LoadedNetwork } from '../lib/config.js';
import { log } from '../lib/logger.js';
import { resolveSecret } from '../lib/secrets.js';
import type { Ledger } from '../ledger/index.js';
import { PushForwarder, type ForwarderOptions } from './forwarder.js';
import { registerHubspotReceiver, type ReceiverStats } from './hubspot/receiver.js';
import type { ChangeNotifier } from './types.js';

/**
 * Start what the network's `push:` sections ask for, in this (worker) process: one HTTP server per
 * listen address, one webhook endpoint per org on it, and one forwarder from the ledger to the
 * change notifier. Nothing is started (undefined) when no org has push configured.
 */
export interface PushReceivers {
  endpoints: Array<{ org: string; url: string; stats: ReceiverStats }>;
  forwarder: PushForwarder;
  stop(): Promise<void>;
}

export async function startPushReceivers(opts: {
  network: LoadedNetwork;
  ledger: Ledger;
  notifier: ChangeNotifier;
  forwarder?: Omit<ForwarderOptions, 'ledger' | 'notifier'>;
}): Promise<PushReceivers | undefined> {
  const wanted = pushEndpoints(opts.network.network);
  if (wanted.length === 0) return undefined;
  const forwarder = new PushForwarder({ ledger: opts.ledger, notifier: opts.notifier, ...opts.forwarder });
  const servers = new Map<string, FastifyInstance>();
  const endpoints: PushReceivers['endpoints'] = [];
  const stop = async () => {
    await Promise.all([...servers.values()].map((s) => s.close().catch(() => undefined)));
    await forwarder.stop();
  };
  try {
    const pending: Array<{ org: string; listen: string; path: string; stats: ReceiverStats }> = [];
    for (const w of wanted) {
      let server = servers.get(w.listen);
      if (!server) servers.set(w.listen, (server = Fastify({ logger: false, forceCloseConnections: true })));
      const clientSecret = resolveSecret(w.clientSecret, `${opts.network.file}: ${w.org}.push.webhooks.clientSecret`);
      const stats = await registerHubspotReceiver(server, { org: w.org, path: w.path, clientSecret, publicUrl: w.publicUrl, appId: w.appId, ledger: opts.ledger, onStored: () => forwarder.kick() });
      pending.push({ org: w.org, listen: w.listen, path: w.path, stats });
    }
    const bound = new Map<string, string>();
    for (const [listen, server] of servers) {
      const i = listen.lastIndexOf(':');
      const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
      await server.listen({ host, port: Number(listen.slice(i + 1)) });
      const addr = server.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      bound.set(listen, `http://${host.includes(':') ? `[${host}]` : host}:${port}`);
    }
    for (const p of pending) endpoints.push({ org: p.org, url: `${bound.get(p.listen)}${p.path}`, stats: p.stats });
  } catch (e) {
    await stop();
    throw e;
  }
  forwarder.start();
  log.info({ endpoints: endpoints.map((e) => `${e.org} ${e.url}`) }, 'push receivers listening');
  return { endpoints, forwarder, stop };
}
