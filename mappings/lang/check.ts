/**
 * The type checker. It walks an expression once, knowing the source object's schema and the declared
 * value maps, and returns the expression's static type, the finite set of values it can produce when
 * that is knowable (for picklist checks), the fields it reads, and every problem found — all of them,
 * not just the first.
 */
import type { FieldSchema, ObjectSchema } from '../../connectors/types.js';
import { didYouMean } from '../../lib/suggest.js';
import type { ProblemCode } from '../problems.js';
import type { Severity } from '../types.js';
import type { Expr, Scalar } from './ast.js';
import { add, arith, compare, equals, EvalError, negate, toText, truthy, type Value } from './runtime.js';
import { returnMask, STDLIB } from './stdlib.js';
import { ANY, describeMask, maskOfField, T, TEXTUAL, type Mask } from './types.js';

export interface ExprProblem {
  start: number;
  end: number;
  code: ProblemCode;
  severity: Severity;
  message: string;
  hint?: string;
}

export interface ValueMapInfo {
  entries: ReadonlyMap<string, Scalar>;
}

export interface CheckEnv {
  /** Without a schema, fields are untyped and not checked for existence. */
  source?: ObjectSchema;
  valueMaps: ReadonlyMap<string, ValueMapInfo>;
}

export interface Checked {
  mask: Mask;
  /** Every value the expression can produce, when that set is finite and small; otherwise undefined. */
  values?: ReadonlySet<Scalar>;
}

export interface CheckResult extends Checked {
  problems: ExprProblem[];
  fieldsRead: Set<string>;
}

const MAX_VALUES = 400;

export function checkExpression(e: Expr, env: CheckEnv): CheckResult {
  const c = new Checker(env);
  const r = c.check(e);
  return { ...r, problems: c.problems, fieldsRead: c.fieldsRead };
}

