import type { FastifyInstance } from 'fastify';
import { splitEndpoint, type LoadedNetwork } from '../lib/config.js';
import { normaliseRegistrationId } from '../lib/registrationClient.js';
import type { RegistrationState } from '../rules/lifecycle.js';
import { detailsOf } from '../registrations/details.js';
import type { DisputeState } from '../rules/dispute.js';
import { fieldLabel } from '../rules/infoRequest.js';
import { REQUESTABLE_FIELDS } from './registrationActions.js';
import type { ConsoleDeps } from './deps.js';
import { html, type Html } from './html.js';
import { fmtAmount, fmtRelative, fmtTime, page, statusPill } from './layout.js';
import { pageContext } from './server.js';
import { disputeHandle, disputeStatusQuery, registrationHandle, registrationStatusQuery, registrationWorkflowId } from '../lib/workflowClient.js';

/** The Temporal Web UI page of a workflow, when the console knows where the UI is. */
export function workflowUrl(deps: ConsoleDeps, workflowId: string): string | undefined {
  return deps.temporalUi ? `${deps.temporalUi.url}/namespaces/${encodeURIComponent(deps.temporalUi.namespace)}/workflows/${encodeURIComponent(workflowId)}` : undefined;
}

/**
 * The links a registration's events can be on: its own link and every link of its partner (record ids
 * are only unique inside one CRM, so its audit is filtered by these links, never by record id alone).
 */
export function registrationLinkIds(network: LoadedNetwork, partner: string, ownLink: string | undefined): string[] {
  const ids = new Set<string>(ownLink ? [ownLink] : []);
  for (const l of network.network.links) if (splitEndpoint(l.from).org === partner || splitEndpoint(l.to).org === partner) ids.add(l.id);
  return [...ids];
}

const link = (url: string | undefined, text: string): Html => (url ? html`<a href="${url}">${text}</a>` : html`${text}`);

