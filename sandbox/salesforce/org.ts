import querystring from 'node:querystring';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SandboxClock } from '../clock.js';
import { FaultInjector, RollingCounter, installFaults } from '../faults.js';
import { subrequestOf } from '../http.js';
import { mapStage, type SeedData } from '../seed.js';
import type { ClockCommand, FaultConfig, OrgConfig, OrgConnectionInfo, OrgListView, SandboxOrg } from '../types.js';
import { createAuthServer, defaultCredentials } from './auth.js';
import { ChangeEventBus } from './cdc/bus.js';
import { startPubSubServer, type PubSubServer } from './cdc/server.js';
import { SalesforceData, type CapturedChange, type ValidationRule } from './data.js';
import { ApiError, RecordFailure } from './errors.js';
import { makeId } from './ids.js';
import { registerRoutes, sendError } from './routes.js';
import { registerSoap } from './soap.js';
import { OPPORTUNITY_STAGES, type CustomFieldMetadata } from './schema.js';
import { formatDatetime, outputValue } from './soql.js';
import type { Rec } from './store.js';

/** A Salesforce org: data, OAuth server, REST API, faults, daily allocation and a list view for the web page. */

export interface SalesforceSchemaConfig {
  /** `Object.Field__c` → Tooling-API-style field metadata. */
  fields?: Record<string, CustomFieldMetadata>;
  /** Custom objects with their fields. */
  objects?: Record<string, { label?: string; pluralLabel?: string; fields?: Record<string, CustomFieldMetadata> }>;
  /** Validation rules: writes matching `when` fail with FIELD_CUSTOM_VALIDATION_EXCEPTION. */
  validationRules?: ValidationRule[];
}

const DEFAULT_DAILY_LIMIT = 1_000_000;
const DAY = 86_400_000;

export interface SalesforceOrg extends SandboxOrg {
  readonly data: SalesforceData;
  readonly clock: SandboxClock;
  /** Undelete from the Recycle Bin (same Id, SystemModstamp bumped); false when Salesforce would refuse it. */
  restoreRecord(type: string, id: string): boolean;
  /** Change Data Capture, when the org config turns `pubsub` on. */
  readonly cdc?: { bus: ChangeEventBus; server(): PubSubServer | undefined };
}

