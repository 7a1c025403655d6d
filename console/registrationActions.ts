import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normaliseRegistrationId, openRegistrationDispute, requestRegistrationInfo, resolveRegistrationDispute } from '../lib/registrationClient.js';
import { DISPUTE_OUTCOMES, type DisputeOutcome } from '../rules/dispute.js';
import { REQUIRED_FIELD_NAMES } from '../rules/types.js';
import type { ConsoleDeps } from './deps.js';
import { requirePermission } from './server.js';

/** The fields a reviewer may ask the partner for, offered as checkboxes (plus `fields.<mapped field>` typed in). */
export const REQUESTABLE_FIELDS = REQUIRED_FIELD_NAMES.filter((f) => f !== 'stage');

const text = (v: unknown, max = 2000) => (typeof v === 'string' ? v : Array.isArray(v) ? v.map(String).join(',') : '').trim().slice(0, max);

/** `fields` ticked (one or many) and `more` typed (comma-separated), deduplicated. */
export function requestedFields(body: Record<string, unknown>): string[] {
  const ticked = Array.isArray(body.fields) ? body.fields.map(String) : typeof body.fields === 'string' ? [body.fields] : [];
  const typed = text(body.more, 500).split(',');
  return [...new Set([...ticked, ...typed].map((f) => f.trim()).filter(Boolean))];
}

/**
 * The registration page's other actions, each the CLI's own function (lib/registrationClient.ts) with
 * the signed-in user as `by` — so the workflow validates it and its activity audits it with that user:
 *
 *   request info     `cosell registrations request-info`   (pending review → Action Required)
 *   dispute          `cosell registrations dispute`        (a rejection, on the partner's behalf)
 *   resolve dispute  `cosell registrations resolve-dispute` (uphold / overturn / split)
 *
 * Channel managers and admins only (permission `decide`); every one needs a reason.
 */
export function registerRegistrationActions(app: FastifyInstance, deps: ConsoleDeps): void {
  const act = (path: string, run: (id: string, by: string, body: Record<string, unknown>) => Promise<string>) =>
    app.post(path, { preHandler: requirePermission('decide') }, async (req: FastifyRequest, reply: FastifyReply) => {
      const id = normaliseRegistrationId((req.params as { id: string }).id);
      const back = `/registrations/${encodeURIComponent(id)}`;
      try {
        req.session.flash = { text: await run(id, req.session.user!.name, (req.body ?? {}) as Record<string, unknown>) };
      } catch (e) {
        req.session.flash = { text: `refused: ${(e as Error).message}`, bad: true };
      }
      return reply.redirect(back, 303);
    });

  act('/registrations/:id/request-info', async (id, by, body) => {
    const fields = requestedFields(body);
    const s = await requestRegistrationInfo(deps.client, id, { by, fields, reason: text(body.reason) });
    return `asked the partner for ${s.infoRequest?.fields.join(', ') ?? fields.join(', ')} (Action Required); ${id} is ${s.status}`;
  });

  act('/registrations/:id/dispute', async (id, by, body) => {
    const row = await deps.ledger.registrations.get(id);
    if (!row) throw new Error(`no registration ${id}`);
    const d = await openRegistrationDispute(deps.client, row, { by, reason: text(body.reason) });
    return `dispute opened for ${id} on ${row.partner}'s behalf${d.dueAt ? `, to be resolved by ${d.dueAt}` : ''}`;
  });

  act('/registrations/:id/resolve-dispute', async (id, by, body) => {
    const outcome = text(body.outcome);
    if (!(DISPUTE_OUTCOMES as readonly string[]).includes(outcome)) throw new Error(`the outcome must be one of ${DISPUTE_OUTCOMES.join(', ')}`);
    const d = await resolveRegistrationDispute(deps.client, id, { outcome: outcome as DisputeOutcome, by, reason: text(body.reason) });
    return `dispute of ${id} resolved: ${d.resolution?.outcome ?? outcome}`;
  });
}
