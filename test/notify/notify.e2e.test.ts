import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistrationHarness, type RegistrationHarness } from '../helpers/registrations.js';
import { eventually } from '../helpers/wait.js';
import { decideUpdate } from '../../lib/workflowClient.js';

/**
 * Notifications end to end on the real dev server: registration events go to local receivers — an
 * HTTP sink standing in for the Slack and Microsoft Teams incoming webhooks (it fails the first
 * Slack deliveries with 503, so Temporal's activity retries must carry them) and a local SMTP server
 * (smtp-server) for e-mail, parsed with mailparser. Texts come from templates in the network file,
 * and a reviewer's free text naming another partner never reaches a channel.
 */

interface Hook { path: string; text: string }
const hooks: Hook[] = [];
const mails: Array<{ to: string; subject: string; text: string }> = [];
let slackFailures = 2;
let sink: http.Server;
let smtp: SMTPServer;
let h: RegistrationHarness;

beforeAll(async () => {
  sink = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/slack' && slackFailures-- > 0) return void res.writeHead(503).end('try later');
      hooks.push({ path: req.url ?? '', text: (JSON.parse(body) as { text: string }).text });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, done) {
      simpleParser(stream).then((m) => {
        mails.push({ to: session.envelope.rcptTo.map((x) => x.address).join(','), subject: m.subject ?? '', text: m.text ?? '' });
        done();
      }, done);
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  process.env.COSELL_TEST_SLACK_URL = `${base}/slack`;
  process.env.COSELL_TEST_TEAMS_URL = `${base}/teams`;
  h = await startRegistrationHarness({
    name: 'notify',
    policy: `
version: 1
tiers: { gold: { autoApproveUpTo: 100000 }, silver: { autoApproveUpTo: 25000 }, registered: { autoApproveUpTo: 0 } }
review: { sla: 2s, onTimeout: escalate, escalateTo: channel-ops }
`,
    networkExtra: `
notifications:
  smtp: { host: 127.0.0.1, port: ${(smtp.server.address() as AddressInfo).port}, from: cosell@contoso.example }
  channels:
    - { id: ops-slack, kind: slack, url: env:COSELL_TEST_SLACK_URL }
    - { id: ops-teams, kind: teams, url: env:COSELL_TEST_TEAMS_URL, events: [escalated, decided] }
    - { id: desk-mail, kind: email, to: [desk@contoso.example], events: [review-requested] }
  templates:
    review-requested: "Review {{registration}} ({{partnerName}}): {{message}}"
`,
  });
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await new Promise((r) => sink?.close(r));
  await new Promise((r) => smtp?.close(() => r(undefined)));
});

describe('notifications to Slack, Teams and e-mail (local receivers)', () => {
  it('review requested, SLA escalation and the decision reach their channels; Slack is retried past its 503s; free text naming another partner never does', async () => {
    const id = await h.createDeal('acme', { name: 'Notify me', amount: 150_000, company: { name: 'Kappa Kitchens', domain: 'kappa-kitchens.com', country: 'US' } });
    await h.sync('acme');
    await h.waitStatus('acme', id, (s) => s.status === 'pending-review');
    const reviewSlack = await eventually('review-requested on Slack (after two 503s)', async () => hooks.find((x) => x.path === '/slack' && x.text.startsWith(`Review acme:${id}`)), { timeoutMs: 30_000 });
    expect(reviewSlack.text).toMatch(/^Review acme:\d+ \(Acme Consulting\): registration acme:\d+ by acme needs review by .*: amount 150,000 USD is above the gold auto-approval limit/);
    expect(slackFailures).toBeLessThan(0); // both failures were consumed: the delivery was retried
    const mail = await eventually('review-requested e-mail', async () => mails.find((m) => m.text.includes(`acme:${id}`)), { timeoutMs: 30_000 });
    expect(mail).toMatchObject({ to: 'desk@contoso.example', subject: `[cosell] review-requested: registration acme:${id}` });
    await eventually('escalation on Teams', async () => hooks.find((x) => x.path === '/teams' && x.text.startsWith('Escalated:') && x.text.includes(`acme:${id}`)), { timeoutMs: 30_000 });
    expect(hooks.some((x) => x.path === '/teams' && x.text.startsWith('Review'))).toBe(false); // teams gets only its events

    await h.handle('acme', id).executeUpdate(decideUpdate, { args: [{ action: 'reject', by: 'cam@contoso.example', reason: 'Globex Integrators already works Kappa with us' }] });
    const decided = await eventually('decision on Teams', async () => hooks.find((x) => x.path === '/teams' && x.text.includes('was decided') && x.text.includes(`acme:${id}`)), { timeoutMs: 30_000 });
    expect(decided.text).toBe(`Registration acme:${id} from Acme Consulting was decided: a decision was made.`);
    for (const x of [...hooks, ...mails.map((m) => ({ path: 'mail', text: `${m.subject} ${m.text}` }))]) expect(x.text.toLowerCase()).not.toMatch(/globex/);
    const sent = await h.ledger.audit.list({ action: 'notification.sent', recordId: id });
    expect(sent.some((a) => (a.details as { scrubbed?: boolean }).scrubbed === true)).toBe(true);
  });
});