export function createSalesforceOrg(config: OrgConfig, seed?: SeedData): SalesforceOrg {
  const clock = new SandboxClock();
  const faults = new FaultInjector(config.faults ?? {});
  const data = new SalesforceData(clock.now());
  const orgSfId = makeId('00D', hashCounter(config.id), '5e');
  const usage = new RollingCounter(DAY, 288);
  let baseUrl = '';
  let integrationUserId = '';

  applySchema(data, (config.schema ?? {}) as SalesforceSchemaConfig);
  integrationUserId = seedUsers(data, config, seed, clock.now());
  seedOrganization(data, orgSfId, config, integrationUserId);
  if (seed) seedRecords(data, seed, integrationUserId, clock.now());

  const credentials = defaultCredentials(config.id, orgSfId, config.credentials);
  const userByUsername = (username: string): string | undefined => {
    if (username.toLowerCase() === credentials.username.toLowerCase()) return integrationUserId;
    const f = data.object('User')!.fields.get('username')!;
    const id = data.table('User').lookup(f, username)[0];
    return id && data.table('User').byId.get(id)?.IsActive !== false ? id : undefined;
  };
  const auth = createAuthServer({
    orgSfId, credentials, clock, faults, userByUsername,
    integrationUserId: () => integrationUserId,
    baseUrl: () => baseUrl,
  });
  const dailyLimit = () => faults.dailyLimit ?? DEFAULT_DAILY_LIMIT;
  const bus = config.pubsub ? new ChangeEventBus({ clock, faults, object: (n) => data.object(n), objects: () => [...data.objects.values()] }) : undefined;
  let pubsubServer: PubSubServer | undefined;
  const isApi = (req: FastifyRequest) => req.url.startsWith('/services/data/') || req.url.startsWith('/services/data?');

  const org: SalesforceOrg = {
    id: config.id,
    kind: 'salesforce',
    name: config.name ?? config.id,
    data,
    clock,
    ...(bus ? { cdc: { bus, server: () => pubsubServer } } : {}),
    async startExtras() {
      if (!bus || pubsubServer) return;
      pubsubServer = await startPubSubServer({
        bus,
        authenticate: (token) => auth.authenticate(`Bearer ${token}`),
        orgSfId,
        instanceUrl: () => baseUrl,
        port: config.pubsub?.port,
        keepaliveMs: config.pubsub?.keepaliveMs,
      });
    },
    async stopExtras() {
      await pubsubServer?.stop();
      pubsubServer = undefined;
    },
    register(app: FastifyInstance) {
      app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
        done(null, querystring.parse(body as string));
      });
      // SOAP envelopes (login) and Bulk API 2.0 CSV uploads: read as text by their routes.
      app.addContentTypeParser(['text/xml', 'application/xml', 'application/soap+xml', 'text/csv'], { parseAs: 'string' }, (_req, body, done) => {
        done(null, body);
      });
      app.addHook('onRequest', async (req) => {
        if (!baseUrl && req.headers.host) baseUrl = `http://${req.headers.host}`;
      });
      installFaults(app, faults, {
        // A Composite / Batch subrequest already passed the faults as part of its enclosing call.
        applies: (req) => isApi(req) && !subrequestOf(req),
        serverError: (reply) => (Math.random() < 0.5
          ? sendError(reply, new ApiError(500, 'UNKNOWN_EXCEPTION', 'An unexpected error occurred. Please include this ErrorId if you contact support: 1930428271-52371 (-1122316413)'))
          : sendError(reply, new ApiError(503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable; please retry'))),
        // Salesforce does not send 429s: concurrency overload is a 403 REQUEST_LIMIT_EXCEEDED with its own message.
        tooManyRequests: (reply) => sendError(reply, new ApiError(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.')),
      });
      app.addHook('onRequest', async (req, reply) => {
        if (!isApi(req)) return;
        const user = auth.authenticate(req.headers.authorization);
        if (!user) return sendError(reply, new ApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid'));
        (req as any).sandboxUser = user;
        const now = clock.now();
        const limit = dailyLimit();
        // A Composite request counts as one call, whatever its subrequests; a Batch's subrequests each count.
        const sub = subrequestOf(req);
        if (sub && !sub.countsUsage) {
          (req as any).sandboxUsage = { used: usage.count(now), limit };
          return;
        }
        if (usage.count(now) >= limit) {
          (req as any).sandboxUsage = { used: usage.count(now), limit };
          return sendError(reply, new ApiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'));
        }
        (req as any).sandboxUsage = { used: usage.add(now), limit };
      });
      app.addHook('onSend', async (req, reply, payload) => {
        if (isApi(req) || req.url === '/services/data') {
          const u = (req as any).sandboxUsage as { used: number; limit: number } | undefined;
          reply.header('Sforce-Limit-Info', `api-usage=${u?.used ?? usage.count(clock.now())}/${u?.limit ?? dailyLimit()}`);
        }
        return payload;
      });
      auth.register(app);
      registerSoap(app, {
        auth, data, orgSfId,
        orgName: config.name ?? config.id,
        baseUrl: () => baseUrl,
        sessionSeconds: () => Math.round(faults.tokenTtlMs / 1000),
      });
      registerRoutes(app, {
        data,
        now: () => clock.now(),
        userOf: (req) => (req as any).sandboxUser ?? integrationUserId,
        lockRow: () => faults.lockRow(),
        commitLagMs: () => faults.commitLagMs,
        identityUrl: (req) => `${baseUrl}/id/${orgSfId}/${(req as any).sandboxUser ?? integrationUserId}`,
        ...(bus ? {
          committed: (ctx, req) => bus.publish({
            changes: ctx.changes ?? [],
            userId: ctx.userId,
            client: /client=([^,;\s]+)/.exec(String(req.headers['sforce-call-options'] ?? ''))?.[1],
            apiVersion: /^v(\d+\.\d)$/.exec((req.params as { v?: string }).v ?? '')?.[1],
          }),
        } : {}),
      });
      // What the Pub/Sub API did: events published/dropped/gapped and each subscription's flow control.
      app.get('/__sandbox/pubsub', async () => ({ enabled: !!bus, counts: bus?.counts, subscriptions: pubsubServer?.subscriptions() ?? [] }));
    },
    connectionInfo(url: string): OrgConnectionInfo {
      baseUrl = url;
      return {
        kind: 'salesforce',
        instanceUrl: url,
        loginUrl: url,
        accessToken: credentials.accessToken,
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        username: credentials.username,
        password: credentials.password,
        privateKeyPem: credentials.privateKeyPem,
        refreshToken: credentials.refreshToken,
        securityToken: credentials.securityToken,
        ...(pubsubServer ? { pubsub: { endpoint: pubsubServer.endpoint, caPem: pubsubServer.caPem, organizationId: orgSfId } } : {}),
      };
    },
    setFaults(f: FaultConfig) {
      faults.set(f);
    },
    faults: () => faults.get(),
    setClock: (cmd: ClockCommand) => clock.apply(cmd),
    /** `POST /__sandbox/restore/{type}/{id}`: Recycle Bin undelete (false when Salesforce would refuse it). */
    restoreRecord(type: string, id: string): boolean {
      try {
        const ctx = { now: clock.now(), userId: integrationUserId, changes: [] as CapturedChange[] };
        const back = data.undelete(type, id, ctx);
        // An undelete is a committed transaction too: UNDELETE change events.
        bus?.publish({ changes: ctx.changes, userId: integrationUserId });
        return back.length > 0;
      } catch (e) {
        if (e instanceof RecordFailure || e instanceof ApiError) return false;
        throw e;
      }
    },
    listView: () => salesforceListView(data),
    snapshot: () => ({
      version: 1,
      createdAt: data.createdAt,
      ids: data.ids.snapshot(),
      integrationUserId,
      customizations: data.customizations,
      // The sandbox's own throw-away key pair, so JWT clients keep working across a restart.
      keys: { certificatePem: credentials.certificatePem, privateKeyPem: credentials.privateKeyPem },
      tables: Object.fromEntries([...data.tables.entries()].map(([k, t]) => [k, [...t.byId.values()].map(stripInternal)])),
    }),
    restore(snapshot: unknown) {
      const s = snapshot as { createdAt: number; ids: Record<string, number>; integrationUserId: string; customizations: SalesforceData['customizations']; keys?: { certificatePem: string; privateKeyPem?: string }; tables: Record<string, Array<Record<string, unknown>>> };
      if (s.keys && !config.credentials?.certificatePem) Object.assign(credentials, s.keys);
      const fresh = new SalesforceData(s.createdAt);
      for (const c of s.customizations) {
        if (c.kind === 'object') fresh.createCustomObject(c.name, c.label, c.pluralLabel);
        else fresh.createCustomField(c.object, c.name, c.metadata);
      }
      // Swap the fresh schema and tables into the live org object (routes hold a reference to `data`).
      data.objects.clear();
      data.tables.clear();
      for (const [k, v] of fresh.objects) data.objects.set(k, v);
      for (const [k, v] of fresh.tables) data.tables.set(k, v);
      data.customizations.length = 0;
      data.customizations.push(...fresh.customizations);
      data.createdAt = s.createdAt;
      for (const [name, rows] of Object.entries(s.tables)) {
        const t = data.tables.get(name);
        if (!t) continue;
        for (const row of rows) t.byId.set(String(row.Id), { ...row, $v: 0 } as Rec);
        t.rebuild();
      }
      data.ids.restore(s.ids);
      integrationUserId = s.integrationUserId;
      // Snapshots from before the Organization object: the org's own record is not data anyone wrote.
      seedOrganization(data, orgSfId, config, integrationUserId);
    },
  };
  return org;
}

function stripInternal(rec: Rec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (k !== '$v') out[k] = v;
  return out;
}

function hashCounter(s: string): number {
  let h = 7;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) % 916_132_831;
  return h;
}

function applySchema(data: SalesforceData, schema: SalesforceSchemaConfig): void {
  for (const [name, o] of Object.entries(schema.objects ?? {})) {
    data.createCustomObject(name, o.label, o.pluralLabel);
    for (const [fname, md] of Object.entries(o.fields ?? {})) data.createCustomField(name, fname, md);
  }
  for (const [full, md] of Object.entries(schema.fields ?? {})) {
    const [obj, fname] = full.split('.');
    data.createCustomField(obj, fname, md);
  }
  data.validationRules.push(...(schema.validationRules ?? []));
}

/** The integration user (the API's "run as" user) plus the seed's owners. Returns the integration user id. */
function seedUsers(data: SalesforceData, config: OrgConfig, seed: SeedData | undefined, now: number): string {
  const t = data.table('User');
  const mk = (fields: Record<string, unknown>, created: number): string => {
    const id = data.ids.next('005');
    t.insert({
      Id: id, ...fields, Name: `${fields.FirstName ?? ''} ${fields.LastName}`.trim(), IsActive: true,
      CreatedDate: created, CreatedById: id, LastModifiedDate: created, LastModifiedById: id, SystemModstamp: created, $v: 0,
    } as Rec);
    return id;
  };
  const integration = mk({ Username: `integration@${config.id.toLowerCase()}.sandbox.example.com`, FirstName: 'Integration', LastName: 'User', Email: `integration@${config.id.toLowerCase()}.example.com`, Title: 'API Integration' }, now - 800 * DAY);
  if (seed) {
    for (const o of seed.owners()) mk({ Username: o.email, FirstName: o.firstName, LastName: o.lastName, Email: o.email, Title: o.title }, now - 790 * DAY);
  }
  return integration;
}

/** The Organization record (Id = the org id); kept when there is one already (a restored snapshot). */
function seedOrganization(data: SalesforceData, orgSfId: string, config: OrgConfig, integrationUserId: string): void {
  const t = data.table('Organization');
  if (t.byId.size > 0) return;
  const created = data.createdAt - 800 * DAY;
  t.insert({
    Id: orgSfId, Name: config.name ?? config.id, Division: null, Country: 'US', Phone: null, PrimaryContact: 'Integration User',
    DefaultLocaleSidKey: 'en_US', LanguageLocaleKey: 'en_US', TimeZoneSidKey: 'GMT', OrganizationType: 'Enterprise Edition',
    // A test org, not production: what simple-salesforce's is_sandbox() and the Salesforce CLI read.
    InstanceName: 'CS0', IsSandbox: true, IsReadOnly: false, NamespacePrefix: null, TrialExpirationDate: null,
    CreatedDate: created, CreatedById: integrationUserId, LastModifiedDate: created, LastModifiedById: integrationUserId, SystemModstamp: created, $v: 0,
  } as Rec);
}

const SF_STAGE_TARGET = {
  open: OPPORTUNITY_STAGES.filter((s) => !s.closed).map((s) => s.value),
  won: 'Closed Won',
  lost: 'Closed Lost',
};

/** Bulk-load seed records without per-record validation (the generator only produces valid rows). */
function seedRecords(data: SalesforceData, seed: SeedData, integrationUserId: string, now: number): void {
  const users = data.table('User');
  const ownerIds = [...users.byId.keys()].slice(1);
  const ownerOf = (i: number) => ownerIds[i] ?? integrationUserId;
  const accounts = data.table('Account');
  const accountIds: string[] = new Array(seed.counts.companies);
  const stamp = (created: number, i: number) => Math.min(now - 1000, created + ((i * 7919) % 30) * DAY + (i % 997));
  let i = 0;
  for (const c of seed.companies()) {
    const id = data.ids.next('001');
    accountIds[i] = id;
    const mod = stamp(c.createdAt, i);
    accounts.insert({
      Id: id, IsDeleted: false, MasterRecordId: null, Name: c.name, Type: 'Customer - Direct', ParentId: null,
      BillingStreet: null, BillingCity: c.city, BillingState: null, BillingPostalCode: null, BillingCountry: c.country,
      Phone: null, Website: c.website ?? null, Industry: c.industry, AnnualRevenue: c.annualRevenue, NumberOfEmployees: c.employees,
      Description: null, OwnerId: ownerOf(c.ownerIndex),
      CreatedDate: c.createdAt, CreatedById: integrationUserId, LastModifiedDate: mod, LastModifiedById: integrationUserId, SystemModstamp: mod, $v: 0,
    } as Rec);
    i++;
  }
  const opps = data.table('Opportunity');
  i = 0;
  for (const d of seed.deals()) {
    const id = data.ids.next('006');
    const stageName = mapStage(d.stageIndex, SF_STAGE_TARGET);
    const stage = OPPORTUNITY_STAGES.find((s) => s.value === stageName)!;
    const mod = stamp(d.createdAt, i);
    opps.insert({
      Id: id, IsDeleted: false, AccountId: d.companyIndex >= 0 ? accountIds[d.companyIndex] : null, Name: d.name.slice(0, 120),
      Description: null, StageName: stageName, Amount: d.amount, Probability: stage.probability, CloseDate: d.closeDate,
      Type: d.type, NextStep: null, LeadSource: d.leadSource, IsClosed: stage.closed, IsWon: stage.won,
      ForecastCategoryName: stage.forecast, OwnerId: ownerOf(d.ownerIndex),
      CreatedDate: d.createdAt, CreatedById: integrationUserId, LastModifiedDate: mod, LastModifiedById: integrationUserId, SystemModstamp: mod, $v: 0,
    } as Rec);
    i++;
  }
  // The analytics history: closed deals carrying the attribution field the registration gate writes.
  let h = 0;
  for (const d of seed.history()) {
    if (h === 0 && !data.object('Opportunity')!.fields.has('partner_attribution__c')) {
      data.createCustomField('Opportunity', 'Partner_Attribution__c', { label: 'Partner Attribution', type: 'Text', length: 255 });
    }
    const id = data.ids.next('006');
    const stageName = d.won ? SF_STAGE_TARGET.won : SF_STAGE_TARGET.lost;
    const stage = OPPORTUNITY_STAGES.find((s) => s.value === stageName)!;
    const mod = Math.min(now - 1000, Date.parse(d.closeDate) + DAY / 2 + (h % 997));
    opps.insert({
      Id: id, IsDeleted: false, AccountId: null, Name: d.name.slice(0, 120),
      Description: null, StageName: stageName, Amount: d.amount, Probability: stage.probability, CloseDate: d.closeDate,
      Type: 'New Customer', NextStep: null, LeadSource: d.partners ? 'Partner Referral' : 'Web', IsClosed: true, IsWon: d.won,
      ForecastCategoryName: stage.forecast, OwnerId: ownerOf(d.ownerIndex), Partner_Attribution__c: d.attribution || null,
      CreatedDate: d.createdAt, CreatedById: integrationUserId, LastModifiedDate: mod, LastModifiedById: integrationUserId, SystemModstamp: mod, $v: 0,
    } as Rec);
    h++;
  }
}

const LIST_COLUMNS: Record<string, string[]> = {
  Account: ['Name', 'Website', 'Industry', 'BillingCountry', 'NumberOfEmployees', 'LastModifiedDate'],
  Opportunity: ['Name', 'StageName', 'Amount', 'CloseDate', 'IsWon', 'LastModifiedDate'],
  User: ['Name', 'Username', 'Email', 'Title', 'IsActive'],
  Partner: ['OpportunityId', 'AccountFromId', 'AccountToId', 'Role', 'IsPrimary', 'CreatedDate'],
  OpportunityPartner: ['OpportunityId', 'AccountToId', 'Role', 'IsPrimary', 'CreatedDate'],
};

export function salesforceListView(data: SalesforceData): OrgListView {
  const format = (objectName: string, rec: Rec) => {
    const o = data.object(objectName)!;
    const out: Record<string, unknown> = {};
    for (const n of o.order) {
      const f = o.fields.get(n.toLowerCase())!;
      out[f.name] = outputValue(f, rec[f.name]);
    }
    if (rec.$deletedAt) out.DeletedDate = formatDatetime(rec.$deletedAt as number);
    return out;
  };
  return {
    objects: () => [...data.objects.values()].map((o) => o.name),
    count: (object) => {
      let n = 0;
      for (const r of data.table(object).byId.values()) if (!r.IsDeleted) n++;
      return n;
    },
    list: (object, offset, limit) => {
      const entries = data.table(object).byModstamp();
      const out: Array<{ id: string; title: string; fields: Record<string, unknown> }> = [];
      let skipped = 0;
      for (let i = entries.length - 1; i >= 0 && out.length < limit; i--) {
        const rec = entries[i].rec;
        if (rec.IsDeleted) continue;
        if (skipped++ < offset) continue;
        out.push({ id: rec.Id, title: String(rec.Name ?? rec.Id), fields: format(object, rec) });
      }
      return out;
    },
    get: (object, id) => {
      const rec = data.table(object).byId.get(id);
      return rec ? format(object, rec) : undefined;
    },
    columns: (object) => {
      const o = data.object(object)!;
      const base = LIST_COLUMNS[o.name] ?? ['Name', 'LastModifiedDate'];
      const custom = o.order.filter((n) => n.endsWith('__c')).slice(0, 4);
      return [...base.filter((c) => o.fields.has(c.toLowerCase())), ...custom];
    },
  };
}
