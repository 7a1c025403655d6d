/**
 * The reference interpreter: a direct tree walk with the same semantics as compile.ts. It is the
 * specification the compiled closures are property-tested against; the engine never uses it.
 */
import type { FieldType, Fields } from '../../connectors/types.js';
import type { MappingContext } from '../types.js';
import type { Expr, Scalar } from './ast.js';
import { add, arith, coerceField, compare, contains, equals, fail, negate, normalise, readKey, toText, truthy, type Value } from './runtime.js';
import { STDLIB } from './stdlib.js';

export interface InterpretEnv {
  fieldType(path: string): FieldType | undefined;
  valueMaps: ReadonlyMap<string, ReadonlyMap<string, Scalar>>;
}

export function interpret(e: Expr, record: Fields, ctx: MappingContext, env: InterpretEnv): Value {
  const ev = (x: Expr): Value => interpret(x, record, ctx, env);
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'field':
      return coerceField(Object.hasOwn(record, e.path) ? record[e.path] : undefined, env.fieldType(e.path), e.path);
    case 'context':
      return e.name === 'now' ? ctx.now.toISOString() : normalise(ctx[e.name]);
    case 'member':
      return readKey(ev(e.object), e.name);
    case 'index': {
      const o = ev(e.object);
      return readKey(o, ev(e.index));
    }
    case 'lookup': {
      const k = ev(e.key);
      if (k === null) return null;
      return env.valueMaps.get(e.map)?.get(toText(k)) ?? null;
    }
    case 'list':
      return e.items.map(ev);
    case 'unary':
      return e.op === 'not' ? !truthy(ev(e.operand)) : negate(ev(e.operand));
    case 'binary': {
      if (e.op === 'and') return truthy(ev(e.left)) ? truthy(ev(e.right)) : false;
      if (e.op === 'or') return truthy(ev(e.left)) ? true : truthy(ev(e.right));
      if (e.op === '??') {
        const l = ev(e.left);
        return l !== null ? l : ev(e.right);
      }
      const l = ev(e.left);
      const r = ev(e.right);
      switch (e.op) {
        case '+':
          return add(l, r);
        case '-':
        case '*':
        case '/':
        case '%':
          return arith(e.op, l, r);
        case '==':
          return equals(l, r);
        case '!=':
          return !equals(l, r);
        case 'in':
          return contains(r, l);
        default:
          return compare(e.op, l, r);
      }
    }
    case 'cond':
      return truthy(ev(e.test)) ? ev(e.then) : ev(e.else);
    case 'call': {
      const spec = STDLIB.get(e.name);
      if (!spec) return fail(`unknown function ${e.name}`);
      return spec.fn(e.args.map(ev), ctx);
    }
    case 'template':
      return e.parts.map((p) => (typeof p === 'string' ? p : toText(ev(p)))).join('');
  }
}