/** Resolves a source field (incl. relationship paths like Account.Name); undefined when unknown. */
export function resolveSourceField(schema: ObjectSchema, path: string): FieldSchema | 'relationship' | undefined {
  if (Object.hasOwn(schema.fields, path)) return schema.fields[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  const rel = path.slice(0, dot);
  const candidates = [rel + 'Id', rel.endsWith('__r') ? rel.slice(0, -3) + '__c' : undefined];
  for (const c of candidates) if (c && Object.hasOwn(schema.fields, c) && schema.fields[c].type === 'reference') return 'relationship';
  return undefined;
}

function maskOfScalar(v: Scalar): Mask {
  if (v === null) return T.null;
  if (typeof v === 'number') return T.number;
  if (typeof v === 'boolean') return T.boolean;
  return T.text;
}

class Checker {
  problems: ExprProblem[] = [];
  fieldsRead = new Set<string>();

  constructor(private readonly env: CheckEnv) {}

  private report(node: { start: number; end: number }, code: ProblemCode, message: string, hint?: string, severity: Severity = 'error'): void {
    this.problems.push({ start: node.start, end: node.end, code, severity, message, hint });
  }

  /** Finite value sets through an operation, by running the real operator on every combination. */
  private combine(sets: Array<ReadonlySet<Scalar> | undefined>, op: (args: Scalar[]) => Value): ReadonlySet<Scalar> | undefined {
    if (sets.some((s) => s === undefined)) return undefined;
    let combos: Scalar[][] = [[]];
    for (const s of sets as ReadonlySet<Scalar>[]) {
      const next: Scalar[][] = [];
      for (const prefix of combos) for (const v of s) next.push([...prefix, v]);
      combos = next;
      if (combos.length > MAX_VALUES) return undefined;
    }
    const out = new Set<Scalar>();
    for (const args of combos) {
      try {
        const r = op(args);
        if (r !== null && typeof r === 'object') return undefined;
        out.add(r as Scalar);
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        // a combination that fails at run time produces no value (it becomes a per-record error)
      }
    }
    return out;
  }

  check(e: Expr, hasFallback = false): Checked {
    switch (e.kind) {
      case 'literal':
        return { mask: maskOfScalar(e.value), values: new Set([e.value]) };
      case 'field':
        return this.field(e);
      case 'context':
        return e.name === 'now' ? { mask: T.datetime } : { mask: T.object | T.null };
      case 'member': {
        const obj = this.check(e.object);
        if ((obj.mask & (T.object | T.list)) === 0 && obj.mask !== T.null) {
          this.report({ start: e.nameStart, end: e.end }, 'MAP_TYPE', `"${e.name}" cannot be read from ${describeMask(obj.mask)}`, 'only context objects ($partner, $vendor, $registration, $link) have keys');
        }
        return { mask: ANY };
      }
      case 'index': {
        if (e.object.kind === 'field' && this.env.source && !resolveSourceField(this.env.source, e.object.path)) {
          // most likely a misspelt value map
          const hint = didYouMean(e.object.path, this.env.valueMaps.keys());
          this.report({ start: e.object.start, end: e.object.end }, 'MAP_UNKNOWN_VALUE_MAP', `no value map or field named "${e.object.path}"`, hint ?? `declare it under values: (declared: ${[...this.env.valueMaps.keys()].join(', ') || 'none'})`);
          this.check(e.index);
          return { mask: ANY };
        }
        const obj = this.check(e.object);
        const idx = this.check(e.index);
        if ((obj.mask & (T.object | T.list)) === 0 && obj.mask !== T.null) {
          this.report(e, 'MAP_TYPE', `cannot index ${describeMask(obj.mask)}`, this.env.valueMaps.size ? `value maps: ${[...this.env.valueMaps.keys()].join(', ')}` : 'only lists and context objects can be indexed');
        }
        if ((idx.mask & (T.number | T.text | T.null)) === 0) this.report(e.index, 'MAP_TYPE', `an index must be a number or text, not ${describeMask(idx.mask)}`);
        return { mask: ANY };
      }
      case 'lookup':
        return this.lookup(e, hasFallback);
      case 'list':
        e.items.forEach((i) => this.check(i));
        return { mask: T.list };
      case 'unary': {
        const o = this.check(e.operand);
        if (e.op === 'not') return { mask: T.boolean, values: this.combine([o.values], ([a]) => !truthy(a)) };
        this.expectNumber(e.operand, o, 'negate');
        return { mask: T.number | (o.mask & T.null), values: this.combine([o.values], ([a]) => negate(a)) };
      }
      case 'binary':
        return this.binary(e);
      case 'cond': {
        this.check(e.test);
        const a = this.check(e.then, hasFallback);
        const b = this.check(e.else, hasFallback);
        return { mask: a.mask | b.mask, values: union(a.values, b.values) };
      }
      case 'call':
        return this.call(e);
      case 'template': {
        const sets: Array<ReadonlySet<Scalar> | undefined> = [];
        for (const p of e.parts) {
          if (typeof p === 'string') continue;
          const r = this.check(p);
          if ((r.mask & (T.list | T.object)) !== 0 && (r.mask & ~(T.list | T.object | T.null)) === 0) this.report(p, 'MAP_TYPE', `cannot put ${describeMask(r.mask)} into a template`, 'use join(...) for lists');
          sets.push(r.values);
        }
        const parts = e.parts;
        const values = this.combine(sets, (vals) => {
          let i = 0;
          return parts.map((p) => (typeof p === 'string' ? p : toText(vals[i++]))).join('');
        });
        return { mask: T.text, values };
      }
    }
  }

  private field(e: Extract<Expr, { kind: 'field' }>): Checked {
    this.fieldsRead.add(e.path);
    const schema = this.env.source;
    if (!schema) return { mask: ANY & ~T.object };
    const f = resolveSourceField(schema, e.path);
    if (f === undefined) {
      const hint = didYouMean(e.path, Object.keys(schema.fields)) ?? (this.env.valueMaps.has(e.path) ? `"${e.path}" is a value map: write ${e.path}[key]` : undefined);
      this.report(e, 'MAP_UNKNOWN_FIELD', `${schema.name} has no field "${e.path}"`, hint ?? 'write a string literal in quotes: "text"');
      return { mask: ANY & ~T.object };
    }
    if (f === 'relationship') return { mask: ANY & ~T.object };
    const mask = maskOfField(f.type);
    let values: Set<Scalar> | undefined;
    if (f.type === 'picklist' && f.picklistValues) values = new Set<Scalar>([...f.picklistValues, null]);
    else if (f.type === 'boolean') values = new Set<Scalar>([true, false, null]);
    return { mask, values };
  }

  private lookup(e: Extract<Expr, { kind: 'lookup' }>, hasFallback: boolean): Checked {
    const map = this.env.valueMaps.get(e.map);
    const key = this.check(e.key);
    if (!map) return { mask: ANY };
    if ((key.mask & (T.text | T.number | T.boolean | T.date | T.datetime | T.null)) === 0) this.report(e.key, 'MAP_TYPE', `a value-map key must be text, not ${describeMask(key.mask)}`);
    let mask = 0;
    for (const v of map.entries.values()) mask |= maskOfScalar(v);
    let values: Set<Scalar> | undefined = new Set(map.entries.values());
    if (key.values) {
      const missing = [...key.values].filter((k) => k !== null && !map.entries.has(toText(k as Value)));
      if (missing.length > 0 || key.values.has(null)) {
        mask |= T.null;
        values.add(null);
      }
      if (missing.length > 0 && !hasFallback) {
        this.report(e, 'MAP_VALUE_MAP', `value map "${e.map}" has no entry for ${listValues(missing)}; those records get null`, `add the entries or a fallback: ${e.map}[...] ?? "..."`, 'warning');
      }
      // keys that the source can never produce are probably misspelt
      if (e.key.kind === 'field') {
        const possible = [...key.values].filter((k): k is string => typeof k === 'string');
        for (const k of map.entries.keys()) {
          if (!key.values.has(k) && !possible.some((p) => p === k)) {
            const hint = didYouMean(k, possible);
            this.report({ start: e.start, end: e.mapEnd }, 'MAP_VALUE_MAP', `value map "${e.map}" has key "${k}", which ${e.key.path} never has`, hint ?? `values of ${e.key.path}: ${listValues(possible)}`, 'warning');
          }
        }
      }
    } else {
      mask |= T.null;
      values.add(null);
    }
    if (values.size > MAX_VALUES) values = undefined;
    return { mask, values };
  }

  private expectNumber(node: Expr, r: Checked, what: string): void {
    if ((r.mask & T.number) === 0 && (r.mask & ~T.null) !== 0) {
      this.report(node, 'MAP_TYPE', `cannot ${what} ${describeMask(r.mask)}`, (r.mask & TEXTUAL) !== 0 ? 'convert with number(...)' : undefined);
    }
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>): Checked {
    if (e.op === '??') {
      const a = this.check(e.left, true);
      const b = this.check(e.right);
      const aValues = a.values ? new Set([...a.values].filter((v) => v !== null)) : undefined;
      const values = a.values && !a.values.has(null) ? a.values : union(aValues, b.values);
      return { mask: (a.mask & T.null ? (a.mask & ~T.null) | b.mask : a.mask), values };
    }
    const a = this.check(e.left);
    const b = this.check(e.right);
    switch (e.op) {
      case 'and':
      case 'or':
        return { mask: T.boolean, values: shortCircuitValues(e.op, a.values, b.values) };
      case '+': {
        const dateLike = T.date | T.datetime;
        if (((a.mask & dateLike) && !(a.mask & T.text) && (b.mask & T.number)) || ((b.mask & dateLike) && !(b.mask & T.text) && (a.mask & T.number))) {
          if (a.mask !== ANY && b.mask !== ANY) this.report(e, 'MAP_TYPE', 'adding a number to a date joins them as text', 'use addDays(date, n)');
        }
        for (const [side, r] of [[e.left, a], [e.right, b]] as const) {
          if ((r.mask & (T.list | T.object)) !== 0 && (r.mask & ~(T.list | T.object | T.null)) === 0) this.report(side, 'MAP_TYPE', `cannot add ${describeMask(r.mask)}`, 'use join(...) for lists');
          if (r.mask === T.boolean || r.mask === (T.boolean | T.null)) this.report(side, 'MAP_TYPE', 'cannot add a boolean', 'use if ... then "yes" else "no"');
        }
        let mask = 0;
        if ((a.mask | b.mask) & TEXTUAL) mask |= T.text;
        if (a.mask & b.mask & T.number) mask |= T.number;
        if ((a.mask | b.mask) & T.null) mask |= T.null;
        return { mask: mask || T.text, values: this.combine([a.values, b.values], ([x, y]) => add(x, y)) };
      }
      case '-':
      case '*':
      case '/':
      case '%': {
        this.expectNumber(e.left, a, `apply "${e.op}" to`);
        this.expectNumber(e.right, b, `apply "${e.op}" to`);
        const op = e.op;
        return { mask: T.number | ((a.mask | b.mask) & T.null), values: this.combine([a.values, b.values], ([x, y]) => arith(op, x, y)) };
      }
      case '==':
      case '!=': {
        this.checkComparable(e, a, b, true);
        this.checkLiteralAgainst(e.left, a, e.right);
        this.checkLiteralAgainst(e.right, b, e.left);
        const neg = e.op === '!=';
        return { mask: T.boolean, values: this.combine([a.values, b.values], ([x, y]) => equals(x, y) !== neg) };
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        this.checkComparable(e, a, b, false);
        const op = e.op;
        return { mask: T.boolean, values: this.combine([a.values, b.values], ([x, y]) => compare(op, x, y)) };
      }
      case 'in': {
        if ((b.mask & (T.list | T.null)) === 0) this.report(e.right, 'MAP_TYPE', `"in" needs a list on its right, not ${describeMask(b.mask)}`, 'write x in ["a", "b"]');
        if (e.right.kind === 'list') for (const item of e.right.items) this.checkLiteralAgainst(e.left, a, item);
        return { mask: T.boolean };
      }
    }
  }

  private checkComparable(e: Expr, a: Checked, b: Checked, equality: boolean): void {
    if (a.mask === ANY || b.mask === ANY || a.mask & T.object || b.mask & T.object) return;
    const group = (m: Mask): Mask => (m & TEXTUAL ? T.text : 0) | (m & T.number) | (m & T.boolean) | (m & T.list);
    const ga = group(a.mask);
    const gb = group(b.mask);
    if (ga === 0 || gb === 0) return; // a null literal
    if ((ga & gb) === 0) {
      const hint = (ga | gb) & T.number && (ga | gb) & T.text ? 'convert with number(...) or string(...)' : undefined;
      this.report(e, 'MAP_TYPE', `comparing ${describeMask(a.mask & ~T.null)} with ${describeMask(b.mask & ~T.null)} ${equality ? 'is never true' : 'is not possible'}`, hint);
    } else if (!equality && (ga & gb & (T.number | T.text)) === 0) {
      this.report(e, 'MAP_TYPE', `cannot order ${describeMask(a.mask & ~T.null)} values`);
    }
  }

  /** `dealstage == "closed_won"` when dealstage's picklist has no such value: almost surely a typo. */
  private checkLiteralAgainst(side: Expr, r: Checked, other: Expr): void {
    if (side.kind !== 'field' || !r.values || other.kind !== 'literal' || typeof other.value !== 'string') return;
    if (r.values.has(other.value)) return;
    const possible = [...r.values].filter((v): v is string => typeof v === 'string');
    if (possible.length === 0) return;
    this.report(other, 'MAP_PICKLIST', `${side.path} never has the value "${other.value}"`, didYouMean(other.value, possible) ?? `its values: ${listValues(possible)}`, 'warning');
  }

  private call(e: Extract<Expr, { kind: 'call' }>): Checked {
    const spec = STDLIB.get(e.name);
    const args = e.args.map((a) => this.check(a));
    if (!spec) {
      this.report({ start: e.start, end: e.nameEnd }, 'MAP_UNKNOWN_FUNCTION', `unknown function "${e.name}"`, didYouMean(e.name, STDLIB.keys()) ?? 'see the standard library in mappings/README.md');
      return { mask: ANY & ~T.object };
    }
    const min = spec.params.filter((p) => !p.optional).length;
    const max = spec.rest ? Infinity : spec.params.length;
    if (args.length < min || args.length > max) {
      const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      this.report(e, 'MAP_ARGS', `${e.name}() takes ${want} argument${min === 1 && max === 1 ? '' : 's'}, got ${args.length}`, `usage: ${spec.signature}`);
    }
    args.forEach((a, i) => {
      const p = spec.params[i] ?? spec.rest;
      if (!p) return;
      if ((a.mask & p.accepts) === 0) {
        const hint = p.accepts & T.number && a.mask & TEXTUAL ? 'convert with number(...)' : p.accepts & T.list ? 'make a list with split(...) or [a, b]' : `usage: ${spec.signature}`;
        this.report(e.args[i], 'MAP_TYPE', `${e.name}(): ${p.name} must be ${describeMask(p.accepts & ~T.null)}, not ${describeMask(a.mask)}`, hint);
      }
    });
    const mask = returnMask(spec, args.map((a) => a.mask));
    const values = spec.usesClock ? undefined : this.combine(args.map((a) => a.values), (vals) => spec.fn(vals, { now: new Date(0) }));
    return { mask, values };
  }
}

function union(a: ReadonlySet<Scalar> | undefined, b: ReadonlySet<Scalar> | undefined): ReadonlySet<Scalar> | undefined {
  if (!a || !b) return undefined;
  const out = new Set([...a, ...b]);
  return out.size > MAX_VALUES ? undefined : out;
}

export function listValues(values: Iterable<unknown>, max = 6): string {
  const all = [...values].map((v) => JSON.stringify(v));
  return all.length > max ? `${all.slice(0, max).join(', ')} and ${all.length - max} more` : all.join(', ');
}

/**
 * The values `and`/`or` can produce. Where the left side decides, the right is never evaluated — so a
 * right side that can only fail (e.g. number("2026-02-30")) must not empty the set.
 */
function shortCircuitValues(op: 'and' | 'or', left: ReadonlySet<Scalar> | undefined, right: ReadonlySet<Scalar> | undefined): ReadonlySet<Scalar> | undefined {
  if (!left) return undefined;
  const out = new Set<Scalar>();
  for (const x of left) {
    if (op === 'or' ? truthy(x) : !truthy(x)) out.add(op === 'or');
    else if (!right) return undefined;
    else for (const y of right) out.add(truthy(y));
  }
  return out;
}
