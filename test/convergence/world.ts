import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client, Connection } from '@temporalio/client';
import { startLinks } from '../../lib/links.js';
import { loadNetwork } from '../../lib/config.js';
import type { LinkStatus } from '../../sync/types.js';
import { statusQuery } from '../../workflows/index.js';
import { sandboxEnv } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { copyStockMapping } from '../sync/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { pauseSignal, resumeSignal, syncNowSignal, linkHandle } from '../../lib/workflowClient.js';

/**
 * The convergence test's world: a vendor Salesforce org and two partner HubSpot portals (sandbox/),
 * the demo-shaped network between them (per partner: companies → Account, and the two-way deal ⇄
 * Opportunity pair with deal registration under a Rules of Engagement policy), the real link
 * workflows on the real Temporal server, and ONE real `cosell worker` child process at a time
 * (test/e2e/worker.ts) that can be SIGKILLed and replaced. The test process only drives the CRMs
 * (real jsforce / @hubspot/api-client), steers the link workflows (pause / resume / syncNow / status
 * query — what `cosell sync` does) and reads the SQLite ledger read-only beside the worker.
 */
const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const STOCK = path.join(ROOT, 'mappings/stock');
export const TIER_LIMIT = 100_000;
/** Links poll on their own this often (the idle check waits several of these). */
export const SCHEDULE_S = 2;

export interface WorldOptions {
  temporalAddress: string;
  workflowBundlePath: string;
  /**
   * The vendor → partner deal mapping without its `Registered_Partner_Id__c == $partner.id` filter:
   * partner isolation must then hold through the engine's own partner scope, not the mapping.
   */
  permissiveVendorMapping: boolean;
  log?: (line: string) => void;
}

export interface PartnerInfo {
  /** Network partner id (tagged per world so registration workflow ids never collide across runs). */
  id: string;
  /** Sandbox org id. */
  org: string;
  /** Text every record this partner types carries (the isolation scan looks for it elsewhere). */
  marker: string;
}

export class World {
  readonly partners: PartnerInfo[];
  readonly linkIds: string[];
  private worker?: ChildProcess;
  kills = 0;

  private constructor(
    readonly sb: TestSandbox,
    readonly client: Client,
    readonly dir: string,
    readonly configFile: string,
    readonly ledgerFile: string,
    readonly taskQueue: string,
    readonly tag: string,
    private readonly opts: WorldOptions,
  ) {
    this.partners = ['acme', 'globex'].map((org) => ({ id: `${org}${tag}`, org, marker: `${org.toUpperCase()}ONLY` }));
    this.linkIds = this.partners.flatMap((p) => [companiesLink(p), dealsLink(p), oppsLink(p)]);
  }

  log(line: string): void {
    this.opts.log?.(line);
  }

