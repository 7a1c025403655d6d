import type { Attributes } from '@opentelemetry/api';
import { splitEndpoint, type LoadedNetwork } from './config.js';
import { streamSpecs } from '../sync/streamPlan.js';

/**
 * What an activity's span says about cosell: which link, partner, orgs, stream and source record it
 * worked on (from its arguments, resolved against the network file) and what it did (its report's
 * counts). Identifiers and counts only — never a field value, a name or a reason a partner wrote.
 *
 * Activities take their subject in a few shapes: a link id (syncPage, describeLink, …), a stream id
 * (`org:object`: pumpStream, …), a partner id (overlapPass), or a request object with linkId /
 * sourceId / partnerId / registrationId, possibly inside `state` or `dispute` (the registration and
 * dispute activities, deliverNotification). One reader for all of them keeps a new activity traced
 * without a table to extend.
 */
export type ActivityAttributes = (args: readonly unknown[]) => Attributes;

export function activityAttributesFor(network?: LoadedNetwork): ActivityAttributes {
  const links = new Map((network?.network.links ?? []).map((l) => [l.id, l]));
  const vendor = network?.network.vendor.id;
  const partners = new Set((network?.network.partners ?? []).map((p) => p.id));
  let streams: Map<string, { orgId: string; object: string }> | undefined;
  const streamOf = (id: string) => (streams ??= new Map(network ? streamSpecs(network).map((s) => [s.id, s]) : [])).get(id);

  const linkAttributes = (id: string): Attributes | undefined => {
    const link = links.get(id);
    if (!link) return undefined;
    const from = splitEndpoint(link.from);
    const to = splitEndpoint(link.to);
    return {
      'cosell.link': id,
      'cosell.partner': from.org === vendor ? to.org : from.org,
      'cosell.from.org': from.org,
      'cosell.from.object': from.object,
      'cosell.to.org': to.org,
      'cosell.to.object': to.object,
    };
  };

  const subject = (value: unknown): Attributes => {
    if (typeof value === 'string') {
      const link = linkAttributes(value);
      if (link) return link;
      const stream = streamOf(value);
      if (stream) return { 'cosell.stream': value, 'cosell.org': stream.orgId, 'cosell.object': stream.object };
      return partners.has(value) ? { 'cosell.partner': value } : {};
    }
    if (!isRecord(value)) return {};
    const out: Attributes = {};
    // Nested state first, so the request's own fields win.
    for (const inner of [value.state, value.dispute]) if (isRecord(inner)) Object.assign(out, subject(inner));
    if (typeof value.linkId === 'string') Object.assign(out, linkAttributes(value.linkId) ?? { 'cosell.link': value.linkId });
    if (typeof value.streamId === 'string') Object.assign(out, subject(value.streamId));
    if (typeof value.partnerId === 'string') out['cosell.partner'] = value.partnerId;
    if (typeof value.sourceId === 'string') out['cosell.source_id'] = value.sourceId;
    if (typeof value.registrationId === 'string') out['cosell.registration'] = value.registrationId;
    return out;
  };

  return (args) => {
    const out = subject(args[0]);
    // appendStreamIds(streamId, ids), replayDeadLetters(linkId, ids): how many, not which.
    if (Array.isArray(args[1])) out['cosell.ids'] = args[1].length;
    return out;
  };
}

/**
 * What an activity's result says it did: `counts` (a page report's read/created/updated/…) as
 * cosell.page.*, and its other numbers and flags (caughtUp, lagMs, appended, head, checked, moved…)
 * as cosell.result.*. Strings and nested values stay out (cursors, ids, descriptions).
 */
export function resultAttributes(result: unknown): Attributes {
  if (!isRecord(result)) return {};
  const out: Attributes = {};
  if (isRecord(result.counts)) for (const [k, v] of Object.entries(result.counts)) if (typeof v === 'number' && Number.isFinite(v)) out[`cosell.page.${k}`] = v;
  for (const [k, v] of Object.entries(result)) if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') out[`cosell.result.${k}`] = v;
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
