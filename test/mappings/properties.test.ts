import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Fields, ObjectSchema } from '../../connectors/types.js';
import { parseMapping } from '../../mappings/index.js';
import type { BinaryOp, Expr, Scalar } from '../../mappings/lang/ast.js';
import { checkExpression } from '../../mappings/lang/check.js';
import { compileExpression } from '../../mappings/lang/compile.js';
import { interpret } from '../../mappings/lang/interpret.js';
import { parseExpression } from '../../mappings/lang/parser.js';
import { EvalError, type Value } from '../../mappings/lang/runtime.js';
import { T, TEXTUAL } from '../../mappings/lang/types.js';
import { compileEnv } from '../../mappings/file/build.js';
import type { MappingContext } from '../../mappings/types.js';
import { readFileSync } from 'node:fs';
import { STOCK } from './helpers.js';

const RUNS = Number(process.env.FC_RUNS ?? 400);

// ---------- the parser never crashes, and every error has a position ----------

const TOKENS = ['a', 'dealname', 'Account.Name', '$partner', '$now', '.', 'name', '1', '2.5', '"x"', "'y'", '`t ${a}`', '`', '${', '}', '+', '-', '*', '/', '%', '==', '!=', '<', '>=', '??', 'and', 'or', 'not', 'in', 'if', 'then', 'else', '(', ')', '[', ']', ',', 'trim', 'round', 'm', 'true', 'null', '__proto__', 'constructor', '=', '&&', '?', ':', '\\', '"', '#', '@'];
const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 25 }).map((ts) => ts.join(' '));
const tight = fc.array(fc.constantFrom(...TOKENS), { maxLength: 25 }).map((ts) => ts.join(''));

function spansInside(e: Expr, len: number): boolean {
  let ok = true;
  const visit = (n: Expr): void => {
    if (n.start < 0 || n.end > len || n.start > n.end) ok = false;
  };
  walkAll(e, visit);
  return ok;
}

function walkAll(e: Expr, visit: (e: Expr) => void): void {
  visit(e);
  const kids: Expr[] = [];
  switch (e.kind) {
    case 'member': kids.push(e.object); break;
    case 'index': kids.push(e.object, e.index); break;
    case 'lookup': kids.push(e.key); break;
    case 'list': kids.push(...e.items); break;
    case 'unary': kids.push(e.operand); break;
    case 'binary': kids.push(e.left, e.right); break;
    case 'cond': kids.push(e.test, e.then, e.else); break;
    case 'call': kids.push(...e.args); break;
    case 'template': for (const p of e.parts) if (typeof p !== 'string') kids.push(p); break;
    default: break;
  }
  kids.forEach((k) => walkAll(k, visit));
}

