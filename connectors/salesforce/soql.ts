import soqlParser from 'soql-parser-js';
import type { Query, WhereClause } from 'soql-parser-js';
import { ConnectorError } from '../errors.js';

const { composeQuery } = soqlParser;

/**
 * SOQL built as a structure and composed by soql-parser-js, never by pasting strings: identifiers are
 * checked against Salesforce's identifier grammar (they cannot be escaped, so anything else is
 * refused) and every value goes through a typed literal function below, so a value can never
 * change the shape of the query.
 */

const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;
/** A field path: Name, Cosell_Key__c, Account.Name, Owner__r.Email. */
const FIELD_PATH = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/;

export function ident(name: string): string {
  if (!IDENT.test(name)) throw new ConnectorError('validation', `not a valid Salesforce object name: ${JSON.stringify(name)}`);
  return name;
}

export function fieldPath(name: string): string {
  if (!FIELD_PATH.test(name)) throw new ConnectorError('validation', `not a valid Salesforce field name: ${JSON.stringify(name)}`, { fields: [name] });
  return name;
}

/** A SOQL string literal: single-quoted, with backslash escapes for quote, backslash and control characters. */
export function soqlString(value: string): string {
  const escaped = value.replace(/[\\'"\n\r\t\b\f]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      case '\b':
        return '\\b';
      case '\f':
        return '\\f';
      default:
        return `\\${c}`;
    }
  });
  return `'${escaped}'`;
}

/** A SOQL datetime literal (unquoted ISO-8601, UTC, milliseconds). Refuses anything that is not a valid instant. */
export function soqlDatetime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new ConnectorError('validation', `not a valid timestamp: ${JSON.stringify(iso)}`);
  return new Date(t).toISOString();
}

/** A Salesforce record id (15 or 18 alphanumerics). */
export function soqlId(id: string): string {
  if (!/^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/.test(id)) throw new ConnectorError('validation', `not a valid Salesforce id: ${JSON.stringify(id)}`);
  return `'${id}'`;
}

type Cond = { field: string; operator: '=' | '>' | '<' | '>=' | '<=' | '!=' | 'IN'; value: string | string[]; literalType: 'STRING' | 'DATETIME' | 'BOOLEAN' };

/**
 * soql-parser-js represents a WHERE clause as a flat chain (condition, operator, rest) with parentheses
 * kept as open/close counts on the conditions, so expressions are built as flat sequences here.
 */
interface Seq {
  conds: Array<Record<string, unknown>>;
  ops: Array<'AND' | 'OR'>;
}

function leaf(c: Cond): Seq {
  return { conds: [{ field: fieldPath(c.field), operator: c.operator, value: c.value, literalType: c.literalType }], ops: [] };
}

function join(op: 'AND' | 'OR', parts: Seq[]): Seq {
  const out: Seq = { conds: [], ops: [] };
  for (const p of parts) {
    if (out.conds.length) out.ops.push(op);
    out.conds.push(...p.conds.map((c) => ({ ...c })));
    out.ops.push(...p.ops);
  }
  return out;
}

function paren(s: Seq): Seq {
  const conds = s.conds.map((c) => ({ ...c }));
  conds[0].openParen = ((conds[0].openParen as number) ?? 0) + 1;
  const last = conds[conds.length - 1];
  last.closeParen = ((last.closeParen as number) ?? 0) + 1;
  return { conds, ops: [...s.ops] };
}

function toWhere(s: Seq, i = 0): WhereClause {
  const node: any = { left: s.conds[i] };
  if (i < s.conds.length - 1) {
    node.operator = s.ops[i];
    node.right = toWhere(s, i + 1);
  }
  return node as WhereClause;
}

export interface KeysetQuery {
  object: string;
  fields: string[];
  /** Resume after (modifiedAt, id); id '' means "everything at or after modifiedAt". */
  after: { modifiedAt: string; id: string };
  until?: string;
  limit: number;
  /** Extra equality filters, e.g. IsDeleted = true for the deletion feed. */
  where?: Array<{ field: string; value: boolean | string }>;
  tsField?: string;
}

/**
 * The change-feed query: `SELECT … FROM T WHERE (TS > :t OR (TS = :t AND Id > :id)) [AND TS < :until]
 * ORDER BY TS, Id LIMIT n`. With (TS, Id) as the cursor, any number of rows sharing one timestamp
 * are each delivered exactly once across pages.
 */
export function keysetQuery(q: KeysetQuery): string {
  const ts = q.tsField ?? 'SystemModstamp';
  const t = soqlDatetime(q.after.modifiedAt);
  const position = q.after.id
    ? paren(
        join('OR', [
          leaf({ field: ts, operator: '>', value: t, literalType: 'DATETIME' }),
          paren(join('AND', [leaf({ field: ts, operator: '=', value: t, literalType: 'DATETIME' }), leaf({ field: 'Id', operator: '>', value: soqlId(q.after.id), literalType: 'STRING' })])),
        ]),
      )
    : leaf({ field: ts, operator: '>=', value: t, literalType: 'DATETIME' });
  const clauses: Seq[] = [position];
  if (q.until) clauses.push(leaf({ field: ts, operator: '<', value: soqlDatetime(q.until), literalType: 'DATETIME' }));
  for (const w of q.where ?? []) {
    clauses.push(
      typeof w.value === 'boolean'
        ? leaf({ field: w.field, operator: '=', value: String(w.value), literalType: 'BOOLEAN' })
        : leaf({ field: w.field, operator: '=', value: soqlString(w.value), literalType: 'STRING' }),
    );
  }
  const fields = unique(['Id', ts, ...q.fields]);
  const query: Query = {
    fields: fields.map((f) => ({ type: 'Field', field: fieldPath(f) })),
    sObject: ident(q.object),
    where: toWhere(join('AND', clauses)),
    orderBy: [{ field: ts }, { field: 'Id' }],
    limit: q.limit,
  };
  return composeQuery(query);
}

/** `SELECT … FROM T WHERE field IN (…)` for id or match-field look-ups. */
export function inQuery(object: string, fields: string[], field: string, values: string[], kind: 'id' | 'string' = 'string'): string {
  const literals = values.map((v) => (kind === 'id' ? soqlId(v) : soqlString(v)));
  const query: Query = {
    fields: unique(['Id', ...fields]).map((f) => ({ type: 'Field', field: fieldPath(f) })),
    sObject: ident(object),
    where: toWhere(leaf({ field, operator: 'IN', value: literals, literalType: 'STRING' })),
  };
  return composeQuery(query);
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
