/**
 * Turns a checked mapping into the CompiledMapping the engine calls: every expression compiled once
 * into closures, every target conversion decided once. `apply` is then a loop over small functions.
 */
import type { FieldSchema, Fields, ObjectSchema } from '../../connectors/types.js';
import type { Expr, Scalar } from '../lang/ast.js';
import { compileExpression, type CompileEnv, type Evaluator } from '../lang/compile.js';
import { resolveSourceField } from '../lang/check.js';
import { coerceField, EvalError, toTargetValue, toText, truthy, type Value } from '../lang/runtime.js';
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
      convert: (v: Value) => toTargetValue(v, tf, legal),
    };
  });
  const filter = input.filter ? compileExpression(input.filter, env) : undefined;
  const keyExpr = input.matchKey ? compileExpression(input.matchKey, env) : undefined;
  const matchField = data.match.source;
  const matchType = env.fieldType(matchField);
  const policies: Record<string, FieldPolicy> = {};
  for (const f of input.fields) policies[f.name] = f.whenText !== undefined ? { owner: f.owner, when: f.whenText } : { owner: f.owner };

  const apply = (record: Fields, ctx: MappingContext): ApplyResult => {
    const out: Fields = {};
    let errors: FieldError[] | undefined;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      try {
        if (f.when !== undefined && !truthy(f.when(record, ctx))) continue;
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
