/**
 * Turns a checked mapping into the CompiledMapping the engine calls: every expression compiled once
 * into closures, every target conversion decided once. `apply` is then a loop over small functions.
 */
import type { FieldSchema, Fields, ObjectSchema } from '../../connectors/types.js';
import type { Expr, Scalar } from '../lang/ast.js';
import { compileExpression, type CompileEnv, type Evaluator } from '../lang/compile.js';
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
      // schema no longer lists, so the checker's proof only covers values the mapping itself produces.
      if (legal) return general;
      if (tf.length !== undefined) {
        const max = tf.length;
        return (v) => (typeof v === 'string' && v.length > max ? general(v) : v);
      }
      return identity;
    }
  }
}

export function buildMapping(input: BuildInput): CompiledMapping {
  const { data, targetSchema } = input;
  const env = compileEnv(input.sourceSchema, input.valueMaps);
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
    };
  });
  const filter = input.filter ? compileExpression(input.filter, env) : undefined;
  const keyExpr = input.matchKey ? compileExpression(input.matchKey, env) : undefined;
  const matchField = data.match.source;
  const matchType = env.fieldType(matchField);
  const policies: Record<string, FieldPolicy> = {};
  for (const f of input.fields) policies[f.name] = f.whenText !== undefined ? { owner: f.owner, when: f.whenText } : { owner: f.owner };

  // The output starts as a clone of a template holding every unconditional field, so each record's
  // object gets its final shape in one step instead of 20 property additions (about 3× faster in V8).
  const always = fields.filter((f) => f.when === undefined);
  const conditional = fields.filter((f) => f.when !== undefined);
  const template: Fields = {};
  for (const f of always) template[f.name] = null;

  const apply = (record: Fields, ctx: MappingContext): ApplyResult => {
    const out: Fields = { ...template };
    let errors: FieldError[] | undefined;
    for (let i = 0; i < always.length; i++) {
      const f = always[i];
      try {
        let v = f.value(record, ctx);
        if (v === null) v = f.fallback;
        out[f.name] = f.convert(v) as Scalar;
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        delete out[f.name];
        (errors ??= []).push({ field: f.name, message: e.message });
      }
    }
    for (let i = 0; i < conditional.length; i++) {
      const f = conditional[i];
      try {
        if (!truthy((f.when as Evaluator)(record, ctx))) continue;
        let v = f.value(record, ctx);
        if (v === null) v = f.fallback;
        out[f.name] = f.convert(v) as Scalar;
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        (errors ??= []).push({ field: f.name, message: e.message });
      }
    }
    return { fields: out, errors: errors ?? [] };
  };

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
    filter: filter ? (record, ctx) => truthy(filter(record, ctx)) : () => true,
    apply,
    matchKey: (record, ctx) => {
      const v = keyExpr ? keyExpr(record, ctx) : coerceField(Object.hasOwn(record, matchField) ? record[matchField] : undefined, matchType, matchField);
      if (v === null || v === '') return null;
      if (typeof v === 'object') throw new EvalError('the match key must be text, not a list or object');
      return toText(v);
    },
  };
}
