/**
 * Turns a checked mapping into the CompiledMapping the engine calls: every expression compiled once
 * into closures, every target conversion decided once. `apply` is then a loop over small functions.
 */
import type { FieldSchema, Fields, ObjectSchema } from '../../connectors/types.js';
import type { Expr, Scalar } from '../lang/ast.js';
import { compileExpression, contextRoots, findSharedParts, type CompileEnv, type ContextKey, type Evaluator, type SharedParts } from '../lang/compile.js';
import { resolveSourceField } from '../lang/check.js';
import { coerceField, EvalError, toTargetValue, toText, truthy, type Value } from '../lang/runtime.js';
import { T, TEXTUAL } from '../lang/types.js';
import type { ApplyResult, CompiledMapping, FieldError, FieldPolicy, MappingContext, Owner } from '../types.js';
import type { MappingFile } from './schema.js';

export interface FieldPlan {
  name: string;
  value?: Expr;
  constant?: Scalar;
  when?: Expr;
  whenText?: string;
  owner: Owner;
  default?: Scalar;
  /** What the checker proved about the value (lets `apply` skip conversions that cannot change it). */
  mask?: number;
  values?: ReadonlySet<Scalar>;
}

export interface BuildInput {
  file: string;
  data: MappingFile;
  sourceSchema?: ObjectSchema;
  targetSchema?: ObjectSchema;
  valueMaps: ReadonlyMap<string, ReadonlyMap<string, Scalar>>;
  filter?: Expr;
  matchKey?: Expr;
  fields: FieldPlan[];
  sourceFields: string[];
}

interface CompiledField {
  name: string;
  value: Evaluator;
  when?: Evaluator;
  fallback: Value;
  convert: (v: Value) => Value;
  /** The value / the condition reads only the context (the same for every record of a page). */
  valueFromContext: boolean;
  whenFromContext: boolean;
}

export function compileEnv(sourceSchema: ObjectSchema | undefined, valueMaps: ReadonlyMap<string, ReadonlyMap<string, Scalar>>): CompileEnv {
  return {
    valueMaps,
    fieldType: (p) => {
      if (!sourceSchema) return undefined;
      const f = resolveSourceField(sourceSchema, p);
      return f && f !== 'relationship' ? f.type : undefined;
    },
  };
}

const identity = (v: Value): Value => v;

/** Conditional fields whose combinations get their own output template (2^8 = 256 shapes at most). */
const MAX_SHAPE_BITS = 8;
const NO_ERRORS: FieldError[] = Object.freeze([]) as unknown as FieldError[];

/**
 * The conversion into the target field, chosen once. When the checker proved every value already has
 * the target's type (and, for picklists, a legal value), the conversion is the identity; otherwise the
 * general toTargetValue runs and reports per-record problems.
 */
function converterFor(tf: FieldSchema | undefined, legal: ReadonlySet<string> | undefined, f: FieldPlan): (v: Value) => Value {
  const general = (v: Value): Value => toTargetValue(v, tf, legal);
  const mask = f.mask;
  if (!tf || mask === undefined || mask & T.object || f.default !== undefined) return general;
  const only = (allowed: number): boolean => (mask & ~(allowed | T.null)) === 0;
  switch (tf.type) {
    case 'number':
    case 'currency':
    case 'percent':
      return only(T.number) ? identity : general;
    case 'boolean':
      return only(T.boolean) ? identity : general;
    case 'date':
      return only(T.date) ? identity : general;
    case 'datetime':
      return only(T.datetime) ? identity : general;
    case 'multipicklist':
      return general;
    default: {
      if (!only(TEXTUAL)) return general;
      // Restricted picklists are checked on every record: a source picklist can hold legacy values its
      // schema no longer lists, so the checker's proof only covers values the mapping itself produces —
      // which is all of them when every value comes out of a literal or a value map.
      if (legal && !(f.value && producesOnlyOwnValues(f.value) && f.values && [...f.values].every((v) => v === null || (typeof v === 'string' && legal.has(v))))) return general;
      if (tf.length !== undefined) {
        const max = tf.length;
        return (v) => (typeof v === 'string' && v.length > max ? general(v) : v);
      }
      return identity;
    }
  }
}

