import { CONTEXT_NAMES, FORBIDDEN_KEYS, type BinaryOp, type ContextName, type Expr } from './ast.js';
import { closest } from '../../lib/suggest.js';
import { ExprSyntaxError, tokenize, type Token } from './lexer.js';

/**
 * A Pratt parser for mapping expressions. It never evaluates anything and never throws to its caller:
 * a syntax error comes back as { error } with the offending range.
 *
 * Precedence, loosest first: if-then-else · or · and · not · comparison (== != < <= > >= in) · ?? ·
 * + - · * / % · unary - · postfix (.name, [index], call).
 */
export interface ParseOptions {
  /** Names declared under `values:`; `name[key]` on one of them is a value-map lookup. */
  valueMaps?: ReadonlySet<string>;
}

export interface SyntaxProblem {
  message: string;
  start: number;
  end: number;
  hint?: string;
}

export type ParseResult = { expr: Expr; error?: undefined } | { expr?: undefined; error: SyntaxProblem };

export function parseExpression(text: string, opts: ParseOptions = {}): ParseResult {
  try {
    const p = new Parser(text, 0, text.length, opts);
    return { expr: p.parseAll() };
  } catch (e) {
    if (e instanceof ExprSyntaxError) return { error: { message: e.message, start: e.start, end: e.end, hint: e.hint } };
    if (e instanceof RangeError) return { error: { message: 'expression is nested too deeply', start: 0, end: text.length } };
    throw e;
  }
}

