import Fastify, { type FastifyInstance } from 'fastify';
import type { Ledger } from '../../ledger/index.js';
import { PushForwarder } from '../../push/forwarder.js';
import { registerHubspotReceiver, type ReceiverStats } from '../../push/hubspot/receiver.js';
import type { ChangeInfo, ChangeNotifier } from '../../push/types.js';
import type { WebhookSettings } from '@cosell/sandbox/hubspot/webhooks';

/** Records every notification; can be told to fail (the events must then stay pending and be retried). */
export class RecordingNotifier implements ChangeNotifier {
  readonly calls: Array<{ org: string; object: string; ids: string[]; info: ChangeInfo; at: number }> = [];
  failRate = 0;
  failures = 0;

  async notify(org: string, object: string, ids: string[], info: ChangeInfo): Promise<void> {
    if (this.failRate > 0 && Math.random() < this.failRate) {
      this.failures++;
      throw new Error('notifier unavailable (test)');
    }
    this.calls.push({ org, object, ids, info, at: Date.now() });
  }

  notified(org: string, object: string): Set<string> {
    return new Set(this.calls.filter((c) => c.org === org && c.object === object).flatMap((c) => c.ids));
  }
}

/** The receiver as a worker serves it (one fastify server, one org's endpoint) plus its forwarder. */
export interface RunningReceiver {
  url: string;
  port: number;
  stats: ReceiverStats;
  forwarder: PushForwarder;
  server: FastifyInstance;
  /** Answer the next n deliveries with 500 before looking at them (a receiver that is failing). */
  failNext(n: number): void;
  /** Stop abruptly: in-flight requests are cut (forceCloseConnections), the forwarder stops. */
  crash(): Promise<void>;
}

export async function startReceiver(opts: { ledger: Ledger; notifier: ChangeNotifier; org: string; clientSecret: string; port?: number; path?: string }): Promise<RunningReceiver> {
  const server = Fastify({ logger: false, forceCloseConnections: true });
  let failing = 0;
  server.addHook('onRequest', async (_req, reply) => {
    if (failing > 0) {
      failing--;
      return reply.code(500).send({ error: 'receiver failing (test)' });
    }
  });
  const forwarder = new PushForwarder({ ledger: opts.ledger, notifier: opts.notifier, retry: { initialMs: 20, maxMs: 200 }, pollMs: 200 });
  const path = opts.path ?? `/hubspot/${opts.org}/webhooks`;
  const stats = await registerHubspotReceiver(server, { org: opts.org, path, clientSecret: opts.clientSecret, ledger: opts.ledger, onStored: () => forwarder.kick() });
  await server.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  forwarder.start();
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    stats,
    forwarder,
    server,
    failNext: (n) => void (failing = n),
    crash: async () => {
      await Promise.all([server.close(), forwarder.stop()]);
    },
  };
}

/** Subscriptions to everything a sync reads: deals and companies, every event type. */
export function allSubscriptions(): WebhookSettings['subscriptions'] {
  const events = ['creation', 'propertyChange', 'deletion', 'merge', 'restore', 'associationChange'] as const;
  return (['deal', 'company'] as const).flatMap((object) => events.map((event) => ({ object, event, ...(event === 'propertyChange' ? { propertyName: '*' } : {}) })));
}
