import type { FastifyInstance } from 'fastify';
import type { SandboxOrg } from './types.js';

/**
 * Read-only CRM-like pages for one org, plain server-rendered HTML: an index of objects, a list view per
 * object (newest change first, paged) and a record page with every field. Meant for people watching
 * partner data arrive during the demo; they refresh themselves every few seconds.
 */

const PAGE_SIZE = 50;

/** HTML-escape a value for the sandbox's pages. */
export const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f4f6f9}
header{background:#0b5cab;color:#fff;padding:10px 20px}header a{color:#fff;text-decoration:none;font-weight:600}
header small{opacity:.8;margin-left:12px}main{padding:16px 20px}
nav a{display:inline-block;margin:0 6px 10px 0;padding:4px 10px;background:#fff;border:1px solid #d0d7de;border-radius:14px;color:#0b5cab;text-decoration:none}
nav a.on{background:#0b5cab;color:#fff}table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0002}
th,td{border-bottom:1px solid #e5e9ef;padding:6px 10px;text-align:left;vertical-align:top}th{background:#fafbfc;font-weight:600}
td.k{width:260px;color:#57606a}.pager{margin:12px 0}.pager a{margin-right:12px}.muted{color:#6e7781}`;

function layout(org: SandboxOrg, title: string, body: string, refresh = true): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · ${esc(org.name)}</title>
${refresh ? '<meta http-equiv="refresh" content="5">' : ''}<style>${CSS}</style></head>
<body><header><a href="/__sandbox/ui">${esc(org.name)}</a><small>${esc(org.kind)} sandbox · org "${esc(org.id)}" · read-only</small></header>
<main>${body}</main></body></html>`;
}

function nav(org: SandboxOrg, current?: string): string {
  const view = org.listView();
  return `<nav>${view.objects().map((o) => `<a class="${o === current ? 'on' : ''}" href="/__sandbox/ui/${encodeURIComponent(o)}">${esc(o)} (${view.count(o)})</a>`).join('')}</nav>`;
}

function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '<span class="muted">—</span>';
  if (typeof v === 'object') return `<code>${esc(JSON.stringify(v))}</code>`;
  return esc(v);
}

export function registerUi(app: FastifyInstance, org: SandboxOrg): void {
  app.get('/', async (_req, reply) => reply.redirect('/__sandbox/ui'));
  app.get('/__sandbox/ui', async (_req, reply) => {
    const view = org.listView();
    const rows = view.objects().map((o) => `<tr><td><a href="/__sandbox/ui/${encodeURIComponent(o)}">${esc(o)}</a></td><td>${view.count(o)}</td></tr>`).join('');
    return reply.type('text/html; charset=utf-8').send(layout(org, 'Objects', `${nav(org)}<table><tr><th>Object</th><th>Records</th></tr>${rows}</table>`));
  });
  app.get('/__sandbox/ui/:object', async (req, reply) => {
    const { object } = req.params as { object: string };
    const view = org.listView();
    if (!view.objects().includes(object)) return reply.code(404).type('text/html; charset=utf-8').send(layout(org, 'Not found', `${nav(org)}<p>No object ${esc(object)}.</p>`, false));
    const page = Math.max(1, Number((req.query as Record<string, string>).page ?? 1) || 1);
    const total = view.count(object);
    const cols = view.columns(object);
    const items = view.list(object, (page - 1) * PAGE_SIZE, PAGE_SIZE);
    const head = `<tr><th>Record</th>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
    const rows = items.map((it) => `<tr><td><a href="/__sandbox/ui/${encodeURIComponent(object)}/${encodeURIComponent(it.id)}">${esc(it.title)}</a></td>${cols.map((c) => `<td>${cell(it.fields[c])}</td>`).join('')}</tr>`).join('');
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const pager = `<div class="pager">${page > 1 ? `<a href="?page=${page - 1}">← newer</a>` : ''}<span class="muted">page ${page} of ${pages} · ${total} records, most recently changed first</span>${page < pages ? ` <a href="?page=${page + 1}">older →</a>` : ''}</div>`;
    return reply.type('text/html; charset=utf-8').send(layout(org, object, `${nav(org, object)}${pager}<table>${head}${rows}</table>${pager}`));
  });
  app.get('/__sandbox/ui/:object/:id', async (req, reply) => {
    const { object, id } = req.params as { object: string; id: string };
    const rec = org.listView().get(object, id);
    if (!rec) return reply.code(404).type('text/html; charset=utf-8').send(layout(org, 'Not found', `${nav(org, object)}<p>No ${esc(object)} ${esc(id)}.</p>`, false));
    const rows = Object.entries(rec).map(([k, v]) => `<tr><td class="k">${esc(k)}</td><td>${cell(v)}</td></tr>`).join('');
    return reply.type('text/html; charset=utf-8').send(layout(org, `${object} ${id}`, `${nav(org, object)}<p><a href="/__sandbox/ui/${encodeURIComponent(object)}">← ${esc(object)} list</a></p><table>${rows}</table>`));
  });
}
