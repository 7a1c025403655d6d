import type { FastifyInstance } from 'fastify';
import { objectType } from '../http.js';
import type { HubspotPortal } from '../portal.js';
import { runSearch, type SearchRequest } from '../search.js';

/** `POST /crm/v3/objects/{type}/search` → `{total, results, paging?}` over the lagging search index. */
export function registerSearchRoutes(app: FastifyInstance, portal: HubspotPortal): void {
  app.post<{ Params: { objectType: string }; Body: SearchRequest }>('/crm/v3/objects/:objectType/search', async (req) => {
    const meta = objectType(req.params.objectType);
    const body = req.body ?? {};
    const found = runSearch(portal, meta, body);
    const wanted = Array.isArray(body.properties) && body.properties.length > 0 ? body.properties : undefined;
    const results = found.docs.map((d) => portal.recordJson(meta, d.rec, wanted, { props: d.props, modified: d.modified }));
    const out: Record<string, unknown> = { total: found.total, results };
    if (found.nextAfter !== undefined) out.paging = { next: { after: found.nextAfter, link: `?after=${found.nextAfter}` } };
    return out;
  });
}
