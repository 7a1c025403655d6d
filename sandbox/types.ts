import type { FastifyInstance } from 'fastify';
import type { WebhookSettings, WebhookStats } from './hubspot/webhooks.js';

/**
 * The contract between the sandbox host (sandbox/host.ts: one process, several orgs, each on its own
 * port/base URL) and the CRM emulators (sandbox/salesforce/, sandbox/hubspot/).
 */

/** Misbehaviour to inject, per org; set at start (config) and changed at runtime (admin endpoint). */
export interface FaultConfig {
  /** Fraction of API requests answered with a 5xx (503 for HubSpot, 500/503 for Salesforce). */
  errorRate?: number;
  /** Fraction of requests that hang for `timeoutMs` and then drop the connection. */
  timeoutRate?: number;
  timeoutMs?: number;
  /** Added latency on every API request, in ms. */
  latencyMs?: number;
  /** Fraction of requests that start a burst of 429s lasting `burst429Length` requests. */
  burst429Rate?: number;
  burst429Length?: number;
  /** Salesforce: fraction of records in a write that fail with UNABLE_TO_LOCK_ROW. */
  lockRowRate?: number;
  /** Invalidate every access token issued so far (clients must re-authenticate / refresh). */
  expireTokensNow?: boolean;
  /** Access-token lifetime in ms (default: 2 h). */
  tokenTtlMs?: number;
  /**
   * Salesforce: a write transaction takes its SystemModstamp when it starts and commits (becomes
   * visible; the response returns) this many ms later — a long-running transaction, whose records
   * appear stamped older than records committed meanwhile.
   */
  commitLagMs?: number;
  /** HubSpot: ms before a write becomes visible to search. */
  searchLagMs?: number;
  /** Daily API allocation (Salesforce total requests / HubSpot daily). */
  dailyLimit?: number;
  /** HubSpot: requests per rolling 10 s (0/undefined = unlimited). */
  tenSecondLimit?: number;
  /** HubSpot: search requests per second (0/undefined = unlimited). */
  searchPerSecond?: number;
  /** HubSpot webhooks: fraction of events never sent (lost before delivery). */
  webhookDropRate?: number;
  /** HubSpot webhooks: fraction of events delivered a second time, in a later batch. */
  webhookDuplicateRate?: number;
  /** HubSpot webhooks: ms every delivery waits before it goes out. */
  webhookDelayMs?: number;
  /** HubSpot webhooks: batches take events in random order and overtake each other. */
  webhookReorder?: boolean;
  /**
   * Salesforce Change Data Capture (the Pub/Sub API endpoint, sandbox/salesforce/cdc/): fraction of
   * change events lost (never published), published late (`cdcDelayMs` after the commit), delivered
   * twice, or turned into gap events (GAP_<type>: record ids, no field data).
   */
  cdcDropRate?: number;
  cdcDelayMs?: number;
  cdcDuplicateRate?: number;
  cdcGapRate?: number;
  /** A transaction changing more records of one object than this sends the rest as one GAP_OVERFLOW event (Salesforce: 100,000). */
  cdcOverflowAfter?: number;
  /** How long change events are kept for replay (org clock; default 72 h). */
  cdcRetentionMs?: number;
  /** AWS Partner Central: quotas per partner account (defaults: the service's 10 reads/s, 1 write/s, 100,000 reads and 10,000 writes a day). */
  aceReadsPerSecond?: number;
  aceWritesPerSecond?: number;
  aceDailyReads?: number;
  aceDailyWrites?: number;
}

export interface SeedSpec {
  /** Generator seed; the same seed always yields the same data. */
  seed?: number;
  accounts?: number; // Account / companies
  opportunities?: number; // Opportunity / deals
  owners?: number;
  /** Closed won/lost deal history for the analytics demo (vendor Salesforce orgs); off unless set. */
  history?: SeedHistorySpec;
}

export interface SeedHistorySpec {
  /** How many closed deals (default 640). */
  deals?: number;
  /** Spread over this many quarters ending at the seed's "now" (default 8). */
  quarters?: number;
  /** Partner ids to attribute joint deals to (Partner_Attribution__c as the registration gate writes it). */
  partners: string[];
}

export type SandboxKind = 'salesforce' | 'hubspot' | 'aws-partner-central';

