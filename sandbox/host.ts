import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import YAML from 'yaml';
import { sandboxConfigSchema, webhookSettingsSchema } from './config.js';
import { SandboxConfigError } from './errors.js';
import { generateSeed, SEED_DEFAULTS, type SeedData } from './seed.js';
import { createSalesforceOrg } from './salesforce/index.js';
import type { ClockCommand, FaultConfig, OrgConfig, OrgConnectionInfo, SandboxConfig, SandboxOrg } from './types.js';
import { acceptEmptyJsonBodies, serviceServerOptions, subrequestOf } from './http.js';
import { registerUi } from './ui.js';

/**
 * The sandbox host: one process, several emulated orgs, each on its own fastify instance and port on
 * 127.0.0.1 (its base URL), with its own credentials, data, faults and web pages.
 *
 * Admin endpoints on every org (not part of any CRM API, never subject to faults):
 *   GET/POST {baseUrl}/__sandbox/faults   read / replace the org's FaultConfig (`{}` clears)
 *   POST     {baseUrl}/__sandbox/clock    {freeze?, at?, advanceMs?} (Salesforce orgs)
 *   POST     {baseUrl}/__sandbox/restore/{type}/{id}   bring a deleted record back with the same id, as a
 *                                         user does in the CRM's UI (Salesforce Recycle Bin undelete, HubSpot
 *                                         recycle-bin restore); 404 when it is not deleted or cannot be restored
 *   GET      {baseUrl}/__sandbox/info     the org's connection info
 *   GET      {baseUrl}/__sandbox/stats    API calls answered so far: {requests, writes, writesByRoute} (writes:
 *                                         successful POST/PATCH/PUT/DELETE that change data — not searches, batch reads,
 *                                         SOQL or token calls); the convergence test counts ping-pong with it
 *   GET      {baseUrl}/__sandbox/ui       the read-only web pages (also at `/`)
 */

export interface Sandbox {
  orgs: Record<string, OrgConnectionInfo>;
  /** Web page URL per org. */
  pages: Record<string, string>;
  /** Base URL per org. */
  baseUrls: Record<string, string>;
  org(id: string): SandboxOrg;
  setFaults(id: string, faults: FaultConfig): void;
  stop(): Promise<void>;
}

export interface StartSandboxOptions {
  /**
   * The orgs to host. Default: the demo network, default-network.yaml. To start from a YAML/JSON file,
   * parse it first (cosell's `loadSandboxConfig` in app/sandboxConfig.ts names problems at file:line:col).
   */
  config?: SandboxConfig;
  /** Network seed; overrides the config's. */
  seed?: number;
  /** Snapshot every org here on stop and restore from it on start. */
  persistFile?: string;
}

export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('./default-network.yaml', import.meta.url));

type HubspotFactory = (config: OrgConfig, seed: SeedData) => SandboxOrg;

async function hubspotFactory(): Promise<HubspotFactory> {
  try {
    const mod = (await import('./hubspot/index.js')) as { createHubspotOrg?: HubspotFactory };
    if (typeof mod.createHubspotOrg !== 'function') throw new Error('sandbox/hubspot/index.ts does not export createHubspotOrg');
    return mod.createHubspotOrg;
  } catch (e) {
    throw new SandboxConfigError(`the HubSpot emulator is not available: ${(e as Error).message}`, { cause: e, hint: 'use salesforce orgs only, or check sandbox/hubspot/' });
  }
}

function resolveConfig(config: SandboxConfig | undefined): SandboxConfig {
  // The shipped demo network is known-good; its file is parsed plainly (no positions needed).
  const value: unknown = config ?? YAML.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8'));
  const parsed = sandboxConfigSchema.safeParse(value);
  if (!parsed.success) {
    throw new SandboxConfigError(parsed.error.issues.map((i) => `<config>:1:1: SANDBOX_CONFIG_INVALID: ${i.path.join('.')}: ${i.message}`).join('\n'), { hint: 'see default-network.yaml in @cosell/sandbox for a complete example' });
  }
  return value as SandboxConfig;
}

export function seedFor(cfg: SandboxConfig, org: OrgConfig, networkSeed: number): SeedData {
  const vendor = cfg.orgs.find((o) => o.role === 'vendor');
  return generateSeed(org.seed ?? {}, {
    orgId: org.id,
    role: org.role ?? (org === vendor ? 'vendor' : 'partner'),
    networkSeed,
    vendorAccounts: vendor ? (vendor.seed?.accounts ?? SEED_DEFAULTS.accounts) : 0,
  });
}

