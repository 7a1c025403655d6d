import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server.js';
import { EXTENSION_TEXT } from '../../rules/partnerReasons.js';
import { form, login, testUsers } from '../console/helpers.js';
import { runCli, startRegistrationHarness, type RegistrationHarness } from '../helpers/registrations.js';
import { eventually } from '../helpers/wait.js';
import { registrationStatusQuery } from '../../lib/workflowClient.js';

/**
 * Exclusivity extension requests on the real dev server and sandbox CRMs: the partner writes its
 * reason into the extension field on its own deal, the sync hands it to the registration workflow
 * (`requestExtension`), the vendor sees it in the console's queue and approves it (one extension
 * period) — then a second request is denied from the CLI. Each step is audited with who acted, the
 * partner's deal reads a fixed sentence (never the vendor's words), and the vendor is notified.
 */
const POLICY = `
version: 1
currency: USD
dealSize: { minimum: 1000, action: reject }
required: { fields: [customerName, domain], action: reject }
tiers: { gold: { autoApproveUpTo: 100000 }, silver: { autoApproveUpTo: 25000 }, registered: { autoApproveUpTo: 0 } }
review: { sla: 1h, onTimeout: escalate, escalateTo: channel-ops }
exclusivity: { period: 2h, extension: 1h, maxExtensions: 1 }
`;

let h: RegistrationHarness;
let app: FastifyInstance;
let deal: string;
const slow = <T>(what: string, fn: () => Promise<T | undefined | null | false>) => eventually(what, fn, { timeoutMs: 30_000, retryErrors: true });
const reason = async () => (await h.sb.hubspot('acme').crm.deals.basicApi.getById(deal, ['cosell_registration_reason'])).properties.cosell_registration_reason;
const ask = (text: string) => h.updateDeal('acme', deal, { cosell_registration_extension: text });

beforeAll(async () => {
  h = await startRegistrationHarness({ name: 'extension', policy: POLICY });
  app = await buildConsole({ network: h.run.engine.network, ledger: h.ledger, client: h.client, engine: async () => h.run.engine, users: await testUsers() });
}, 120_000);
afterAll(async () => {
  await app?.close();
  await h?.stop();
});

describe('exclusivity extension requests', () => {
  it('the partner asks on its own deal; the sync hands it to the workflow; the partner reads a fixed sentence; audited and notified', async () => {
    deal = await h.createDeal('acme', { name: 'Omega rollout', amount: 40_000, company: { name: 'Omega Retail', domain: 'omega-retail.com', country: 'United States' } });
    await h.sync('acme');
    const approved = await h.waitStatus('acme', deal, (s) => s.status === 'auto-approved');
    expect(approved.extensionRequest).toBeUndefined();
    await ask('customer procurement moved to next quarter');
    await h.sync('acme');
    const s = await h.waitStatus('acme', deal, (x) => !!x.extensionRequest);
    expect(s).toMatchObject({ status: 'auto-approved', extensions: 0, expiresAt: approved.expiresAt, extensionRequest: { by: 'partner', reason: 'customer procurement moved to next quarter' } });
    await slow('the request written back in fixed words', async () => (await reason()) === EXTENSION_TEXT.requested);
    const audit = await slow('audited and notified', async () => {
      const events = await h.ledger.audit.list({ recordId: deal, linkId: h.links.acme });
      const asked = events.find((e) => e.action === 'registration.extension-requested');
      const notified = events.find((e) => e.action === 'registration.notify.review-requested' && /extension of exclusivity requested/.test(JSON.stringify(e.details)));
      return asked && notified ? { asked, notified } : undefined;
    });
    expect(audit.asked).toMatchObject({ actor: 'partner' });
    // The same words synced again are not a new request (the one open stays as it was).
    await h.sync('acme');
    expect((await h.handle('acme', deal).query(registrationStatusQuery)) as unknown).toMatchObject({ extensionRequest: { at: s.extensionRequest!.at } });
  });

  it('the vendor sees it in the console queue and approves it: one extension period, audited with the user; a viewer cannot', async () => {
    const carl = await login(app, 'carl');
    const queue = await app.inject({ method: 'GET', url: '/queue', headers: { cookie: carl.cookie } });
    expect(queue.body).toContain(`data-extension="acme:${deal}"`);
    expect(queue.body).toContain('customer procurement moved to next quarter');
    const vic = await login(app, 'vic');
    const refused = await app.inject({ method: 'POST', url: '/queue/extension', headers: { cookie: vic.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ id: `acme:${deal}`, decision: 'approve', reason: 'x', _csrf: vic.csrf }) });
    expect(refused.statusCode).toBe(403);
    const before = await h.handle('acme', deal).query(registrationStatusQuery) as { expiresAt: string };
    const res = await app.inject({ method: 'POST', url: '/queue/extension', headers: { cookie: carl.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ id: `acme:${deal}`, decision: 'approve', reason: 'the delay is on the customer side', _csrf: carl.csrf }) });
    expect(res.statusCode).toBe(303);
    const after = await h.waitStatus('acme', deal, (x) => x.extensions === 1);
    expect(after.extensionRequest).toBeUndefined();
    expect(Date.parse(after.expiresAt!) - Date.parse(before.expiresAt)).toBe(3_600_000);
    await slow('the approval written back', async () => (await reason()) === EXTENSION_TEXT.approved);
    const row = await slow('the ledger follows', async () => {
      const r = await h.ledger.registrations.get(`acme:${deal}`);
      return r?.extensions === 1 && !(r.details as { extensionRequest?: unknown }).extensionRequest ? r : undefined;
    });
    expect(row.expiresAt).toBe(after.expiresAt);
    const events = await h.ledger.audit.list({ recordId: deal, linkId: h.links.acme });
    expect(events.find((e) => e.action === 'registration.extension-approved')).toMatchObject({ actor: 'carl' });
    const page = await app.inject({ method: 'GET', url: '/queue', headers: { cookie: carl.cookie } });
    expect(page.body).not.toContain(`data-extension="acme:${deal}"`);
  });

  it('with no extension left a new request is refused; on the partner\'s behalf and denied from the CLI otherwise', async () => {
    // maxExtensions 1 is used up: the partner's new words are refused by the workflow (logged), nothing opens.
    await ask('and one more month please');
    await h.sync('acme');
    await slow('the new words handled', async () => (await h.ledger.registrations.get(`acme:${deal}`))?.details?.extensionIntake === 'and one more month please');
    const now = (await h.handle('acme', deal).query(registrationStatusQuery)) as { extensions: number; extensionRequest?: unknown };
    expect(now.extensions).toBe(1);
    expect(now.extensionRequest).toBeUndefined();
    const out = await runCli(['registrations', 'request-extension', `acme:${deal}`, '--by', 'carl', '--reason', 'asked by phone']);
    expect(out).toContain('cannot request an extension (it already has 1 of at most 1 extensions)');
    const deny = await runCli(['registrations', 'decide-extension', `acme:${deal}`, '--decision', 'deny', '--by', 'carl', '--reason', 'no']);
    expect(deny).toContain('cannot deny an extension (there is no open extension request)');
  });
});
