import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import pLimit from 'p-limit';
import type { Registration, RegistrationSort } from '../ledger/types.js';
import { decideRegistration, decideRegistrationExtension, extendRegistration, normaliseRegistrationId } from '../lib/registrationClient.js';
import { detailsOf } from '../registrations/details.js';
import type { ConsoleDeps } from './deps.js';
import { html, query, type Html } from './html.js';
import { fmtAmount, fmtRelative, fmtTime, page, statusPill } from './layout.js';
import { pageContext, requirePermission } from './server.js';

export const PAGE_SIZE = 50;
const SORTS: RegistrationSort[] = ['submitted', 'due', 'amount', 'customer', 'partner', 'status'];
/** How many workflow updates a bulk action runs at once (each is a round trip to Temporal and one activity). */
const BULK_CONCURRENCY = 8;
/** A bulk action takes at most this many registrations (one page of the queue is 50). */
export const MAX_BULK = 500;

export interface QueueQuery {
  status?: string;
  partner?: string;
  q?: string;
  sort?: string;
  dir?: string;
  page?: string;
}

/** The queue's filter from the query string, each value checked (anything unknown falls back to the default). */
export function parseQueueQuery(raw: QueueQuery, defaultStatus: string) {
  const sort = SORTS.includes(raw.sort as RegistrationSort) ? (raw.sort as RegistrationSort) : defaultStatus === 'pending-review' ? 'due' : 'submitted';
  const dir = raw.dir === 'desc' ? 'desc' : 'asc';
  const pageNo = Math.max(1, Math.min(1_000_000, Number.parseInt(raw.page ?? '1', 10) || 1));
  const status = raw.status === undefined ? defaultStatus : raw.status;
  return { status, partner: raw.partner?.trim() || undefined, q: raw.q?.trim().slice(0, 200) || undefined, sort, dir, page: pageNo } as const;
}

/** Registrations as the queue shows them: the ledger's page, sorted and filtered in SQL. */
export async function queuePage(deps: ConsoleDeps, raw: QueueQuery, defaultStatus: string) {
  const f = parseQueueQuery(raw, defaultStatus);
  const { rows, total } = await deps.ledger.registrations.page({
    status: f.status ? [f.status] : undefined,
    partner: f.partner,
    search: f.q,
    sort: f.sort,
    dir: f.dir,
    limit: PAGE_SIZE,
    offset: (f.page - 1) * PAGE_SIZE,
  });
  return { filter: f, rows, total };
}

function matchesCell(r: Registration): Html {
  const matches = detailsOf(r).decision?.matches ?? [];
  if (!matches.length) return html`<span class="muted">none</span>`;
  return html`${matches.slice(0, 3).map((m) => html`<div class="small">${m.kind} <strong>${m.name}</strong>${m.domain ? html` <span class="muted">${m.domain}</span>` : html``} ${m.matchedOn === 'name' ? `(name ${Math.round(m.score * 100)}%)` : '(domain)'}${m.partnerId ? ` · ${m.partnerId}` : ''}</div>`)}${matches.length > 3 ? html`<div class="small muted">+${matches.length - 3} more</div>` : html``}`;
}

/** Approved registrations whose partner asks for more exclusivity: approve (one extension period) or deny, with a reason. */
function extensionPanel(rows: Registration[], csrf: string, canDecide: boolean): Html {
  if (!rows.length) return html``;
  return html`<h2 id="extension-requests">Extension requests <span class="muted small">${rows.length}</span></h2>
<table><thead><tr><th>Customer</th><th>Partner</th><th>Exclusive until</th><th>Extensions</th><th>Asked</th><th>Why (partner)</th>${canDecide ? html`<th></th>` : html``}</tr></thead><tbody>${rows.map((r) => {
    const ask = detailsOf(r).extensionRequest!;
    return html`<tr data-extension="${r.id}"><td><a href="/registrations/${encodeURIComponent(r.id)}">${r.customerName ?? '(no name)'}</a></td><td>${r.partner}</td><td class="small">${fmtTime(r.expiresAt)}</td><td class="num">${r.extensions}</td><td class="small">${ask.by} · ${fmtTime(ask.at)}</td><td class="small">${ask.reason}</td>
${canDecide ? html`<td><form method="post" action="/queue/extension" class="bar"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="id" value="${r.id}"><input name="reason" size="28" placeholder="reason (required)" aria-label="extension reason"><button type="submit" name="decision" value="approve">Approve extension</button><button type="submit" name="decision" value="deny" class="danger">Deny</button></form></td>` : html``}</tr>`;
  })}</tbody></table>`;
}