export function registerRegistration(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/registrations/:id', async (req, reply) => {
    const ctx = pageContext(req, reply);
    const id = normaliseRegistrationId((req.params as { id: string }).id);
    const row = await deps.ledger.registrations.get(id);
    if (!row) return reply.code(404).type('text/html').send(page(ctx, 'Unknown registration', html`<h1>No registration ${id}</h1><p><a href="/registrations">all registrations</a></p>`));
    const d = detailsOf(row);
    const workflowId = registrationWorkflowId(id);
    const [live, dispute, audit] = await Promise.all([
      registrationHandle(deps.client, id)
        .query(registrationStatusQuery)
        .catch(() => undefined) as Promise<RegistrationState | undefined>,
      // A dispute exists only for a rejection (its workflow answers after it finished, too).
      row.status === 'rejected' || d.dispute
        ? (disputeHandle(deps.client, id)
            .query(disputeStatusQuery)
            .catch(() => undefined) as Promise<DisputeState | undefined>)
        : Promise.resolve(undefined),
      deps.ledger.audit.list({ recordId: row.sourceId, linkIds: registrationLinkIds(deps.network, row.partner, d.linkId), order: 'desc', limit: 100 }),
    ]);
    const ownLink = deps.network.network.links.find((l) => l.id === d.linkId);
    const source = ownLink ? splitEndpoint(ownLink.from) : undefined;
    const target = ownLink ? splitEndpoint(ownLink.to) : undefined;
    const dealUrl = source ? deps.recordUrl?.(source.org, source.object, row.sourceId) : undefined;
    const oppUrl = target && row.vendorOpportunityId ? deps.recordUrl?.(target.org, target.object, row.vendorOpportunityId) : undefined;
    const vendor = deps.network.network.vendor.id;
    const wfUrl = workflowUrl(deps, workflowId);
    const canDecide = ctx.user?.role !== 'viewer';
    const status = live?.status ?? row.status;
    const back = `/registrations/${encodeURIComponent(id)}`;
    const matches = d.decision?.matches ?? [];
    const body = html`<h1>${row.customerName ?? '(no name)'} <span class="muted small">${row.id}</span> ${statusPill(status)}${live?.escalated ? html` <span class="pill bad">escalated</span>` : html``}</h1>
<div class="card"><dl>
<dt>Partner</dt><dd>${row.partner}</dd>
<dt>Customer</dt><dd>${row.customerName ?? '—'} · ${row.customerDomain ?? 'no domain'} · ${row.country ?? 'no country'}</dd>
<dt>Amount</dt><dd>${fmtAmount(row.amount, row.currency)}</dd>
<dt>Registered</dt><dd>${fmtTime(row.submittedAt)} <span class="muted small">(${d.registeredAtSource === 'first-seen' ? 'first seen by cosell' : "the partner CRM's create time"})</span></dd>
<dt>Review due</dt><dd>${live?.reviewDueAt ?? row.reviewDueAt ? html`${fmtTime(live?.reviewDueAt ?? row.reviewDueAt)} <span class="muted">${fmtRelative(live?.reviewDueAt ?? row.reviewDueAt)}</span>` : '—'}</dd>
<dt>Exclusive until</dt><dd>${fmtTime(live?.expiresAt ?? row.expiresAt)}${row.extensions ? ` (${row.extensions} extension${row.extensions === 1 ? '' : 's'})` : ''}</dd>
<dt>Decided</dt><dd>${row.decidedBy ? `${row.decidedBy} at ${fmtTime(row.decidedAt)}` : '—'}${row.reason ? html`<div class="small">${row.reason}</div>` : html``}</dd>
<dt>Partner deal</dt><dd>${link(dealUrl, `${source?.org ?? row.partner} ${source?.object ?? 'deal'} ${row.sourceId}`)}</dd>
<dt>Vendor opportunity</dt><dd>${row.vendorOpportunityId ? link(oppUrl, `${target?.org ?? vendor} ${target?.object ?? 'Opportunity'} ${row.vendorOpportunityId}`) : html`<span class="muted">none (${status === 'pending-review' ? 'held out of the pipeline until approved' : 'not created'})</span>`}</dd>
<dt>Workflow</dt><dd>${link(wfUrl, workflowId)}${live ? '' : html` <span class="pill bad">not running</span>`}</dd>
</dl></div>
${canDecide && status === 'pending-review'
  ? html`<form method="post" action="/queue/decide" class="bar card"><input type="hidden" name="_csrf" value="${ctx.csrf}"><input type="hidden" name="back" value="${back}"><input type="hidden" name="ids" value="${id}">
<input name="reason" size="60" placeholder="reason (required; shown to the partner)" aria-label="reason"><button type="submit" name="bulk" value="approve">Approve</button><button type="submit" name="bulk" value="reject" class="danger">Reject</button></form>`
  : canDecide && (status === 'approved' || status === 'auto-approved')
    ? html`<form method="post" action="/queue/decide" class="bar card"><input type="hidden" name="_csrf" value="${ctx.csrf}"><input type="hidden" name="back" value="${back}"><input type="hidden" name="ids" value="${id}">
<input name="reason" size="60" placeholder="reason (optional)" aria-label="reason"><button type="submit" name="bulk" value="extend" class="secondary">Extend exclusivity</button></form>`
    : html``}
${canDecide && status === 'pending-review'
  ? html`<form method="post" action="/registrations/${encodeURIComponent(id)}/request-info" class="card" id="request-info"><input type="hidden" name="_csrf" value="${ctx.csrf}">
<strong>Request info</strong> <span class="muted small">("Action Required" on the partner's deal; re-decided when the partner changes these fields)</span>
<div class="bar">${REQUESTABLE_FIELDS.map((f) => html`<label class="small"><input type="checkbox" name="fields" value="${f}"> ${fieldLabel(f)}</label>`)}<input name="more" size="24" placeholder="fields.&lt;mapped field&gt;, …" aria-label="more fields"></div>
<div class="bar"><input name="reason" size="60" placeholder="reason (required; internal)" aria-label="request reason"><button type="submit" class="secondary">Request info</button></div></form>`
  : html``}
${live?.extensionRequest ? html`<div class="card"><span class="pill warn">extension requested</span> by ${live.extensionRequest.by} at ${fmtTime(live.extensionRequest.at)}: ${live.extensionRequest.reason} <span class="small muted">(approve or deny in the <a href="/queue#extension-requests">review queue</a>)</span></div>` : html``}
${live?.infoRequest ? html`<div class="card"><span class="pill warn">action required</span> the partner must complete ${live.infoRequest.fields.map(fieldLabel).join(', ')} — asked by ${live.infoRequest.by} at ${fmtTime(live.infoRequest.at)}: ${live.infoRequest.reason}</div>` : html``}
${dispute
  ? html`<h2>Dispute</h2><div class="card" id="dispute">${statusPill(dispute.status)} raised by ${dispute.by} at ${fmtTime(dispute.openedAt)}${dispute.dueAt ? html` <span class="muted small">resolve by ${fmtTime(dispute.dueAt)}</span>` : html``}<div class="small">${dispute.reason}</div>${dispute.resolution ? html`<div>resolved <strong>${dispute.resolution.outcome}</strong> by ${dispute.resolution.by} at ${fmtTime(dispute.resolution.at)}: ${dispute.resolution.reason}</div>` : html``}
${canDecide && !dispute.resolution
  ? html`<form method="post" action="/registrations/${encodeURIComponent(id)}/resolve-dispute" class="bar"><input type="hidden" name="_csrf" value="${ctx.csrf}"><input name="reason" size="50" placeholder="reason (required; internal)" aria-label="resolution reason">
<button type="submit" name="outcome" value="uphold" class="secondary">Uphold the decision</button><button type="submit" name="outcome" value="overturn">Overturn (approve)</button><button type="submit" name="outcome" value="split" class="secondary">Split attribution</button></form>`
  : html``}</div>`
  : canDecide && status === 'rejected'
    ? html`<form method="post" action="/registrations/${encodeURIComponent(id)}/dispute" class="bar card" id="open-dispute"><input type="hidden" name="_csrf" value="${ctx.csrf}"><input name="reason" size="60" placeholder="the partner's case (required; internal)" aria-label="dispute reason"><button type="submit" class="secondary">Dispute on the partner's behalf</button></form>`
    : html``}
<h2>Rules of Engagement</h2>
<div class="card">${d.decision ? html`<strong>${d.decision.outcome}</strong> by rule <code>${d.decision.ruleId}</code>: ${d.decision.reason}` : html`<span class="muted">no decision recorded</span>`}${d.supersededBy ? html`<div>superseded by <a href="/registrations/${encodeURIComponent(d.supersededBy)}">${d.supersededBy}</a> (registered earlier)</div>` : html``}</div>
<h3>Matched records</h3>
${matches.length
  ? html`<table><thead><tr><th>Kind</th><th>Name</th><th>Domain</th><th>Matched on</th><th>Score</th><th>Holder</th></tr></thead><tbody>${matches.map((m) => {
      const url = m.kind === 'registration' ? `/registrations/${encodeURIComponent(m.id)}` : deps.recordUrl?.(vendor, m.kind === 'vendor-account' ? 'Account' : 'Opportunity', m.id);
      return html`<tr><td>${m.kind}</td><td>${link(url, m.name)}</td><td>${m.domain ?? '—'}</td><td>${m.matchedOn}</td><td class="num">${Math.round(m.score * 100)}%</td><td class="small">${m.partnerId ? `${m.partnerId}${m.registeredAt ? ` since ${fmtTime(m.registeredAt)}` : ''}` : '—'}</td></tr>`;
    })}</tbody></table>`
  : html`<p class="muted">the customer matched no vendor account, opportunity or registration</p>`}
<h2>Lifecycle</h2>
${live
  ? html`<table><thead><tr><th>When</th><th>From</th><th>To</th><th>By</th><th>Reason</th></tr></thead><tbody>${live.history.map((h) => html`<tr><td class="small">${fmtTime(h.at)}</td><td>${h.from ?? '—'}</td><td>${statusPill(h.to)}</td><td>${h.by}</td><td class="small">${h.reason ?? ''}</td></tr>`)}</tbody></table>`
  : html`<p class="muted">the workflow is not running (finished, or not started yet): the audit below is the record</p>`}
<h2>Audit</h2>
${audit.length
  ? html`<table><thead><tr><th>When</th><th>Action</th><th>Actor</th><th>Link</th><th>Details</th></tr></thead><tbody>${audit.map((a) => html`<tr><td class="small">${fmtTime(a.at)}</td><td><code>${a.action}</code></td><td>${a.actor ?? '—'}</td><td class="small">${a.linkId}</td><td class="small">${a.details ? JSON.stringify(a.details).slice(0, 400) : ''}</td></tr>`)}</tbody></table>`
  : html`<p class="muted">no audit events</p>`}
<p><a href="/queue">← review queue</a></p>`;
    return reply.type('text/html').send(page(ctx, `Registration ${row.id}`, body));
  });
}
