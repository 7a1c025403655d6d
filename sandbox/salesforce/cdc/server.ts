import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ChangeEventBus, StoredEvent } from './bus.js';
import { sandboxTls } from './tls.js';

/**
 * The Salesforce Pub/Sub API (eventbus.v1.PubSub, the proto shipped in the salesforce-pubsub-api-client
 * package) over gRPC + TLS, for the org's change events:
 * - every call carries `accesstoken`, `instanceurl` and `tenantid` metadata, checked against the org's
 *   live sessions, base URL and org id (UNAUTHENTICATED otherwise);
 * - GetTopic / GetSchema: the object's change-event topic and its Avro schema by fingerprint;
 * - Subscribe: a bidirectional stream; the first FetchRequest names the topic and where to start
 *   (LATEST, EARLIEST, CUSTOM after a replay id), every FetchRequest adds `num_requested` credit, and
 *   the server never sends more events than the credit (a duplicate counts); with nothing to send it
 *   sends a keepalive (empty batch, latest replay id) every `keepaliveMs` (Salesforce: within 270 s);
 * - a CUSTOM replay id that has expired (or that this bus never issued) fails the stream with
 *   INVALID_ARGUMENT and error-code `sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed`.
 * Publish and managed subscriptions are not offered (UNIMPLEMENTED).
 */

export const ERROR_REPLAY_VALIDATION = 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed';
export const ERROR_REPLAY_CORRUPTED = 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted';
export const ERROR_AUTH = 'sfdc.platform.eventbus.grpc.service.auth.error';
export const ERROR_TOPIC = 'sfdc.platform.eventbus.grpc.topic.not.found';

const require = createRequire(import.meta.url);
/** The proto file the client package ships (the same one its client loads). */
export const PUBSUB_PROTO = path.join(path.dirname(require.resolve('salesforce-pubsub-api-client')), '..', 'pubsub_api.proto');

export interface PubSubServerDeps {
  bus: ChangeEventBus;
  /** The user of a live access token, or undefined. */
  authenticate(accessToken: string): string | undefined;
  orgSfId: string;
  /** The org's base URL (what `instanceurl` must say). */
  instanceUrl(): string;
  port?: number;
  keepaliveMs?: number;
}

/** What the server saw of one Subscribe stream: flow control is asserted on these. */
export interface SubscriptionStats {
  id: number;
  topic: string;
  open: boolean;
  /** num_requested of every FetchRequest, in order. */
  requests: number[];
  requested: number;
  delivered: number;
  /** Most credit (requested, not yet delivered) the client ever held. */
  maxCredit: number;
  keepalives: number;
  /** Replay ids sent, in order (duplicates appear twice). */
  sent: number[];
}

export interface PubSubServer {
  endpoint: string;
  caPem: string;
  subscriptions(): SubscriptionStats[];
  /** End every open Subscribe stream with UNAVAILABLE (a server restart, as clients see it). */
  dropStreams(): void;
  stop(): Promise<void>;
}

const encodeReplayId = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

function fail(code: grpc.status, details: string, errorCode?: string): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (errorCode) metadata.set('error-code', errorCode);
  return Object.assign(new Error(details), { code, details, metadata }) as grpc.ServiceError;
}

