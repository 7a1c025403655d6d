import { createTransport, type Transporter } from 'nodemailer';
import { CosellError } from '../lib/errors.js';
import { resolveSecret } from '../lib/secrets.js';
import type { NotificationsConfig, NotificationChannel } from './config.js';

/**
 * Deliver one rendered notification to one channel: Slack and Microsoft Teams incoming webhooks
 * (an HTTPS POST of `{ text }`), or e-mail over SMTP (nodemailer). Failures throw: the calling
 * activity is retried by Temporal with backoff; a refusal no retry can fix (4xx other than 408/429,
 * an SMTP 5xx) throws a non-retryable COSELL_NOTIFY_REJECTED. Webhook URLs and SMTP credentials are
 * secrets (env:/file: references), resolved here and never logged.
 */
export async function deliver(cfg: NotificationsConfig, channel: NotificationChannel, subject: string, text: string): Promise<void> {
  if (channel.kind === 'email') return sendMail(cfg, channel, subject, text);
  const url = resolveSecret(channel.url!, `notifications.channels.${channel.id}.url`);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }), signal: AbortSignal.timeout(15_000) });
  if (res.ok) return;
  const body = (await res.text().catch(() => '')).slice(0, 200);
  const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
  throw new CosellError(retryable ? 'COSELL_NOTIFY_FAILED' : 'COSELL_NOTIFY_REJECTED', `${channel.kind} channel ${channel.id}: HTTP ${res.status} ${body}`.trim(), {
    details: { channel: channel.id, status: res.status, retryable },
    hint: retryable ? 'retried with backoff' : 'check the webhook URL the channel references',
  });
}

const transports = new Map<string, Transporter>();

async function sendMail(cfg: NotificationsConfig, channel: NotificationChannel, subject: string, text: string): Promise<void> {
  const smtp = cfg.smtp;
  if (!smtp) throw new CosellError('COSELL_CONFIG_INVALID', `e-mail channel ${channel.id} needs notifications.smtp`);
  const key = `${smtp.host}:${smtp.port}`;
  let t = transports.get(key);
  if (!t) {
    t = createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.auth ? { auth: { user: smtp.auth.user, pass: resolveSecret(smtp.auth.pass, 'notifications.smtp.auth.pass') } } : {}),
      ...(smtp.secure ? {} : { ignoreTLS: !smtp.requireTLS, requireTLS: smtp.requireTLS }),
    });
    transports.set(key, t);
  }
  try {
    await t.sendMail({ from: smtp.from, to: channel.to!.join(', '), subject, text });
  } catch (e) {
    const code = (e as { responseCode?: number }).responseCode;
    const permanent = typeof code === 'number' && code >= 500;
    throw new CosellError(permanent ? 'COSELL_NOTIFY_REJECTED' : 'COSELL_NOTIFY_FAILED', `e-mail channel ${channel.id}: ${(e as Error).message}`, { cause: e, details: { channel: channel.id, responseCode: code ?? null, retryable: !permanent } });
  }
}