  static async start(opts: WorldOptions): Promise<World> {
    const tag = Math.random().toString(36).slice(2, 7).replace(/[^a-z]/g, 'x');
    const sb = await startTestSandbox({
      orgs: [
        // The vendor's own accounts and opportunities: never any partner's business.
        { id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 4, opportunities: 6, owners: 1 } },
        { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
        { id: 'globex', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } },
      ],
    }, { uniqueIds: true });
    const conn = sandboxEnv(sb, `CONV${tag.toUpperCase()}`);
    const dir = tempDir('cosell-convergence-');
    const connection = await Connection.connect({ address: opts.temporalAddress });
    const client = new Client({ connection, namespace: 'default' });
    const taskQueue = `convergence-${tag}-${Date.now().toString(36)}`;
    const ledgerFile = path.join(dir, 'ledger.sqlite');
    const configFile = path.join(dir, 'cosell.yaml');
    const world = new World(sb, client, dir, configFile, ledgerFile, taskQueue, tag, opts);
    world.writeConfig(conn);
    world.log(`world ${dir} (network cosell.yaml, ledger.sqlite, worker.log), task queue ${taskQueue}`);
    await world.startWorker();
    await startLinks(client, loadNetwork(configFile), { taskQueue });
    return world;
  }

  private writeConfig(conn: Record<string, string>): void {
    const { dir } = this;
    const vendorMapping = this.opts.permissiveVendorMapping
      ? copyStockMapping(dir, 'salesforce-opportunity-to-hubspot-deal.yaml', [[/^filter: .*$/m, 'filter: not isBlank(Name)']], 'permissive-opps-to-deals.yaml')
      : path.join(STOCK, 'salesforce-opportunity-to-hubspot-deal.yaml');
    writeFileSync(
      path.join(dir, 'roe.yaml'),
      `version: 1
currency: USD
matching:
  domain: true
  name: { threshold: 0.9, requireDomainAgreement: true }
  against: { vendorAccounts: ignore, vendorOpportunities: reject, registrations: reject }
namedAccounts: { action: reject, domains: [bigbank.com], names: [], vendorFlag: false }
territories: { action: review, unknownCountry: review }
dealSize: { minimum: 1000, action: reject }
required: { fields: [customerName, domain, amount], action: reject }
tiers: { gold: { autoApproveUpTo: ${TIER_LIMIT} }, silver: { autoApproveUpTo: 25000 }, registered: { autoApproveUpTo: 0 } }
review: { sla: 48h, onTimeout: escalate, escalateTo: channel-ops }
exclusivity: { period: 90d, extension: 30d, maxExtensions: 1 }
stageGuard:
  vendorStages: [Prospecting, Qualification, Needs Analysis, Value Proposition, Id. Decision Makers, Perception Analysis, Proposal/Price Quote, Negotiation/Review, Closed Won, Closed Lost]
  default: Qualification
  caps: { appointmentscheduled: Prospecting, qualifiedtobuy: Qualification, presentationscheduled: Needs Analysis, decisionmakerboughtin: Value Proposition, contractsent: Value Proposition }
attribution:
  roles:
    sourcing: { defaultSplit: 60, sourced: true }
    services: { defaultSplit: 25 }
    influence: { defaultSplit: 5 }
    reseller: { defaultSplit: 15 }
`,
    );
    const links = this.partners
      .map(
        (p) => `  - { id: ${companiesLink(p)}, from: ${p.id}.companies, to: vendor.Account, mapping: ${STOCK}/hubspot-company-to-salesforce-account.yaml, deletes: flag, schedule: ${SCHEDULE_S}s }
  - id: ${dealsLink(p)}
    from: ${p.id}.deals
    to: vendor.Opportunity
    mapping: ${STOCK}/hubspot-deal-to-salesforce-opportunity.yaml
    pairedWith: ${oppsLink(p)}
    registration: true
    deletes: flag
    schedule: ${SCHEDULE_S}s
    parent: { link: ${companiesLink(p)}, sourceField: associations.companies, targetField: AccountId }
  - { id: ${oppsLink(p)}, from: vendor.Opportunity, to: ${p.id}.deals, mapping: ${vendorMapping}, pairedWith: ${dealsLink(p)}, deletes: flag, schedule: ${SCHEDULE_S}s }`,
      )
      .join('\n');
    writeFileSync(
      this.configFile,
      `vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }
partners:
${this.partners.map((p) => `  - { id: ${p.id}, name: ${p.org[0]!.toUpperCase()}${p.org.slice(1)} ${p.org === 'acme' ? 'Consulting' : 'Integrators'}, kind: hubspot, tier: gold, territories: { countries: [US] }, roles: [sourcing], connection: ${conn[p.org]} }`).join('\n')}
ledger: { file: ${this.ledgerFile} }
rules: roe.yaml
# Links follow their own feeds; the association reconciler (deals moved by association alone) runs on
# every cycle here instead of every 15 minutes, so a settle round sees such a move like any change.
streams: { enabled: false, reconcile: 0s }
links:
${links}
`,
    );
  }

  // --- workers -------------------------------------------------------------------------------------

  async startWorker(): Promise<void> {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/e2e/worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, TEMPORAL_ADDRESS: this.opts.temporalAddress, COSELL_CONFIG: this.configFile, COSELL_TASK_QUEUE: this.taskQueue, WORKFLOW_BUNDLE: this.opts.workflowBundlePath, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Always drained (a full pipe would block the worker); kept beside the ledger for a failing seed.
    const out = createWriteStream(path.join(this.dir, 'worker.log'), { flags: 'a' });
    p.stderr!.pipe(out);
    await new Promise<void>((resolve, reject) => {
      p.stdout!.on('data', (d: Buffer) => {
        out.write(d);
        if (d.toString().includes('worker ready')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`cosell worker exited early (${code})`)));
    });
    p.removeAllListeners('exit');
    this.worker = p;
  }

  /** SIGKILL the worker process (mid-page, mid-write: whatever it was doing) and start a new one. */
  async killWorker(): Promise<void> {
    const w = this.worker;
    if (w && w.exitCode === null) {
      const exited = new Promise((r) => w.once('exit', r));
      w.kill('SIGKILL');
      await exited;
    }
    this.kills++;
    await this.startWorker();
  }

  // --- link workflows -------------------------------------------------------------------------------

  private handle(linkId: string) {
    return linkHandle(this.client, linkId);
  }

  async statuses(): Promise<LinkStatus[]> {
    return Promise.all(this.linkIds.map((id) => this.handle(id).query(statusQuery)));
  }

  /** Pause every link and wait until none is mid-page, so operations land between polls. */
  async pauseAll(timeoutMs = 60_000): Promise<void> {
    await Promise.all(this.linkIds.map((id) => this.handle(id).signal(pauseSignal)));
    await this.waitFor((s) => s.every((x) => x.state === 'paused'), timeoutMs, 'links to pause');
  }

  /**
   * Resume every link, in the given order with the given gaps: links never poll in lock-step, and a
   * registration race must be decided by the partners' create times, not by which link polled first.
   */
  async resumeAll(order: readonly string[] = this.linkIds, gapMs = 0): Promise<void> {
    for (const id of order) {
      await this.handle(id).signal(resumeSignal);
      if (gapMs) await sleep(gapMs);
    }
  }

  /** One sync round: every link polls and catches up (feed, deletions, parked records). */
  async syncRound(timeoutMs = 90_000, during?: () => Promise<void>): Promise<void> {
    const mark = new Date().toISOString();
    await Promise.all(this.linkIds.map((id) => this.handle(id).signal(syncNowSignal)));
    if (during) await during();
    await this.waitFor((s) => s.every((x) => x.state === 'idle' && (x.lastCaughtUpAt ?? '') > mark), timeoutMs, 'every link to catch up');
    await this.registrationsQuiet(timeoutMs);
  }

  /**
   * Settled means the registration workflows too: none still runs an activity. After a worker kill, a
   * transition's effects (ledger, write-back to the partner's deal) are retried ~20 s later (their
   * heartbeat timeout), possibly after every link is idle again.
   */
  private async registrationsQuiet(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const busy: string[] = [];
      try {
        for await (const wf of this.client.workflow.list({ query: `TaskQueue = '${this.taskQueue}' AND ExecutionStatus = 'Running' AND CosellKind = 'registration'` })) {
          const d = await this.client.workflow.getHandle(wf.workflowId).describe();
          if (d.raw.pendingActivities?.length) busy.push(`${wf.workflowId}: ${d.raw.pendingActivities.map((a) => a.activityType?.name).join(', ')}`);
        }
      } catch {
        busy.push('(visibility not answering)');
      }
      if (!busy.length) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for registration workflows to finish their activities: ${busy.join('; ')}`);
      await sleep(500);
    }
  }

  private async waitFor(ok: (s: LinkStatus[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: LinkStatus[] = [];
    let unanswered = '';
    for (;;) {
      try {
        last = await this.statuses();
        unanswered = '';
        if (ok(last)) return;
      } catch (e) {
        // A query can time out while the worker restarts; kept, so a timeout says why nothing was seen.
        unanswered = `; the last status query failed: ${String(e)}${(e as Error).cause ? ` (${String((e as Error).cause)})` : ''}`;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last.map((s) => ({ link: s.linkId, state: s.state, lastCaughtUpAt: s.lastCaughtUpAt, lastError: s.lastError })))}${unanswered}`);
      }
      await sleep(250);
    }
  }

  // --- what the sandbox and the ledger say ----------------------------------------------------------

  /** Successful data-changing API calls answered by every org so far (GET /__sandbox/stats). */
  async writes(): Promise<{ total: number; byOrg: Record<string, { writes: number; writesByRoute: Record<string, number> }> }> {
    const byOrg: Record<string, { writes: number; writesByRoute: Record<string, number> }> = {};
    let total = 0;
    for (const [id, base] of Object.entries(this.sb.baseUrls)) {
      const s = (await (await fetch(`${base}/__sandbox/stats`)).json()) as { writes: number; writesByRoute: Record<string, number> };
      byOrg[id] = s;
      total += s.writes;
    }
    return { total, byOrg };
  }

  /** Read the ledger beside the worker (SQLite WAL allows a reader). */
  ledger<T>(sql: string, ...params: unknown[]): T[] {
    if (!existsSync(this.ledgerFile)) return [];
    const db = new Database(this.ledgerFile, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  async stop(): Promise<void> {
    try {
      for await (const wf of this.client.workflow.list({ query: `TaskQueue = '${this.taskQueue}' AND ExecutionStatus = 'Running'` })) {
        await this.client.workflow.getHandle(wf.workflowId).terminate('convergence run over').catch(() => undefined);
      }
    } catch {
      /* visibility may lag; the links are terminated by id below */
    }
    for (const id of this.linkIds) await this.handle(id).terminate('convergence run over').catch(() => undefined);
    if (this.worker && this.worker.exitCode === null) {
      const exited = new Promise((r) => this.worker!.once('exit', r));
      this.worker.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (this.worker.exitCode === null) this.worker.kill('SIGKILL');
    }
    await this.sb.stop();
    await this.client.connection.close();
  }
}

export const companiesLink = (p: PartnerInfo) => `${p.id}-companies`;
export const dealsLink = (p: PartnerInfo) => `${p.id}-deals`;
export const oppsLink = (p: PartnerInfo) => `vendor-opps-to-${p.id}`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
