import { Client as HubspotClient } from '@hubspot/api-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';
import type { ValidationRule } from '../../sandbox/salesforce/data.js';
import type { LinkStatus } from '../../sync/types.js';
import { linkSync, statusQuery } from '../../workflows/index.js';
import { startLinkHarness, waitForLink, type LinkHarness } from '../helpers/linkWorker.js';
import { uniqueQueue } from '../helpers/temporal.js';
import { eventually } from '../helpers/wait.js';
import { linkWorkflowId, resumeSignal, resyncUpdate, syncNowSignal, linkHandle } from '../../lib/workflowClient.js';

/**
 * Randomized (fast-check model-based commands), on the real dev server: failures injected into the
 * sandbox CRMs, interleaved with partner edits and resume / syncNow / resync, must each show as what
 * the error catalogue says (lib/errors.ts retryOf):
 *  - the partner revoked the app's token (auth, `fix`): the link ends in state `error` with
 *    COSELL_CRM_AUTH and its reason — never `idle` or `running` silently — and waits there;
 *  - the vendor's daily quota is spent (`wait`): `waiting-quota` with COSELL_CRM_QUOTA_EXHAUSTED;
 *  - 5xx on either CRM, the vendor's OAuth token expiring (`retry`): the link recovers to idle;
 *  - the vendor rejects records (a validation rule): those records are dead-lettered with the CRM's
 *    code and reason while the rest of the page lands (a record's fault never stops the link).
 * After the faults are cleared (a new token and a worker restart for the revoked one, as ops would),
 * the link resumed and the dead letters replayed, every partner deal is on the vendor as last edited.
 */

const RUNS = Number(process.env.COSELL_PROP_RUNS ?? 8);
const STEP_TIMEOUT = 30_000;
const BLOCK_RULE: ValidationRule = { object: 'Opportunity', message: 'Blocked by a vendor validation rule (cosell property test)', when: { field: 'Name', op: 'notBlank' } };

type Fault = 'none' | 'auth' | 'quota' | 'transient' | 'vendorTokenExpiry' | 'validation';

interface Model {
  fault: Fault;
  /** Deal id → the name it was last given in the partner CRM. */
  deals: Map<string, string>;
  /** Deals edited since the link last caught up. */
  pending: Set<string>;
  /** Deals the vendor rejected (dead-lettered) and that were not synced since. */
  deadLettered: Set<string>;
}

interface Real {
  h: LinkHarness;
  linkId: string;
  envPrefix: string;
  partner: () => HubspotClient;
  mintPartnerToken: () => Promise<string>;
  log: string[];
  edits: number;
}

