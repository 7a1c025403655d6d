import type { SecretRef } from '../../lib/secrets.js';
import { ConnectorError } from '../errors.js';
import { rateBudgetFor, type WindowLimit } from '../rateBudget.js';
import type { RetryPolicy } from '../retry.js';
import type {
  Association, ChangeOptions, ChangePage, Connector, DeletionPage, FeedCursor, FieldSpec, ObjectSchema, RateState, UpdateInput, UpsertInput, WriteResult,
} from '../types.js';
import { associate, hubspotObjectName } from './associations.js';
import { addAssociationFields, ASSOCIATION_FIELD_PREFIX, readFirstAssociations, splitAssociationFields } from './associationFields.js';
import { createTokenProvider } from './auth.js';
import { propertiesFor, toRecord, type HubspotContext } from './context.js';
import { deletionsPage } from './deletions.js';
import { changesPage, type SearchRequest, type SearchResult } from './feed.js';
import { ensureFields, fetchSchema } from './fields.js';
import { readByField, readByIds } from './reads.js';
import { modifiedProperty } from './schema.js';
import { HubspotTransport } from './transport.js';
import { remove, update, upsert } from './writes.js';

export interface HubspotConnectorConfig {
  kind: 'hubspot';
  orgId: string;
  /** API host; the sandbox's base URL in tests and demos. Default https://api.hubapi.com. */
  basePath?: string;
  /** Private-app token, or OAuth app credentials with a refresh token. References only (env:/file:). */
  auth: { accessToken: SecretRef } | { clientId: SecretRef; clientSecret: SecretRef; refreshToken: SecretRef };
  limits?: {
    /** Calls per rolling 10 s (190 Professional/Enterprise, 100 Free/Starter). Default 190, minus headroom. */
    tenSecondLimit?: number;
    /** Search requests per second (HubSpot: about 5). Default 4. */
    searchPerSecond?: number;
    /** Daily allocation if known before the first response header (HubSpot sends X-HubSpot-RateLimit-Daily). */
    dailyLimit?: number;
    /** Pause when this share of the daily allocation is used (0 < x <= 1). Default: the budget's (0.8). */
    dailyPauseAt?: number;
    /** The portal's time zone: the daily quota resets at its midnight. Default UTC. */
    timeZone?: string;
  };
  feed?: {
    /** Records per change-feed page (search limit: at most 200). Default 100. */
    pageSize?: number;
    /** Re-scan this far back for records that reached search late. Default 5 min. */
    lookBackMs?: number;
    /** Do not scan the last N ms (lets search settle; the look-back covers the rest). Default 0. */
    settleMs?: number;
    /** Look up merge survivors for archived records (one search per 5 archived ids). Default true. */
    detectMerges?: boolean;
  };
  /** Batch writes of one call in flight at once (each still waits for the rate budget). Default 4. */
  writeConcurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** Abandon a call after this long (transient). Default 60 s. */
  requestTimeoutMs?: number;
  /** Group for properties created by ensureFields (default: the object's "…information" group). */
  propertyGroup?: string;
  /** Tests: clock and sleep. */
  clock?: { now(): number; sleep?(ms: number): Promise<void> };
}

const STANDARD_OBJECTS = ['companies', 'contacts', 'deals'];
const SCHEMA_TTL_MS = 10 * 60_000;

