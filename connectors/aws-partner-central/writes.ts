import { createHash } from 'node:crypto';
import {
  AssociateOpportunityCommand, CreateOpportunityCommand, DisassociateOpportunityCommand, StartEngagementFromOpportunityTaskCommand, UpdateOpportunityCommand,
  type CreateOpportunityCommandInput, type CreateOpportunityCommandOutput, type GetOpportunityCommandOutput, type StartEngagementFromOpportunityTaskCommandOutput, type UpdateOpportunityCommandInput,
} from '@aws-sdk/client-partnercentral-selling';
import { ConnectorError, isConnectorError } from '../errors.js';
import type { Fields, UpdateInput, UpsertInput, WriteResult } from '../types.js';
import { taskFailure } from './errors.js';
import { getOpportunity } from './feed.js';
import type { KeyIndex } from './keyIndex.js';
import { applyFlat, FIELD_BY_NAME, MATCH_FIELD, splitWrite, toFlat, unwritable, writableDocument } from './schema.js';
import type { AceTransport } from './transport.js';

/**
 * Writes, one opportunity at a time (Partner Central has no batch API; 1 write/s).
 *
 * - Create: CreateOpportunity with a ClientToken derived from the catalog, the match key and the
 *   request, so a create retried after a lost answer returns the same opportunity instead of a second one.
 * - Update: read (GetOpportunity), apply the changed fields onto the version read, send it with that
 *   version's LastModifiedDate. AWS refuses a stale one with ConflictException: then the connector
 *   reads again and re-applies only the fields this write changes onto the newer version (what someone
 *   else changed meanwhile stays), up to `conflictRetries` times; the engine's own plan already
 *   compared against a fresh read, so re-applying its field values is the re-plan.
 * - Review locks: while AWS reviews an opportunity (Submitted / In review) nothing may change; in
 *   Action Required only the fields AWS opens; after Approved not the customer's identity; Rejected is
 *   read-only. A write that would change a locked field fails as `validation` with code
 *   ACE_FIELD_LOCKED and the fields, before any call — it becomes a dead letter to replay once AWS is done.
 * - A write that changes nothing is not sent (the write quota is 1/s and 10,000 a day).
 * - Solutions / AWS products (RelatedEntityIdentifiers.*) are associated and disassociated to match;
 *   `AwsSubmission.InvolvementType` on a Pending Submission opportunity submits it for review.
 */
export interface WriteContext {
  t: AceTransport;
  catalog: string;
  index: KeyIndex;
  conflictRetries: number;
}

/** What AWS opens for edits while it waits for the partner (Action Required). */
const ACTION_REQUIRED_EDITABLE = new Set([
  'Customer.Account.Address.City', 'Customer.Account.Address.CountryCode', 'Customer.Account.Address.PostalCode', 'Customer.Account.Address.StateOrRegion',
  'Customer.Account.Address.StreetAddress', 'Customer.Account.WebsiteUrl', 'LifeCycle.TargetCloseDate', 'Project.ExpectedCustomerSpend.Amount',
  'Project.ExpectedCustomerSpend.CurrencyCode', 'Project.ExpectedCustomerSpend.Frequency', 'Project.ExpectedCustomerSpend.TargetCompany',
  'Project.CustomerBusinessProblem', MATCH_FIELD,
]);
/** What cannot change once AWS approved the opportunity. */
const APPROVED_LOCKED = new Set(['Customer.Account.CompanyName', 'Customer.Account.Address.CountryCode', 'Customer.Account.Address.PostalCode', 'Customer.Account.Duns']);

