import { namesOtherPartner } from '../rules/partnerReasons.js';

/**
 * Notification texts: a template from configuration with `{{name}}` placeholders, filled from the
 * event. The partner guard is here, in the engine, not in the wording: a notification about a
 * partner's registration never names another partner. When the filled text would (a reviewer's free
 * text, a partner's dispute, a template naming someone), the free text is replaced by the event's
 * neutral summary; if the text still names another partner (a template written that way), nothing is
 * sent. Pure: no I/O.
 */

export const NOTIFICATION_KINDS = ['review-requested', 'escalated', 'decided', 'dispute', 'info-requested', 'expiring'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationEvent {
  kind: NotificationKind;
  registrationId: string;
  /** The partner whose registration it is: the only partner the text may name. */
  partnerId: string;
  /** The engine's message (may carry free text a person typed). */
  message: string;
  /** More placeholders (status, due time, …). */
  vars?: Record<string, string>;
}

export const DEFAULT_TEMPLATES: Record<NotificationKind, string> = {
  'review-requested': 'Registration {{registration}} from {{partnerName}} needs review: {{message}}',
  escalated: 'Escalated: registration {{registration}} from {{partnerName}} is past its SLA. {{message}}',
  decided: 'Registration {{registration}} from {{partnerName}} was decided: {{message}}',
  dispute: 'Dispute on registration {{registration}} from {{partnerName}}: {{message}}',
  'info-requested': 'Action required from {{partnerName}} on registration {{registration}}: {{message}}',
  expiring: 'Exclusivity of registration {{registration}} from {{partnerName}} ends soon: {{message}}',
};

/** What replaces the message when it would name another partner. */
const NEUTRAL: Record<NotificationKind, string> = {
  'review-requested': 'a registration is waiting for review.',
  escalated: 'a registration is waiting past its SLA.',
  decided: 'a decision was made.',
  dispute: 'a dispute needs attention.',
  'info-requested': 'the partner was asked for more information.',
  expiring: 'exclusivity ends soon.',
};

export type Rendered = { ok: true; text: string; scrubbed: boolean } | { ok: false; reason: string };

export function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => vars[name] ?? '');
}

/** The placeholders a template may use (unknown ones are reported with the configuration's position). */
export const TEMPLATE_VARS = ['registration', 'partner', 'partnerName', 'kind', 'message', 'status', 'dueAt', 'expiresAt', 'owner'] as const;

export function render(template: string, e: NotificationEvent, partners: ReadonlyArray<{ id: string; name?: string }>): Rendered {
  const self = partners.find((p) => p.id === e.partnerId);
  const vars: Record<string, string> = { ...e.vars, registration: e.registrationId, partner: e.partnerId, partnerName: self?.name ?? e.partnerId, kind: e.kind, message: e.message };
  const text = fill(template, vars);
  if (!namesOtherPartner(text, e.partnerId, partners)) return { ok: true, text, scrubbed: false };
  // Only the engine's own placeholders stay: every free-text one gives way to the neutral summary.
  const safe = fill(template, { registration: e.registrationId, partner: e.partnerId, partnerName: vars.partnerName!, kind: e.kind, message: NEUTRAL[e.kind] });
  const named = namesOtherPartner(safe, e.partnerId, partners);
  if (named) return { ok: false, reason: `the template for ${e.kind} names another partner` };
  return { ok: true, text: safe, scrubbed: true };
}
