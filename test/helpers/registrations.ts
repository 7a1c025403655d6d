import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { loadPolicy, type Policy, type RegistrationState } from '../../rules/index.js';
import { registrationGateFor } from '../../registrations/gate.js';
import { main as cosellMain } from '../../cli/main.js';
import { tempDir } from './tmp.js';
import { drain } from './drain.js';
import { startEngineWorker, terminateTaskQueue, type EngineWorker } from './linkWorker.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from './network.js';
import { startTestSandbox, type TestSandbox } from './sandbox.js';
import { temporalAddress, testClient, uniqueQueue } from './temporal.js';
import { eventually as poll } from './wait.js';
import { registrationStatusQuery, registrationHandle } from '../../lib/workflowClient.js';

/** A Rules-of-Engagement policy from YAML text written for a test (in a temp dir of its own). */
export function testPolicy(text: string): { policy: Policy; dir: string; file: string } {
  const dir = tempDir('cosell-roe-');
  const file = path.join(dir, 'roe.yaml');
  writeFileSync(file, text);
  return { policy: loadPolicy(file), dir, file };
}

export interface DealSpec {
  name: string;
  amount: number;
  stage?: string;
  company: { name: string; domain: string; country: string };
}

/** The registration fields cosell writes back onto a HubSpot partner deal. */
export const HUBSPOT_WRITE_BACK = ['cosell_registration_status', 'cosell_registration_reason', 'cosell_registration_expiry', 'cosell_registration_action', 'cosell_dispute_status', 'cosell_registration_dispute'];

/**
 * Registrations end to end for one test file: a sandbox (a Salesforce vendor, HubSpot partners acme,
 * globex and initech), one `registration: true` link per partner, one worker with the registration
 * gate on the shared dev server, one SQLite ledger, and a network file the CLI can be pointed at.
 */
export interface RegistrationHarness {
  sb: TestSandbox;
  ledger: Ledger;
  client: Client;
  run: EngineWorker;
  policy: Policy;
  /** Link id of each partner's deal link. */
  links: Record<string, string>;
  /** A network file naming only the ledger (what ops point `cosell registrations` at). */
  cliConfig: string;
  createDeal(org: string, d: DealSpec): Promise<string>;
  updateDeal(org: string, id: string, properties: Record<string, string>): Promise<void>;
  partnerDeal(org: string, id: string): Promise<Record<string, string | null>>;
  vendorOpp(partner: string, dealId: string): Promise<Record<string, unknown> | undefined>;
  sync(partner: string): Promise<unknown>;
  handle(partner: string, dealId: string): ReturnType<Client['workflow']['getHandle']>;
  waitStatus(partner: string, dealId: string, pred: (s: RegistrationState) => boolean, timeoutMs?: number): Promise<RegistrationState>;
  stop(): Promise<void>;
}

/** The demo's three partners as a network file lists them (tier, territories, roles: the one source of truth). */
export const TEST_PARTNERS = [
  { id: 'acme', name: 'Acme Consulting', profile: 'tier: gold, territories: { countries: [US, CA] }, roles: [sourcing, services]' },
  { id: 'globex', name: 'Globex Integrators', profile: 'tier: silver, territories: { countries: [DE, FR, GB] }, roles: [sourcing, services, influence]' },
  { id: 'initech', name: 'Initech Partners', profile: 'tier: registered, roles: [reseller]' },
];

export async function startRegistrationHarness(opts: { name: string; policy: string; partners?: Array<{ id: string; name: string; profile: string }>; networkExtra?: string }): Promise<RegistrationHarness> {
  const partners = opts.partners ?? TEST_PARTNERS;
  const sb = await startTestSandbox(
    {
      orgs: [
        { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 3, opportunities: 2, owners: 1 } },
        ...partners.map((p) => ({ id: p.id, kind: 'hubspot' as const, role: 'partner' as const, seed: { accounts: 0, opportunities: 0, owners: 1 } })),
      ],
    },
    { uniqueIds: true },
  );
  const taskQueue = uniqueQueue(opts.name);
  const suffix = taskQueue.replace(/[^a-z0-9]/g, '').slice(-6);
  const conn = sandboxEnv(sb, `${opts.name.toUpperCase().replace(/[^A-Z]/g, '')}${suffix.toUpperCase()}`);
  const roe = testPolicy(opts.policy);
  const links = Object.fromEntries(partners.map((p) => [p.id, `${p.id}-deals-${suffix}`]));
  const network = testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
