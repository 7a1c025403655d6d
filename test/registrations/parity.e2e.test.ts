import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusal, runCli, startRegistrationHarness, type RegistrationHarness } from '../helpers/registrations.js';
import { eventually } from '../helpers/wait.js';
import { disputeStatusQuery, provideInfoUpdate, decideUpdate, requestInfoUpdate, resolveDisputeUpdate, disputeHandle, registrationStatusQuery } from '../../lib/workflowClient.js';

/**
 * Registration parity with PRMs on the real dev server and sandbox CRMs: multi-level approval (a
 * second approver from the deal desk above 250,000 USD, nobody approving twice) and "Action Required"
 * (a reviewer asks for fields, the partner's deal shows them, the partner's edit of exactly those
 * fields re-decides it).
 */

const POLICY = `
version: 1
currency: USD
dealSize: { minimum: 1000, action: reject }
required: { fields: [customerName, domain], action: reject }
tiers: { gold: { autoApproveUpTo: 100000 }, silver: { autoApproveUpTo: 25000 }, registered: { autoApproveUpTo: 0 } }
review: { sla: 1h, onTimeout: escalate, escalateTo: channel-ops }
approval:
  groups: { deal-desk: [dana@contoso.example] }
  levels: [{ above: 250000, group: deal-desk }]
disputes: { sla: 3s, escalateTo: channel-ops }
attribution:
  roles:
    sourcing: { defaultSplit: 70, sourced: true }
    services: { defaultSplit: 30 }
    influence: { defaultSplit: 10 }
    reseller: { defaultSplit: 20 }
`;

let h: RegistrationHarness;
const slow = <T>(what: string, fn: () => Promise<T | undefined | null | false>) => eventually(what, fn, { timeoutMs: 30_000, retryErrors: true });

beforeAll(async () => {
  h = await startRegistrationHarness({ name: 'parity', policy: POLICY });
}, 120_000);
afterAll(async () => h?.stop());

describe('multi-level approval', () => {
  it('above 250,000 USD: the first approval leaves it held, waiting for the deal desk; the same person twice is refused; the desk approves it', async () => {
    const id = await h.createDeal('acme', { name: 'Big platform', amount: 400_000, company: { name: 'Omega Mining', domain: 'omega-mining.com', country: 'US' } });
    await h.sync('acme');
    const p = await h.waitStatus('acme', id, (s) => s.status === 'pending-review');
    expect(p.awaiting.map((w) => w.group ?? 'anyone')).toEqual(['anyone', 'deal-desk']);
    const first = await h.handle('acme', id).executeUpdate(decideUpdate, { args: [{ action: 'approve', by: 'cam@contoso.example', reason: 'good partner' }] });
    expect(first).toMatchObject({ status: 'pending-review', awaiting: [{ group: 'deal-desk' }], approvals: [{ by: 'cam@contoso.example', level: 'review' }] });
    expect(await refusal(h.handle('acme', id).executeUpdate(decideUpdate, { args: [{ action: 'approve', by: 'CAM@contoso.example', reason: 'again' }] }))).toMatch(/cannot approve twice/);
    expect(await refusal(h.handle('acme', id).executeUpdate(decideUpdate, { args: [{ action: 'approve', by: 'pat@contoso.example', reason: 'me too' }] }))).toMatch(/deal-desk; pat@contoso.example is not a member/);
    expect(await h.vendorOpp('acme', id)).toBeUndefined(); // still held
    // The queue (ledger, CLI) shows who it waits for.
    const listed = await slow('queue shows deal-desk', async () => {
      const rows = JSON.parse(await runCli(['registrations', 'list', '-c', h.cliConfig, '--status', 'pending-review', '--json'])) as Array<{ id: string; waiting: string }>;
      return rows.find((r) => r.id === `acme:${id}` && r.waiting === 'deal-desk');
    });
    expect(listed).toBeDefined();
    const done = await runCli(['registrations', 'approve', `acme:${id}`, '--by', 'dana@contoso.example', '--reason', 'desk ok']);
    expect(done).toMatch(/approved/);
    expect(done).toMatch(/approved by cam@contoso.example \(review\)/);
    expect(done).toMatch(/approved by dana@contoso.example \(deal-desk above 250000 USD\)/);
    await slow('approved on the vendor', () => h.vendorOpp('acme', id));
    expect(await refusal(h.handle('acme', id).executeUpdate(requestInfoUpdate, { args: [{ by: 'cam', fields: ['amount'], reason: 'x' }] }))).toMatch(/only a registration pending review/);
  });
});

