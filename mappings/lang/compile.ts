/**
 * Compiles a checked expression into a closure tree: every node becomes one small function, built once.
 * Evaluating a record is then plain function calls — no parsing, no tree walking, no eval.
 */
import type { FieldType, Fields } from '../../connectors/types.js';
import type { MappingContext } from '../types.js';
import type { Expr, Scalar } from './ast.js';
import { add, arith, coerceField, compare, contains, equals, fail, isInheritedName, negate, normalise, readKey, toText, truthy, type Value } from './runtime.js';
import { STDLIB } from './stdlib.js';

export type Evaluator = (record: Fields, ctx: MappingContext) => Value;

export interface CompileEnv {
  fieldType(path: string): FieldType | undefined;
  valueMaps: ReadonlyMap<string, ReadonlyMap<string, Scalar>>;
}

export function compileExpression(e: Expr, env: CompileEnv): Evaluator {
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
      const obj = compileExpression(e.object, env);
      const key = e.name;
      return (r, c) => readKey(obj(r, c), key);
    }
    case 'index': {
      const obj = compileExpression(e.object, env);
      const idx = compileExpression(e.index, env);
      return (r, c) => {
        const o = obj(r, c);
        return readKey(o, idx(r, c));
      };
    }
    case 'lookup': {
      const map = env.valueMaps.get(e.map) ?? new Map<string, Scalar>();
      const key = compileExpression(e.key, env);
      return (r, c) => {
        const k = key(r, c);
        if (k === null) return null;
        if (typeof k === 'string') return map.get(k) ?? null;
        return map.get(toText(k)) ?? null;
      };
    }
    case 'list': {
      const items = e.items.map((i) => compileExpression(i, env));
      return (r, c) => items.map((i) => i(r, c));
    }
    case 'unary': {
      const o = compileExpression(e.operand, env);
      return e.op === 'not' ? (r, c) => !truthy(o(r, c)) : (r, c) => negate(o(r, c));
    }
    case 'binary':
      return compileBinary(e, env);
    case 'cond': {
      const t = compileExpression(e.test, env);
      const a = compileExpression(e.then, env);
      const b = compileExpression(e.else, env);
      return (r, c) => (truthy(t(r, c)) ? a(r, c) : b(r, c));
    }
    case 'call':
      return compileCall(e, env);
    case 'template': {
      const parts = e.parts.map((p) => (typeof p === 'string' ? p : compileExpression(p, env)));
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

function compileBinary(e: Extract<Expr, { kind: 'binary' }>, env: CompileEnv): Evaluator {
  const a = compileExpression(e.left, env);
  const b = compileExpression(e.right, env);
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

function compileCall(e: Extract<Expr, { kind: 'call' }>, env: CompileEnv): Evaluator {
  const spec = STDLIB.get(e.name);
  if (!spec) return () => fail(`unknown function ${e.name}`); // unreachable: the checker rejects it
  const fn = spec.fn;
  const args = e.args.map((a) => compileExpression(a, env));
  switch (args.length) {
    case 0:
      return (_r, c) => fn([], c);
    case 1: {
      const [x] = args;
      return (r, c) => fn([x(r, c)], c);
    }
    case 2: {
      const [x, y] = args;
      return (r, c) => fn([x(r, c), y(r, c)], c);
    }
    default:
      return (r, c) => fn(args.map((x) => x(r, c)), c);
  }
}