function renderQueue(req: FastifyRequest, reply: FastifyReply, deps: ConsoleDeps, data: Awaited<ReturnType<typeof queuePage>>, title: string, base: string, extensions: Registration[] = []): string {
  const ctx = pageContext(req, reply);
  const { filter: f, rows, total } = data;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const keep = { status: f.status, partner: f.partner, q: f.q, sort: f.sort, dir: f.dir };
  const sortLink = (key: RegistrationSort, label: string) => {
    const dir = f.sort === key && f.dir === 'asc' ? 'desc' : 'asc';
    return html`<a href="${base}${query({ ...keep, sort: key, dir })}">${label}${f.sort === key ? (f.dir === 'asc' ? ' ▲' : ' ▼') : ''}</a>`;
  };
  const partners = [...deps.network.network.partners.map((p) => p.id)];
  const statuses = ['pending-review', 'approved', 'auto-approved', 'rejected', 'expired', 'won', 'lost', 'submitted', 'checked'];
  const back = `${base}${query({ ...keep, page: f.page })}`;
  const canDecide = ctx.user?.role !== 'viewer';
  const now = Date.now();
  const body = html`${extensionPanel(extensions, ctx.csrf, canDecide)}<h1>${title} <span class="muted small">${total.toLocaleString('en-US')} registration${total === 1 ? '' : 's'}</span></h1>
<form class="bar" method="get" action="${base}">
  <select name="status" aria-label="status"><option value="">any status</option>${statuses.map((s) => html`<option value="${s}" ${s === f.status ? 'selected' : ''}>${s}</option>`)}</select>
  <select name="partner" aria-label="partner"><option value="">every partner</option>${partners.map((p) => html`<option value="${p}" ${p === f.partner ? 'selected' : ''}>${p}</option>`)}</select>
  <input name="q" value="${f.q ?? ''}" placeholder="customer name or domain" aria-label="search">
  <input type="hidden" name="sort" value="${f.sort}"><input type="hidden" name="dir" value="${f.dir}">
  <button type="submit" class="secondary">Filter</button>
</form>
<form method="post" action="/queue/decide" id="decide">
<input type="hidden" name="_csrf" value="${ctx.csrf}"><input type="hidden" name="back" value="${back}">
${canDecide
  ? html`<div class="bar"><input name="reason" id="reason" size="60" placeholder="reason (required; shown to the partner)" aria-label="reason">
  <button type="submit" name="bulk" value="approve">Approve selected</button>
  <button type="submit" name="bulk" value="reject" class="danger">Reject selected</button>
  <button type="submit" name="bulk" value="extend" class="secondary">Extend selected</button>
  <span class="muted small" id="selected"></span></div>`
  : html`<p class="muted">Your role (viewer) can read the queue; channel managers and admins decide.</p>`}
<table><thead><tr>${canDecide ? html`<th><input type="checkbox" id="all" aria-label="select all"></th>` : html``}<th>${sortLink('customer', 'Customer')}</th><th>${sortLink('partner', 'Partner')}</th><th>${sortLink('amount', 'Amount')}</th><th>${sortLink('status', 'Status')}</th><th>${sortLink('submitted', 'Registered')}</th><th>${sortLink('due', 'Review due (SLA)')}</th><th>Rules of Engagement</th><th>Matched records</th>${canDecide ? html`<th></th>` : html``}</tr></thead>
<tbody>${rows.length
  ? rows.map((r) => {
      const d = detailsOf(r).decision;
      const overdue = r.reviewDueAt && Date.parse(r.reviewDueAt) < now;
      return html`<tr data-id="${r.id}">${canDecide ? html`<td><input type="checkbox" name="ids" value="${r.id}" aria-label="select ${r.id}"></td>` : html``}
<td><a href="/registrations/${encodeURIComponent(r.id)}">${r.customerName ?? '(no name)'}</a><div class="small muted">${r.customerDomain ?? ''}${r.country ? ` · ${r.country}` : ''}</div></td>
<td>${r.partner}</td><td class="num">${fmtAmount(r.amount, r.currency)}</td><td>${statusPill(r.status)}${detailsOf(r).escalated ? html` <span class="pill bad">escalated</span>` : html``}</td>
<td class="small">${fmtTime(r.submittedAt)}</td>
<td class="small">${r.reviewDueAt ? html`${fmtTime(r.reviewDueAt)}<div class="${overdue ? 'pill bad' : 'muted'}">${fmtRelative(r.reviewDueAt, now)}</div>` : html`<span class="muted">—</span>`}</td>
<td class="small">${d ? html`<strong>${d.outcome}</strong> by <code>${d.ruleId}</code>: ${d.reason}` : html`${r.reason ?? ''}`}</td>
<td>${matchesCell(r)}</td>
${canDecide ? html`<td style="white-space:nowrap"><button type="submit" name="one" value="${`approve ${r.id}`}" class="secondary">Approve</button> <button type="submit" name="one" value="${`reject ${r.id}`}" class="secondary">Reject</button></td>` : html``}</tr>`;
    })
  : html`<tr><td colspan="10" class="muted">nothing here${f.status === 'pending-review' ? ': no registration waits for review' : ''}</td></tr>`}</tbody></table>
</form>
<div class="pager">${f.page > 1 ? html`<a href="${base}${query({ ...keep, page: f.page - 1 })}">← previous</a>` : html``}<span class="muted">page ${f.page} of ${pages}</span>${f.page < pages ? html`<a href="${base}${query({ ...keep, page: f.page + 1 })}">next →</a>` : html``}</div>`;
  const script = `const all=document.getElementById('all');const boxes=()=>[...document.querySelectorAll('input[name=ids]')];
const count=()=>{const n=boxes().filter(b=>b.checked).length;const s=document.getElementById('selected');if(s)s.textContent=n?n+' selected':'';};
if(all)all.addEventListener('change',()=>{boxes().forEach(b=>b.checked=all.checked);count();});boxes().forEach(b=>b.addEventListener('change',count));`;
  return page(ctx, title, body, { script });
}

