import { describe, expect, it } from 'vitest';
import type { Expr } from '../../mappings/lang/ast.js';
import { parseExpression } from '../../mappings/lang/parser.js';

/** A compact rendering of the tree, to assert structure and precedence. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return JSON.stringify(e.value);
    case 'field':
      return e.path;
    case 'context':
      return '$' + e.name;
    case 'member':
      return `${show(e.object)}.${e.name}`;
    case 'index':
      return `${show(e.object)}[${show(e.index)}]`;
    case 'lookup':
      return `${e.map}{${show(e.key)}}`;
    case 'list':
      return `[${e.items.map(show).join(', ')}]`;
    case 'unary':
      return `(${e.op} ${show(e.operand)})`;
    case 'binary':
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case 'cond':
      return `(if ${show(e.test)} then ${show(e.then)} else ${show(e.else)})`;
    case 'call':
      return `${e.name}(${e.args.map(show).join(', ')})`;
    case 'template':
      return '`' + e.parts.map((p) => (typeof p === 'string' ? p : `\${${show(p)}}`)).join('') + '`';
  }
}

const tree = (text: string, maps: string[] = []): string => {
  const r = parseExpression(text, { valueMaps: new Set(maps) });
  if (r.error) throw new Error(`${r.error.message} at ${r.error.start}`);
  return show(r.expr);
};

const error = (text: string) => {
  const r = parseExpression(text);
  if (!r.error) throw new Error(`expected a syntax error for ${text}`);
  return r.error;
};

describe('expression parser', () => {
  it('parses field references, dotted relationship paths and context keys', () => {
    expect(tree('dealname')).toBe('dealname');
    expect(tree('Account.Name')).toBe('Account.Name');
    expect(tree('$partner.name')).toBe('$partner.name');
    expect(tree('$registration["status"]')).toBe('$registration["status"]');
  });

  it('gives arithmetic, comparison, ?? and boolean operators their precedence', () => {
    expect(tree('a + b * c - d')).toBe('((a + (b * c)) - d)');
    expect(tree('a ?? b + c')).toBe('(a ?? (b + c))');
    expect(tree('a ?? 0 > 5')).toBe('((a ?? 0) > 5)');
    expect(tree('not a == b and c or d')).toBe('(((not (a == b)) and c) or d)');
    expect(tree('-a * b')).toBe('((- a) * b)');
    expect(tree('x in ["a", "b"]')).toBe('(x in ["a", "b"])');
  });

  it('parses conditionals, calls, value-map lookups and templates', () => {
    expect(tree('if a > 1 then "big" else "small"')).toBe('(if (a > 1) then "big" else "small")');
    expect(tree('stages[dealstage] ?? "Prospecting"', ['stages'])).toBe('(stages{dealstage} ?? "Prospecting")');
    expect(tree('round(number(amount), 2)')).toBe('round(number(amount), 2)');
    expect(tree('`Deal ${dealname} for ${$partner.name}!`')).toBe('`Deal ${dealname} for ${$partner.name}!`');
    expect(tree("'single' + \"double\\n\"")).toBe('("single" + "double\\n")');
    expect(tree('1.5e3 + .5')).toBe('(1500 + 0.5)');
  });

  it('keeps source positions on every node', () => {
    const r = parseExpression('  amount + number(x)');
    expect(r.expr).toMatchObject({ kind: 'binary', start: 2, end: 20, left: { start: 2, end: 8 }, right: { kind: 'call', start: 11, end: 20 } });
  });

  it('reports syntax errors with a position and a hint', () => {
    expect(error('amount >= ')).toMatchObject({ message: 'expected a value, found end of expression', start: 10 });
    expect(error('a = 1')).toMatchObject({ start: 2, hint: 'compare with ==' });
    expect(error('a && b')).toMatchObject({ start: 2, hint: 'use "and"' });
    expect(error('a ? b : c')).toMatchObject({ start: 2, hint: 'write conditionals as: if COND then A else B' });
    expect(error('"open')).toMatchObject({ message: 'unterminated string', start: 0 });
    expect(error('if a then b')).toMatchObject({ message: 'expected "else" (every if needs an else), found end of expression' });
    expect(error('a < b < c')).toMatchObject({ message: 'comparisons cannot be chained' });
    expect(error('$secret')).toMatchObject({ message: 'unknown context "$secret"', start: 0, end: 7 });
    expect(error('')).toMatchObject({ message: 'empty expression' });
    expect(error('`x ${a + }`')).toMatchObject({ start: 9 });
  });

  it('rejects prototype and constructor access anywhere a name is written', () => {
    for (const text of ['__proto__', 'x.constructor', '$partner.__proto__', '$partner.constructor.name', 'prototype', 'Account.__proto__']) {
      expect(error(text).message).toMatch(/not allowed/);
    }
    expect(error('trim(x)(1)').message).toMatch(/only standard-library functions can be called/);
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(error('('.repeat(5000) + '1' + ')'.repeat(5000)).message).toMatch(/nested too deeply/);
  });
});