const COMPARISON: Record<string, BinaryOp> = { '==': '==', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const MAX_DEPTH = 200;

class Parser {
  private tokens: Token[];
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    from: number,
    to: number,
    private readonly opts: ParseOptions,
  ) {
    this.tokens = tokenize(text, from, to);
  }

  parseAll(): Expr {
    if (this.peek().type === 'eof') throw new ExprSyntaxError('empty expression', this.peek().start, this.peek().end, 'write a field name, a literal or a formula');
    const e = this.expression();
    const t = this.peek();
    if (t.type !== 'eof') throw this.unexpected(t, 'end of expression');
    return e;
  }

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private next(): Token {
    const t = this.tokens[this.pos];
    if (t.type !== 'eof') this.pos++;
    return t;
  }

  private isOp(value: string): boolean {
    const t = this.peek();
    return t.type === 'op' && t.value === value;
  }

  private isKeyword(value: string): boolean {
    const t = this.peek();
    return t.type === 'keyword' && t.value === value;
  }

  private expectOp(value: string, what: string): Token {
    if (!this.isOp(value)) throw this.unexpected(this.peek(), what);
    return this.next();
  }

  private unexpected(t: Token, expected: string): ExprSyntaxError {
    const found = t.type === 'eof' ? 'end of expression' : `"${t.value}"`;
    const hint = HINTS[t.value];
    return new ExprSyntaxError(`expected ${expected}, found ${found}`, t.start, Math.max(t.end, t.start + (t.type === 'eof' ? 0 : 1)), hint);
  }

  private expression(): Expr {
    if (++this.depth > MAX_DEPTH) throw new ExprSyntaxError('expression is nested too deeply', this.peek().start, this.peek().end);
    try {
      if (this.isKeyword('if')) return this.conditional();
      return this.binary(0);
    } finally {
      this.depth--;
    }
  }

  private conditional(): Expr {
    const start = this.next().start;
    const test = this.expression();
    if (!this.isKeyword('then')) throw this.unexpected(this.peek(), '"then"');
    this.next();
    const then = this.expression();
    if (!this.isKeyword('else')) throw this.unexpected(this.peek(), '"else" (every if needs an else)');
    this.next();
    const otherwise = this.expression();
    return { kind: 'cond', test, then, else: otherwise, start, end: otherwise.end };
  }

  /** Binding powers of infix operators; higher binds tighter. */
  private infix(t: Token): { op: BinaryOp; power: number } | undefined {
    if (t.type === 'keyword') {
      if (t.value === 'or') return { op: 'or', power: 1 };
      if (t.value === 'and') return { op: 'and', power: 2 };
      if (t.value === 'in') return { op: 'in', power: 4 };
      return undefined;
    }
    if (t.type !== 'op') return undefined;
    if (t.value in COMPARISON) return { op: COMPARISON[t.value], power: 4 };
    if (t.value === '??') return { op: '??', power: 5 };
    if (t.value === '+' || t.value === '-') return { op: t.value, power: 6 };
    if (t.value === '*' || t.value === '/' || t.value === '%') return { op: t.value, power: 7 };
    return undefined;
  }

  private binary(minPower: number): Expr {
    let left = this.prefix(minPower);
    for (;;) {
      const t = this.peek();
      const inf = this.infix(t);
      if (!inf || inf.power <= minPower) {
        if (t.type === 'op' && t.value in HINTS && t.value !== '{' && t.value !== ':') {
          throw new ExprSyntaxError(`"${t.value}" is not an operator of the mapping language`, t.start, t.end, HINTS[t.value]);
        }
        return left;
      }
      this.next();
      const right = this.binary(inf.power);
      // comparisons do not chain: a < b < c is an error, not (a < b) < c
      if (inf.power === 4) {
        const after = this.infix(this.peek());
        if (after && after.power === 4) throw new ExprSyntaxError('comparisons cannot be chained', this.peek().start, this.peek().end, 'combine them with "and"');
      }
      left = { kind: 'binary', op: inf.op, left, right, start: left.start, end: right.end };
    }
  }

  private prefix(minPower: number): Expr {
    const t = this.peek();
    if (t.type === 'keyword' && t.value === 'not') {
      this.next();
      const operand = this.binary(Math.max(minPower, 3));
      return { kind: 'unary', op: 'not', operand, start: t.start, end: operand.end };
    }
    if (t.type === 'op' && t.value === '-') {
      this.next();
      const operand = this.binary(8);
      return { kind: 'unary', op: '-', operand, start: t.start, end: operand.end };
    }
    if (t.type === 'keyword' && t.value === 'if') return this.conditional();
    return this.postfix(this.primary());
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.type) {
      case 'number':
        return { kind: 'literal', value: t.number as number, start: t.start, end: t.end };
      case 'string':
        return { kind: 'literal', value: t.value, start: t.start, end: t.end };
      case 'template':
        return this.template(t);
      case 'context': {
        if (!(CONTEXT_NAMES as readonly string[]).includes(t.value)) {
          const near = closest(t.value, CONTEXT_NAMES);
          throw new ExprSyntaxError(`unknown context "$${t.value}"`, t.start, t.end, near ? `did you mean "$${near}"?` : `context names: ${CONTEXT_NAMES.map((n) => '$' + n).join(', ')}`);
        }
        return { kind: 'context', name: t.value as ContextName, start: t.start, end: t.end };
      }
      case 'keyword':
        if (t.value === 'true' || t.value === 'false') return { kind: 'literal', value: t.value === 'true', start: t.start, end: t.end };
        if (t.value === 'null') return { kind: 'literal', value: null, start: t.start, end: t.end };
        throw this.unexpected(t, 'a value');
      case 'ident':
        return this.identifier(t);
      case 'op':
        if (t.value === '(') {
          const inner = this.expression();
          const close = this.expectOp(')', '")"');
          return { ...inner, start: t.start, end: close.end };
        }
        if (t.value === '[') return this.list(t);
        throw this.unexpected(t, 'a value');
      default:
        throw this.unexpected(t, 'a value');
    }
  }

  private identifier(t: Token): Expr {
    if (this.isOp('(')) {
      this.next();
      const args = this.items(')');
      const close = this.expectOp(')', '"," or ")"');
      return { kind: 'call', name: t.value, args, nameEnd: t.end, start: t.start, end: close.end };
    }
    if (this.opts.valueMaps?.has(t.value) && this.isOp('[')) {
      this.next();
      const key = this.expression();
      const close = this.expectOp(']', '"]"');
      return { kind: 'lookup', map: t.value, key, mapEnd: t.end, start: t.start, end: close.end };
    }
    // a (possibly dotted) field path: Account.Name is the flat key "Account.Name"
    let path = t.value;
    let end = t.end;
    if (FORBIDDEN_KEYS.has(path)) throw new ExprSyntaxError(`"${path}" is not allowed as a name`, t.start, t.end);
    while (this.isOp('.')) {
      const dot = this.next();
      const seg = this.next();
      if (seg.type !== 'ident' && seg.type !== 'keyword') throw this.unexpected(seg, 'a field name after "."');
      if (seg.start !== dot.end || dot.start !== end) throw new ExprSyntaxError('no spaces are allowed inside a field path', dot.start, seg.end);
      if (FORBIDDEN_KEYS.has(seg.value)) throw new ExprSyntaxError(`"${seg.value}" is not allowed as a name`, seg.start, seg.end);
      path += '.' + seg.value;
      end = seg.end;
    }
    return { kind: 'field', path, start: t.start, end };
  }

  private list(open: Token): Expr {
    const items = this.items(']');
    const close = this.expectOp(']', '"," or "]"');
    return { kind: 'list', items, start: open.start, end: close.end };
  }

  private items(closer: string): Expr[] {
    const items: Expr[] = [];
    if (this.isOp(closer)) return items;
    for (;;) {
      items.push(this.expression());
      if (!this.isOp(',')) return items;
      this.next();
    }
  }

  private postfix(e: Expr): Expr {
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const name = this.next();
        if (name.type !== 'ident' && name.type !== 'keyword') throw this.unexpected(name, 'a key name after "."');
        if (FORBIDDEN_KEYS.has(name.value)) throw new ExprSyntaxError(`"${name.value}" is not allowed as a key`, name.start, name.end, 'only data keys can be read');
        e = { kind: 'member', object: e, name: name.value, nameStart: name.start, start: e.start, end: name.end };
      } else if (this.isOp('[')) {
        this.next();
        const index = this.expression();
        const close = this.expectOp(']', '"]"');
        e = { kind: 'index', object: e, index, start: e.start, end: close.end };
      } else if (this.isOp('(')) {
        throw new ExprSyntaxError('only standard-library functions can be called', this.peek().start, this.peek().end);
      } else {
        return e;
      }
    }
  }

  private template(t: Token): Expr {
    const parts: Array<string | Expr> = [];
    for (const chunk of t.chunks ?? []) {
      if (chunk.text !== undefined) parts.push(chunk.text);
      else if (chunk.expr) {
        const sub = new Parser(this.text, chunk.expr.start, chunk.expr.end, this.opts);
        sub.depth = this.depth;
        parts.push(sub.parseAll());
      }
    }
    return { kind: 'template', parts, start: t.start, end: t.end };
  }
}

const HINTS: Record<string, string> = {
  '=': 'compare with ==',
  '&&': 'use "and"',
  '||': 'use "or", or ?? for a fallback value',
  '!': 'use "not"',
  '&': 'concatenate strings with +',
  '|': 'use "or"',
  '?': 'write conditionals as: if COND then A else B',
  ':': 'write conditionals as: if COND then A else B',
  '{': 'objects are not values here; use a value map under values:',
};
