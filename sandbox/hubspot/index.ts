import type { FastifyInstance } from 'fastify';
import type { SeedData } from '../seed.js';
import type { ClockCommand, ClockState, FaultConfig, OrgConfig, OrgConnectionInfo, SandboxOrg } from '../types.js';
import { registerPortal } from './http.js';
import { restorePortal, snapshotPortal } from './persist.js';
import { HubspotPortal } from './portal.js';
import { defaultOwner, loadSeed } from './seedLoader.js';
import { hubspotListView } from './view.js';
import { resolveObjectType } from './meta.js';
import { WebhookDispatcher, type WebhookSettings } from './webhooks.js';

/**
 * An emulated HubSpot portal for the sandbox host: the /crm/v3, /crm/v4 and /oauth/v1 paths that the
 * unmodified @hubspot/api-client 13 calls (`basePath` = the org's base URL), with HubSpot's validation,
 * error bodies, rate limits, search lag and 10,000-result cap. See sandbox/hubspot/README.md.
 */
export interface HubspotSandboxOrg extends SandboxOrg {
  readonly kind: 'hubspot';
  /** The in-memory portal (tests and benchmarks may inspect or drive it directly). */
  readonly portal: HubspotPortal;
  /** The app's webhook deliveries (settings, counters, delivery log, `idle()`). */
  readonly webhookDispatcher: WebhookDispatcher;
  setClock(cmd: ClockCommand): ClockState;
  setWebhooks(settings: WebhookSettings | undefined): void;
  /** Restore an archived record (the recycle bin); false when it is not archived or was merged away. */
  restoreRecord(type: string, id: string): boolean;
  close(): void;
}

export function createHubspotOrg(config: OrgConfig, seed?: SeedData): HubspotSandboxOrg {
  const portal = new HubspotPortal(config);
  if (seed) loadSeed(portal, seed);
  else portal.owners = [defaultOwner(portal)];
  // After the seed: seeded records are not changes anyone made.
  const webhooks = new WebhookDispatcher(portal, portal.faults, portal.tokens.credentials.clientSecret);
  webhooks.configure(config.webhooks);
  return {
    webhookDispatcher: webhooks,
    setWebhooks: (settings: WebhookSettings | undefined) => webhooks.configure(settings),
    webhooks: () => ({ settings: webhooks.current(), stats: webhooks.snapshotStats() }),
    close: () => webhooks.close(),
    restoreRecord: (type: string, id: string) => {
      const meta = resolveObjectType(type);
      const rec = meta ? portal.store(meta).get(id, true) : undefined;
      return !!meta && !!rec && portal.restore(meta, rec, portal.now());
    },
    id: config.id,
    kind: 'hubspot',
    name: portal.name,
    portal,
    register: (app: FastifyInstance) => registerPortal(app, portal),
    connectionInfo: (baseUrl: string): OrgConnectionInfo => {
      const c = portal.tokens.credentials;
      return { kind: 'hubspot', basePath: baseUrl.replace(/\/+$/, ''), accessToken: c.accessToken, clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: c.refreshToken };
    },
    setFaults: (faults: FaultConfig) => portal.setFaults(faults),
    faults: () => portal.faults.get(),
    setClock: (cmd: ClockCommand) => {
      const state = portal.clock.apply(cmd);
      portal.setClockFrozen(state.frozen);
      return state;
    },
    listView: () => hubspotListView(portal),
    snapshot: () => snapshotPortal(portal),
    restore: (snapshot: unknown) => restorePortal(portal, snapshot),
  };
}

export { HubspotPortal } from './portal.js';
export { WebhookDispatcher, type WebhookSettings, type WebhookSubscription, type WebhookEvent, type WebhookStats } from './webhooks.js';