/** Mint an OAuth access token on the sandbox portal (refresh-token grant), valid after any earlier revocation. */
async function mintHubspotToken(h: LinkHarness, orgId: string): Promise<string> {
  const info = h.sb.orgs[orgId] as { basePath: string; clientId: string; clientSecret: string; refreshToken: string };
  const res = await fetch(`${info.basePath}/oauth/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: info.clientId, client_secret: info.clientSecret, refresh_token: info.refreshToken }),
  });
  if (!res.ok) throw new Error(`minting a token: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** A transient fault's org and 5xx rate (20–50 %: the connectors' own retries, then the activity's, must get through). */
const transientOrg = (n: number) => (n % 2 ? 'acme' : 'vendor');
const transientRate = (n: number) => 0.2 + Math.floor(n / 2) * 0.1;

const vendorOrg = (r: Real) => r.h.sb.org('vendor') as SalesforceOrg;

async function setFault(r: Real, fault: Exclude<Fault, 'none'>, rate: number): Promise<void> {
  switch (fault) {
    case 'auth':
      await r.h.sb.faults('acme', { expireTokensNow: true }); // the partner revoked the private-app token
      await r.mintPartnerToken(); // the test's own (admin) client gets a fresh token
      return;
    case 'quota':
      await r.h.sb.faults('vendor', { dailyLimit: 1 });
      return;
    case 'transient':
      await r.h.sb.faults(transientOrg(rate), { errorRate: transientRate(rate) });
      return;
    case 'vendorTokenExpiry':
      await r.h.sb.faults('vendor', { expireTokensNow: true });
      return;
    case 'validation':
      vendorOrg(r).data.validationRules.push(BLOCK_RULE);
      return;
  }
}

/** Clear the current fault the way an operator would. */
async function clearFault(r: Real, fault: Fault): Promise<void> {
  await r.h.sb.faults('vendor', {});
  await r.h.sb.faults('acme', {});
  const rules = vendorOrg(r).data.validationRules;
  if (rules.includes(BLOCK_RULE)) rules.splice(rules.indexOf(BLOCK_RULE), 1);
  if (fault === 'auth') {
    // New credentials: a new token in the secret the network file names, and a worker restart to read it.
    process.env[`${r.envPrefix}_ACME_TOKEN`] = await mintHubspotToken(r.h, 'acme');
    await r.h.restart();
  }
  // A raised allocation: the worker's rate budget keeps its reserved pause until the reset it was
  // told (connectors/rateBudget.ts, process-wide), so only a restarted worker process sees the new
  // limit before then — the harness's restart starts with empty budgets, as a new process does.
  if (fault === 'quota') await r.h.restart();
}

const handle = (r: Real) => linkHandle(r.h.client, r.linkId);

/**
 * After a steer sent at `sentAt`: wait for the link to settle and check the state the model says.
 * A non-retryable fault must end in its error; seeing the link idle after the steer instead is a
 * silent failure and fails at once.
 */
async function expectOutcome(m: Model, r: Real, sentAt: number, what: string): Promise<void> {
  const caughtUpSince = (s: LinkStatus) => s.state === 'idle' && !!s.lastCaughtUpAt && Date.parse(s.lastCaughtUpAt) >= sentAt;
  const vendorBound = m.pending.size > 0; // vendor faults only show when something is written there
  const expectError = (code: string, state: LinkStatus['state']) =>
    waitForLink(r.h.client, r.linkId, (s) => {
      if (caughtUpSince(s)) throw new Error(`${what}: the link went idle while ${m.fault} should have stopped it: ${JSON.stringify(s)}`);
      return s.state === state && s.errorCode === code;
    }, { what: `${what}: state ${state} ${code}`, timeoutMs: STEP_TIMEOUT });
  if (m.fault === 'auth' || (m.fault === 'quota' && vendorBound)) {
    const s = m.fault === 'auth' ? await expectError('COSELL_CRM_AUTH', 'error') : await expectError('COSELL_CRM_QUOTA_EXHAUSTED', 'waiting-quota');
    expect(s.lastError).toMatch(m.fault === 'auth' ? /^COSELL_CRM_AUTH: \S/ : /\S/);
    const desc = await handle(r).describe();
    expect(desc.searchAttributes.CosellState).toEqual([s.state]);
    return;
  }
  if (m.fault === 'quota') {
    // Nothing to write: the vendor is not asked, so idle is right; an error is right too.
    await waitForLink(r.h.client, r.linkId, (s) => caughtUpSince(s) || s.state === 'waiting-quota', { what, timeoutMs: STEP_TIMEOUT });
    return;
  }
  // No fault, a transient one, or a per-record rejection: the link catches up.
  const s = await waitForLink(r.h.client, r.linkId, (x) => {
    if (x.state === 'error') throw new Error(`${what}: state error under ${m.fault}: ${x.lastError}`);
    return caughtUpSince(x);
  }, { what: `${what}: caught up under ${m.fault}`, timeoutMs: STEP_TIMEOUT });
  expect(s.errorCode).toBeUndefined();
  if (m.fault === 'validation') {
    const dead = await r.h.ledger.deadLetters.list({ linkId: r.linkId, status: 'pending' });
    for (const id of m.pending) {
      const d = dead.find((x) => x.sourceId === id);
      expect(d, `deal ${id} was rejected by the vendor: a dead letter with the reason`).toBeDefined();
      expect(d!.code).toBe('FIELD_CUSTOM_VALIDATION_EXCEPTION');
      expect(d!.reason).toContain(BLOCK_RULE.message);
      m.deadLettered.add(id);
    }
  } else {
    for (const id of m.pending) m.deadLettered.delete(id);
  }
  m.pending.clear();
}

class InjectFault implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly fault: Exclude<Fault, 'none'>,
    readonly rate: number, // a transient fault's org and 5xx rate
    readonly then: Steer | null, // most faults meet a steer at once
  ) {}
  check = (m: Readonly<Model>) => m.fault === 'none';
  async run(m: Model, r: Real) {
    await setFault(r, this.fault, this.rate);
    m.fault = this.fault;
    await this.then?.run(m, r);
  }
  toString = () => `inject(${this.fault}${this.fault === 'transient' ? ` ${transientOrg(this.rate)} ${transientRate(this.rate).toFixed(2)}` : ''})${this.then ? `+${this.then.toString()}` : ''}`;
}

class ClearFault implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.fault !== 'none';
  async run(m: Model, r: Real) {
    await clearFault(r, m.fault);
    m.fault = 'none';
  }
  toString = () => 'clear';
}

class EditDeal implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const ids = [...m.deals.keys()];
    const id = ids[this.index % ids.length];
    const name = `Deal ${id} edit ${++r.edits}`;
    await r.partner().crm.deals.basicApi.update(id, { properties: { dealname: name } });
    m.deals.set(id, name);
    m.pending.add(id);
  }
  toString = () => `edit(#${this.index})`;
}

class Steer implements fc.AsyncCommand<Model, Real> {
  constructor(readonly how: 'syncNow' | 'resume' | 'resyncFull' | 'resyncRecent') {}
  check = () => true;
  async run(m: Model, r: Real) {
    const sentAt = Date.now();
    const h = handle(r);
    if (this.how === 'syncNow') await h.signal(syncNowSignal);
    else if (this.how === 'resume') await h.signal(resumeSignal);
    else {
      // The update returns once the cursor is reset; the re-read itself is what expectOutcome waits for.
      const from = this.how === 'resyncFull' ? 'full' : new Date(sentAt - 60_000).toISOString();
      const s = await h.executeUpdate(resyncUpdate, { args: [{ from }] });
      expect(s.linkId).toBe(r.linkId);
    }
    await expectOutcome(m, r, sentAt, `${this.how} under ${m.fault}`);
  }
  toString = () => this.how;
}