export async function startSandbox(opts: StartSandboxOptions = {}): Promise<Sandbox> {
  const cfg = resolveConfig(opts.config);
  const networkSeed = opts.seed ?? cfg.seed ?? 42;
  const persistFile = opts.persistFile ?? cfg.persistFile;
  const persisted: Record<string, unknown> = persistFile && existsSync(persistFile) ? (JSON.parse(readFileSync(persistFile, 'utf8')) as { orgs: Record<string, unknown> }).orgs : {};

  const apps: FastifyInstance[] = [];
  const orgs = new Map<string, SandboxOrg>();
  const info: Record<string, OrgConnectionInfo> = {};
  const pages: Record<string, string> = {};
  const baseUrls: Record<string, string> = {};
  try {
    for (const oc of cfg.orgs) {
      const seed = seedFor(cfg, oc, networkSeed);
      const org = oc.kind === 'salesforce' ? createSalesforceOrg(oc, seed) : oc.kind === 'aws-partner-central' ? (await import('./aws-partner-central/index.js')).createAwsPartnerCentralOrg(oc) : (await hubspotFactory())(oc, seed);
      if (persisted[oc.id] !== undefined) org.restore(persisted[oc.id]);
      const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, forceCloseConnections: true, ...serviceServerOptions });
      apps.push(app);
      acceptEmptyJsonBodies(app);
      registerAdmin(app, org, () => info[oc.id]);
      registerUi(app, org);
      await org.register(app);
      await app.listen({ host: '127.0.0.1', port: oc.port ?? 0 });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const baseUrl = `http://127.0.0.1:${port}`;
      orgs.set(oc.id, org);
      await org.startExtras?.();
      baseUrls[oc.id] = baseUrl;
      info[oc.id] = org.connectionInfo(baseUrl);
      pages[oc.id] = `${baseUrl}/__sandbox/ui`;
    }
  } catch (e) {
    await Promise.all([...orgs.values()].map((o) => o.stopExtras?.().catch(() => undefined)));
    await Promise.all(apps.map((a) => a.close().catch(() => undefined)));
    throw e;
  }

  let stopped = false;
  const orgById = (id: string): SandboxOrg => {
    const o = orgs.get(id);
    if (!o) throw new SandboxConfigError(`no org "${id}" in this sandbox`, { hint: `orgs: ${[...orgs.keys()].join(', ')}` });
    return o;
  };
  return {
    orgs: info,
    pages,
    baseUrls,
    org: orgById,
    setFaults(id, faults) {
      orgById(id).setFaults(faults);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (persistFile) {
        const snap = { version: 1, savedAt: new Date().toISOString(), orgs: Object.fromEntries([...orgs].map(([id, o]) => [id, o.snapshot()])) };
        writeFileSync(`${persistFile}.tmp`, JSON.stringify(snap));
        renameSync(`${persistFile}.tmp`, persistFile);
      }
      for (const o of orgs.values()) o.close?.();
      await Promise.all([...orgs.values()].map((o) => o.stopExtras?.()));
      await Promise.all(apps.map((a) => a.close()));
    },
  };
}

/** A call that reads, even though it is a POST (HubSpot search / batch read, OAuth, admin). */
const READ_ONLY_POST = /\/search\b|\/parameterizedSearch\b|\/composite(?:\/batch)?$|\/batch\/read\b|\/oauth2?\/|\/token\b|^\/__sandbox\//;

function registerAdmin(app: FastifyInstance, org: SandboxOrg, info: () => OrgConnectionInfo | undefined): void {
  const stats = { requests: 0, writes: 0, writesByRoute: {} as Record<string, number> };
  // Counted when answered, and only successful writes (an injected 5xx changed nothing).
  app.addHook('onResponse', async (req, reply) => {
    const url = req.url.split('?')[0]!;
    if (url.startsWith('/__sandbox/')) return;
    // A Composite / Batch subrequest is part of its enclosing call; its writes count, by their own route.
    if (!subrequestOf(req)) stats.requests++;
    if (reply.statusCode >= 400 || req.method === 'GET' || req.method === 'HEAD' || READ_ONLY_POST.test(url)) return;
    stats.writes++;
    // Ids out of the route so the counts group by kind of call.
    const route = `${req.method} ${url.replace(/\/[0-9a-zA-Z]{15,18}(?=\/|$)/g, '/:id').replace(/\/\d+(?=\/|$)/g, '/:n')}`;
    stats.writesByRoute[route] = (stats.writesByRoute[route] ?? 0) + 1;
  });
  app.get('/__sandbox/stats', async () => stats);
  app.get('/__sandbox/faults', async () => org.faults());
  app.post('/__sandbox/faults', async (req) => {
    org.setFaults((req.body ?? {}) as FaultConfig);
    return org.faults();
  });
  app.post('/__sandbox/clock', async (req, reply) => {
    if (!org.setClock) return reply.code(404).send({ error: `org ${org.id} (${org.kind}) has no controllable clock` });
    try {
      return org.setClock((req.body ?? {}) as ClockCommand);
    } catch (e) {
      return reply.code(400).send({ error: (e as Error).message });
    }
  });
  app.get('/__sandbox/info', async () => ({ id: org.id, kind: org.kind, name: org.name, ...info() }));
  if (org.setWebhooks && org.webhooks) {
    const setWebhooks = org.setWebhooks.bind(org);
    const webhooks = org.webhooks.bind(org);
    app.get('/__sandbox/webhooks', async () => webhooks());
    app.post('/__sandbox/webhooks', async (req, reply) => {
      if (req.body === null || req.body === undefined || (typeof req.body === 'object' && Object.keys(req.body).length === 0)) {
        setWebhooks(undefined);
        return webhooks();
      }
      const parsed = webhookSettingsSchema.safeParse(req.body);
      if (!parsed.success) return reply.code(400).send({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      setWebhooks(parsed.data);
      return webhooks();
    });
  }
  const restoreRecord = (org as { restoreRecord?: (type: string, id: string) => boolean }).restoreRecord;
  if (restoreRecord) {
    app.post<{ Params: { type: string; id: string } }>('/__sandbox/restore/:type/:id', async (req, reply) => {
      if (!restoreRecord(req.params.type, req.params.id)) return reply.code(404).send({ error: `no archived ${req.params.type} ${req.params.id} to restore` });
      return { restored: true };
    });
  }
}