/** Build the HubSpot connector (resolves secrets; makes no call until used). */
export async function createHubspotConnector(cfg: HubspotConnectorConfig): Promise<Connector> {
  const now = cfg.clock?.now ?? Date.now;
  const sleep = cfg.clock?.sleep;
  const where = `orgs.${cfg.orgId}`;
  const tokens = createTokenProvider(cfg.auth, cfg.basePath, where, now);
  const limits = cfg.limits ?? {};
  const windows: WindowLimit[] = [
    { name: 'tenSecondly', limit: limits.tenSecondLimit ?? 180, intervalMs: 10_000 },
    { name: 'search', limit: limits.searchPerSecond ?? 4, intervalMs: 1_000, everyCall: false },
  ];
  const budget = rateBudgetFor(`hubspot:${cfg.orgId}`, {
    windows,
    ...(limits.dailyLimit !== undefined ? { dailyLimit: limits.dailyLimit } : {}),
    ...(limits.dailyPauseAt !== undefined ? { dailyPauseAt: limits.dailyPauseAt } : {}),
    ...(cfg.clock ? { now, ...(sleep ? { sleep } : {}) } : {}),
  });
  const t = new HubspotTransport({
    orgId: cfg.orgId, basePath: cfg.basePath, tokens, budget, retry: cfg.retry, requestTimeoutMs: cfg.requestTimeoutMs,
    dailyResetTimeZone: limits.timeZone, now, sleep,
  });

  const schemas = new Map<string, { at: number; schema: Promise<ObjectSchema> }>();
  const ctx: HubspotContext = {
    orgId: cfg.orgId,
    t,
    batchSize: 100,
    writeConcurrency: cfg.writeConcurrency ?? 4,
    schema(object, fresh) {
      const hit = schemas.get(object);
      if (hit && !fresh && now() - hit.at < SCHEMA_TTL_MS) return hit.schema;
      const schema = fetchSchema(t, object);
      schemas.set(object, { at: now(), schema });
      schema.catch(() => schemas.delete(object));
      return schema;
    },
    forgetSchema: (object) => void schemas.delete(object),
  };
  const feed = cfg.feed ?? {};
  const lookBackMs = feed.lookBackMs ?? 5 * 60_000;

  const connector: Connector = {
    kind: 'hubspot',
    orgId: cfg.orgId,
    batchSize: 100,

    async listObjects() {
      return [...STANDARD_OBJECTS];
    },
    describe: (object) => ctx.schema(hubspotObjectName(object)),

    async changes(objectName: string, cursor: FeedCursor, opts: ChangeOptions = {}): Promise<ChangePage> {
      const object = hubspotObjectName(objectName);
      const schema = await ctx.schema(object);
      const wanted = splitAssociationFields(opts.fields);
      const properties = await propertiesFor(ctx, object, wanted.properties);
      const page = await changesPage(cursor, {
        object,
        modifiedProperty: modifiedProperty(object),
        properties,
        pageSize: opts.pageSize ?? feed.pageSize ?? 100,
        until: opts.until,
        lookBackMs,
        settleMs: feed.settleMs ?? 0,
        maxQueriesPerPage: 20,
        maxSeenChars: 32 * 1024,
        now,
        search: (req: SearchRequest) =>
          t.call('search', `search ${object} changes`, (c, o) => c.crm.objects.searchApi.doSearch(object, req as never, o)) as Promise<SearchResult>,
        toRecord: (raw, modifiedAt) => toRecord(object, raw, schema, modifiedAt),
      });
      await addAssociationFields(ctx, object, page.records, wanted.associations);
      return page;
    },

    deletions(objectName: string, cursor: FeedCursor, opts: ChangeOptions = {}): Promise<DeletionPage> {
      return deletionsPage(ctx, hubspotObjectName(objectName), cursor, {
        pageSize: opts.pageSize ?? 100,
        until: opts.until,
        lookBackMs,
        detectMerges: feed.detectMerges ?? true,
        maxSeenChars: 32 * 1024,
        now,
      });
    },

    async readByIds(objectName: string, ids: string[], fields?: string[]) {
      const object = hubspotObjectName(objectName);
      const wanted = splitAssociationFields(fields);
      return addAssociationFields(ctx, object, await readByIds(ctx, object, ids, wanted.properties), wanted.associations);
    },
    async associationsOf(objectName: string, ids: string[], field: string) {
      if (!field.startsWith(ASSOCIATION_FIELD_PREFIX)) throw new ConnectorError('validation', `"${field}" is not an association field (${ASSOCIATION_FIELD_PREFIX}<object>)`, { fields: [field] });
      return readFirstAssociations(ctx, hubspotObjectName(objectName), ids, field.slice(ASSOCIATION_FIELD_PREFIX.length));
    },
    readByField: (object: string, field: string, values: string[], fields?: string[]) => readByField(ctx, hubspotObjectName(object), field, values, fields),
    upsert: (object: string, matchField: string, inputs: UpsertInput[]): Promise<WriteResult[]> => upsert(ctx, hubspotObjectName(object), matchField, inputs),
    update: (object: string, inputs: UpdateInput[]) => update(ctx, hubspotObjectName(object), inputs),
    remove: (object: string, ids: string[]) => remove(ctx, hubspotObjectName(object), ids),
    associate: (associations: Association[]) => associate(ctx, associations),
    ensureFields: (object: string, specs: FieldSpec[]) => ensureFields(ctx, hubspotObjectName(object), specs, cfg.propertyGroup),

    rateState(): RateState {
      return budget.state();
    },
    async close() {
      schemas.clear();
    },
  };
  return connector;
}
