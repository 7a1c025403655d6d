import { CosellError } from '../lib/errors.js';
import { log } from '../lib/logger.js';
import { DEFAULT_TEMPLATES, render, type NotificationEvent } from '../notify/render.js';
import { deliver } from '../notify/send.js';
import type { Engine } from '../sync/build.js';

/**
 * Notification activities (routes: `registrationSettings().notifyRoutes`, channel ids only — URLs and
 * passwords never enter workflow history). The workflows call `deliverNotification` once per (event, channel), so a
 * channel that fails is retried by Temporal with backoff on its own, and one that succeeded is never
 * sent twice by another's retry. Rendering, the partner guard and the audit are in the activity.
 */
export function createNotifyActivities(engine: Engine) {
  const config = () => engine.network.network.notifications;
  return {
    /** Render one event for one channel and send it; audited as notification.sent / notification.withheld. */
    async deliverNotification(req: { channelId: string; event: NotificationEvent; linkId?: string; sourceId?: string; eventKey: string }): Promise<'sent' | 'withheld'> {
      const cfg = config();
      const channel = cfg?.channels.find((c) => c.id === req.channelId);
      if (!cfg || !channel) throw new CosellError('COSELL_CONFIG_INVALID', `no notification channel ${req.channelId} in the network file`);
      const partners = engine.network.network.partners.map((p) => ({ id: p.id, name: p.name }));
      const out = render(cfg.templates[req.event.kind] ?? DEFAULT_TEMPLATES[req.event.kind], req.event, partners);
      const reg = req.linkId && req.sourceId ? undefined : await engine.ledger.registrations.get(req.event.registrationId);
      const linkId = req.linkId ?? String(reg?.details?.linkId ?? 'notifications');
      const sourceId = req.sourceId ?? reg?.sourceId ?? req.event.registrationId;
      const audit = (action: string, details: Record<string, unknown>) =>
        engine.ledger.audit.append([{ linkId, sourceId, action, details: { registrationId: req.event.registrationId, kind: req.event.kind, channel: channel.id, ...details }, actor: 'cosell', eventKey: `${req.eventKey}:${channel.id}:${action}` }]);
      if (!out.ok) {
        log.warn({ channel: channel.id, kind: req.event.kind, registration: req.event.registrationId }, `notification withheld: ${out.reason}`);
        await audit('notification.withheld', { reason: out.reason });
        return 'withheld';
      }
      await deliver(cfg, channel, `[cosell] ${req.event.kind}: registration ${req.event.registrationId}`, out.text);
      await audit('notification.sent', { scrubbed: out.scrubbed, text: out.text });
      return 'sent';
    },
  };
}
