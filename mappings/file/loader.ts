/**
 * Loading a mapping file: YAML with positions → shape check (zod) → every expression parsed and
 * type-checked against the source schema, every target checked against the target schema → all
 * problems at once, each with file:line:col. Only a mapping without errors is compiled.
 */
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import type { FieldSchema, ObjectSchema } from '../../connectors/types.js';
import type { Expr, Scalar } from '../lang/ast.js';
import { checkExpression, listValues, resolveSourceField, type CheckEnv, type Checked, type ExprProblem } from '../lang/check.js';
import { parseExpression } from '../lang/parser.js';
import { acceptedByTarget, conversionHint, describeMask, T } from '../lang/types.js';
import { hasErrors, sortProblems, type ProblemCode } from '../problems.js';
import { readSchemaSnapshot } from '../snapshots.js';
import { didYouMean } from '../../lib/suggest.js';
import type { CompiledMapping, Owner, Problem, Severity } from '../types.js';
import { buildMapping, type FieldPlan } from './build.js';
import { valueOffsetMapper } from './positions.js';
import { mappingFileSchema, type FieldSpec, type MappingFile } from './schema.js';
import { readConfigText } from '../../lib/configFile.js';

export interface LoadOptions {
  /** Live (or snapshot) schema of the source object; takes precedence over the file's source.schema. */
  sourceSchema?: ObjectSchema;
  targetSchema?: ObjectSchema;
  /** Snapshots to pick from by object name (e.g. every --schema given to the CLI). */
  schemas?: ObjectSchema[];
}

export interface LoadResult {
  /** Present only when there are no errors (warnings allowed). */
  mapping?: CompiledMapping;
  problems: Problem[];
  /** The objects the file names, whenever its shape is valid (so callers can fetch live schemas). */
  objects?: { source: string; target: string };
}

export function loadMappingFile(file: string, opts: LoadOptions = {}): LoadResult {
  const read = readConfigText(file, 'mapping file', 'MAP_FILE', 'check the path (a link\'s mapping: is relative to the network file)');
  return read.problem ? { problems: [read.problem] } : parseMapping(read.text, file, opts);
}

type PathKey = string | number;

export function parseMapping(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  return new MappingLoader(text, file, opts).load();
}