${partners.map((p) => `  - { id: ${p.id}, name: ${p.name}, kind: hubspot, ${p.profile}, connection: ${conn[p.id]} }`).join('\n')}
links:
${partners.map((p) => `  - { id: ${links[p.id]}, from: ${p.id}.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, registration: true, schedule: 1h }`).join('\n')}
${opts.networkExtra ?? ''}
`);
  const ledgerFile = tempLedgerFile();
  const ledger = await openLedger({ file: ledgerFile });
  const cliConfig = path.join(roe.dir, 'cosell.yaml');
  writeFileSync(cliConfig, `ledger: { file: ${ledgerFile} }\n`);
  const client = await testClient();
  const run = await startEngineWorker({ network, ledger, taskQueue, gateFor: registrationGateFor({ policy: roe.policy, client, taskQueue }), activityDeps: { policy: roe.policy, client } });
  await run.activities.refreshRulesIndex();

  const eventually = <T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000) => poll(what, fn, { timeoutMs, retryErrors: true });
  const handle = (partner: string, dealId: string) => registrationHandle(client, `${partner}:${dealId}`);
  return {
    sb,
    ledger,
    client,
    run,
    policy: roe.policy,
    links,
    cliConfig,
    async createDeal(org, d) {
      const hs = sb.hubspot(org);
      const company = await hs.crm.companies.basicApi.create({ properties: { name: d.company.name, domain: d.company.domain, country: d.company.country }, associations: [] });
      const deal = await hs.crm.deals.basicApi.create({
        properties: { dealname: d.name, amount: String(d.amount), closedate: '2027-06-30T00:00:00.000Z', pipeline: 'default', dealstage: d.stage ?? 'qualifiedtobuy' },
        associations: [],
      });
      await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', company.id);
      return deal.id;
    },
    async updateDeal(org, id, properties) {
      await sb.hubspot(org).crm.deals.basicApi.update(id, { properties });
    },
    async partnerDeal(org, id) {
      return (await sb.hubspot(org).crm.deals.basicApi.getById(id, HUBSPOT_WRITE_BACK)).properties as Record<string, string | null>;
    },
    async vendorOpp(partner, dealId) {
      const res = await sb.jsforce('vendor').query<Record<string, unknown>>(
        `SELECT Id, StageName, Amount, Registered_Partner__c, Registered_Partner_Id__c, Registration_Status__c, Registration_Expiry__c, Partner_Attribution__c FROM Opportunity WHERE Partner_Deal_Id__c = '${partner}:${dealId}'`,
      );
      return res.records[0];
    },
    sync: (partner) => drain(run.engine, links[partner]!),
    handle,
    waitStatus: (partner, dealId, pred, timeoutMs) =>
      eventually(`registration ${partner}:${dealId}`, async () => {
        const s = await handle(partner, dealId).query(registrationStatusQuery);
        return pred(s) ? s : undefined;
      }, timeoutMs),
    async stop() {
      await terminateTaskQueue(client, taskQueue);
      await run.stop();
      await ledger.close();
      await sb.stop();
      await client.connection.close();
    },
  };
}

/** Run the cosell CLI in-process against the test dev server; returns stdout + stderr. */
export async function runCli(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (c: unknown) => (chunks.push(String(c)), true);
  const prevAddress = process.env.TEMPORAL_ADDRESS;
  process.env.TEMPORAL_ADDRESS = temporalAddress();
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    await cosellMain(['node', 'cosell', ...args]);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    if (prevAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = prevAddress;
    process.exitCode = 0;
  }
  return chunks.join('');
}

/** The reason a workflow update was refused (the SDK wraps it as the failure's cause). */
export async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { cause?: Error };
    return `${err.message}: ${err.cause?.message ?? ''}`;
  }
  throw new Error('the update was accepted');
}
