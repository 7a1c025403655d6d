import { createHash } from 'node:crypto';
import type { PushEventInput, PushTarget } from '../../ledger/index.js';

/**
 * HubSpot webhook events → "these records changed". One request body is a JSON array of up to 100
 * events (`eventId, subscriptionId, portalId, appId, occurredAt, subscriptionType, attemptNumber,
 * objectId, changeSource, …`); what changed depends on the subscription type:
 *   creation / propertyChange / deletion / restore  → objectId of the subscription's object
 *   merge              → objectId, primaryObjectId, newObjectId and every mergedObjectIds (the
 *                        merged-away ids must be re-read too: they now resolve to the survivor)
 *   associationChange  → BOTH ends: fromObjectId of the first object in associationType
 *                        (`DEAL_TO_COMPANY`) and toObjectId of the second. HubSpot does not bump a
 *                        record's hs_lastmodifieddate for an association change (see
 *                        connectors/hubspot/README.md), so this event is the only push signal that a
 *                        deal moved to another company.
 */

export const HUBSPOT_WEBHOOK_SOURCE = 'hubspot-webhook';

/** Webhook object names (singular, as in `deal.propertyChange` / `DEAL_TO_COMPANY`) → CRM object names. */
const OBJECTS: Record<string, string> = {
  contact: 'contacts',
  company: 'companies',
  deal: 'deals',
  ticket: 'tickets',
  product: 'products',
  line_item: 'line_items',
  conversation: 'conversations',
};

export function objectName(singular: string): string {
  const s = singular.toLowerCase();
  return OBJECTS[s] ?? `${s}s`;
}

export interface ParsedBatch {
  events: PushEventInput[];
}

const isId = (v: unknown): v is number | string => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && /^\d{1,20}$/.test(v));

/**
 * Why the body is unusable as a whole (not a JSON array of objects), or undefined. A body like that
 * cannot be a HubSpot delivery even when signed; it is refused with 400.
 */
export function batchProblem(body: unknown): string | undefined {
  if (!Array.isArray(body)) return 'the body is not a JSON array of events';
  if (body.length > 1000) return `the body has ${body.length} events (HubSpot sends at most 100)`;
  if (body.some((e) => e === null || typeof e !== 'object' || Array.isArray(e))) return 'every event must be a JSON object';
  return undefined;
}

/**
 * The records one event says changed, or why the event cannot be used (it is then kept as rejected,
 * with the reason, never silently dropped).
 */
export function targetsOf(e: Record<string, unknown>): { targets: PushTarget[] } | { problem: string } {
  const type = typeof e.subscriptionType === 'string' ? e.subscriptionType : '';
  const dot = type.indexOf('.');
  if (dot <= 0 || dot === type.length - 1) return { problem: `subscriptionType ${JSON.stringify(e.subscriptionType)} is not OBJECT.EVENT` };
  const object = objectName(type.slice(0, dot));
  const event = type.slice(dot + 1);
  if (event === 'associationChange') {
    const m = /^([A-Z_]+?)_TO_([A-Z_]+)$/.exec(String(e.associationType ?? ''));
    if (!m || !isId(e.fromObjectId) || !isId(e.toObjectId)) return { problem: 'an associationChange needs associationType (FROM_TO_TO), fromObjectId and toObjectId' };
    const from = objectName(m[1]!);
    const to = objectName(m[2]!);
    if (from === to) return { targets: [{ object: from, ids: unique([String(e.fromObjectId), String(e.toObjectId)]) }] };
    return { targets: [{ object: from, ids: [String(e.fromObjectId)] }, { object: to, ids: [String(e.toObjectId)] }] };
  }
  const ids: string[] = [];
  if (isId(e.objectId)) ids.push(String(e.objectId));
  if (event === 'merge') {
    for (const k of ['primaryObjectId', 'newObjectId'] as const) if (isId(e[k])) ids.push(String(e[k]));
    if (Array.isArray(e.mergedObjectIds)) for (const id of e.mergedObjectIds) if (isId(id)) ids.push(String(id));
  }
  if (ids.length === 0) return { problem: `a ${type} event without objectId` };
  return { targets: [{ object, ids: unique(ids) }] };
}

/**
 * Key under which an event is stored once. HubSpot's docs say eventId "is not guaranteed to be
 * unique", so the key is the portal, the eventId and a hash of everything in the event except
 * attemptNumber: a redelivery (same event, next attempt) or a duplicate has the same key; two
 * different events that happen to share an eventId do not.
 */
export function dedupeKey(e: Record<string, unknown>): string {
  const { attemptNumber: _attempt, ...rest } = e;
  const hash = createHash('sha256').update(canonicalJson(rest)).digest('base64url').slice(0, 22);
  return `${String(e.portalId ?? '')}:${String(e.eventId ?? '')}:${hash}`;
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

/** Turn a delivered batch into ledger rows for org `orgId`; `appId`, when configured, must match. */
export function parseBatch(orgId: string, body: unknown[], opts: { appId?: number } = {}): PushEventInput[] {
  return body.map((raw) => {
    const e = raw as Record<string, unknown>;
    const occurred = typeof e.occurredAt === 'number' && Number.isFinite(e.occurredAt) ? new Date(e.occurredAt) : undefined;
    const base = {
      orgId,
      source: HUBSPOT_WEBHOOK_SOURCE,
      dedupeKey: dedupeKey(e),
      eventId: String(e.eventId ?? ''),
      eventType: typeof e.subscriptionType === 'string' ? e.subscriptionType.slice(0, 200) : '?',
      occurredAt: occurred && !Number.isNaN(occurred.getTime()) ? occurred.toISOString() : new Date(0).toISOString(),
      payload: e,
    };
    let problem: string | undefined;
    if (!isId(e.eventId)) problem = 'eventId is missing or not a number';
    else if (!occurred || Number.isNaN(occurred.getTime())) problem = 'occurredAt is missing or not epoch milliseconds';
    else if (opts.appId !== undefined && Number(e.appId) !== opts.appId) problem = `the event is for app ${String(e.appId)}, this endpoint receives app ${opts.appId}`;
    const t = problem ? undefined : targetsOf(e);
    if (t && 'problem' in t) problem = t.problem;
    return problem ? { ...base, targets: [], rejected: problem } : { ...base, targets: (t as { targets: PushTarget[] }).targets };
  });
}
