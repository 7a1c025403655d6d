import type { FastifyInstance } from 'fastify';
import { replayLinkDeadLetters } from '../lib/deadLetterReplay.js';
import type { LinkStatus } from '../sync/types.js';
import { statusQuery } from '../workflows/index.js';
import { streamStatuses } from '../lib/streams.js';
import { splitEndpoint } from '../lib/config.js';
import type { ConsoleDeps } from './deps.js';
import { html, query } from './html.js';
import { fmtTime, page, statusPill } from './layout.js';
import { pageContext, requirePermission } from './server.js';
import { workflowUrl } from './registration.js';
import { linkWorkflowId, linkHandle } from '../lib/workflowClient.js';

function fmtLag(ms?: number): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** The category a dead letter is grouped and replayed by: the CRM's code, or "none" without one. */
export const categoryOf = (code: string | null) => code ?? 'none';

const DL_PAGE = 50;

/** A link workflow's status query (the same one `cosell status` asks); no workflow → the error. */
async function linkStatus(deps: ConsoleDeps, linkId: string): Promise<{ status?: LinkStatus; error?: string }> {
  try {
    return { status: await linkHandle(deps.client, linkId).query(statusQuery) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Every link of the network with its workflow's status, every stream, and the pending dead letters by category. */
export async function linkHealth(deps: ConsoleDeps) {
  // This network's links and streams only (a Temporal namespace may hold other networks' workflows).
  const orgs = new Set([deps.network.network.vendor.id, ...deps.network.network.partners.map((p) => p.id)]);
  const [statuses, allStreams, deadLetters] = await Promise.all([
    Promise.all(deps.network.network.links.map((l) => linkStatus(deps, l.id))),
    streamStatuses(deps.client),
    deps.ledger.deadLetters.summary(),
  ]);
  const streams = allStreams.filter((s) => orgs.has(s.workflowId.split(':')[1] ?? ''));
  const links = deps.network.network.links.map((l, i) => {
    const s = statuses[i];
    const dl = deadLetters.filter((d) => d.linkId === l.id);
    return { id: l.id, from: l.from, to: l.to, enabled: l.enabled, registration: Boolean(l.registration), status: s.status, error: s.error, deadLetters: dl.reduce((n, d) => n + d.count, 0) };
  });
  // Errors by category, across links: dead letters by (kind, code), and links in `error` by their catalogue code.
  const categories = new Map<string, { kind: string | null; code: string | null; count: number; links: Set<string>; example: string; lastAt: string }>();
  for (const d of deadLetters) {
    const key = `${d.kind ?? ''}|${d.code ?? ''}`;
    const c = categories.get(key) ?? { kind: d.kind, code: d.code, count: 0, links: new Set<string>(), example: d.example, lastAt: d.lastAt };
    c.count += d.count;
    c.links.add(d.linkId);
    if (d.lastAt > c.lastAt) c.lastAt = d.lastAt;
    categories.set(key, c);
  }
  const linkErrors = new Map<string, string[]>();
  for (const l of links) if (l.status?.state === 'error') linkErrors.set(l.status.errorCode ?? 'unknown', [...(linkErrors.get(l.status.errorCode ?? 'unknown') ?? []), l.id]);
  return { links, streams, deadLetters, categories: [...categories.values()].sort((a, b) => b.count - a.count), linkErrors };
}

export function registerLinks(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/api/links', async () => {
    const h = await linkHealth(deps);
    return { links: h.links, streams: h.streams, deadLetters: h.deadLetters, linkErrors: Object.fromEntries(h.linkErrors) };
  });

  app.get('/links', async (req, reply) => {
    const ctx = pageContext(req, reply);
    const h = await linkHealth(deps);
    const ui = deps.temporalUi ? `${deps.temporalUi.url}/namespaces/${encodeURIComponent(deps.temporalUi.namespace)}/workflows` : undefined;
    const body = html`<h1>Link health</h1>
${ui ? html`<p class="small">In the Temporal Web UI: <a href="${ui}?query=${encodeURIComponent("CosellKind='link'")}">link workflows</a> · <a href="${ui}?query=${encodeURIComponent("CosellKind='stream'")}">change streams</a> · <a href="${ui}?query=${encodeURIComponent("CosellKind='registration' AND CosellRegistrationStatus='pending-review'")}">registrations pending review</a></p>` : html``}
<table><thead><tr><th>Link</th><th>From → to</th><th>State</th><th>Lag</th><th class="num">Read</th><th class="num">Created</th><th class="num">Updated</th><th class="num">Unchanged</th><th class="num">Skipped</th><th class="num">Failed</th><th class="num">Deleted</th><th>Last caught up</th><th>Last error</th><th class="num">Dead letters</th></tr></thead>
<tbody>${h.links.map((l) => {
      const c = l.status?.counts;
      const wf = workflowUrl(deps, linkWorkflowId(l.id));
      return html`<tr data-link="${l.id}"><td><a href="/links/${encodeURIComponent(l.id)}">${l.id}</a>${l.registration ? html` <span class="pill">registration</span>` : html``}${wf ? html`<div class="small"><a href="${wf}">workflow</a></div>` : html``}</td>
<td class="small">${l.from} → ${l.to}</td><td>${l.status ? statusPill(l.status.state) : l.enabled ? html`<span class="pill bad" title="${l.error ?? ''}">not running</span>` : html`<span class="pill">disabled</span>`}</td>
<td>${fmtLag(l.status?.lagMs)}</td><td class="num">${c?.read ?? 0}</td><td class="num">${c?.created ?? 0}</td><td class="num">${c?.updated ?? 0}</td><td class="num">${c?.unchanged ?? 0}</td><td class="num">${c?.skipped ?? 0}</td><td class="num">${c?.failed ?? 0}</td><td class="num">${c?.deleted ?? 0}</td>
<td class="small">${fmtTime(l.status?.lastCaughtUpAt)}</td><td class="small">${l.status?.lastError ?? ''}</td><td class="num">${l.deadLetters ? html`<a href="/links/${encodeURIComponent(l.id)}">${l.deadLetters}</a>` : '0'}</td></tr>`;
    })}</tbody></table>
<h2>Change streams</h2>
${h.streams.length
  ? html`<table><thead><tr><th>Stream</th><th>Mode</th><th>State</th><th class="num">Position</th><th>Lag</th><th class="num">Appended</th><th>Last poll</th><th>Last push event</th><th>Reconciler</th><th>Consumers</th><th>Last error</th></tr></thead><tbody>${h.streams.map(
      (s) => html`<tr><td>${s.workflowId.replace(/^stream:/, '')}</td><td>${s.status?.mode ?? '?'}</td><td>${s.status ? statusPill(s.status.state) : html`<span class="pill bad">no status</span>`}</td><td class="num">${s.status?.head ?? '—'}</td><td>${fmtLag(s.status?.lagMs)}</td><td class="num">${s.status?.appended ?? 0}</td>
<td class="small">${fmtTime(s.status?.lastPollAt)}</td><td class="small">${fmtTime(s.status?.lastEventAt)}</td><td class="small">${s.status?.reconciled ? `${s.status.reconciled.polled} read, ${s.status.reconciled.missed} missed by push` : '—'}</td><td class="small">${s.status?.consumers.join(', ') ?? ''}</td><td class="small">${s.status?.lastError ?? s.error ?? ''}</td></tr>`,
    )}</tbody></table>`
  : html`<p class="muted">no change streams (streams are off in this network)</p>`}
<h2>Errors by category</h2>
${h.linkErrors.size ? html`<div class="card">${[...h.linkErrors].map(([code, ids]) => html`<div><span class="pill bad">${code}</span> links in error: ${ids.join(', ')}</div>`)}</div>` : html``}
${h.categories.length
  ? html`<table><thead><tr><th>Kind</th><th>CRM code</th><th class="num">Pending dead letters</th><th>Links</th><th>Latest</th><th>Example reason</th></tr></thead><tbody>${h.categories.map(
      (c) => html`<tr><td>${c.kind ?? '—'}</td><td><code>${categoryOf(c.code)}</code></td><td class="num">${c.count}</td><td class="small">${[...c.links].map((l) => html`<a href="/links/${encodeURIComponent(l)}${query({ code: categoryOf(c.code) })}">${l}</a> `)}</td><td class="small">${fmtTime(c.lastAt)}</td><td class="small">${c.example}</td></tr>`,
    )}</tbody></table>`
  : html`<p class="muted">no pending dead letters</p>`}`;
    return reply.type('text/html').send(page(ctx, 'Link health', body));
  });

  app.get('/links/:link', async (req, reply) => {
    const ctx = pageContext(req, reply);
    const linkId = (req.params as { link: string }).link;
    const link = deps.network.network.links.find((l) => l.id === linkId);
    if (!link) return reply.code(404).type('text/html').send(page(ctx, 'Unknown link', html`<h1>No link ${linkId}</h1><p><a href="/links">all links</a></p>`));
    const q = req.query as { code?: string; after?: string };
    const code = q.code?.trim() || undefined;
    const after = Number.parseInt(q.after ?? '', 10);
    const rows = await deps.ledger.deadLetters.list({ linkId, status: 'pending', limit: DL_PAGE + 1, ...(code === 'none' ? { withoutCode: true } : code ? { codes: [code] } : {}), ...(after > 0 ? { afterId: after } : {}) });
    const more = rows.length > DL_PAGE;
    const shown = rows.slice(0, DL_PAGE);
    const summary = (await deps.ledger.deadLetters.summary()).filter((d) => d.linkId === linkId);
    const canOperate = ctx.user?.role === 'admin';
    const source = splitEndpoint(link.from);
    const back = `/links/${encodeURIComponent(linkId)}${query({ code })}`;
    const body = html`<h1>Dead letters on ${linkId} <span class="muted small">${link.from} → ${link.to}</span></h1>
<p class="muted">Records the target CRM rejected, with its reason. Fix the cause (mapping, picklist, validation rule), then replay: each record is re-read from the source and pushed again with the current mapping — the same code path as <code>cosell deadletters replay</code>.</p>
<div class="bar"><a href="/links/${encodeURIComponent(linkId)}" class="${code ? '' : 'on'}">all (${summary.reduce((n, d) => n + d.count, 0)})</a>${summary.map((d) => html` · <a href="/links/${encodeURIComponent(linkId)}${query({ code: categoryOf(d.code) })}">${categoryOf(d.code)} (${d.count})</a>`)}</div>
${canOperate && summary.length
  ? html`<div class="bar">${summary.map(
      (d) => html`<form method="post" action="/links/${encodeURIComponent(linkId)}/replay"><input type="hidden" name="_csrf" value="${ctx.csrf}"><input type="hidden" name="back" value="${back}"><input type="hidden" name="code" value="${categoryOf(d.code)}"><button type="submit" class="secondary">Replay all ${categoryOf(d.code)} (${d.count})</button></form>`,
    )}</div>`
  : html``}
<table><thead><tr><th>#</th><th>Source record</th><th>Kind</th><th>CRM code</th><th>Fields</th><th>Reason (from the CRM)</th><th class="num">Attempts</th><th>Since</th>${canOperate ? html`<th></th>` : html``}</tr></thead>
<tbody>${shown.length
  ? shown.map((d) => {
      const url = deps.recordUrl?.(source.org, source.object, d.sourceId);
      return html`<tr data-dead-letter="${d.id}"><td>${d.id}</td><td>${url ? html`<a href="${url}">${d.sourceId}</a>` : d.sourceId}</td><td>${d.kind ?? '—'}</td><td><code>${categoryOf(d.code)}</code></td><td class="small">${d.fields.join(', ')}</td><td class="small">${d.reason}</td><td class="num">${d.attempts}</td><td class="small">${fmtTime(d.createdAt)}</td>
${canOperate ? html`<td><form method="post" action="/links/${encodeURIComponent(linkId)}/replay"><input type="hidden" name="_csrf" value="${ctx.csrf}"><input type="hidden" name="back" value="${back}"><input type="hidden" name="ids" value="${d.id}"><button type="submit" class="secondary">Replay</button></form></td>` : html``}</tr>`;
    })
  : html`<tr><td colspan="9" class="muted">no pending dead letters${code ? ` with code ${code}` : ''}</td></tr>`}</tbody></table>
${more ? html`<div class="pager"><a href="/links/${encodeURIComponent(linkId)}${query({ code, after: shown[shown.length - 1].id })}">next →</a></div>` : html``}
<p><a href="/links">← link health</a></p>`;
    return reply.type('text/html').send(page(ctx, `Dead letters · ${linkId}`, body));
  });

  app.post('/links/:link/replay', { preHandler: requirePermission('operate') }, async (req, reply) => {
    const linkId = (req.params as { link: string }).link;
    const body = (req.body ?? {}) as { ids?: string | string[]; code?: string; back?: string };
    const back = typeof body.back === 'string' && body.back.startsWith(`/links/${encodeURIComponent(linkId)}`) ? body.back : `/links/${encodeURIComponent(linkId)}`;
    if (!deps.network.network.links.some((l) => l.id === linkId)) return reply.code(404).send({ error: 'COSELL_LINK_UNKNOWN', message: `no link ${linkId}` });
    const ids = (Array.isArray(body.ids) ? body.ids : body.ids ? [body.ids] : []).map(Number);
    const code = body.code?.trim();
    if (!ids.length && !code) {
      req.session.flash = { text: 'say which dead letters to replay (one, or a category)', bad: true };
      return reply.redirect(back, 303);
    }
    try {
      const r = await replayLinkDeadLetters(await deps.engine(), linkId, ids.length ? { ids } : { code: code === 'none' ? null : code });
      const c = r.counts;
      const landed = (c.created ?? 0) + (c.updated ?? 0) + (c.unchanged ?? 0);
      req.session.flash = { text: `replayed on ${linkId} by ${req.session.user!.name}: ${landed} landed (${c.created ?? 0} created, ${c.updated ?? 0} updated, ${c.unchanged ?? 0} unchanged), ${c.failed ?? 0} failed again, ${c.skipped ?? 0} skipped`, bad: (c.failed ?? 0) > 0 };
      await deps.ledger.audit.append([{ linkId, action: 'deadletters.replayed', actor: req.session.user!.name, details: { via: 'console', ids: ids.length ? ids : undefined, code: ids.length ? undefined : code, counts: c } }]);
    } catch (e) {
      req.session.flash = { text: `replay on ${linkId} failed: ${(e as Error).message}`, bad: true };
    }
    return reply.redirect(back, 303);
  });
}