describe('request info ("Action Required")', () => {
  it('the partner deal shows the fields; an edit of another field changes nothing; an edit of a requested one re-decides it', async () => {
    const id = await h.createDeal('acme', { name: 'Mid deal', amount: 150_000, company: { name: 'Sigma Labs', domain: 'sigma-labs.com', country: 'US' } });
    await h.sync('acme');
    await h.waitStatus('acme', id, (s) => s.status === 'pending-review');
    const out = await runCli(['registrations', 'request-info', `acme:${id}`, '--by', 'cam@contoso.example', '--fields', 'amount,closeDate', '--reason', 'globex says the amount is inflated']);
    expect(out).toMatch(/action required \(partner\): amount, closeDate/);
    const deal = await slow('action required on the partner deal', async () => {
      const d = await h.partnerDeal('acme', id);
      return d.cosell_registration_action ? d : undefined;
    });
    expect(deal).toMatchObject({ cosell_registration_status: 'pending_review', cosell_registration_action: 'amount, close date', cosell_registration_reason: 'Action required: please complete on the deal: amount, close date.' });
    expect(JSON.stringify(deal)).not.toMatch(/globex/i); // the reviewer's note stays internal
    const reg = await slow('baseline stored', async () => {
      const r = await h.ledger.registrations.get(`acme:${id}`);
      return (r?.details as any)?.infoRequest?.values ? r : undefined;
    });
    expect((reg as any).details.infoRequest.values).toEqual({ amount: '150000', closeDate: '2027-06-30' });
    expect(await refusal(h.handle('acme', id).executeUpdate(provideInfoUpdate, { args: [{ changed: ['country'], decision: { outcome: 'review', ruleId: 'tier-auto-approval', reason: 'x' }, after: { amount: 1, amountGiven: true, domains: [], name: '', country: null, accountId: null, closeDate: null } }] }))).toMatch(/were not requested/);

    // Another field: the request stays open.
    await h.updateDeal('acme', id, { dealname: 'Mid deal (renamed)' });
    await h.sync('acme');
    expect((await h.handle('acme', id).query(registrationStatusQuery)) as any).toMatchObject({ status: 'pending-review', infoRequest: { fields: ['amount', 'closeDate'] } });

    // A requested field: re-decided (still above the gold limit → back to review, SLA running again).
    await h.updateDeal('acme', id, { amount: '140000' });
    await h.sync('acme');
    const back = await h.waitStatus('acme', id, (s) => s.status === 'pending-review' && !s.infoRequest);
    expect(back.reviewDueAt).toBeDefined();
    expect(back.history.at(-1)?.reason).toMatch(/information provided \(amount\)/);
    const after = await slow('write-back after the answer', async () => {
      const d = await h.partnerDeal('acme', id);
      return d.cosell_registration_action ? undefined : d;
    });
    expect(after.cosell_registration_reason).toBe('The requested information was received; the registration is being reviewed again.');
    const audit = await h.ledger.audit.list({ action: 'registration.info-provided', recordId: id });
    expect(audit[0]?.details).toMatchObject({ changed: ['amount'], requested: ['amount', 'closeDate'] });
  });

  it('an answer the rules reject rejects it', async () => {
    const id = await h.createDeal('acme', { name: 'Answered small', amount: 120_000, company: { name: 'Tau Tools', domain: 'tau-tools.com', country: 'US' } });
    await h.sync('acme');
    await h.waitStatus('acme', id, (s) => s.status === 'pending-review');
    await h.handle('acme', id).executeUpdate(requestInfoUpdate, { args: [{ by: 'cam', fields: ['amount'], reason: 'confirm the amount' }] });
    await slow('baseline stored', async () => ((await h.ledger.registrations.get(`acme:${id}`))?.details as any)?.infoRequest?.values);
    await h.updateDeal('acme', id, { amount: '500' }); // below the minimum
    await h.sync('acme');
    const s = await h.waitStatus('acme', id, (x) => x.status === 'rejected');
    expect(s.check?.ruleId).toBe('min-deal-size');
    await slow('rejected write-back', async () => (await h.partnerDeal('acme', id)).cosell_registration_reason === 'The deal is below the minimum size for registration.');
    expect(await refusal(h.handle('acme', id).executeUpdate(requestInfoUpdate, { args: [{ by: 'cam', fields: ['amount'], reason: 'x' }] }))).toMatch(/already completed/); // rejected is final
  });
});

