/**
 * Compiles a checked expression into a closure tree: every node becomes one small function, built once.
 * Evaluating a record is then plain function calls — no parsing, no tree walking, no eval.
 */
import type { FieldType, Fields } from '../../connectors/types.js';
import type { MappingContext } from '../types.js';
import { walk, type Expr, type Scalar } from './ast.js';
import { add, arith, coerceField, compare, contains, equals, fail, isInheritedName, negate, normalise, readKey, toText, truthy, type Value } from './runtime.js';
import { STDLIB } from './stdlib.js';

export type Evaluator = (record: Fields, ctx: MappingContext) => Value;

export interface CompileEnv {
  fieldType(path: string): FieldType | undefined;
  valueMaps: ReadonlyMap<string, ReadonlyMap<string, Scalar>>;
  /** Parts that occur more than once in one mapping, evaluated once per record (see findSharedParts). */
  shared?: SharedParts;
}

export interface SharedParts {
  keys: ReadonlySet<string>;
  compiled: Map<string, Evaluator>;
  /** Bumped by the mapping at the start of each record's evaluation: a memo from an older epoch is stale. */
  record: { epoch: number };
}

/** Field types whose reads decode (HubSpot sends numbers, dates and booleans as text); others are read as-is. */
const DECODED_TYPES: ReadonlySet<FieldType> = new Set<FieldType>(['number', 'currency', 'percent', 'date', 'datetime', 'boolean']);

/**
 * The record-reading parts of a mapping's expressions that occur more than once (`date(closedate)` in
 * two fields, `amount` decoded for two fields): worth computing once per record.
 */
export function findSharedParts(exprs: Expr[], env: CompileEnv): SharedParts {
  const counts = new Map<string, number>();
  for (const e of exprs) {
    walk(e, (n) => {
      if (n.kind === 'literal' || n.kind === 'context' || contextRoots(n) !== null) return;
      const type = n.kind === 'field' ? env.fieldType(n.path) : undefined;
      if (type !== undefined && !DECODED_TYPES.has(type)) return;
      const key = shapeKey(n);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    });
  }
  return { keys: new Set([...counts].filter(([, n]) => n > 1).map(([k]) => k)), compiled: new Map(), record: { epoch: 0 } };
}

/** The expression without its source positions: equal keys mean the same computation. */
function shapeKey(e: Expr): string {
  return JSON.stringify(e, (k, v: unknown) => (k === 'start' || k === 'end' || k === 'nameStart' || k === 'nameEnd' || k === 'mapEnd' ? undefined : v));
}

function memoOnRecord(ev: Evaluator, record: { epoch: number }): Evaluator {
  let seen = -1;
  let value: Value = null;
  return (r, c) => {
    if (seen === record.epoch) return value;
    value = ev(r, c);
    seen = record.epoch;
    return value;
  };
}

/**
 * Compiles an expression. A part that occurs more than once in the mapping (env.shared) is computed
 * once per record. A part that does not read the record (`$partner.name`,
 * `addDays(today(), 90)`, `roles[$registration.role] ?? "Sourcing"`) is the same for every record of a
 * page, so it is evaluated once and reused while the context objects it reads stay the same.
 */
export function compileExpression(e: Expr, env: CompileEnv): Evaluator {
  const roots = contextRoots(e);
  if (roots !== null) return e.kind === 'literal' ? compileNode(e, env) : memoOnContext(compileNode(e, env, true), roots);
  const shared = env.shared;
  if (!shared || shared.keys.size === 0) return compileNode(e, env);
  const key = shapeKey(e);
  if (!shared.keys.has(key)) return compileNode(e, env);
  let ev = shared.compiled.get(key);
  if (!ev) shared.compiled.set(key, (ev = memoOnRecord(compileNode(e, env), shared.record)));
  return ev;
}

export type ContextKey = keyof MappingContext;

/** The context objects an expression reads, or null when it reads the record. */
export function contextRoots(e: Expr): ContextKey[] | null {
  const roots = new Set<ContextKey>();
  let readsRecord = false;
  walk(e, (n) => {
    if (n.kind === 'field') readsRecord = true;
    else if (n.kind === 'context') roots.add(n.name);
    else if (n.kind === 'call' && STDLIB.get(n.name)?.usesClock) roots.add('now');
  });
  return readsRecord ? null : [...roots];
}

/**
 * Single-entry memo keyed on the identity of the context objects read. The engine builds a context per
 * page and never mutates it (MappingContext is documented as immutable), so identity means same value.
 * A throwing evaluation is not cached: the error surfaces on every record, as it would uncached.
 */
function memoOnContext(ev: Evaluator, roots: ContextKey[]): Evaluator {
  let seen: unknown[] = [];
  let value: Value = null;
  let computed = false;
  return (r, c) => {
    let same = computed;
    for (let i = 0; i < roots.length; i++) {
      if (c[roots[i]] !== seen[i]) {
        same = false;
        break;
      }
    }
    if (same) return value;
    value = ev(r, c);
    seen = roots.map((k) => c[k]);
    computed = true;
    return value;
  };
}