/** Which registrations a decide post acts on and how: one row's button, or a bulk button over the ticked rows. */
export function parseDecision(body: Record<string, unknown>): { action: 'approve' | 'reject' | 'extend'; ids: string[]; reason: string } | { error: string } {
  const reason = String(body.reason ?? '').trim().slice(0, 2000);
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
  let action: string;
  let ids: string[];
  if (typeof body.one === 'string') {
    const [a, ...rest] = body.one.split(' ');
    action = a;
    ids = [rest.join(' ')];
  } else {
    action = String(body.bulk ?? '');
    ids = list(body.ids);
  }
  if (action !== 'approve' && action !== 'reject' && action !== 'extend') return { error: `unknown action "${action}"` };
  ids = [...new Set(ids.filter((id) => /^[^\s:]+:\S+$/.test(id)))];
  if (!ids.length) return { error: 'select at least one registration' };
  if (ids.length > MAX_BULK) return { error: `at most ${MAX_BULK} registrations at once (${ids.length} selected)` };
  if (!reason && action !== 'extend') return { error: `a reason is required to ${action} (the partner sees it)` };
  return { action, ids, reason };
}

export function registerQueue(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/queue', async (req, reply) => {
    const [data, extensions] = await Promise.all([queuePage(deps, req.query as QueueQuery, 'pending-review'), deps.ledger.registrations.extensionRequests()]);
    return reply.type('text/html').send(renderQueue(req, reply, deps, data, 'Review queue', '/queue', extensions));
  });
  // The partner's extension request: approve or deny through the workflow's `decideExtension` update (the CLI's function).
  app.post('/queue/extension', { preHandler: requirePermission('decide') }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const id = normaliseRegistrationId(String(body.id ?? ''));
    const action = body.decision === 'approve' ? 'approve' : body.decision === 'deny' ? 'deny' : undefined;
    try {
      if (!action) throw new Error('approve or deny the extension');
      const s = await decideRegistrationExtension(deps.client, id, { action, by: req.session.user!.name, reason: String(body.reason ?? '').slice(0, 2000) });
      req.session.flash = { text: `extension of ${id} ${action === 'approve' ? `approved: exclusive until ${s.expiresAt}` : 'denied'}` };
    } catch (e) {
      req.session.flash = { text: `refused: ${id}: ${(e as Error).message}`, bad: true };
    }
    return reply.redirect('/queue', 303);
  });
  app.get('/registrations', async (req, reply) => reply.type('text/html').send(renderQueue(req, reply, deps, await queuePage(deps, req.query as QueueQuery, ''), 'Registrations', '/registrations')));
  app.get('/api/registrations', async (req) => {
    const { filter, rows, total } = await queuePage(deps, req.query as QueueQuery, 'pending-review');
    return { filter, total, pageSize: PAGE_SIZE, rows };
  });

  app.post('/queue/decide', { preHandler: requirePermission('decide') }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const back = typeof body.back === 'string' && /^\/(queue|registrations)(\?|$|\/)/.test(body.back) ? body.back : '/queue';
    const parsed = parseDecision(body);
    if ('error' in parsed) {
      req.session.flash = { text: parsed.error, bad: true };
      return reply.redirect(back, 303);
    }
    const results = await decideMany(deps, req.session.user!.name, parsed);
    const failed = results.filter((r) => !r.ok);
    const verb = { approve: 'approved', reject: 'rejected', extend: 'extended' }[parsed.action];
    const text = `${verb} ${results.length - failed.length} of ${results.length}${failed.length ? ` — refused: ${failed.map((f) => `${f.id}: ${f.error}`).join('; ')}` : ''}`;
    req.session.flash = { text, bad: failed.length > 0 };
    return reply.redirect(back, 303);
  });
}

/**
 * One decision on many registrations, each through the registration workflow's own update (the CLI's
 * code path, lib/registrationClient.ts) with the signed-in user as `by`, so the workflow's audit
 * names them. Each is independent: one refused (already decided, say) does not stop the rest.
 */
export async function decideMany(deps: ConsoleDeps, by: string, d: { action: 'approve' | 'reject' | 'extend'; ids: string[]; reason: string }): Promise<Array<{ id: string; ok: boolean; status?: string; error?: string }>> {
  const limit = pLimit(BULK_CONCURRENCY);
  return Promise.all(
    d.ids.map((id) =>
      limit(async () => {
        try {
          const s = d.action === 'extend' ? await extendRegistration(deps.client, id, { by, reason: d.reason }) : await decideRegistration(deps.client, id, { action: d.action, by, reason: d.reason });
          return { id, ok: true, status: s.status };
        } catch (e) {
          return { id, ok: false, error: (e as Error).message };
        }
      }),
    ),
  );
}