class MappingLoader {
  private readonly lines = new LineCounter();
  private readonly doc: Document;
  private readonly problems: Problem[] = [];
  private objects?: { source: string; target: string };

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly opts: LoadOptions,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true, keepSourceTokens: false });
  }

  private at(offset: number, code: ProblemCode, message: string, hint?: string, severity: Severity = 'error'): void {
    const pos = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    this.problems.push({ file: this.file, line: pos.line, col: pos.col, code, severity, message, ...(hint ? { hint } : {}) });
  }

  private node(p: PathKey[]): Node | undefined {
    if (p.length === 0) return (this.doc.contents as Node | null) ?? undefined;
    const n = this.doc.getIn(p, true);
    return n && typeof n === 'object' && 'range' in (n as object) ? (n as Node) : undefined;
  }

  /** Offset of the value at `p`, or of its key (`key: true`), or of the nearest ancestor that exists. */
  private offset(p: PathKey[], { key = false } = {}): number {
    if (key && p.length > 0) {
      const parent = this.node(p.slice(0, -1));
      if (isMap(parent)) {
        const last = p[p.length - 1];
        const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === String(last));
        const k = pair?.key as Node | undefined;
        if (k?.range) return k.range[0];
      }
    }
    for (let n = p.length; n >= 0; n--) {
      const node = this.node(p.slice(0, n));
      if (node?.range) return node.range[0];
    }
    return 0;
  }

  private report(p: PathKey[], code: ProblemCode, message: string, hint?: string, severity: Severity = 'error', key = false): void {
    this.at(this.offset(p, { key }), code, message, hint, severity);
  }

  load(): LoadResult {
    // After the first YAML error the parser's follow-on errors are noise: report the first only.
    const first = this.doc.errors[0];
    if (first) {
      const more = this.doc.errors.length > 1 ? ' (later YAML errors are not shown: fix this one first)' : '';
      this.at(first.pos[0], 'MAP_YAML', first.message.split('\n')[0] + more, yamlHint(first.message));
      return this.done();
    }
    const data = this.shape();
    if (!data) return this.done();
    this.objects = { source: data.source.object, target: data.target.object };

    const sourceSchema = this.schemaFor('source', data.source);
    const targetSchema = this.schemaFor('target', data.target);
    const valueMaps = new Map<string, Map<string, Scalar>>();
    for (const [name, entries] of Object.entries(data.values ?? {})) valueMaps.set(name, new Map(Object.entries(entries)));
    const env: CheckEnv = { source: sourceSchema, valueMaps: new Map([...valueMaps].map(([k, v]) => [k, { entries: v }])) };
    const fieldsRead = new Set<string>();

    const filter = data.filter !== undefined ? this.expression(['filter'], data.filter, env, fieldsRead) : undefined;
    const matchKey = data.match.key !== undefined ? this.expression(['match', 'key'], data.match.key, env, fieldsRead) : undefined;
    this.checkMatch(data, sourceSchema, targetSchema);
    fieldsRead.add(data.match.source);

    const plans: FieldPlan[] = [];
    for (const [name, entry] of Object.entries(data.fields)) {
      const plan = this.field(name, entry, data, env, targetSchema, fieldsRead);
      if (plan) plans.push(plan);
    }
    this.checkRequired(data, targetSchema);

    if (hasErrors(this.problems)) return this.done();
    const mapping = buildMapping({
      file: this.file,
      data,
      sourceSchema,
      targetSchema,
      valueMaps,
      filter: filter?.expr,
      matchKey: matchKey?.expr,
      fields: plans,
      sourceFields: [...fieldsRead].sort(),
    });
    return { mapping, problems: sortProblems(this.problems), objects: this.objects };
  }

  private done(): LoadResult {
    return { problems: sortProblems(this.problems), ...(this.objects ? { objects: this.objects } : {}) };
  }

  private shape(): MappingFile | undefined {
    let js: unknown;
    try {
      js = this.doc.toJS();
    } catch (e) {
      // e.g. `*name` with no `&name` anchor: the yaml library throws only when building values.
      let offset = 0;
      const doc = this.doc;
      visit(doc, {
        Alias(_k, node) {
          if (node.resolve(doc) === undefined && node.range) {
            offset = node.range[0];
            return visit.BREAK;
          }
        },
      });
      this.at(offset, 'MAP_YAML', (e as Error).message.split('\n')[0], 'quote the value if `*` or `&` is meant literally');
      return undefined;
    }
    const r = mappingFileSchema.safeParse(js);
    if (r.success) return r.data;
    const seen = new Set<string>();
    for (const issue of unwrapUnions(r.error.issues, js)) {
      const p = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) {
          const known = knownKeys(p);
          this.report([...p, k], 'MAP_SHAPE', `unknown key "${k}"${p.length ? ` in ${p.join('.')}` : ''}`, didYouMean(k, known) ?? (known.length ? `allowed keys: ${known.join(', ')}` : undefined), 'error', true);
        }
        continue;
      }
      const value = getPath(js, p);
      const where = p.join('.');
      let message: string;
      if (value === undefined && p.length > 0) message = `missing required key "${String(p[p.length - 1])}"${p.length > 1 ? ` in ${p.slice(0, -1).join('.')}` : ''}`;
      else if (issue.code === 'invalid_union' && p[0] === 'fields') message = `${where}: must be an expression, a literal, or { value | const, when, owner, default }`;
      else message = `${where ? where + ': ' : ''}${friendly(issue.message)}`;
      const dedupe = `${where}|${message}`;
      if (seen.has(dedupe)) continue;
      seen.add(dedupe);
      // A missing key is reported where its parent is.
      this.report(value === undefined ? p.slice(0, -1) : p, 'MAP_SHAPE', message);
    }
    return undefined;
  }

  private schemaFor(side: 'source' | 'target', spec: MappingFile['source']): ObjectSchema | undefined {
    const given = side === 'source' ? this.opts.sourceSchema : this.opts.targetSchema;
    let schema = given ?? this.opts.schemas?.find((s) => s.name === spec.object);
    if (!schema && spec.schema) {
      const snap = readSchemaSnapshot(path.resolve(path.dirname(this.file), spec.schema));
      if (!snap.schema) {
        this.report([side, 'schema'], 'MAP_SCHEMA', snap.error);
        return undefined;
      }
      schema = snap.schema;
    }
    if (!schema) {
      this.report([side, 'object'], 'MAP_SCHEMA', `no schema for ${side} object "${spec.object}": its fields and types are not checked`, 'pass --schema SNAPSHOT or --network/--org, or set schema: in the file', 'warning');
      return undefined;
    }
    if (schema.name !== spec.object) {
      const hint = given ? undefined : didYouMean(spec.object, [schema.name]);
      this.report([side, 'object'], 'MAP_SCHEMA', `${side} object is "${spec.object}" but its schema describes "${schema.name}"`, hint ?? `use object: ${schema.name}, or the schema of ${spec.object}`);
      return undefined;
    }
    return schema;
  }

  /** Parses and checks one expression; problems land at their exact place in the file. */
  private expression(p: PathKey[], source: string, env: CheckEnv, fieldsRead: Set<string>): { expr: Expr; checked?: Checked } | undefined {
    const node = this.node(p);
    const toFile = valueOffsetMapper(this.text, node);
    const parsed = parseExpression(source, { valueMaps: new Set(env.valueMaps.keys()) });
    if (parsed.error) {
      const e = parsed.error;
      const quoted = isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE');
      const hint = e.hint ?? (quoted && /^[^"'`]*\s/.test(source) ? 'YAML removed the quotes: to write a text literal, quote it twice, e.g. \'"Closed Won"\', or use const:' : undefined);
      this.at(toFile(e.start), 'MAP_SYNTAX', e.message, hint);
      return undefined;
    }
    const r = checkExpression(parsed.expr, env);
    r.fieldsRead.forEach((f) => fieldsRead.add(f));
    for (const pr of r.problems) this.exprProblem(pr, toFile, node);
    // an expression with errors has an unreliable type: do not pile target checks on top
    if (r.problems.some((pr) => pr.severity === 'error')) return { expr: parsed.expr };
    return { expr: parsed.expr, checked: r };
  }

  private exprProblem(pr: ExprProblem, toFile: (o: number) => number, node: Node | undefined): void {
    let hint = pr.hint;
    if (pr.code === 'MAP_UNKNOWN_FIELD' && isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && !hint?.startsWith('did you mean')) {
      hint = 'YAML removed the quotes: to write a text literal, quote it twice, e.g. \'"Partner"\', or use const:';
    }
    this.at(toFile(pr.start), pr.code, pr.message, hint, pr.severity);
  }

  private field(name: string, entry: MappingFile['fields'][string], data: MappingFile, env: CheckEnv, target: ObjectSchema | undefined, fieldsRead: Set<string>): FieldPlan | undefined {
    const spec: FieldSpec = entry === null || typeof entry !== 'object' ? (typeof entry === 'string' ? { value: entry } : { const: entry }) : entry;
    const base: PathKey[] = ['fields', name];
    const valuePath = typeof entry === 'object' && entry !== null ? [...base, spec.value !== undefined ? 'value' : 'const'] : base;
    const tf = target ? (Object.hasOwn(target.fields, name) ? target.fields[name] : undefined) : undefined;

    if (name === data.match.target) {
      this.report(base, 'MAP_MATCH', `${name} is the match key: it is set from match.source, not under fields:`, 'remove it from fields:', 'error', true);
    }
    if (target && !tf) {
      this.report(base, 'MAP_UNKNOWN_TARGET', `${target.name} has no field "${name}"`, didYouMean(name, Object.keys(target.fields)) ?? 'check the target schema', 'error', true);
    }
    if (tf && !tf.createable && !tf.updateable) {
      this.report(base, 'MAP_READONLY', `${target?.name}.${name} is maintained by the CRM and cannot be written`, 'remove it from fields:', 'error', true);
    }
    const owner: Owner = spec.owner ?? data.defaults?.owner ?? 'source';
    if (tf && tf.createable && !tf.updateable && owner !== 'target') {
      this.report(base, 'MAP_READONLY', `${target?.name}.${name} can only be set when the record is created`, 'set owner: target so it is written on create only', 'warning', true);
    }

    let value: { expr: Expr; checked?: Checked } | undefined;
    let constant: Scalar | undefined;
    if (spec.value !== undefined) value = this.expression(valuePath, spec.value, env, fieldsRead);
    else constant = spec.const as Scalar;
    const when = spec.when !== undefined ? this.expression([...base, 'when'], spec.when, env, fieldsRead) : undefined;

    const produced: Checked | undefined = value ? value.checked : constant !== undefined ? { mask: maskOf(constant), values: new Set([constant]) } : undefined;
    const allowNew = spec.allowNewValues === true;
    if (tf && produced) this.checkTarget(valuePath, tf, produced, 'value', allowNew);
    if (tf && spec.default !== undefined && spec.default !== null) this.checkTarget([...base, 'default'], tf, { mask: maskOf(spec.default), values: new Set([spec.default]) }, 'default', allowNew);
    if (tf && allowNew && !(isPicklist(tf) && tf.restrictedPicklist === false)) {
      const why = isPicklist(tf) ? `${tf.name} is a restricted picklist: the CRM rejects values outside its list whatever the mapping says` : `${tf.name} is ${tf.type}, not a picklist`;
      this.report([...base, 'allowNewValues'], 'MAP_PICKLIST', `allowNewValues has no effect: ${why}`, 'remove allowNewValues', 'warning', true);
    }

    return { name, value: value?.expr, constant, when: when?.expr, whenText: spec.when, owner, default: spec.default ?? undefined, mask: produced?.mask, values: produced?.values };
  }

  private checkTarget(p: PathKey[], tf: FieldSchema, r: Checked, what: string, allowNewValues = false): void {
    const accepted = acceptedByTarget(tf.type);
    const dynamic = (r.mask & T.object) !== 0; // context data: checked per record at run time
    const offending = r.mask & ~accepted;
    if (!dynamic && offending !== 0) {
      this.report(p, 'MAP_TYPE', `${tf.name} is ${tf.type} (${tf.nativeType}) but this ${what} is ${describeMask(r.mask)}`, conversionHint(tf.type, r.mask));
      return;
    }
    // an empty option list means the options live elsewhere (HubSpot pipelines, external options): unknowable here
    if (isPicklist(tf) && tf.picklistValues && tf.picklistValues.length > 0) {
      const legal = new Set(tf.picklistValues);
      const restricted = tf.restrictedPicklist !== false;
      // An unrestricted picklist (Salesforce restrictedPicklist: false) takes a value outside its list and
      // quietly adds it: almost always a typo or an unmapped source value, so it is an error too — unless
      // the field says allowNewValues: true. A restricted picklist never takes one (the CRM rejects it).
      if (!restricted && allowNewValues) return;
      const severity: Severity = 'error';
      const optIn = restricted ? '' : ` — or, if ${tf.name} should gain new values, set allowNewValues: true on the field`;
      if (!r.values) {
        if ((r.mask & ~T.null) !== 0) {
          this.report(p, 'MAP_PICKLIST', `${tf.name} is ${restricted ? 'a restricted' : 'an unrestricted'} picklist, but this ${what} can produce any text`, `map it through a value map (values:) and a fallback: mymap[x] ?? "${tf.picklistValues[0] ?? ''}"${optIn}`, severity);
        }
        return;
      }
      const bad: string[] = [];
      for (const v of r.values) {
        if (v === null) continue;
        const items = tf.type === 'multipicklist' ? String(v).split(';') : [String(v)];
        for (const item of items) if (!legal.has(item) && !bad.includes(item)) bad.push(item);
      }
      if (bad.length) {
        const hint = bad.length === 1 ? (didYouMean(bad[0], tf.picklistValues) ?? `allowed: ${listValues(tf.picklistValues)}`) : `allowed: ${listValues(tf.picklistValues, 10)}`;
        this.report(p, 'MAP_PICKLIST', `${tf.name} ${restricted ? 'does not allow' : 'has no value'} ${listValues(bad)}`, hint + optIn, severity);
      }
    }
  }

  private checkMatch(data: MappingFile, source: ObjectSchema | undefined, target: ObjectSchema | undefined): void {
    if (source && !resolveSourceField(source, data.match.source)) {
      this.report(['match', 'source'], 'MAP_UNKNOWN_FIELD', `${source.name} has no field "${data.match.source}"`, didYouMean(data.match.source, Object.keys(source.fields)));
    }
    if (!target) return;
    const tf = Object.hasOwn(target.fields, data.match.target) ? target.fields[data.match.target] : undefined;
    if (!tf) {
      this.report(['match', 'target'], 'MAP_UNKNOWN_TARGET', `${target.name} has no field "${data.match.target}"`, didYouMean(data.match.target, Object.keys(target.fields)) ?? 'the sync creates match fields with ensureFields; add it to the snapshot');
    } else if (!tf.externalId && !tf.unique) {
      const candidates = Object.values(target.fields).filter((f) => f.externalId || f.unique).map((f) => f.name);
      this.report(['match', 'target'], 'MAP_MATCH', `${target.name}.${tf.name} is neither an external id nor unique, so upserts on it could duplicate records`, candidates.length ? `use one of: ${candidates.join(', ')}` : 'create an external-id / unique field');
    }
  }

  private checkRequired(data: MappingFile, target: ObjectSchema | undefined): void {
    if (!target) return;
    const missing = Object.values(target.fields).filter((f) => f.required && f.createable && f.name !== data.match.target && !Object.hasOwn(data.fields, f.name));
    for (const f of missing) {
      this.report(['fields'], 'MAP_REQUIRED', `${target.name}.${f.name} (${f.type}) is required but not mapped`, `add ${f.name}: ... under fields:`, 'error', true);
    }
  }
}

const isPicklist = (tf: FieldSchema) => tf.type === 'picklist' || tf.type === 'multipicklist';

function maskOf(v: Scalar): number {
  if (v === null) return T.null;
  if (typeof v === 'number') return T.number;
  if (typeof v === 'boolean') return T.boolean;
  return T.text;
}

type Issue = z.core.$ZodIssue;

/**
 * A field written as an object that fails is reported by what is wrong inside the object (e.g.
 * `owner: newer`), not as "matches none of the forms".
 */
function unwrapUnions(issues: readonly Issue[], js: unknown): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.path[0] === 'fields') {
      const value = getPath(js, issue.path.filter((k): k is PathKey => typeof k !== 'symbol'));
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const objectBranch = issue.errors.find((branch) => branch.every((i) => i.code !== 'invalid_type' || i.path.length > 0));
        if (objectBranch) {
          out.push(...objectBranch.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue));
          continue;
        }
      }
    }
    out.push(issue);
  }
  return out;
}