export async function startPubSubServer(deps: PubSubServerDeps): Promise<PubSubServer> {
  const tls = await sandboxTls();
  const def = protoLoader.loadSync(PUBSUB_PROTO, {});
  const pkg = grpc.loadPackageDefinition(def) as any;
  const service = pkg.eventbus.v1.PubSub.service as grpc.ServiceDefinition;
  const keepaliveMs = deps.keepaliveMs ?? 270_000;
  const stats: SubscriptionStats[] = [];
  const open = new Set<{ end(err: grpc.ServiceError): void; finish(): void }>();
  const rpcId = () => crypto.randomUUID();

  const authFailure = (md: grpc.Metadata): grpc.ServiceError | undefined => {
    const token = String(md.get('accesstoken')[0] ?? '');
    const instance = String(md.get('instanceurl')[0] ?? '').replace(/\/+$/, '');
    const tenant = String(md.get('tenantid')[0] ?? '');
    if (!token || !deps.authenticate(token)) return fail(grpc.status.UNAUTHENTICATED, 'Session expired or invalid', ERROR_AUTH);
    if (tenant.slice(0, 15) !== deps.orgSfId.slice(0, 15)) return fail(grpc.status.UNAUTHENTICATED, `tenantid ${tenant} does not match the session's org`, ERROR_AUTH);
    if (instance !== deps.instanceUrl().replace(/\/+$/, '')) return fail(grpc.status.UNAUTHENTICATED, `instanceurl ${instance} is not this org's instance`, ERROR_AUTH);
    return undefined;
  };

  const consumerEvent = (e: StoredEvent) => ({
    event: { id: e.uuid, schemaId: e.schemaId, payload: e.payload, headers: [] },
    replayId: encodeReplayId(e.replayId),
  });

  const handlers: grpc.UntypedServiceImplementation = {
    GetTopic(call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) {
      const bad = authFailure(call.metadata);
      if (bad) return cb(bad);
      const o = deps.bus.objectOfTopic(String(call.request.topicName ?? ''));
      if (!o) return cb(fail(grpc.status.NOT_FOUND, `topic ${call.request.topicName} does not exist or is not enabled for Change Data Capture`, ERROR_TOPIC));
      cb(null, { topicName: call.request.topicName, tenantGuid: deps.orgSfId, canPublish: false, canSubscribe: true, schemaId: deps.bus.schemaOf(o).id, rpcId: rpcId() });
    },
    GetSchema(call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) {
      const bad = authFailure(call.metadata);
      if (bad) return cb(bad);
      const s = deps.bus.schemaById(String(call.request.schemaId ?? ''));
      if (!s) return cb(fail(grpc.status.NOT_FOUND, `no schema ${call.request.schemaId}`));
      cb(null, { schemaJson: s.json, schemaId: s.id, rpcId: rpcId() });
    },
    Publish(_call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) {
      cb(fail(grpc.status.UNIMPLEMENTED, 'the sandbox publishes change events only'));
    },
    PublishStream(call: grpc.ServerDuplexStream<any, any>) {
      call.emit('error', fail(grpc.status.UNIMPLEMENTED, 'the sandbox publishes change events only'));
    },
    ManagedSubscribe(call: grpc.ServerDuplexStream<any, any>) {
      call.emit('error', fail(grpc.status.UNIMPLEMENTED, 'managed subscriptions are not offered by the sandbox'));
    },
    Subscribe(call: grpc.ServerDuplexStream<any, any>) {
      const stat: SubscriptionStats = { id: stats.length + 1, topic: '', open: true, requests: [], requested: 0, delivered: 0, maxCredit: 0, keepalives: 0, sent: [] };
      stats.push(stat);
      let after = 0;
      let credit = 0;
      let started = false;
      let closed = false;
      let lastSentAt = Date.now();
      let wake: NodeJS.Timeout | undefined;
      let unsubscribe: (() => void) | undefined;
      let owed: StoredEvent | undefined;
      const keepalive = setInterval(() => {
        if (closed || !started || Date.now() - lastSentAt < keepaliveMs * 0.9) return;
        lastSentAt = Date.now();
        stat.keepalives++;
        // "Latest replay ID of a subscription" (the proto): where it stands — a client that resumes there misses nothing.
        call.write({ events: [], latestReplayId: encodeReplayId(after), rpcId: rpcId(), pendingNumRequested: credit });
      }, Math.max(10, Math.floor(keepaliveMs / 2)));
      const cleanup = () => {
        if (closed) return;
        closed = true;
        stat.open = false;
        clearInterval(keepalive);
        if (wake) clearTimeout(wake);
        unsubscribe?.();
        open.delete(handle);
      };
      const end = (err: grpc.ServiceError) => {
        if (closed) return;
        cleanup();
        call.emit('error', err);
      };
      // Stopping the sandbox ends streams cleanly (status OK): the client library throws on a stream
      // error that arrives after its close() removed the listeners (see connectors/salesforce/README.md).
      const finish = () => {
        if (closed) return;
        cleanup();
        call.end();
      };
      const handle = { end, finish };
      open.add(handle);
      const pump = () => {
        if (closed || !started) return;
        while (credit > 0) {
          // A duplicated event goes out twice, the second copy as soon as there is credit for it.
          const batch: StoredEvent[] = owed ? [owed] : [];
          owed = undefined;
          for (const e of deps.bus.read(stat.topic, after, credit - batch.length)) {
            if (batch.length >= credit) break;
            batch.push(e);
            if (e.duplicate) {
              if (batch.length < credit) batch.push(e);
              else {
                owed = e;
                break;
              }
            }
          }
          if (batch.length === 0) break;
          credit -= batch.length;
          stat.delivered += batch.length;
          stat.sent.push(...batch.map((e) => e.replayId));
          after = batch[batch.length - 1].replayId;
          lastSentAt = Date.now();
          call.write({ events: batch.map(consumerEvent), latestReplayId: encodeReplayId(after), rpcId: rpcId(), pendingNumRequested: credit });
        }
        // A delayed event: come back when it becomes visible.
        const next = credit > 0 ? deps.bus.nextVisibleAt(stat.topic, after) : undefined;
        if (next !== undefined && !wake) {
          wake = setTimeout(() => {
            wake = undefined;
            pump();
          }, Math.max(1, next - deps.bus.now()));
        }
      };
      const bad = authFailure(call.metadata);
      if (bad) return void end(bad);
      call.on('data', (req: { topicName?: string; replayPreset?: number | string; replayId?: Buffer; numRequested?: number }) => {
        if (closed) return;
        const topic = req.topicName ?? '';
        if (!started) {
          const o = deps.bus.objectOfTopic(topic);
          if (!o) return end(fail(grpc.status.NOT_FOUND, `topic ${topic} does not exist or is not enabled for Change Data Capture`, ERROR_TOPIC));
          stat.topic = topic;
          const preset = req.replayPreset === undefined ? 0 : typeof req.replayPreset === 'number' ? req.replayPreset : ['LATEST', 'EARLIEST', 'CUSTOM'].indexOf(req.replayPreset);
          if (preset === 2) {
            if (!req.replayId || req.replayId.length !== 8) return end(fail(grpc.status.INVALID_ARGUMENT, 'The Replay ID is corrupted. Ensure that the Replay ID is valid.', ERROR_REPLAY_CORRUPTED));
            const id = Number(req.replayId.readBigUInt64BE());
            const check = deps.bus.checkReplay(topic, id);
            if (check !== 'ok') {
              return end(fail(grpc.status.INVALID_ARGUMENT, `The Replay ID validation failed. Ensure that the Replay ID is valid and within the retention window (replay id ${id}: ${check}). rpcId: ${rpcId()}`, ERROR_REPLAY_VALIDATION));
            }
            after = id;
          } else if (preset === 1) {
            after = deps.bus.earliest(topic);
          } else {
            after = deps.bus.latest(topic);
          }
          started = true;
          unsubscribe = deps.bus.onPublish(pump);
        } else if (topic && topic !== stat.topic) {
          return end(fail(grpc.status.INVALID_ARGUMENT, `topic_name ${topic} does not match the subscription's topic ${stat.topic}`));
        }
        const n = Math.max(0, Math.trunc(Number(req.numRequested ?? 0)));
        stat.requests.push(n);
        stat.requested += n;
        credit += n;
        stat.maxCredit = Math.max(stat.maxCredit, credit);
        pump();
      });
      call.on('end', () => {
        cleanup();
        call.end();
      });
      call.on('cancelled', cleanup);
      call.on('error', cleanup);
    },
  };

  const server = new grpc.Server();
  server.addService(service, handlers);
  const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }], false);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${deps.port ?? 0}`, creds, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    endpoint: `localhost:${port}`,
    caPem: tls.caPem,
    subscriptions: () => stats.map((s) => ({ ...s, requests: [...s.requests], sent: [...s.sent] })),
    dropStreams() {
      for (const h of [...open]) h.end(fail(grpc.status.UNAVAILABLE, 'the sandbox dropped the stream'));
    },
    async stop() {
      for (const h of [...open]) h.finish();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