/** The fields of `fields` a record in `reviewStatus` does not let change (only those whose value differs). */
export function lockedFields(reviewStatus: string | null | undefined, changed: string[]): string[] {
  switch (reviewStatus) {
    case 'Submitted':
    case 'In review':
    case 'Rejected':
      return changed;
    case 'Action Required':
      return changed.filter((f) => !ACTION_REQUIRED_EDITABLE.has(f));
    case 'Approved':
      return changed.filter((f) => APPROVED_LOCKED.has(f));
    default:
      return [];
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const failed = (key: string | undefined, id: string | undefined, e: unknown): WriteResult => {
  if (!isConnectorError(e)) throw e;
  if (e.retryable || e.kind === 'auth' || e.kind === 'quota_exhausted') throw e; // the whole call fails: the engine retries or pauses
  return { status: 'failed', ...(id ? { id } : {}), ...(key !== undefined ? { key } : {}), error: e.toNormalised() };
};

function sameValue(name: string, a: unknown, b: unknown): boolean {
  const f = FIELD_BY_NAME.get(name);
  const norm = (v: unknown) => {
    if (v === null || v === undefined || v === '') return null;
    if (f?.list) return String(v).split(';').filter(Boolean).sort().join(';');
    if (f?.type === 'currency' || f?.type === 'number') return Number(v);
    if (f?.type === 'date') return String(v).slice(0, 10);
    return String(v);
  };
  return norm(a) === norm(b);
}

export async function upsertAll(ctx: WriteContext, matchField: string, inputs: UpsertInput[]): Promise<WriteResult[]> {
  if (matchField !== MATCH_FIELD) {
    throw new ConnectorError('validation', `Partner Central upserts match on ${MATCH_FIELD} (the partner CRM's id), not ${matchField}`, { crmCode: 'ACE_MATCH_FIELD', fields: [matchField] });
  }
  await ctx.index.refresh();
  const out: WriteResult[] = [];
  for (const input of inputs) {
    const id = ctx.index.get(input.key);
    out.push(id ? { ...(await updateOne(ctx, id, input.fields)), key: input.key } : await createOne(ctx, input));
  }
  return out;
}

export async function updateAll(ctx: WriteContext, inputs: UpdateInput[]): Promise<WriteResult[]> {
  const out: WriteResult[] = [];
  for (const input of inputs) out.push(await updateOne(ctx, input.id, input.fields));
  return out;
}

async function createOne(ctx: WriteContext, input: UpsertInput): Promise<WriteResult> {
  const bad = unwritable(input.fields, 'create');
  if (bad.length) return failed(input.key, undefined, new ConnectorError('validation', `Partner Central does not accept ${bad.join(', ')} on a new opportunity`, { crmCode: 'ACE_NOT_CREATEABLE', fields: bad }));
  const { leaves, relations, submission } = splitWrite({ ...input.fields, [MATCH_FIELD]: input.key });
  const doc = applyFlat({}, leaves);
  const body = { Catalog: ctx.catalog, ...doc } as CreateOpportunityCommandInput;
  const ClientToken = sha(`${ctx.catalog}\n${input.key}\n${JSON.stringify(body)}`);
  let id: string;
  try {
    const res = await ctx.t.send<CreateOpportunityCommandOutput>('write', `CreateOpportunity ${input.key}`, new CreateOpportunityCommand({ ...body, ClientToken }));
    id = res.Id!;
    ctx.index.set(input.key, id);
  } catch (e) {
    return failed(input.key, undefined, e);
  }
  try {
    await syncRelations(ctx, id, { Solutions: [], AwsProducts: [] }, relations);
    if (submission) await submit(ctx, id, submission, ClientToken);
  } catch (e) {
    // The opportunity exists: report it so the pair is kept, with what did not go through.
    return { ...failed(input.key, id, e), id };
  }
  return { status: 'created', id, key: input.key };
}

async function updateOne(ctx: WriteContext, id: string, fields: Fields): Promise<WriteResult> {
  const bad = unwritable(fields, 'update');
  if (bad.length) return failed(undefined, id, new ConnectorError('validation', `Partner Central does not let ${bad.join(', ')} change`, { crmCode: 'ACE_NOT_UPDATEABLE', fields: bad }));
  const { leaves, relations, submission } = splitWrite(fields);
  try {
    for (let attempt = 0; ; attempt++) {
      const current = await getOpportunity(ctx.t, ctx.catalog, id);
      if (!current) return failed(undefined, id, new ConnectorError('not_found', `opportunity ${id} is not in the ${ctx.catalog} catalog`, { crmCode: 'ResourceNotFoundException' }));
      const doc = current as unknown as Record<string, unknown>;
      const flat = toFlat(doc);
      const changed = Object.keys(leaves).filter((n) => !sameValue(n, leaves[n], flat[n]));
      const locked = lockedFields(flat['LifeCycle.ReviewStatus'] as string | null, changed);
      if (locked.length) {
        return failed(undefined, id, new ConnectorError('validation', `opportunity ${id} is ${String(flat['LifeCycle.ReviewStatus'])} at AWS: ${locked.join(', ')} cannot change now`, { crmCode: 'ACE_FIELD_LOCKED', fields: locked }));
      }
      if (changed.length) {
        const next = applyFlat(writableDocument(doc), Object.fromEntries(changed.map((n) => [n, leaves[n]!])));
        const input = { ...next, Catalog: ctx.catalog, Identifier: id, LastModifiedDate: current.LastModifiedDate } as UpdateOpportunityCommandInput;
        try {
          await ctx.t.send('write', `UpdateOpportunity ${id}`, new UpdateOpportunityCommand(input));
        } catch (e) {
          // Someone changed it since our read (an AWS seller, another integration): read again, re-apply.
          if (isConnectorError(e, 'conflict') && attempt < ctx.conflictRetries) continue;
          throw e;
        }
      }
      const key = flat[MATCH_FIELD];
      if (typeof key === 'string' && key) ctx.index.set(key, id);
      const currentRelations = {
        Solutions: current.RelatedEntityIdentifiers?.Solutions ?? [],
        AwsProducts: current.RelatedEntityIdentifiers?.AwsProducts ?? [],
      };
      await syncRelations(ctx, id, currentRelations, relations);
      if (submission && flat['LifeCycle.ReviewStatus'] === 'Pending Submission') await submit(ctx, id, submission, String(current.LastModifiedDate?.toISOString()));
      return { status: 'updated', id };
    }
  } catch (e) {
    return failed(undefined, id, e);
  }
}

async function syncRelations(ctx: WriteContext, id: string, current: { Solutions: string[]; AwsProducts: string[] }, wanted: Partial<Record<'Solutions' | 'AwsProducts', string[]>>): Promise<void> {
  for (const type of ['Solutions', 'AwsProducts'] as const) {
    const want = wanted[type];
    if (!want) continue;
    const have = new Set(current[type]);
    for (const rel of want) {
      if (have.has(rel)) continue;
      await ctx.t.send('write', `AssociateOpportunity ${id} ${type} ${rel}`, new AssociateOpportunityCommand({ Catalog: ctx.catalog, OpportunityIdentifier: id, RelatedEntityType: type, RelatedEntityIdentifier: rel }));
    }
    for (const rel of have) {
      if (want.includes(rel)) continue;
      await ctx.t.send('write', `DisassociateOpportunity ${id} ${type} ${rel}`, new DisassociateOpportunityCommand({ Catalog: ctx.catalog, OpportunityIdentifier: id, RelatedEntityType: type, RelatedEntityIdentifier: rel }));
    }
  }
}

/**
 * Submit for AWS's review (co-sell or for visibility). Idempotent through its ClientToken, which names
 * the version submitted: a retry of the same submission is answered once, while a submission that
 * failed (no solution yet) and is tried again after a change is a new request.
 */
export async function submit(ctx: WriteContext, id: string, submission: { InvolvementType: string; Visibility?: string }, version: string): Promise<void> {
  const res = await ctx.t.send<StartEngagementFromOpportunityTaskCommandOutput>('write', `StartEngagementFromOpportunityTask ${id}`, new StartEngagementFromOpportunityTaskCommand({
    Catalog: ctx.catalog,
    Identifier: id,
    ClientToken: sha(`${ctx.catalog}\n${id}\nsubmit\n${version}`),
    AwsSubmission: { InvolvementType: submission.InvolvementType as 'Co-Sell', ...(submission.Visibility ? { Visibility: submission.Visibility as 'Full' } : {}) },
  }));
  if (res.TaskStatus === 'FAILED') throw taskFailure(`submit ${id}`, res.ReasonCode, res.Message);
}

export type { GetOpportunityCommandOutput };
