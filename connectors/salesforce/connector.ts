import { ConnectorError, isConnectorError } from '../errors.js';
import { rateBudgetFor, type RateBudget } from '../rateBudget.js';
import type {
  Association,
  ChangeOptions,
  ChangePage,
  Connector,
  CrmRecord,
  DeletionPage,
  FeedCursor,
  FieldSpec,
  ObjectSchema,
  RateState,
  UpdateInput,
  UpsertInput,
  WriteResult,
} from '../types.js';
import { SalesforceApi } from './api.js';
import type { SalesforceConnectorConfig } from './config.js';
import { normaliseDatetime, normaliseDescribe, normaliseRow, type SfDescribe } from './describe.js';
import { ensureCustomFields } from './ensureFields.js';
import { salesforceChangesPage } from './feed.js';
import { queryAll } from './query.js';
import { fieldPath, ident, inQuery } from './soql.js';
import { COLLECTION_LIMIT, removeRecords, updateRecords, upsertRecords, type WriteContext } from './writes.js';

const MAX_PAGE = 2000;
const IN_CHUNK = 200;
const SCHEMA_TTL_MS = 10 * 60_000;
/** Long transactions commit records stamped up to this long ago (Salesforce's API transactions end by 10 min; most in seconds). */
const DEFAULT_LOOK_BACK_MS = 5 * 60_000;

export class SalesforceConnector implements Connector {
  readonly kind = 'salesforce' as const;
  readonly orgId: string;
  readonly batchSize = COLLECTION_LIMIT;
  readonly budget: RateBudget;
  private readonly api: SalesforceApi;
  /** Describe results, kept for SCHEMA_TTL_MS so admins' new fields show up in a long-running worker. */
  private readonly schemas = new Map<string, { at: number; schema: Promise<ObjectSchema> }>();
  private readonly writeCtx: WriteContext;

  constructor(private readonly cfg: SalesforceConnectorConfig) {
    this.orgId = cfg.orgId;
    this.budget = rateBudgetFor(`salesforce:${cfg.orgId}`, { dailyPauseAt: cfg.dailyPauseAt, quotaRecheckMs: cfg.quotaRecheckMs, now: cfg.now, sleep: cfg.sleep });
    this.api = new SalesforceApi(cfg, this.budget);
    this.writeCtx = { api: this.api, retry: cfg.retry, sleep: cfg.sleep };
  }

  async listObjects(): Promise<string[]> {
    const res = await this.api.request<{ sobjects: Array<{ name: string; queryable?: boolean }> }>('describeGlobal', { method: 'GET', url: '/sobjects' });
    return res.sobjects.filter((s) => s.queryable !== false).map((s) => s.name);
  }

  describe(object: string): Promise<ObjectSchema> {
    const now = (this.cfg.now ?? Date.now)();
    const cached = this.schemas.get(object);
    if (cached && now - cached.at < SCHEMA_TTL_MS) return cached.schema;
    const schema = this.api.request<SfDescribe>('describe', { method: 'GET', url: `/sobjects/${ident(object)}/describe` }).then(normaliseDescribe);
    schema.catch(() => this.schemas.delete(object));
    this.schemas.set(object, { at: now, schema });
    return schema;
  }

  /** See feed.ts: a keyset on (SystemModstamp, Id) with a look-back for late-committed transactions. */
  async changes(object: string, cursor: FeedCursor, opts: ChangeOptions = {}): Promise<ChangePage> {
    const fields = opts.fields ?? (await this.selectableFields(object));
    return this.feedPage(object, cursor, opts, { fields });
  }

  /**
   * The same feed over the Recycle Bin (queryAll, `IsDeleted = true`): a mass delete is a long
   * transaction too, so deletions get the same look-back as changes.
   */
  async deletions(object: string, cursor: FeedCursor, opts: ChangeOptions = {}): Promise<DeletionPage> {
    const schema = await this.describe(object);
    const merged = 'MasterRecordId' in schema.fields;
    const page = await this.feedPage(object, cursor, opts, { fields: ['IsDeleted', ...(merged ? ['MasterRecordId'] : [])], where: [{ field: 'IsDeleted', value: true }], includeDeleted: true });
    const records = page.records.map((rec) => {
      const master = rec.fields.MasterRecordId;
      return { id: rec.id, deletedAt: rec.modifiedAt, ...(typeof master === 'string' && master ? { mergedInto: master } : {}) };
    });
    return { records, next: page.next, caughtUp: page.caughtUp };
  }

