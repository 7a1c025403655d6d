import { setTimeout as sleep } from 'node:timers/promises';
import { Client as HubspotClient } from '@hubspot/api-client';
import type { Client } from '@temporalio/client';
import type { Sandbox } from '@cosell/sandbox';
import { describeAwaiting, type RegistrationState } from '../rules/index.js';
import { decideUpdate, registrationStatusQuery, requestInfoUpdate, registrationHandle } from '../lib/workflowClient.js';

/**
 * What `npm start` shows of registration parity with PRMs: two acme deals created in its sandbox
 * portal through the HubSpot client, decided by the demo policy (both above gold's auto-approval
 * limit → review), then acted on through the same workflow updates the CLI and the console use —
 * one over the 250,000 USD approval level gets its first approval and waits for the deal desk, the
 * other is put in "Action Required" (its close date). Returns what to print; `signal` stops the wait
 * (Ctrl-C before the first sync decided them must not keep the process alive).
 */
export async function seedParityDemo(opts: { sandbox: Sandbox; client: Client; partner?: string; timeoutMs?: number; signal?: AbortSignal }): Promise<string[]> {
  const partner = opts.partner ?? 'acme';
  const org = opts.sandbox.orgs[partner];
  if (org?.kind !== 'hubspot') return [];
  const hs = new HubspotClient({ accessToken: org.accessToken, basePath: org.basePath });
  const deal = async (name: string, amount: number, company: { name: string; domain: string }) => {
    const c = await hs.crm.companies.basicApi.create({ properties: { ...company, country: 'United States' }, associations: [] });
    const d = await hs.crm.deals.basicApi.create({ properties: { dealname: name, amount: String(amount), closedate: '2027-09-30T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy' }, associations: [] });
    await hs.crm.associations.v4.basicApi.createDefault('deals', d.id, 'companies', c.id);
    return `${partner}:${d.id}`;
  };
  const big = await deal('Northwind data platform (demo: two approvals)', 400_000, { name: 'Northwind Traders', domain: 'northwind-traders.example' });
  const vague = await deal('Fabrikam rollout (demo: action required)', 150_000, { name: 'Fabrikam Inc', domain: 'fabrikam.example' });
  const longer = await deal('Tailspin kiosks (demo: extension request)', 60_000, { name: 'Tailspin Toys', domain: 'tailspin-toys.example' });
  // The demo's first sync decides some 600 seeded deals first: on a small machine that takes minutes.
  const until = (id: string, pred: (s: RegistrationState) => boolean) => waitFor(opts.timeoutMs ?? 15 * 60_000, opts.signal, async () => {
    const s = await registrationHandle(opts.client, id).query(registrationStatusQuery).catch(() => undefined);
    return s && pred(s) ? s : undefined;
  });
  const pending = (id: string) => until(id, (s) => s.status === 'pending-review');
  await pending(big);
  const first = await registrationHandle(opts.client, big).executeUpdate(decideUpdate, { args: [{ action: 'approve', by: 'cam@contoso.example', reason: 'acme has the relationship (demo)' }] });
  await pending(vague);
  const asked = await registrationHandle(opts.client, vague).executeUpdate(requestInfoUpdate, { args: [{ by: 'cam@contoso.example', fields: ['closeDate'], reason: 'the close date looks like a placeholder (demo)' }] });
  // The partner asks for more exclusivity on its own deal (the extension field, as its people would);
  // the link's next sync hands it to the workflow, and the console's queue shows it.
  await until(longer, (s) => s.status === 'auto-approved' || s.status === 'approved');
  await hs.crm.deals.basicApi.update(longer.split(':')[1]!, { properties: { cosell_registration_extension: 'the customer moved its roll-out by a quarter (demo)' } });
  const extension = await until(longer, (s) => !!s.extensionRequest);
  return describeSeeded(first, asked, extension);
}

function describeSeeded(first: RegistrationState, asked: RegistrationState, extension: RegistrationState): string[] {
  return [
    `  Extension request  ${extension.id}: the partner asked on its deal for more exclusivity (until ${extension.expiresAt?.slice(0, 10)}): approve or deny in the console's review queue`,
    `                     (npx cosell registrations decide-extension ${extension.id} --decision approve --by you --reason "ok")`,
    `  Awaiting approval  ${first.id}: approved by ${first.approvals.map((a) => a.by).join(', ')}; still needs ${first.awaiting.map(describeAwaiting).join(', ')}`,
    `                     (npx cosell registrations approve ${first.id} --by dana@contoso.example --reason "desk ok")`,
    `  Action Required    ${asked.id}: the partner was asked for ${asked.infoRequest?.fields.join(', ')}; editing it on the deal re-decides it`,
  ];
}

async function waitFor<T>(timeoutMs: number, signal: AbortSignal | undefined, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`the demo registrations were not decided within ${timeoutMs / 1000} s`);
    await sleep(500, undefined, { signal });
  }
}
