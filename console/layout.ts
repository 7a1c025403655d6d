import { html, raw, type Html } from './html.js';
import type { Role } from './users.js';

/** Inline CSS (the console loads nothing from anywhere: it works offline, and the CSP forbids it). */
const CSS = `
:root{--fg:#1d2433;--muted:#5c6478;--line:#dde1ea;--bg:#f6f7fb;--accent:#2f5bd3;--ok:#1f7a46;--bad:#b42318;--warn:#9a6700}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;gap:18px;align-items:center;padding:10px 20px;background:#141b2d;color:#fff}
header a{color:#c9d4ff;text-decoration:none}header a.on{color:#fff;font-weight:600}header .who{margin-left:auto;color:#aab3c8}
header form{display:inline}header button{background:none;border:1px solid #56607a;color:#dfe5f5;border-radius:4px;padding:2px 8px;cursor:pointer}
main{padding:18px 20px;max-width:1500px}h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:22px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef1f7;font-weight:600;white-space:nowrap}th a{color:inherit}td.num{text-align:right;white-space:nowrap}tr:hover td{background:#fafbff}
.muted{color:var(--muted)}.small{font-size:12px}.pill{display:inline-block;padding:0 7px;border-radius:10px;background:#e8ecf6;font-size:12px;white-space:nowrap}
.pill.ok{background:#dcf3e5;color:var(--ok)}.pill.bad{background:#fde4e1;color:var(--bad)}.pill.warn{background:#fff1cc;color:var(--warn)}
.bar{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin:0 0 12px}input,select,textarea{font:inherit;padding:4px 6px;border:1px solid #b9c0d0;border-radius:4px;background:#fff}
button,.button{font:inherit;padding:4px 10px;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
.flash{padding:8px 12px;border-radius:4px;margin:0 0 12px;background:#e7f0ff;border:1px solid #bcd0ff}.flash.bad{background:#fde4e1;border-color:#f3b8b0}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 14px;margin:0 0 12px}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dt{color:var(--muted)}
.pager{display:flex;gap:10px;align-items:center;margin:10px 0}pre{white-space:pre-wrap;background:#fff;border:1px solid var(--line);padding:8px;overflow:auto}
.diff-add{color:var(--ok)}.diff-del{color:var(--bad);text-decoration:line-through}.login{max-width:340px;margin:80px auto}.login label{display:block;margin:10px 0 4px}.login input{width:100%}
`;

export const NAV: Array<{ href: string; label: string }> = [
  { href: '/queue', label: 'Review queue' },
  { href: '/registrations', label: 'Registrations' },
  { href: '/links', label: 'Link health' },
  { href: '/mappings', label: 'Mappings' },
  { href: '/overlaps', label: 'Overlaps' },
];

export interface PageContext {
  user?: { name: string; role: Role };
  csrf: string;
  nonce: string;
  path: string;
  flash?: { text: string; bad?: boolean };
}

/** The page shell: navigation, who is signed in, a flash message, the content. */
export function page(ctx: PageContext, title: string, body: Html, opts: { script?: string } = {}): string {
  const nav = ctx.user
    ? html`<header><strong>cosell console</strong>${NAV.map((n) => html`<a href="${n.href}" class="${ctx.path.startsWith(n.href) ? 'on' : ''}">${n.label}</a>`)}
<span class="who">${ctx.user.name} · ${ctx.user.role}</span>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit">Sign out</button></form></header>`
    : html``;
  const flash = ctx.flash ? html`<div class="flash ${ctx.flash.bad ? 'bad' : ''}" role="status">${ctx.flash.text}</div>` : html``;
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · cosell console</title><style nonce="${ctx.nonce}">${raw(CSS)}</style></head>
<body>${nav}<main>${flash}${body}</main>${opts.script ? html`<script nonce="${ctx.nonce}">${raw(opts.script)}</script>` : html``}</body></html>`.text;
}

export function statusPill(status: string): Html {
  const kind = ['approved', 'auto-approved', 'won', 'idle', 'running', 'resolved'].includes(status) ? 'ok' : ['rejected', 'lost', 'error', 'expired'].includes(status) ? 'bad' : ['pending-review', 'waiting-quota', 'paused', 'pending'].includes(status) ? 'warn' : '';
  return html`<span class="pill ${kind}">${status}</span>`;
}

export function fmtTime(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—';
}

export function fmtAmount(amount: number | null | undefined, currency?: string | null): string {
  if (amount === null || amount === undefined) return '—';
  return `${amount.toLocaleString('en-US', { maximumFractionDigits: 2 })}${currency ? ` ${currency}` : ''}`;
}

/** "in 3 h" / "2 d ago" relative to now, for due times. */
export function fmtRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const unit = abs < 120_000 ? `${Math.round(abs / 1000)} s` : abs < 7_200_000 ? `${Math.round(abs / 60_000)} min` : abs < 172_800_000 ? `${Math.round(abs / 3_600_000)} h` : `${Math.round(abs / 86_400_000)} d`;
  return ms >= 0 ? `in ${unit}` : `${unit} overdue`;
}