const steer = fc.constantFrom<Steer['how']>('syncNow', 'resume', 'resyncFull', 'resyncRecent').map((how) => new Steer(how));
const fault = fc.constantFrom<Exclude<Fault, 'none'>>('auth', 'quota', 'transient', 'vendorTokenExpiry', 'validation');
const command = fc.oneof(
  fc.tuple(fault, fc.integer({ min: 0, max: 7 }), fc.option(steer, { freq: 4 })).map(([f, rate, then]) => new InjectFault(f, rate, then)),
  fc.constant(new ClearFault()),
  fc.nat(20).map((i) => new EditDeal(i)),
  steer,
);
/** Commands whose precondition fails where they stand (a second fault, a clear with none) are skipped by asyncModelRun. */
const sequence = fc.array(command, { minLength: 4, maxLength: 9 });

async function runOnce(cmds: Array<fc.AsyncCommand<Model, Real>>, runNo: number): Promise<void> {
  const taskQueue = uniqueQueue('link-err-prop');
  const tag = taskQueue.replace(/[^a-z0-9]/g, '').slice(-8);
  const linkId = `acme-errprop-${tag}`;
  const envPrefix = `LEP${tag.toUpperCase()}`;
  const h = await startLinkHarness({
    orgs: [
      { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 0, owners: 1 } },
      { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
    ],
    envPrefix,
    taskQueue,
    network: (conn) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: ${linkId}, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`,
  });
  let token = await mintHubspotToken(h, 'acme');
  const partnerUrl = (h.sb.orgs.acme as { basePath: string }).basePath;
  const real: Real = {
    h,
    linkId,
    envPrefix,
    partner: () => new HubspotClient({ accessToken: token, basePath: partnerUrl, numberOfApiCallRetries: 6 }),
    mintPartnerToken: async () => (token = await mintHubspotToken(h, 'acme')),
    log: [],
    edits: 0,
  };
  const model: Model = { fault: 'none', deals: new Map(), pending: new Set(), deadLettered: new Set() };
  try {
    for (let i = 0; i < 3; i++) {
      const name = `Deal ${runNo}.${i}`;
      const d = await real.partner().crm.deals.basicApi.create({ properties: { dealname: name, pipeline: 'default', dealstage: 'qualifiedtobuy', amount: '1000' }, associations: [] });
      model.deals.set(d.id, name);
    }
    await h.client.workflow.start(linkSync, { taskQueue, workflowId: linkWorkflowId(linkId), args: [{ linkId }] });
    await waitForLink(h.client, linkId, (s) => s.state === 'idle' && s.counts.created === 3, { what: 'the first catch-up' });

    await fc.asyncModelRun(() => ({ model, real }), cmds);

    // Cleared, resumed, dead letters replayed: every deal converges.
    await clearFault(real, model.fault);
    model.fault = 'none';
    const sentAt = Date.now();
    await handle(real).signal(resumeSignal);
    await expectOutcome(model, real, sentAt, 'final resume');
    await real.h.run.activities.replayDeadLetters(linkId);
    const sf = h.sb.jsforce('vendor', { oauth: true }); // refreshes after a revoked token
    await eventually('every deal on the vendor as last edited', async () => {
      const opps = await sf.query<{ Partner_Deal_Id__c: string; Name: string }>("SELECT Partner_Deal_Id__c, Name FROM Opportunity WHERE Registered_Partner_Id__c = 'acme'");
      const got = new Map(opps.records.map((o) => [o.Partner_Deal_Id__c, o.Name]));
      expect(got.size).toBe(model.deals.size);
      for (const [id, name] of model.deals) expect(got.get(`acme:${id}`)).toBe(name);
      return true;
    }, { timeoutMs: 10_000, retryErrors: true });
    expect(await h.ledger.deadLetters.list({ linkId, status: 'pending' })).toEqual([]);
    const s = await handle(real).query(statusQuery);
    expect(s.state).toBe('idle');
  } finally {
    await h.close();
  }
}

describe('link error state under random faults (fast-check, real dev server)', () => {
  it('non-retryable failures end in state error with their code, retryable ones recover, and every record converges once cleared', async () => {
    let runNo = 0;
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`link error property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/sync/linkErrors.property.e2e.test.ts)`);
    await fc.assert(
      fc.asyncProperty(sequence, async (cmds) => {
        const t0 = Date.now();
        await runOnce(cmds, ++runNo);
        console.log(`run ${runNo}: ${cmds.join(', ')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }),
      { numRuns: RUNS, endOnFailure: true, verbose: 2, seed },
    );
  }, 600_000);
});