describe('property: parsing', () => {
  it('random text never crashes the parser; errors and nodes carry positions inside the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), soup, tight), (text) => {
        const r = parseExpression(text, { valueMaps: new Set(['m']) });
        if (r.error) {
          expect(r.error.start).toBeGreaterThanOrEqual(0);
          expect(r.error.end).toBeLessThanOrEqual(text.length);
          expect(r.error.start).toBeLessThanOrEqual(r.error.end);
          expect(r.error.message.length).toBeGreaterThan(0);
        } else {
          expect(spansInside(r.expr, text.length)).toBe(true);
          // and the checker never crashes on whatever parsed
          checkExpression(r.expr, { valueMaps: new Map([['m', { entries: new Map([['k', 'v']]) }]]) });
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('random edits of a real mapping file never crash the loader; every problem has a position in the file', () => {
    const base = readFileSync(STOCK + 'hubspot-deal-to-salesforce-opportunity.yaml', 'utf8');
    const edit = fc.tuple(fc.nat({ max: base.length }), fc.nat({ max: 12 }), fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...TOKENS), fc.constantFrom(': ', '\n  ', '{', '- ', '"', "'", '#', '\t', '|\n', '  x: [')));
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let text = base;
        for (const [at, del, ins] of edits) {
          const i = Math.min(at, text.length);
          text = text.slice(0, i) + ins + text.slice(i + del);
        }
        const r = parseMapping(text, STOCK + 'fuzz.yaml');
        const lineCount = text.split('\n').length;
        for (const p of r.problems) {
          expect(p.code).toMatch(/^MAP_[A-Z_]+$/);
          expect(p.line).toBeGreaterThanOrEqual(1);
          expect(p.line).toBeLessThanOrEqual(lineCount);
          expect(p.col).toBeGreaterThanOrEqual(1);
          expect(p.message.length).toBeGreaterThan(0);
        }
        if (r.problems.some((p) => p.severity === 'error')) expect(r.mapping).toBeUndefined();
        else expect(r.mapping).toBeDefined();
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});

// ---------- compiled closures = reference interpreter; static types are sound ----------

const schema: ObjectSchema = {
  name: 'things',
  label: 'Things',
  fields: Object.fromEntries(
    ([['s', 'string'], ['n', 'number'], ['d', 'date'], ['t', 'datetime'], ['b', 'boolean'], ['p', 'picklist']] as const).map(([name, type]) => [
      name,
      { name, label: name, type, nativeType: type, required: false, unique: false, externalId: false, createable: true, updateable: true, ...(type === 'picklist' ? { picklistValues: ['x', 'y', 'k'] } : {}) },
    ]),
  ),
};
const env = compileEnv(schema, new Map([['m', new Map<string, Scalar>([['k', 'v'], ['x', 1], ['1', true]])]]));
const pos = { start: 0, end: 0 };

const scalar: fc.Arbitrary<Scalar> = fc.oneof(
  fc.constantFrom('', 'k', 'x', ' a ', '2026-01-31', '2026-02-30', '2026-11-22T10:00:00.000Z', 'https://www.acme.co.uk/x', 'a,b', '12', 'true'),
  fc.integer({ min: -5, max: 5 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);

const CALLS: Array<[string, number]> = [['trim', 1], ['lower', 1], ['upper', 1], ['substring', 2], ['substring', 3], ['replace', 3], ['split', 2], ['join', 1], ['join', 2], ['number', 1], ['round', 1], ['round', 2], ['date', 1], ['datetime', 1], ['format', 2], ['addDays', 2], ['now', 0], ['today', 0], ['domain', 1], ['coalesce', 3], ['string', 1], ['length', 1], ['contains', 2], ['isBlank', 1], ['abs', 1], ['min', 2], ['max', 3]];
const OPS: BinaryOp[] = ['+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', 'and', 'or', '??', 'in'];

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar.map((value): Expr => ({ kind: 'literal', value, ...pos })),
    fc.constantFrom('s', 'n', 'd', 't', 'b', 'p', 'missing').map((path): Expr => ({ kind: 'field', path, ...pos })),
    fc.constantFrom('partner', 'now', 'registration').map((name): Expr => ({ kind: 'context', name: name as 'partner', ...pos })),
    fc.tuple(fc.constantFrom('partner', 'registration'), fc.constantFrom('id', 'name', 'tier', 'roles', 'missing')).map(([ctx, name]): Expr => ({ kind: 'member', object: { kind: 'context', name: ctx as 'partner', ...pos }, name, nameStart: 0, ...pos })),
    tie('e').map((key): Expr => ({ kind: 'lookup', map: 'm', key, mapEnd: 0, ...pos })),
    fc.tuple(tie('e'), tie('e')).map(([object, index]): Expr => ({ kind: 'index', object, index, ...pos })),
    fc.array(tie('e'), { maxLength: 3 }).map((items): Expr => ({ kind: 'list', items, ...pos })),
    fc.tuple(fc.constantFrom('-', 'not'), tie('e')).map(([op, operand]): Expr => ({ kind: 'unary', op: op as '-', operand, ...pos })),
    fc.tuple(fc.constantFrom(...OPS), tie('e'), tie('e')).map(([op, left, right]): Expr => ({ kind: 'binary', op, left, right, ...pos })),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([test, then, otherwise]): Expr => ({ kind: 'cond', test, then, else: otherwise, ...pos })),
    fc.constantFrom(...CALLS).chain(([name, n]) => fc.array(tie('e'), { minLength: n, maxLength: n }).map((args): Expr => ({ kind: 'call', name, args, nameEnd: 0, ...pos }))),
    fc.array(fc.oneof(fc.constantFrom('-', ' ', 'x'), tie('e')), { maxLength: 3 }).map((parts): Expr => ({ kind: 'template', parts, ...pos })),
  ),
})).e;

// A picklist field holds one of its values (the checker's value sets assume the CRM keeps that contract).
const recordArb: fc.Arbitrary<Fields> = fc.record({ s: scalar, n: scalar, d: scalar, t: scalar, b: scalar, p: fc.constantFrom('x', 'y', 'k', null) }, { requiredKeys: [] });
const ctx: MappingContext = { partner: { id: 'acme', name: 'Acme', tier: 'gold', roles: ['sourcing', 'services'] }, now: new Date('2026-11-22T10:00:00.000Z') };

type Outcome = { value: Value } | { error: string };
function outcome(f: () => Value): Outcome {
  try {
    return { value: f() };
  } catch (e) {
    if (e instanceof EvalError) return { error: e.message };
    throw e;
  }
}

function fitsMask(v: Value, mask: number): boolean {
  if (v === null) return (mask & T.null) !== 0;
  if (typeof v === 'number') return (mask & T.number) !== 0;
  if (typeof v === 'boolean') return (mask & T.boolean) !== 0;
  if (typeof v === 'string') return (mask & TEXTUAL) !== 0;
  if (Array.isArray(v)) return (mask & T.list) !== 0;
  return (mask & T.object) !== 0;
}

describe('property: evaluation', () => {
  it('compiled evaluation equals the reference tree-walking interpreter', () => {
    fc.assert(
      fc.property(exprArb, recordArb, (e, rec) => {
        const compiled = outcome(() => compileExpression(e, env)(rec, ctx));
        const reference = outcome(() => interpret(e, rec, ctx, env));
        expect(JSON.stringify(compiled)).toBe(JSON.stringify(reference));
      }),
      { numRuns: RUNS * 8 },
    );
  });

  it('the checker\'s static type always contains the value produced, and finite value sets contain it too', () => {
    fc.assert(
      fc.property(exprArb, recordArb, (e, rec) => {
        const checked = checkExpression(e, { source: schema, valueMaps: new Map([['m', { entries: new Map<string, Scalar>([['k', 'v'], ['x', 1], ['1', true]]) }]]) });
        if (checked.problems.some((p) => p.severity === 'error')) return;
        const r = outcome(() => compileExpression(e, env)(rec, ctx));
        if ('error' in r) return;
        expect(fitsMask(r.value, checked.mask), `${JSON.stringify(r.value)} outside ${checked.mask}`).toBe(true);
        if (checked.values && (r.value === null || typeof r.value !== 'object')) expect(checked.values.has(r.value as Scalar)).toBe(true);
      }),
      { numRuns: RUNS * 8 },
    );
  });
});