function friendly(message: string): string {
  const NAMES: Record<string, string> = { object: 'a mapping (key: value)', record: 'a mapping (key: value)', string: 'text', array: 'a list', number: 'a number', boolean: 'true or false' };
  return message
    .replace(/^Invalid input: expected (\w+), received (\w+)$/, (_m, a: string, b: string) => `must be ${NAMES[a] ?? a}, not ${NAMES[b] ?? b}`)
    .replace(/^Invalid option: expected one of /, 'must be one of ');
}

function getPath(obj: unknown, p: PathKey[]): unknown {
  let cur = obj;
  for (const k of p) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Record<PathKey, unknown>)[k];
  }
  return cur;
}

const TOP_KEYS = ['$schema', 'mapping', 'description', 'source', 'target', 'match', 'filter', 'defaults', 'fields', 'values'];
function knownKeys(p: PathKey[]): string[] {
  if (p.length === 0) return TOP_KEYS;
  if (p[0] === 'source' || p[0] === 'target') return ['object', 'schema'];
  if (p[0] === 'match') return ['source', 'target', 'key'];
  if (p[0] === 'defaults') return ['owner'];
  if (p[0] === 'fields') return ['value', 'const', 'when', 'owner', 'default', 'allowNewValues'];
  return [];
}

function yamlHint(message: string): string | undefined {
  if (/Implicit map keys|Nested mappings|Unexpected scalar|multiline implicit key/i.test(message)) {
    return 'an expression that starts with a quote, or contains ": " or " #", must be quoted as a whole (\'...\') or written as a block (>-)';
  }
  return undefined;
}
