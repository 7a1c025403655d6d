import { isConnectorError } from '../errors.js';
import type { Association, WriteResult } from '../types.js';
import { chunk, type HubspotContext } from './context.js';
import { mapRecordError, type HubspotErrorBody } from './errors.js';

/** Accept the engine's generic names too (Opportunity → deals, Account → companies). */
const OBJECT_ALIASES: Record<string, string> = { opportunity: 'deals', deal: 'deals', account: 'companies', company: 'companies', contact: 'contacts' };

export function hubspotObjectName(name: string): string {
  return OBJECT_ALIASES[name.toLowerCase()] ?? name;
}

/**
 * Default (unlabelled) associations through v4 batch `associate/default`, 100 a call, grouped by object
 * pair — e.g. deal → company. Creating an association that exists is a no-op at HubSpot, so retries
 * are safe. Results in input order.
 */
export async function associate(ctx: HubspotContext, associations: Association[]): Promise<WriteResult[]> {
  const results: WriteResult[] = new Array(associations.length);
  const groups = new Map<string, Array<{ a: Association; i: number }>>();
  associations.forEach((a, i) => {
    const k = `${hubspotObjectName(a.fromObject)}→${hubspotObjectName(a.toObject)}`;
    groups.set(k, [...(groups.get(k) ?? []), { a, i }]);
  });
  for (const [pair, items] of groups) {
    const [from, to] = pair.split('→');
    for (const part of chunk(items, ctx.batchSize)) {
      try {
        const res = await ctx.t.call('api', `associate ${from} → ${to}`, (c, o) =>
          c.crm.associations.v4.batchApi.createDefault(from, to, { inputs: part.map(({ a }) => ({ _from: { id: a.fromId }, to: { id: a.toId } })) }, o),
        );
        const errors = (res.errors ?? []) as Array<HubspotErrorBody & { context?: Record<string, unknown> }>;
        const done = new Set((res.results ?? []).map((r) => `${r._from?.id}:${r.to?.id}`));
        for (const { a, i } of part) {
          if (done.has(`${a.fromId}:${a.toId}`)) {
            results[i] = { status: 'created', id: a.fromId };
            continue;
          }
          const names = (e: (typeof errors)[number], key: string, id: string) => ([] as unknown[]).concat(e.context?.[key] ?? []).map(String).includes(id);
          const err =
            errors.find((e) => names(e, 'fromObjectId', a.fromId) && names(e, 'toObjectId', a.toId)) ??
            errors.find((e) => names(e, 'fromObjectId', a.fromId) || names(e, 'toObjectId', a.toId) || names(e, 'ids', a.fromId)) ??
            (part.length === 1 ? errors[0] : undefined);
          results[i] = err
            ? { status: 'failed', id: a.fromId, error: mapRecordError(err) }
            : errors.length && !done.size
              ? { status: 'failed', id: a.fromId, error: { ...mapRecordError(errors[0]), message: `${errors[0].message ?? 'association failed'} (HubSpot did not say which pair)` } }
              // v4 echoes ids as numbers or omits some echoes: no error naming this pair means it was made.
              : { status: 'created', id: a.fromId };
        }
      } catch (e) {
        if (!isConnectorError(e) || e.retryable || e.kind === 'quota_exhausted' || e.kind === 'auth') throw e;
        for (const { a, i } of part) results[i] = { status: 'failed', id: a.fromId, error: e.toNormalised() };
      }
    }
  }
  return results;
}