/** True when every value the expression can produce is a literal or a value-map entry of the mapping itself. */
function producesOnlyOwnValues(e: Expr): boolean {
  switch (e.kind) {
    case 'literal':
    case 'lookup':
      return true;
    case 'binary':
      return e.op === '??' && producesOnlyOwnValues(e.left) && producesOnlyOwnValues(e.right);
    case 'cond':
      return producesOnlyOwnValues(e.then) && producesOnlyOwnValues(e.else);
    default:
      return false;
  }
}

export function buildMapping(input: BuildInput): CompiledMapping {
  const { data, targetSchema } = input;
  const env = compileEnv(input.sourceSchema, input.valueMaps);
  const expressions = [input.filter, input.matchKey, ...input.fields.flatMap((f) => [f.value, f.when])].filter((e): e is Expr => e !== undefined);
  const shared = (env.shared = findSharedParts(expressions, env));
  // The context objects each field expression reads (null: it reads the record).
  const rootsOf = new Map(input.fields.flatMap((f) => [f.value, f.when]).filter((e): e is Expr => e !== undefined).map((e) => [e, contextRoots(e)]));
  const fields: CompiledField[] = input.fields.map((f) => {
    const tf: FieldSchema | undefined = targetSchema && Object.hasOwn(targetSchema.fields, f.name) ? targetSchema.fields[f.name] : undefined;
    // Restricted picklists are checked per record too: values from context data are only known at run time.
    const legal = tf && (tf.type === 'picklist' || tf.type === 'multipicklist') && tf.picklistValues?.length && tf.restrictedPicklist !== false ? new Set(tf.picklistValues) : undefined;
    const constant = f.constant;
    return {
      name: f.name,
      value: f.value ? compileExpression(f.value, env) : () => constant ?? null,
      when: f.when ? compileExpression(f.when, env) : undefined,
      fallback: f.default ?? null,
      convert: converterFor(tf, legal, f),
      valueFromContext: !f.value || rootsOf.get(f.value) !== null,
      whenFromContext: !f.when || rootsOf.get(f.when) !== null,
    };
  });
  const roots = [...new Set([...rootsOf.values()].flatMap((r) => r ?? []))];
  const filter = input.filter ? compileExpression(input.filter, env) : undefined;
  const keyExpr = input.matchKey ? compileExpression(input.matchKey, env) : undefined;
  const matchField = data.match.source;
  const matchType = env.fieldType(matchField);
  const policies: Record<string, FieldPolicy> = {};
  for (const f of input.fields) policies[f.name] = f.whenText !== undefined ? { owner: f.owner, when: f.whenText } : { owner: f.owner };

  const apply = compileApply(fields, roots, shared);
  return {
    name: data.mapping,
    description: data.description,
    file: input.file,
    sourceObject: data.source.object,
    targetObject: data.target.object,
    match: { source: data.match.source, target: data.match.target },
    sourceFields: input.sourceFields,
    targetFields: input.fields.map((f) => f.name),
    policies,
    filter: filter
      ? (record, ctx) => {
          shared.record.epoch++;
          return truthy(filter(record, ctx));
        }
      : () => true,
    apply,
    matchKey: (record, ctx) => {
      shared.record.epoch++;
      const v = keyExpr ? keyExpr(record, ctx) : coerceField(Object.hasOwn(record, matchField) ? record[matchField] : undefined, matchType, matchField);
      if (v === null || v === '') return null;
      if (typeof v === 'object') throw new EvalError('the match key must be text, not a list or object');
      return toText(v);
    },
  };
}

/** What a context settles for every record of a page: the context-only fields, and which others apply. */
interface ContextPlan {
  seen: unknown[];
  /** Context-only fields that failed: every record reports them. */
  errors: FieldError[];
  always: CompiledField[];
  /** Fields whose condition reads the record; the first MAX_SHAPE_BITS get their own template shapes. */
  shaped: CompiledField[];
  unshaped: CompiledField[];
  templates: Fields[];
  templateFor(mask: number): Fields;
}

const EMPTY_RECORD: Fields = Object.freeze({}) as Fields;