export interface OrgConfig {
  id: string;
  kind: SandboxKind;
  name?: string;
  /** Role in the demo network: the vendor's org shares more accounts with partners (deliberate overlaps). */
  role?: 'vendor' | 'partner';
  seed?: SeedSpec;
  faults?: FaultConfig;
  /** Salesforce: extra custom fields/objects; HubSpot: extra properties. Emulator-specific shape. */
  schema?: Record<string, unknown>;
  /** Fixed credentials (defaults are generated deterministically from the org id). */
  credentials?: Record<string, string>;
  /** Preferred port (0 = any free port). */
  port?: number;
  /**
   * HubSpot: added to every object id the portal hands out (seeded and created). Test files that share
   * one Temporal server give their portals distinct ids, so `registration:<partner>:<deal id>`
   * workflow ids of two files never collide. Default 0 (deals from 300000001).
   */
  idOffset?: number;
  /** HubSpot: the app's webhook settings (target URL, subscriptions, …; see sandbox/hubspot/webhooks.ts). */
  webhooks?: WebhookSettings;
  /**
   * Salesforce: serve Change Data Capture over the Pub/Sub API (gRPC + TLS with a CA the sandbox
   * generates) on its own port. Off unless set (`{}` turns it on).
   */
  pubsub?: { port?: number; keepaliveMs?: number };
  /**
   * AWS Partner Central: catalogs the credentials may use, the review delay, referrals arriving on their
   * own, the account's solutions (see sandbox/aws-partner-central/service.ts PartnerCentralSettings).
   */
  partnerCentral?: {
    catalogs?: Array<'AWS' | 'Sandbox'>;
    reviewDelayMs?: number;
    referrals?: { everyMs: number; max?: number; catalog?: 'AWS' | 'Sandbox' };
    invitationTtlDays?: number;
    solutions?: string[];
  };
}

export interface SandboxConfig {
  seed?: number;
  orgs: OrgConfig[];
  /** Persist every org's data to this file on stop and reload it on start. */
  persistFile?: string;
}

/** What a client needs to connect; exactly the shape `cosell sandbox --json` prints per org. */
export type OrgConnectionInfo =
  | { kind: 'salesforce'; instanceUrl: string; loginUrl: string; accessToken: string; clientId: string; clientSecret: string; username?: string; password?: string; privateKeyPem?: string; refreshToken?: string; securityToken?: string; pubsub?: PubSubConnectionInfo }
  | { kind: 'hubspot'; basePath: string; accessToken: string; clientId?: string; clientSecret?: string; refreshToken?: string }
  | { kind: 'aws-partner-central'; endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; catalogs: string[] };

/** Where a Salesforce org's Pub/Sub API listens (when `pubsub` is on), and the CA that signed its certificate. */
export interface PubSubConnectionInfo {
  /** host:port, as the Pub/Sub client's `pubSubEndpoint`. */
  endpoint: string;
  caPem: string;
  /** The org id (`tenantid` metadata). */
  organizationId: string;
}

/** A read-only view for the sandbox's CRM-like web pages. */
export interface OrgListView {
  objects(): string[];
  count(object: string): number;
  list(object: string, offset: number, limit: number): Array<{ id: string; title: string; fields: Record<string, unknown> }>;
  get(object: string, id: string): Record<string, unknown> | undefined;
  /** Fields worth showing as list columns for the object. */
  columns(object: string): string[];
}

export interface SandboxOrg {
  readonly id: string;
  readonly kind: SandboxKind;
  readonly name: string;
  /** Register the org's API routes on its own fastify instance (mounted at the org's base URL root). */
  register(app: FastifyInstance): Promise<void> | void;
  connectionInfo(baseUrl: string): OrgConnectionInfo;
  setFaults(faults: FaultConfig): void;
  faults(): FaultConfig;
  listView(): OrgListView;
  /** Optional: the org's clock (freeze / set / advance), driven by `POST {baseUrl}/__sandbox/clock`. */
  setClock?(cmd: ClockCommand): ClockState;
  /** Serialise / restore all data (optional persistence). */
  snapshot(): unknown;
  restore(snapshot: unknown): void;
  /** HubSpot: replace the app's webhook settings (undefined stops deliveries); read them with their counters. */
  setWebhooks?(settings: WebhookSettings | undefined): void;
  webhooks?(): { settings: WebhookSettings | undefined; stats: WebhookStats };
  /** Stop background work (webhook deliveries) when the host stops. */
  close?(): void;
  /** Optional: servers beside the org's HTTP API (the Salesforce Pub/Sub API), started once it listens. */
  startExtras?(): Promise<void>;
  stopExtras?(): Promise<void>;
}

/** Body of `POST {baseUrl}/__sandbox/clock`: freeze or release the org's clock, move it, or jump it. */
export interface ClockCommand {
  /** true: time stands still (every write shares one timestamp); false: time runs again. */
  freeze?: boolean;
  /** Jump the clock to this ISO instant (keeps running unless frozen). */
  at?: string;
  /** Move the clock forward by this many ms. */
  advanceMs?: number;
}

export interface ClockState {
  now: string;
  frozen: boolean;
}
