/**
 * The expression language's syntax tree. Every node carries its [start, end) offsets in the expression
 * text, so the loader can turn any problem into file:line:col.
 */
export type Scalar = string | number | boolean | null;

export interface Span {
  start: number;
  end: number;
}

export type ContextName = 'partner' | 'vendor' | 'registration' | 'link' | 'now';
export const CONTEXT_NAMES: readonly ContextName[] = ['partner', 'vendor', 'registration', 'link', 'now'];

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or' | '??' | 'in';
export type UnaryOp = '-' | 'not';

export type Expr =
  | ({ kind: 'literal'; value: Scalar } & Span)
  /** A source field; `path` is the flat key, dotted for relationship paths (`Account.Name`). */
  | ({ kind: 'field'; path: string } & Span)
  | ({ kind: 'context'; name: ContextName } & Span)
  /** `obj.name` on a context object (own data keys only). */
  | ({ kind: 'member'; object: Expr; name: string; nameStart: number } & Span)
  /** `obj[index]`: list element or context key. */
  | ({ kind: 'index'; object: Expr; index: Expr } & Span)
  /** `valuemap[key]` where `valuemap` is declared under `values:`. */
  | ({ kind: 'lookup'; map: string; key: Expr; mapEnd: number } & Span)
  | ({ kind: 'list'; items: Expr[] } & Span)
  | ({ kind: 'unary'; op: UnaryOp; operand: Expr } & Span)
  | ({ kind: 'binary'; op: BinaryOp; left: Expr; right: Expr } & Span)
  | ({ kind: 'cond'; test: Expr; then: Expr; else: Expr } & Span)
  | ({ kind: 'call'; name: string; args: Expr[]; nameEnd: number } & Span)
  | ({ kind: 'template'; parts: Array<string | Expr> } & Span);

/** Names that would reach into JavaScript's object model; rejected wherever a key is named. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Visit every node (pre-order). */
export function walk(e: Expr, visit: (e: Expr) => void): void {
  visit(e);
  switch (e.kind) {
    case 'member':
      walk(e.object, visit);
      break;
    case 'index':
      walk(e.object, visit);
      walk(e.index, visit);
      break;
    case 'lookup':
      walk(e.key, visit);
      break;
    case 'list':
      e.items.forEach((i) => walk(i, visit));
      break;
    case 'unary':
      walk(e.operand, visit);
      break;
    case 'binary':
      walk(e.left, visit);
      walk(e.right, visit);
      break;
    case 'cond':
      walk(e.test, visit);
      walk(e.then, visit);
      walk(e.else, visit);
      break;
    case 'call':
      e.args.forEach((a) => walk(a, visit));
      break;
    case 'template':
      e.parts.forEach((p) => typeof p !== 'string' && walk(p, visit));
      break;
    default:
      break;
  }
}