  private feedPage(object: string, cursor: FeedCursor, opts: ChangeOptions, q: { fields: string[]; where?: Array<{ field: string; value: boolean }>; includeDeleted?: boolean }): Promise<ChangePage> {
    const limit = this.pageSize(opts);
    return salesforceChangesPage(cursor, {
      object,
      fields: q.fields,
      where: q.where,
      limit,
      until: opts.until,
      lookBackMs: this.cfg.feed?.lookBackMs ?? DEFAULT_LOOK_BACK_MS,
      maxSeenChars: 256 * 1024,
      now: this.cfg.now ?? Date.now,
      query: async (soql) => (await queryAll(this.api, soql, { batchSize: limit, includeDeleted: q.includeDeleted })).map((r) => this.toRecord(r)),
    });
  }

  async readByIds(object: string, ids: string[], fields?: string[]): Promise<CrmRecord[]> {
    return this.readIn(object, 'Id', [...new Set(ids)], 'id', fields);
  }

  async readByField(object: string, field: string, values: string[], fields?: string[]): Promise<CrmRecord[]> {
    return this.readIn(object, fieldPath(field), [...new Set(values)], 'string', fields);
  }

  async upsert(object: string, matchField: string, inputs: UpsertInput[]): Promise<WriteResult[]> {
    return upsertRecords(this.writeCtx, object, matchField, inputs);
  }

  async update(object: string, inputs: UpdateInput[]): Promise<WriteResult[]> {
    return updateRecords(this.writeCtx, object, inputs);
  }

  async remove(_object: string, ids: string[]): Promise<WriteResult[]> {
    return removeRecords(this.writeCtx, ids);
  }

  /** Opportunity → Account (and any object → object with one lookup field between them): set the lookup. */
  async associate(associations: Association[]): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(associations.length);
    const byObject = new Map<string, Array<{ a: Association; i: number; field: string }>>();
    for (const [i, a] of associations.entries()) {
      const field = await this.lookupField(a.fromObject, a.toObject);
      if (!field) {
        results[i] = { status: 'failed', id: a.fromId, error: { kind: 'validation', message: `${a.fromObject} has no lookup field to ${a.toObject}`, crmCode: 'NO_LOOKUP_FIELD' } };
        continue;
      }
      const list = byObject.get(a.fromObject) ?? [];
      list.push({ a, i, field });
      byObject.set(a.fromObject, list);
    }
    for (const [object, list] of byObject) {
      const written = await this.update(object, list.map(({ a, field }) => ({ id: a.fromId, fields: { [field]: a.toId } })));
      list.forEach(({ i }, j) => (results[i] = written[j]));
    }
    return results;
  }

  async ensureFields(object: string, specs: FieldSpec[]): Promise<string[]> {
    const created = await ensureCustomFields(this.api, await this.describe(object), specs);
    this.schemas.delete(object); // describe again next time: new fields (ours or someone else's) show up
    return created;
  }

  rateState(): RateState {
    return this.budget.state();
  }

  async close(): Promise<void> {
    this.schemas.clear();
  }

  private pageSize(opts: ChangeOptions): number {
    const n = opts.pageSize ?? this.cfg.pageSize ?? MAX_PAGE;
    if (!Number.isInteger(n) || n < 1) throw new ConnectorError('validation', `pageSize must be a positive integer (got ${n})`);
    return Math.min(MAX_PAGE, n);
  }

  private async selectableFields(object: string): Promise<string[]> {
    return Object.keys((await this.describe(object)).fields);
  }

  private async readIn(object: string, field: string, values: string[], kind: 'id' | 'string', fields?: string[]): Promise<CrmRecord[]> {
    const select = fields ?? (await this.selectableFields(object));
    const out: CrmRecord[] = [];
    for (let i = 0; i < values.length; i += IN_CHUNK) {
      const rows = await queryAll(this.api, inQuery(object, [...select, 'SystemModstamp'], field, values.slice(i, i + IN_CHUNK), kind));
      out.push(...rows.map((r) => this.toRecord(r)));
    }
    return out;
  }

  private toRecord(row: Record<string, unknown>): CrmRecord {
    const fields = normaliseRow(row);
    const id = fields.Id;
    const ts = fields.SystemModstamp;
    if (typeof id !== 'string' || typeof ts !== 'string') throw new ConnectorError('protocol', 'query row without Id or SystemModstamp');
    return { id, modifiedAt: normaliseDatetime(ts), fields };
  }

  private async lookupField(fromObject: string, toObject: string): Promise<string | undefined> {
    try {
      const schema = await this.describe(fromObject);
      const refs = Object.values(schema.fields).filter((f) => f.type === 'reference' && f.updateable && f.referenceTo?.includes(toObject));
      return (refs.find((f) => f.name === `${toObject}Id`) ?? refs[0])?.name;
    } catch (e) {
      if (isConnectorError(e, 'not_found')) return undefined;
      throw e;
    }
  }
}

