import type { FastifyInstance } from 'fastify';
import { matchKindLine, pairMatrix, rowsFromLedger, sortRows } from '../overlaps/report.js';
import type { ConsoleDeps } from './deps.js';
import { html, query } from './html.js';
import { fmtTime, page } from './layout.js';
import { pageContext } from './server.js';

const TOP = 50;

/**
 * Account overlaps per partner, from the ledger's last pass (what `cosell overlaps PARTNER` prints):
 * the relation matrix, what the matches were made on, and the overlapping accounts in the vendor's view
 * only — vendor account names and relations, the partner's relation, never the partner's own records.
 */
export function registerOverlaps(app: FastifyInstance, deps: ConsoleDeps): void {
  const sharing = () => deps.network.network.partners.filter((p) => p.sharing);

  app.get('/overlaps', async (req, reply) => {
    const ctx = pageContext(req, reply);
    const counts = await Promise.all(sharing().map(async (p) => ({ p, rows: await deps.ledger.overlaps.list(p.id) })));
    const body = html`<h1>Account overlaps</h1>
${counts.length
  ? html`<table><thead><tr><th>Partner</th><th class="num">Overlapping accounts</th><th>Newest change</th></tr></thead><tbody>${counts.map(({ p, rows }) => html`<tr><td><a href="/overlaps/${encodeURIComponent(p.id)}">${p.name}</a> <span class="muted small">${p.id}</span></td><td class="num">${rows.length}</td><td class="small">${fmtTime(rows.reduce((m, o) => (o.updatedAt > m ? o.updatedAt : m), '') || null)}</td></tr>`)}</tbody></table>`
  : html`<p class="muted">no partner has a <code>sharing</code> block: account mapping is off</p>`}`;
    return reply.type('text/html').send(page(ctx, 'Overlaps', body));
  });

  app.get('/overlaps/:partner', async (req, reply) => {
    const ctx = pageContext(req, reply);
    const id = (req.params as { partner: string }).partner;
    const partner = sharing().find((p) => p.id === id);
    if (!partner) return reply.code(404).type('text/html').send(page(ctx, 'Unknown partner', html`<h1>No account mapping with ${id}</h1><p><a href="/overlaps">all partners</a></p>`));
    const pageNo = Math.max(1, Number.parseInt((req.query as { page?: string }).page ?? '1', 10) || 1);
    const rows = sortRows(rowsFromLedger(await deps.ledger.overlaps.list(id)), 'vendor');
    const shown = rows.slice((pageNo - 1) * TOP, pageNo * TOP);
    const pages = Math.max(1, Math.ceil(rows.length / TOP));
    const vendor = deps.network.network.vendor;
    const body = html`<h1>Overlaps with ${partner.name} <span class="muted small">${rows.length} accounts</span></h1>
<p class="muted">${vendor.id} shares ${partner.sharing!.vendor.join(', ')}; ${id} shares ${partner.sharing!.partner.join(', ')}. Matched on keyed hashes only (overlaps/THREAT-MODEL.md); the partner's own records are not shown.</p>
<h2>By relation</h2><pre>${pairMatrix(rows)}</pre><p class="small">matched on: ${matchKindLine(rows)}</p>
<h2>Accounts</h2>
<table><thead><tr><th class="num">Score</th><th>Vendor account</th><th>Our relation</th><th>Partner's relation</th><th>Matched on</th></tr></thead>
<tbody>${shown.map((r) => {
      const url = deps.recordUrl?.(vendor.id, 'Account', r.vendorId);
      return html`<tr><td class="num">${r.score}</td><td>${url ? html`<a href="${url}">${r.vendorName || r.vendorId}</a>` : r.vendorName || r.vendorId}</td><td>${r.vendorRelation}</td><td>${r.partnerRelation}</td><td>${r.matchedOn}</td></tr>`;
    })}</tbody></table>
<div class="pager">${pageNo > 1 ? html`<a href="/overlaps/${encodeURIComponent(id)}${query({ page: pageNo - 1 })}">← previous</a>` : html``}<span class="muted">page ${pageNo} of ${pages}</span>${pageNo < pages ? html`<a href="/overlaps/${encodeURIComponent(id)}${query({ page: pageNo + 1 })}">next →</a>` : html``}</div>`;
    return reply.type('text/html').send(page(ctx, `Overlaps · ${id}`, body));
  });
}
