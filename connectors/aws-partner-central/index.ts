import type { SecretRef } from '../../lib/secrets.js';
import { ConnectorError } from '../errors.js';
import type { RetryPolicy } from '../retry.js';
import type {
  Association, ChangeOptions, ChangePage, Connector, CrmRecord, DeletionPage, FeedCursor, FieldSpec, ObjectSchema, RateState, UpdateInput, UpsertInput, WriteResult,
} from '../types.js';
import { changesPage, getOpportunity, recordOf } from './feed.js';
import { acceptInvitation, applyInvitationPolicy, getInvitation, listInvitations, rejectInvitation, type Invitation, type InvitationPolicy } from './invitations.js';
import { KeyIndex } from './keyIndex.js';
import { MATCH_FIELD, OPPORTUNITY, opportunitySchema } from './schema.js';
import { AceTransport, type AceLimits } from './transport.js';
import { updateAll, upsertAll, type WriteContext } from './writes.js';

/**
 * AWS Partner Central (the Partner Central Selling API, "ACE") as a cosell org: the partner account's
 * opportunities in one catalog (`AWS` for real co-selling, `Sandbox` for testing), on the official
 * @aws-sdk/client-partnercentral-selling. See connectors/aws-partner-central/README.md for what the
 * service allows and what the connector does about it.
 */
export interface AwsPartnerCentralConnectorConfig {
  kind: 'aws-partner-central';
  orgId: string;
  /** `AWS` (production co-selling) or `Sandbox` (AWS's test catalog). */
  catalog: 'AWS' | 'Sandbox';
  /** Partner Central's region (the service runs in us-east-1). */
  region?: string;
  /** The service endpoint; the sandbox's base URL in tests and demos. Default: the SDK's for the region. */
  endpoint?: string;
  /** An IAM user's or role session's keys, by reference only (env:/file:). */
  auth: { accessKeyId: SecretRef; secretAccessKey: SecretRef; sessionToken?: SecretRef };
  /** Quotas of the partner account (defaults: AWS's 10 reads/s, 1 write/s, 100,000 reads and 10,000 writes a day; pause at 80 %). */
  limits?: Partial<AceLimits>;
  /** What to do with AWS referrals (engagement invitations). Default manual: a human decides with the CLI. */
  invitations?: InvitationPolicy;
  /** Re-reads after a ConflictException before the write is reported as a conflict. Default 3. */
  conflictRetries?: number;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
}

export interface AwsPartnerCentralConnector extends Connector {
  readonly kind: 'aws-partner-central';
  readonly catalog: string;
  invitations: {
    list(status?: string[]): Promise<Invitation[]>;
    get(id: string): Promise<Invitation>;
    accept(id: string): Promise<string>;
    reject(id: string, reason: string): Promise<void>;
    applyPolicy(): Promise<Array<{ id: string; accepted: boolean; reason?: string; opportunityId?: string }>>;
  };
}

/** Partner Central's schema is AWS's: these are the ways cosell's generic operations do not apply. */
const NO_DELETE = 'Partner Central has no delete: close the opportunity instead (LifeCycle.Stage "Closed Lost" with a LifeCycle.ClosedLostReason)';
const NO_COMPANY = 'Partner Central has no account object: the customer is part of the opportunity (Customer.Account.*)';
const FIXED_SCHEMA = 'Partner Central has a fixed schema: it cannot have custom fields';

function unknownObject(object: string): ConnectorError {
  return new ConnectorError('not_found', `Partner Central has no object ${JSON.stringify(object)}; it has ${OPPORTUNITY}. ${NO_COMPANY}`, { crmCode: 'ACE_NO_SUCH_OBJECT' });
}