describe('disputes', () => {
  it('the partner disputes a first-to-register rejection on its own deal; split attribution shares the holder\'s deal; the partner never reads who holds it', async () => {
    const holder = await h.createDeal('acme', { name: 'Rho rollout', amount: 50_000, company: { name: 'Rho Robotics', domain: 'rho-robotics.com', country: 'US' } });
    await h.sync('acme');
    await h.waitStatus('acme', holder, (s) => s.status === 'auto-approved');
    const late = await h.createDeal('globex', { name: 'Rho via Globex', amount: 20_000, company: { name: 'Rho Robotics', domain: 'rho-robotics.com', country: 'DE' } });
    await h.sync('globex');
    await h.waitStatus('globex', late, (s) => s.status === 'rejected');
    // The partner writes its case into the dispute field of its own deal; the next sync opens the dispute.
    await h.updateDeal('globex', late, { cosell_registration_dispute: 'We introduced Rho to the vendor in March' });
    await h.sync('globex');
    const opened = await slow('dispute opened', () => disputeHandle(h.client, `globex:${late}`).query(disputeStatusQuery));
    expect(opened).toMatchObject({ status: 'open', by: 'partner', reason: 'We introduced Rho to the vendor in March' });
    await slow('dispute shown to the partner', async () => (await h.partnerDeal('globex', late)).cosell_dispute_status === 'Dispute received; the vendor is reviewing it.');
    const resolved = await runCli(['registrations', 'resolve-dispute', `globex:${late}`, '--outcome', 'split', '--by', 'cam@contoso.example', '--reason', 'both worked it']);
    expect(resolved).toMatch(/split/);
    const opp = await slow('shared attribution on the holder\'s opportunity', async () => {
      const o = await h.vendorOpp('acme', holder);
      return String(o?.Partner_Attribution__c ?? '').includes('globex') ? o : undefined;
    });
    expect(opp.Partner_Attribution__c).toBe('acme:sourcing:70;globex:services:30');
    const deal = await slow('split shown to the partner', async () => {
      const d = await h.partnerDeal('globex', late);
      return d.cosell_dispute_status === 'Dispute reviewed: credit for the deal is shared.' ? d : undefined;
    });
    for (const leak of ['acme', 'Acme', `acme:${holder}`]) expect(JSON.stringify(deal)).not.toContain(leak);
    const audit = await h.ledger.audit.list({ action: 'dispute.resolved', recordId: late });
    expect(audit[0]).toMatchObject({ actor: 'cam@contoso.example', details: { outcome: 'split' } });
    // One dispute per registration.
    expect(await runCli(['registrations', 'dispute', `globex:${late}`, '-c', h.cliConfig, '--by', 'cam', '--reason', 'again'])).toMatch(/already has a dispute/);
  });

  it('a channel manager disputes for the partner; the SLA escalates it; overturn approves the registration (a new run) and pushes it to the vendor', async () => {
    const id = await h.createDeal('initech', { name: 'Small but strategic', amount: 800, company: { name: 'Upsilon Umbrellas', domain: 'upsilon-umbrellas.com', country: 'US' } });
    await h.sync('initech');
    await h.waitStatus('initech', id, (s) => s.status === 'rejected');
    expect(await runCli(['registrations', 'dispute', `initech:${id}`, '-c', h.cliConfig, '--by', 'cam@contoso.example', '--reason', 'partner says the amount is a first phase'])).toMatch(/open \(resolve by/);
    const handle = disputeHandle(h.client, `initech:${id}`);
    await slow('escalated after the 3 s SLA', async () => (await handle.query(disputeStatusQuery)).status === 'escalated');
    await slow('escalation audited', async () => (await h.ledger.audit.list({ action: 'dispute.escalated', recordId: id })).length === 1);
    expect(await refusal(handle.executeUpdate(resolveDisputeUpdate, { args: [{ outcome: 'overturn', by: '', reason: 'x' }] }))).toMatch(/who resolved it/);
    const done = await handle.executeUpdate(resolveDisputeUpdate, { args: [{ outcome: 'overturn', by: 'cam@contoso.example', reason: 'phase one of a large programme' }] });
    expect(done).toMatchObject({ status: 'overturned', resolution: { outcome: 'overturn' } });
    const s = await h.waitStatus('initech', id, (x) => x.status === 'approved');
    expect(s.history.at(-1)).toMatchObject({ from: 'submitted', to: 'approved', by: 'cam@contoso.example' });
    await slow('overturned registration on the vendor', () => h.vendorOpp('initech', id));
    await slow('overturn shown to the partner', async () => {
      const d = await h.partnerDeal('initech', id);
      return d.cosell_dispute_status === 'Dispute reviewed: the decision was overturned; the registration is approved.' && d.cosell_registration_status === 'approved';
    });
    expect(await refusal(handle.executeUpdate(resolveDisputeUpdate, { args: [{ outcome: 'uphold', by: 'cam', reason: 'x' }] }))).toMatch(/completed|already resolved/);
  });

  it('overturn is refused while another registration holds the customer (the dispute stays open); uphold closes it', async () => {
    const first = await h.createDeal('acme', { name: 'Phi first', amount: 30_000, company: { name: 'Phi Pharma', domain: 'phi-pharma.com', country: 'US' } });
    await h.sync('acme');
    await h.waitStatus('acme', first, (s) => s.status === 'auto-approved');
    const second = await h.createDeal('globex', { name: 'Phi second', amount: 10_000, company: { name: 'Phi Pharma', domain: 'phi-pharma.com', country: 'DE' } });
    await h.sync('globex');
    await h.waitStatus('globex', second, (s) => s.status === 'rejected');
    await runCli(['registrations', 'dispute', `globex:${second}`, '-c', h.cliConfig, '--by', 'cam', '--reason', 'they say first']);
    const handle = disputeHandle(h.client, `globex:${second}`);
    expect(await refusal(handle.executeUpdate(resolveDisputeUpdate, { args: [{ outcome: 'overturn', by: 'cam', reason: 'try' }] }))).toMatch(new RegExp(`acme:${first}.*holds the customer`));
    expect((await handle.query(disputeStatusQuery)).status).toMatch(/open|escalated/);
    expect(await handle.executeUpdate(resolveDisputeUpdate, { args: [{ outcome: 'uphold', by: 'cam', reason: 'acme registered first' }] })).toMatchObject({ status: 'upheld' });
    await slow('upheld shown', async () => (await h.partnerDeal('globex', second)).cosell_dispute_status === 'Dispute reviewed: the decision stands.');
    expect(await handle.result()).toMatchObject({ status: 'upheld' });
  });
});
