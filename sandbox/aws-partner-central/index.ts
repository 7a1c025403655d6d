import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { FaultInjector } from '../faults.js';
import type { ClockCommand, ClockState, FaultConfig, OrgConfig, OrgConnectionInfo, OrgListView, SandboxOrg } from '../types.js';
import { DEFAULT_ACE_LIMITS, REGION, registerPartnerCentral, type AceLimits } from './http.js';
import { PartnerCentral, type PartnerCentralSettings, type StoredInvitation, type StoredOpportunity } from './service.js';

/**
 * An emulated AWS Partner Central (Selling API, "ACE") partner account for the sandbox host: the
 * unmodified @aws-sdk/client-partnercentral-selling talks to it with `endpoint` = the org's base URL
 * and the org's access key. See sandbox/aws-partner-central/README.md.
 */
export interface AwsPartnerCentralSandboxOrg extends SandboxOrg {
  readonly kind: 'aws-partner-central';
  readonly service: PartnerCentral;
  setClock(cmd: ClockCommand): ClockState;
}

/** Deterministic credentials from the org id (AWS's shapes: AKIA + 16, 40-character secret). */
function defaultCredentials(orgId: string): { accessKeyId: string; secretAccessKey: string } {
  const h = createHash('sha256').update(`cosell-sandbox-ace:${orgId}`).digest();
  const upper = [...h.subarray(0, 16)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');
  return { accessKeyId: `AKIA${upper}`, secretAccessKey: h.toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 40).padEnd(40, 'q') };
}

const COLUMNS: Record<string, string[]> = {
  Opportunity: ['Catalog', 'PartnerOpportunityIdentifier', 'Customer.Account.CompanyName', 'Project.Title', 'LifeCycle.Stage', 'LifeCycle.ReviewStatus', 'Origin', 'LastModifiedDate'],
  EngagementInvitation: ['Catalog', 'Status', 'EngagementTitle', 'Customer', 'OpportunityId', 'InvitationDate'],
};

function flatOpportunity(o: StoredOpportunity): Record<string, unknown> {
  const out: Record<string, unknown> = { Id: o.Id, Catalog: o.Catalog, CreatedDate: new Date(o.CreatedDate).toISOString(), LastModifiedDate: new Date(o.LastModifiedDate).toISOString() };
  const walk = (v: unknown, path: string) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    else if (v !== undefined) out[path] = Array.isArray(v) ? JSON.stringify(v) : v;
  };
  walk(o.data, '');
  out['RelatedEntityIdentifiers.Solutions'] = o.related.Solutions.join(', ');
  return out;
}

function flatInvitation(i: StoredInvitation): Record<string, unknown> {
  const p = i.Payload.OpportunityInvitation as { Customer?: { CompanyName?: string } };
  return { Id: i.Id, Catalog: i.Catalog, Status: i.Status, EngagementTitle: i.EngagementTitle, Customer: p.Customer?.CompanyName, OpportunityId: i.OpportunityId ?? '', InvitationDate: new Date(i.InvitationDate).toISOString(), RejectionReason: i.RejectionReason ?? '' };
}

function listView(service: PartnerCentral): OrgListView {
  const rows = (object: string) => {
    const { opportunities, invitations } = service.all();
    return object === 'Opportunity'
      ? opportunities.sort((a, b) => b.LastModifiedDate - a.LastModifiedDate).map((o) => ({ id: o.Id, title: String((o.data.Project as { Title?: string } | undefined)?.Title ?? o.Id), fields: flatOpportunity(o) }))
      : object === 'EngagementInvitation'
        ? invitations.sort((a, b) => b.InvitationDate - a.InvitationDate).map((i) => ({ id: i.Id, title: i.EngagementTitle, fields: flatInvitation(i) }))
        : [];
  };
  return {
    objects: () => ['Opportunity', 'EngagementInvitation'],
    count: (object) => rows(object).length,
    list: (object, offset, limit) => rows(object).slice(offset, offset + limit),
    get: (object, id) => rows(object).find((r) => r.id === id)?.fields,
    columns: (object) => COLUMNS[object] ?? [],
  };
}

export function createAwsPartnerCentralOrg(config: OrgConfig): AwsPartnerCentralSandboxOrg {
  const settings = (config.partnerCentral ?? {}) as PartnerCentralSettings;
  const service = new PartnerCentral(settings, config.idOffset ?? 0);
  const faults = new FaultInjector(config.faults ?? {});
  const creds = { ...defaultCredentials(config.id), ...(config.credentials ?? {}) } as { accessKeyId: string; secretAccessKey: string };
  const credentials = new Map([[creds.accessKeyId, creds.secretAccessKey]]);
  const stats = { reads: 0, writes: 0, throttled: 0 };
  const limits = (): AceLimits => {
    const f = faults.get();
    return {
      readsPerSecond: f.aceReadsPerSecond ?? DEFAULT_ACE_LIMITS.readsPerSecond,
      writesPerSecond: f.aceWritesPerSecond ?? DEFAULT_ACE_LIMITS.writesPerSecond,
      dailyReads: f.aceDailyReads ?? DEFAULT_ACE_LIMITS.dailyReads,
      dailyWrites: f.aceDailyWrites ?? DEFAULT_ACE_LIMITS.dailyWrites,
    };
  };
  return {
    id: config.id,
    kind: 'aws-partner-central',
    name: config.name ?? `${config.id} (AWS Partner Central)`,
    service,
    register: (app: FastifyInstance) => registerPartnerCentral(app, { service, faults, credentials, limits, stats }),
    connectionInfo: (baseUrl: string): OrgConnectionInfo => ({
      kind: 'aws-partner-central',
      endpoint: baseUrl.replace(/\/+$/, ''),
      region: REGION,
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      catalogs: [...service.catalogs],
    }),
    setFaults: (f: FaultConfig) => faults.set(f),
    faults: () => faults.get(),
    setClock: (cmd: ClockCommand) => service.clock.apply(cmd),
    listView: () => listView(service),
    snapshot: () => service.snapshot(),
    restore: (snap: unknown) => service.restore(snap),
  };
}

export { PartnerCentral } from './service.js';