export async function createAwsPartnerCentralConnector(cfg: AwsPartnerCentralConnectorConfig): Promise<AwsPartnerCentralConnector> {
  if (cfg.catalog !== 'AWS' && cfg.catalog !== 'Sandbox') {
    throw new ConnectorError('validation', `orgs.${cfg.orgId}.connection.catalog must be AWS or Sandbox, not ${JSON.stringify(cfg.catalog)}`, { crmCode: 'ACE_CATALOG' });
  }
  const t = new AceTransport({ orgId: cfg.orgId, region: cfg.region ?? 'us-east-1', endpoint: cfg.endpoint, auth: cfg.auth, limits: cfg.limits, retry: cfg.retry, requestTimeoutMs: cfg.requestTimeoutMs });
  const catalog = cfg.catalog;
  const index = new KeyIndex(t, catalog);
  const ctx: WriteContext = { t, catalog, index, conflictRetries: cfg.conflictRetries ?? 3 };
  const policy: InvitationPolicy = cfg.invitations ?? { mode: 'manual' };
  const schema = opportunitySchema();
  const only = (object: string) => {
    if (object !== OPPORTUNITY) throw unknownObject(object);
  };
  const readByIds = async (ids: string[], fields?: string[]): Promise<CrmRecord[]> => {
    const out: CrmRecord[] = [];
    for (const id of ids) {
      if (!/^O[0-9]{1,19}$/.test(id)) continue; // not a Partner Central opportunity id: nothing to find
      const doc = await getOpportunity(t, catalog, id);
      if (doc) out.push(recordOf(doc as unknown as Record<string, unknown>, fields));
    }
    return out;
  };

  return {
    kind: 'aws-partner-central',
    orgId: cfg.orgId,
    catalog,
    // No batch API: a "batch" is this many single writes in one call, paced at the write quota.
    batchSize: 10,

    async listObjects() {
      return [OPPORTUNITY];
    },
    async describe(object: string): Promise<ObjectSchema> {
      only(object);
      return schema;
    },

    async changes(object: string, cursor: FeedCursor, opts?: ChangeOptions): Promise<ChangePage> {
      only(object);
      // Referrals the policy accepts become opportunities of this very feed.
      await applyInvitationPolicy(t, catalog, policy);
      return changesPage(t, catalog, cursor, opts);
    },
    async deletions(object: string, cursor: FeedCursor): Promise<DeletionPage> {
      only(object);
      // Nothing is ever deleted in Partner Central (see NO_DELETE).
      return { records: [], next: cursor, caughtUp: true };
    },

    async readByIds(object: string, ids: string[], fields?: string[]): Promise<CrmRecord[]> {
      only(object);
      return readByIds(ids, fields);
    },
    async readByField(object: string, field: string, values: string[], fields?: string[]): Promise<CrmRecord[]> {
      only(object);
      if (field === 'Id') return readByIds(values, fields);
      if (field !== MATCH_FIELD) throw new ConnectorError('validation', `Partner Central looks opportunities up by Id or ${MATCH_FIELD}, not ${field}`, { crmCode: 'ACE_LOOKUP_FIELD', fields: [field] });
      const ids = await index.lookup(values);
      const found = await readByIds([...new Set(ids.values())], fields ? [...fields, MATCH_FIELD] : undefined);
      // The index may be stale for a record whose identifier changed since: trust what the record says.
      const wanted = new Set(values);
      const hits = found.filter((r) => wanted.has(String(r.fields[MATCH_FIELD])));
      if (fields && !fields.includes(MATCH_FIELD)) for (const r of hits) delete r.fields[MATCH_FIELD];
      return hits;
    },

    async upsert(object: string, matchField: string, inputs: UpsertInput[]): Promise<WriteResult[]> {
      only(object);
      return upsertAll(ctx, matchField, inputs);
    },
    async update(object: string, inputs: UpdateInput[]): Promise<WriteResult[]> {
      only(object);
      return updateAll(ctx, inputs);
    },
    async remove(object: string, ids: string[]): Promise<WriteResult[]> {
      only(object);
      return ids.map((id) => ({ status: 'failed', id, error: { kind: 'validation', message: NO_DELETE, crmCode: 'ACE_NO_DELETE' } }));
    },
    async associate(associations: Association[]): Promise<WriteResult[]> {
      return associations.map((a) => ({ status: 'failed', id: a.fromId, error: { kind: 'validation', message: `${NO_COMPANY}; solutions and AWS products are associated through the RelatedEntityIdentifiers.* fields`, crmCode: 'ACE_NO_COMPANY' } }));
    },
    async ensureFields(object: string, specs: FieldSpec[]): Promise<string[]> {
      only(object);
      const missing = specs.filter((s) => !schema.fields[s.name]);
      if (missing.length) throw new ConnectorError('validation', `${FIXED_SCHEMA} (asked for ${missing.map((s) => s.name).join(', ')})`, { crmCode: 'ACE_FIXED_SCHEMA', fields: missing.map((s) => s.name) });
      return [];
    },

    rateState(): RateState {
      return t.rateState();
    },
    async close() {
      t.close();
    },

    invitations: {
      list: (status?: string[]) => listInvitations(t, catalog, status),
      get: (id: string) => getInvitation(t, catalog, id),
      accept: (id: string) => acceptInvitation(t, catalog, id),
      reject: (id: string, reason: string) => rejectInvitation(t, catalog, id, reason),
      applyPolicy: () => applyInvitationPolicy(t, catalog, policy),
    },
  };
}

export type { InvitationPolicy, Invitation };
