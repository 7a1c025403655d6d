import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { splitEndpoint } from '../lib/config.js';
import { previewLive } from '../lib/mappingPreview.js';
import { formatProblem, type PreviewRow } from '../mappings/index.js';
import { describeGate } from '../registrations/gatePreview.js';
import type { ConsoleDeps } from './deps.js';
import { html, query, type Html } from './html.js';
import { page } from './layout.js';
import { pageContext, requirePermission } from './server.js';

/** Records a preview reads by default, and at most. */
const DEFAULT_SAMPLE = 20;
const MAX_SAMPLE = 200;

const show = (v: unknown): string => (v === undefined ? '—' : v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v.length > 80 ? v.slice(0, 79) + '…' : v) : String(v));

function actionCell(r: PreviewRow): Html {
  const gate = describeGate(r.gate);
  const kind = r.action === 'rejected' || r.action === 'error' ? 'bad' : r.action === 'held' ? 'warn' : r.action === 'create' || r.action === 'update' ? 'ok' : '';
  return html`<span class="pill ${kind}">${r.action}</span>${r.targetId ? html` <span class="small muted">${r.targetId}</span>` : html``}${gate ? html`<div class="small">${gate}</div>` : html``}`;
}

/**
 * Mappings (`/mappings`, `/mappings/:link`): every link's mapping, and — admins — the mapping
 * validated against the two orgs' live schemas and previewed on live source records as a diff against
 * the target, writing nothing. The same function as `cosell mapping preview` (lib/mappingPreview.ts),
 * so on a registration link each record shows what the Rules-of-Engagement gate would do with it:
 * `held: pending review (reason)`, `rejected (reason)`, or create / update.
 */
export function registerMappings(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/mappings', async (req, reply) => {
    const ctx = pageContext(req, reply);
    const canPreview = ctx.user?.role === 'admin';
    const rel = (f: string) => path.relative(path.dirname(deps.network.file), deps.network.resolve(f)) || f;
    const body = html`<h1>Mappings</h1>
<p class="muted">Each link's field mapping. ${canPreview ? 'Preview validates it against the live CRM schemas and maps a sample of live records into a diff against the target — nothing is written. On a registration link every record also shows what the Rules-of-Engagement gate would decide.' : 'Admins validate and preview mappings on live records.'}</p>
<table><thead><tr><th>Link</th><th>From → to</th><th>Mapping</th><th></th></tr></thead><tbody>${deps.network.network.links.map(
      (l) => html`<tr data-link="${l.id}"><td>${l.id}${l.registration ? html` <span class="pill">registration</span>` : html``}</td><td class="small">${l.from} → ${l.to}</td><td class="small"><code>${rel(l.mapping)}</code></td><td>${canPreview ? html`<a href="/mappings/${encodeURIComponent(l.id)}">validate &amp; preview</a>` : html``}</td></tr>`,
    )}</tbody></table>`;
    return reply.type('text/html').send(page(ctx, 'Mappings', body));
  });

  app.get('/mappings/:link', { preHandler: requirePermission('operate') }, async (req, reply) => {
    const ctx = pageContext(req, reply);
    const linkId = (req.params as { link: string }).link;
    const link = deps.network.network.links.find((l) => l.id === linkId);
    if (!link) return reply.code(404).type('text/html').send(page(ctx, 'Unknown link', html`<h1>No link ${linkId}</h1><p><a href="/mappings">all mappings</a></p>`));
    const raw = Number.parseInt((req.query as { sample?: string }).sample ?? '', 10);
    const sample = Number.isFinite(raw) && raw > 0 ? Math.min(raw, MAX_SAMPLE) : DEFAULT_SAMPLE;
    const from = splitEndpoint(link.from).org;
    const to = splitEndpoint(link.to).org;
    const engine = await deps.engine();
    let result: Awaited<ReturnType<typeof previewLive>> | undefined;
    let failure: string | undefined;
    try {
      result = await previewLive({ network: deps.network, file: deps.network.resolve(link.mapping), sourceOrg: from, targetOrg: to, source: await engine.connector(from), target: await engine.connector(to), sample, link, ledger: async () => deps.ledger });
    } catch (e) {
      failure = (e as Error).message;
    }
    const rows = result?.rows ?? [];
    const count = (a: PreviewRow['action']) => rows.filter((r) => r.action === a).length;
    const errors = result?.problems.filter((p) => p.severity === 'error') ?? [];
    const body = html`<h1>Mapping of ${linkId} <span class="muted small">${link.from} → ${link.to}</span></h1>
<form class="bar" method="get" action="/mappings/${encodeURIComponent(linkId)}"><label>records <input name="sample" type="number" min="1" max="${MAX_SAMPLE}" value="${sample}" aria-label="sample"></label><button type="submit" class="secondary">Preview again</button></form>
<h2>Validation against the live schemas</h2>
${failure
  ? html`<div class="card"><span class="pill bad">failed</span> ${failure}</div>`
  : html`<div class="card" id="validity">${errors.length ? html`<span class="pill bad">invalid</span> ${errors.length} error${errors.length === 1 ? '' : 's'}` : html`<span class="pill ok">valid</span> no errors`}${result!.problems.length > errors.length ? `, ${result!.problems.length - errors.length} warning(s)` : ''}</div>
${result!.problems.length ? html`<pre id="problems">${result!.problems.map(formatProblem).join('\n')}</pre>` : html``}`}
<h2>Preview <span class="muted small">nothing was written</span></h2>
${result?.gate ? html`<p class="card" id="gate">Registration link: each record as the Rules-of-Engagement gate (<code>${result.gate.policy}</code>) would decide it now, on the vendor-account index and registrations in the ledger.</p>` : html``}
${errors.length || failure
  ? html`<p class="muted">no preview: fix the mapping first</p>`
  : html`<p id="counts">create ${count('create')} · update ${count('update')}${result?.gate ? ` · held ${count('held')} · rejected ${count('rejected')}` : ''} · unchanged ${count('unchanged')} · filtered out ${count('filtered')} · errors ${count('error')} — ${rows.length} source records</p>
<table><thead><tr><th>Source record</th><th>Key</th><th>Action</th><th>Field</th><th>Current</th><th>New</th><th>Note</th></tr></thead><tbody>${rows.map((r) => {
      const lines = [...r.changes.map((c) => ({ field: c.field, current: r.targetId ? show(c.current) : '', next: show(c.next), note: c.heldBy ? `kept: owner ${c.heldBy}` : '' })), ...r.errors.map((e) => ({ field: e.field, current: '', next: '', note: `ERROR ${e.message}` }))];
      const span = Math.max(1, lines.length);
      const head = html`<td rowspan="${span}">${r.sourceId}</td><td rowspan="${span}" class="small">${r.key ?? ''}</td><td rowspan="${span}">${actionCell(r)}</td>`;
      if (!lines.length || r.action === 'filtered') return html`<tr data-source="${r.sourceId}">${head}<td colspan="4"></td></tr>`;
      return lines.map((l, i) => html`<tr ${i === 0 ? html`data-source="${r.sourceId}"` : html``}>${i === 0 ? head : html``}<td><code>${l.field}</code></td><td class="small diff-del">${l.current}</td><td class="small diff-add">${l.next}</td><td class="small">${l.note}</td></tr>`);
    })}</tbody></table>`}
<p><a href="/mappings${query({})}">← mappings</a></p>`;
    return reply.type('text/html').send(page(ctx, `Mapping · ${linkId}`, body));
  });
}
