import { ApiError, RecordFailure, type RecordError } from './errors.js';
import type { SalesforceData, Undo, WriteContext } from './data.js';
import { childRelationshipsOf, type ObjectDef } from './schema.js';

/**
 * sObject Tree (`POST /composite/tree/{type}`, what `sf data import tree` sends): records of one type with
 * their children nested under child relationship names (`Opportunities: {records: [...]}`), each with
 * `attributes: {type, referenceId}`. One transaction: every record is created, or none (the caller rolls
 * `undo` back when `hasErrors`). At most 200 records in all, five levels deep, unique reference ids.
 */

export const MAX_TREE_RECORDS = 200;
const MAX_DEPTH = 5;

export type TreeResult =
  | { hasErrors: false; results: Array<{ referenceId: string; id: string }> }
  | { hasErrors: true; results: Array<{ referenceId: string; errors: RecordError[] }> };

type TreeRecord = Record<string, unknown> & { attributes?: { type?: string; referenceId?: string } };

const isChildList = (v: unknown): v is { records: TreeRecord[] } => !!v && typeof v === 'object' && Array.isArray((v as { records?: unknown }).records);

export function saveTree(data: SalesforceData, root: ObjectDef, body: unknown, ctx: WriteContext, undo: Undo): TreeResult {
  const records = (body as { records?: unknown } | undefined)?.records;
  if (!Array.isArray(records)) throw new ApiError(400, 'JSON_PARSER_ERROR', 'records: an array of records is required');

  // Shape first, as the real endpoint refuses a malformed request whole: count, depth, reference ids.
  const seen = new Set<string>();
  let count = 0;
  const check = (recs: TreeRecord[], depth: number) => {
    if (depth > MAX_DEPTH) throw new ApiError(400, 'INVALID_INPUT', `Request can't have more than ${MAX_DEPTH} levels of nested records`);
    for (const r of recs) {
      if (++count > MAX_TREE_RECORDS) throw new ApiError(400, 'INVALID_INPUT', `Request can't have more than ${MAX_TREE_RECORDS} records`);
      const ref = r.attributes?.referenceId;
      if (typeof ref !== 'string' || ref === '') throw new ApiError(400, 'INVALID_INPUT', 'Include a reference ID for each record in the request.');
      if (seen.has(ref.toLowerCase())) throw new ApiError(400, 'INVALID_INPUT', `Duplicate ReferenceId provided in the request: ${ref}`);
      seen.add(ref.toLowerCase());
      for (const v of Object.values(r)) if (isChildList(v)) check(v.records, depth + 1);
    }
  };
  check(records as TreeRecord[], 1);

  const ok: Array<{ referenceId: string; id: string }> = [];
  const failed: Array<{ referenceId: string; errors: RecordError[] }> = [];
  const save = (o: ObjectDef, recs: TreeRecord[], parent?: { field: string; id: string }) => {
    for (const r of recs) {
      const referenceId = r.attributes!.referenceId!;
      const fields: Record<string, unknown> = {};
      const children: Array<{ name: string; records: TreeRecord[] }> = [];
      for (const [k, v] of Object.entries(r)) {
        if (k === 'attributes') continue;
        if (isChildList(v)) children.push({ name: k, records: v.records });
        else fields[k] = v;
      }
      if (parent) fields[parent.field] = parent.id;
      let id: string;
      try {
        const type = r.attributes?.type;
        if (type && type.toLowerCase() !== o.name.toLowerCase()) throw RecordFailure.of('INVALID_TYPE', `The sObject type ${type} does not match the expected type ${o.name}`, []);
        id = data.create(o.name, fields, ctx, undo).Id;
      } catch (e) {
        if (e instanceof RecordFailure) failed.push({ referenceId, errors: e.errors });
        else if (e instanceof ApiError) failed.push({ referenceId, errors: [{ statusCode: e.errorCode, message: e.message, fields: e.fields ?? [] }] });
        else throw e;
        continue; // its children have no parent to point at
      }
      ok.push({ referenceId, id });
      for (const c of children) {
        const rel = childRelationshipsOf(o, data.objects.values()).find((x) => x.relationshipName?.toLowerCase() === c.name.toLowerCase());
        if (!rel) {
          for (const child of c.records) failed.push({ referenceId: child.attributes!.referenceId!, errors: [{ statusCode: 'INVALID_FIELD', message: `No such column '${c.name}' on entity '${o.name}'. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.`, fields: [c.name] }] });
          continue;
        }
        save(data.object(rel.childSObject)!, c.records, { field: rel.field, id });
      }
    }
  };
  save(root, records as TreeRecord[]);
  return failed.length ? { hasErrors: true, results: failed } : { hasErrors: false, results: ok };
}
