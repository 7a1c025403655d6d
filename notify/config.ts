import { z } from 'zod';
import { NOTIFICATION_KINDS, TEMPLATE_VARS } from './render.js';

/**
 * The network file's `notifications:` section: where registration events go (Slack / Microsoft Teams
 * incoming webhooks, e-mail over SMTP), which events each channel gets, and the texts (templates with
 * `{{placeholders}}`; defaults in notify/render.ts). Webhook URLs and SMTP passwords are secrets:
 * env:/file: references only.
 */

const secretRef = z.string().regex(/^(env|file):.+/, 'must be a reference like env:NAME or file:/path — never the secret itself');
const kind = z.enum(NOTIFICATION_KINDS);

export const notificationChannelSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
    kind: z.enum(['slack', 'teams', 'email']),
    /** Incoming-webhook URL (slack, teams): a secret reference. */
    url: secretRef.optional(),
    /** Recipients (email). */
    to: z.array(z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an e-mail address')).min(1).optional(),
    /** Events this channel gets (default: all). */
    events: z.array(kind).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.kind !== 'email' && !c.url) ctx.addIssue({ code: 'custom', path: ['url'], message: `a ${c.kind} channel needs url: env:NAME (its incoming-webhook URL)` });
    if (c.kind === 'email' && !c.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'an email channel needs to: [address, …]' });
  });

const placeholders = new RegExp(`\\{\\{(?!\\s*(?:${TEMPLATE_VARS.join('|')})\\s*\\}\\})[^}]*\\}\\}`);

export const notificationsSchema = z.strictObject({
  smtp: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(587),
      /** TLS from the start (465); otherwise STARTTLS when the server offers it (`requireTLS` to insist). */
      secure: z.boolean().default(false),
      requireTLS: z.boolean().default(false),
      from: z.string().min(3),
      auth: z.strictObject({ user: z.string().min(1), pass: secretRef }).optional(),
    })
    .optional(),
  channels: z.array(notificationChannelSchema).default([]),
  templates: z.partialRecord(kind, z.string().min(1).refine((t) => !placeholders.test(t), `unknown placeholder; use {{${TEMPLATE_VARS.join('}}, {{')}}}`)).default({}),
});

export type NotificationsConfig = z.infer<typeof notificationsSchema>;
export type NotificationChannel = z.infer<typeof notificationChannelSchema>;
