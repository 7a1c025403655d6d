// One Pub/Sub API subscription, in its own worker thread (plain JavaScript: no TypeScript loader in
// threads). The subscriber (subscriber.ts) ends it with worker.terminate(): the client library has no
// way to cancel a live stream — its close() drops the stream's listeners but leaves the stream open,
// and an error the server sends on it later is thrown as an uncaught exception. A terminated thread
// takes its stream and socket with it, and whatever it throws stays in the thread.
//
// A thread loads the client library when it starts (that takes a second or two: it pulls in jsforce)
// and waits for its `start` message, so the subscriber keeps one loaded spare and reconnects fast.
import { parentPort } from 'node:worker_threads';
import PubSubApiClient from 'salesforce-pubsub-api-client';

const send = (m) => parentPort.postMessage(m);
// Headers hold 64-bit longs as numbers or BigInt; messages carry plain JSON.
const plain = (v) => JSON.parse(JSON.stringify(v ?? null, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

parentPort.once('message', (m) => void start(m));
send({ type: 'ready' });

async function start({ config, topic, batch, replayId }) {
  let client;
  try {
    client = new PubSubApiClient(config, quiet);
    await client.connect();
  } catch (e) {
    send({ type: 'connectError', message: String(e?.cause?.message ?? e?.message ?? e) });
    client = undefined;
  }

  if (client) {
    const callback = (info, type, data) => {
      switch (type) {
        case 'event':
          send({ type: 'event', replayId: Number(data.replayId), header: plain(data.payload?.ChangeEventHeader) });
          return;
        case 'error':
          // EventParseError: the client could not decode an event (it still counted it as received).
          if (data && typeof data === 'object' && 'latestReplayId' in data && !('code' in data)) {
            send({ type: 'parseError', replayId: Number(data.replayId ?? data.latestReplayId) });
            return;
          }
          send({
            type: 'error',
            code: data?.code,
            details: String(data?.details ?? data?.message ?? data),
            errorCodes: typeof data?.metadata?.get === 'function' ? data.metadata.get('error-code').map(String) : [],
          });
          return;
        case 'end':
          send({ type: 'end' });
          return;
        case 'grpcKeepalive':
          // The client keeps the keepalive's latest replay id on the subscription info.
          send({ type: 'keepalive', latestReplayId: info?.lastReplayId ?? null });
          return;
        default:
          return;
      }
    };
    try {
      if (replayId === undefined || replayId === null) client.subscribe(topic, callback, batch);
      else client.subscribeFromReplayId(topic, callback, batch, replayId);
      send({ type: 'subscribed' });
    } catch (e) {
      send({ type: 'connectError', message: String(e?.cause?.message ?? e?.message ?? e) });
    }
    parentPort.on('message', (m) => {
      if (m?.type === 'request') client.requestAdditionalEvents(topic, m.n);
    });
  }
}