/** `hoisted`: already inside a memoised context-only part, so its sub-parts need no memo of their own. */
function compileNode(e: Expr, env: CompileEnv, hoisted = false): Evaluator {
  const sub = (x: Expr): Evaluator => (hoisted ? compileNode(x, env, true) : compileExpression(x, env));
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      return () => v;
    }
    case 'field':
      return compileField(e.path, env.fieldType(e.path));
    case 'context': {
      const name = e.name;
      if (name === 'now') return (_r, c) => c.now.toISOString();
      return (_r, c) => normalise(c[name]);
    }
    case 'member': {
      const obj = sub(e.object);
      const key = e.name;
      return (r, c) => readKey(obj(r, c), key);
    }
    case 'index': {
      const obj = sub(e.object);
      const idx = sub(e.index);
      return (r, c) => {
        const o = obj(r, c);
        return readKey(o, idx(r, c));
      };
    }
    case 'lookup': {
      const map = env.valueMaps.get(e.map) ?? new Map<string, Scalar>();
      const key = sub(e.key);
      return (r, c) => {
        const k = key(r, c);
        if (k === null) return null;
        if (typeof k === 'string') return map.get(k) ?? null;
        return map.get(toText(k)) ?? null;
      };
    }
    case 'list': {
      const items = e.items.map((i) => sub(i));
      return (r, c) => items.map((i) => i(r, c));
    }
    case 'unary': {
      const o = sub(e.operand);
      return e.op === 'not' ? (r, c) => !truthy(o(r, c)) : (r, c) => negate(o(r, c));
    }
    case 'binary':
      return compileBinary(e, sub);
    case 'cond': {
      const t = sub(e.test);
      const a = sub(e.then);
      const b = sub(e.else);
      return (r, c) => (truthy(t(r, c)) ? a(r, c) : b(r, c));
    }
    case 'call':
      return compileCall(e, sub, env.fieldType);
    case 'template': {
      const parts = e.parts.map((p) => (typeof p === 'string' ? p : sub(p)));
      return (r, c) => {
        let s = '';
        for (const p of parts) s += typeof p === 'string' ? p : toText(p(r, c));
        return s;
      };
    }
  }
}

/** Field reads specialised by type; the common cases avoid any conversion work. */
function compileField(path: string, type: FieldType | undefined): Evaluator {
  const inherited = isInheritedName(path);
  const get = inherited ? (r: Fields): unknown => (Object.hasOwn(r, path) ? r[path] : undefined) : (r: Fields): unknown => r[path];
  switch (type) {
    case 'number':
    case 'currency':
    case 'percent':
      return (r) => {
        const v = get(r);
        return typeof v === 'number' && Number.isFinite(v) ? v : coerceField(v, type, path);
      };
    case undefined:
      return (r) => coerceField(get(r), undefined, path);
    default:
      if (type === 'boolean' || type === 'date' || type === 'datetime') return (r) => coerceField(get(r), type, path);
      return (r) => {
        const v = get(r);
        return typeof v === 'string' ? v : coerceField(v, type, path);
      };
  }
}

function compileBinary(e: Extract<Expr, { kind: 'binary' }>, sub: (x: Expr) => Evaluator): Evaluator {
  const a = sub(e.left);
  const b = sub(e.right);
  switch (e.op) {
    case 'and':
      return (r, c) => truthy(a(r, c)) && truthy(b(r, c));
    case 'or':
      return (r, c) => truthy(a(r, c)) || truthy(b(r, c));
    case '??':
      return (r, c) => {
        const v = a(r, c);
        return v === null ? b(r, c) : v;
      };
    case '+':
      return (r, c) => add(a(r, c), b(r, c));
    case '-':
    case '*':
    case '/':
    case '%': {
      const op = e.op;
      return (r, c) => arith(op, a(r, c), b(r, c));
    }
    case '==':
      return (r, c) => {
        const x = a(r, c);
        const y = b(r, c);
        return x === y || equals(x, y);
      };
    case '!=':
      return (r, c) => {
        const x = a(r, c);
        const y = b(r, c);
        return !(x === y || equals(x, y));
      };
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const op = e.op;
      return (r, c) => compare(op, a(r, c), b(r, c));
    }
    case 'in':
      return (r, c) => {
        const item = a(r, c);
        return contains(b(r, c), item);
      };
  }
}

function compileCall(e: Extract<Expr, { kind: 'call' }>, sub: (x: Expr) => Evaluator, fieldType?: CompileEnv['fieldType']): Evaluator {
  const spec = STDLIB.get(e.name);
  if (!spec) return () => fail(`unknown function ${e.name}`); // unreachable: the checker rejects it
  const fn = spec.fn;
  const args = e.args.map((a) => sub(a));
  // One argument array per call site, reused: no standard function keeps or returns it, and a call site
  // is never re-entered while its own arguments are evaluated (expressions are trees).
  const argv: Value[] = new Array<Value>(args.length).fill(null);
  switch (args.length) {
    case 0:
      return (_r, c) => fn(argv, c);
    case 1: {
      const [x] = args;
      // date() of a datetime field: the field read already yields a checked canonical UTC datetime.
      const arg = e.args[0];
      if (e.name === 'date' && arg.kind === 'field' && fieldType?.(arg.path) === 'datetime') {
        return (r, c) => {
          const v = x(r, c);
          return typeof v === 'string' && v.length === 24 ? v.slice(0, 10) : fn([v], c);
        };
      }
      return (r, c) => {
        argv[0] = x(r, c);
        return fn(argv, c);
      };
    }
    case 2: {
      const [x, y] = args;
      return (r, c) => {
        const a = x(r, c);
        argv[1] = y(r, c);
        argv[0] = a;
        return fn(argv, c);
      };
    }
    default:
      return (r, c) => fn(args.map((x) => x(r, c)), c);
  }
}
