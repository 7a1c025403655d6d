import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { esc } from './ui.js';

/**
 * A stand-in for Slack's and Microsoft Teams' incoming webhooks, for the demo: `POST /hooks/<channel>`
 * with `{ "text": … }` (what notify/send.ts sends) is answered 200 and kept; `GET /` lists what
 * arrived, newest first. It lets a person watch cosell's registration notifications without a Slack
 * workspace. Loopback only, in memory, the last 500 messages.
 */
export interface InboxMessage {
  channel: string;
  text: string;
  at: string;
}

export interface Inbox {
  url: string;
  /** The incoming-webhook URL of one channel. */
  hookUrl(channel: string): string;
  messages(): InboxMessage[];
  stop(): Promise<void>;
}

const KEEP = 500;

export async function startInbox(opts: { port?: number } = {}): Promise<Inbox> {
  const messages: InboxMessage[] = [];
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  app.post('/hooks/:channel', async (req, reply) => {
    const { channel } = req.params as { channel: string };
    const text = (req.body as { text?: unknown } | undefined)?.text;
    // Slack answers a payload without text with 400 "no_text"; so does this.
    if (typeof text !== 'string' || text === '') return reply.code(400).send('no_text');
    messages.unshift({ channel, text, at: new Date().toISOString() });
    messages.length = Math.min(messages.length, KEEP);
    return reply.type('text/plain').send('ok');
  });
  app.get('/messages', async () => messages);
  app.get('/', async (_req, reply) => {
    const rows = messages.map((m) => `<tr><td class="muted">${esc(m.at.slice(11, 19))}</td><td><b>#${esc(m.channel)}</b></td><td>${esc(m.text)}</td></tr>`).join('');
    const body = messages.length ? `<table>${rows}</table>` : '<p class="muted">No notification yet: registrations waiting for review, decisions and escalations appear here.</p>';
    return reply.type('text/html; charset=utf-8').send(`<!doctype html><html><head><meta charset="utf-8"><title>Notifications inbox</title>
<meta http-equiv="refresh" content="5"><style>body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f6f9;color:#1b1f24}
header{background:#4a154b;color:#fff;padding:10px 20px;font-weight:600}header small{font-weight:400;opacity:.8;margin-left:12px}
main{padding:16px 20px}table{border-collapse:collapse;background:#fff;width:100%}td{border-bottom:1px solid #e5e9ef;padding:6px 10px;vertical-align:top}
.muted{color:#6e7781}</style></head><body><header>Notifications inbox<small>Slack / Teams incoming-webhook sandbox · ${messages.length} messages</small></header>
<main>${body}</main></body></html>`);
  });
  await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { url, hookUrl: (channel) => `${url}/hooks/${encodeURIComponent(channel)}`, messages: () => [...messages], stop: () => app.close() };
}