/**
 * `apply`: the output starts as a clone of a template that already holds every field the record will
 * get — with the context-only fields (`$partner.name`, `registrationStatus[$registration.status]`)
 * already filled in, computed once per context — so the per-record work is only the fields that read
 * the record, each store overwriting an existing property. (Adding properties one by one goes through
 * V8's slow path: it cost ~85% of apply's time.) Conditional fields make the shape depend on which
 * `when`s hold: one template per combination, made on first use.
 */
function compileApply(fields: CompiledField[], roots: ContextKey[], shared: SharedParts): (record: Fields, ctx: MappingContext) => ApplyResult {
  const planFor = (ctx: MappingContext): ContextPlan => {
    const errors: FieldError[] = [];
    const constants = new Map<string, Scalar>();
    const perRecord: CompiledField[] = [];
    for (const f of fields) {
      try {
        if (f.whenFromContext && f.when && !truthy(f.when(EMPTY_RECORD, ctx))) continue;
        if (f.valueFromContext && f.whenFromContext) constants.set(f.name, evaluate(f, EMPTY_RECORD, ctx));
        else perRecord.push(f);
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        errors.push({ field: f.name, message: e.message });
      }
    }
    const always = perRecord.filter((f) => f.whenFromContext);
    const conditional = perRecord.filter((f) => !f.whenFromContext);
    const shaped = conditional.slice(0, MAX_SHAPE_BITS);
    const templates: Fields[] = [];
    return {
      seen: roots.map((k) => ctx[k]),
      errors,
      always,
      shaped,
      unshaped: conditional.slice(MAX_SHAPE_BITS),
      templates,
      templateFor(mask) {
        const entries: Array<[string, Scalar]> = [];
        for (const f of fields) {
          const bit = shaped.indexOf(f);
          if (constants.has(f.name)) entries.push([f.name, constants.get(f.name) as Scalar]);
          else if (always.includes(f) || (bit >= 0 && mask & (1 << bit))) entries.push([f.name, null]);
        }
        // fromEntries keeps the template in V8's fast-properties mode; adding 20 keys one by one would
        // turn it into a dictionary, and cloning a dictionary is ~50× slower.
        return (templates[mask] = Object.fromEntries(entries) as Fields);
      },
    };
  };
  let plan: ContextPlan | undefined;
  // apply never calls back into anything that could re-enter it, so one scratch array is safe.
  const conditionalValues: Scalar[] = new Array<Scalar>(MAX_SHAPE_BITS).fill(null);

  return (record, ctx) => {
    if (!plan || roots.some((k, i) => ctx[k] !== plan!.seen[i])) plan = planFor(ctx);
    const { always, shaped, unshaped } = plan;
    shared.record.epoch++;
    let errors: FieldError[] | undefined = plan.errors.length ? [...plan.errors] : undefined;
    let mask = 0;
    for (let i = 0; i < shaped.length; i++) {
      const f = shaped[i];
      try {
        if (!truthy((f.when as Evaluator)(record, ctx))) continue;
        conditionalValues[i] = evaluate(f, record, ctx);
        mask |= 1 << i;
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        (errors ??= []).push({ field: f.name, message: e.message });
      }
    }
    const out: Fields = { ...(plan.templates[mask] ?? plan.templateFor(mask)) };
    for (let i = 0; i < shaped.length; i++) if (mask & (1 << i)) out[shaped[i].name] = conditionalValues[i];
    for (let i = 0; i < always.length; i++) {
      const f = always[i];
      try {
        out[f.name] = evaluate(f, record, ctx);
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        delete out[f.name];
        (errors ??= []).push({ field: f.name, message: e.message });
      }
    }
    for (const f of unshaped) {
      try {
        if (truthy((f.when as Evaluator)(record, ctx))) out[f.name] = evaluate(f, record, ctx);
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        (errors ??= []).push({ field: f.name, message: e.message });
      }
    }
    return { fields: out, errors: errors ?? NO_ERRORS };
  };
}

function evaluate(f: CompiledField, record: Fields, ctx: MappingContext): Scalar {
  let v = f.value(record, ctx);
  if (v === null) v = f.fallback;
  // Most conversions are proven unnecessary: skip the call rather than call the identity.
  return (f.convert === identity ? v : f.convert(v)) as Scalar;
}
