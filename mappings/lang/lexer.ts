/**
 * Tokenizer for mapping expressions. It works on a slice [from, to) of the text so template
 * interpolations (`${...}`) are lexed in place and keep their real offsets.
 */
export type TokenType = 'number' | 'string' | 'template' | 'ident' | 'context' | 'op' | 'keyword' | 'eof';

export interface TemplateChunk {
  /** Literal text, already unescaped. */
  text?: string;
  /** An interpolated expression's range in the text. */
  expr?: { start: number; end: number };
}

export interface Token {
  type: TokenType;
  value: string;
  start: number;
  end: number;
  number?: number;
  chunks?: TemplateChunk[];
}

export class ExprSyntaxError extends Error {
  constructor(
    message: string,
    readonly start: number,
    readonly end: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const KEYWORDS = new Set(['and', 'or', 'not', 'if', 'then', 'else', 'true', 'false', 'null', 'in']);

const OPERATORS = ['??', '==', '!=', '<=', '>=', '&&', '||', '+', '-', '*', '/', '%', '<', '>', '(', ')', '[', ']', ',', '.', '=', '!', '&', '|', '?', ':', '{', '}'];

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

export function tokenize(text: string, from = 0, to = text.length): Token[] {
  const tokens: Token[] = [];
  let i = from;
  while (i < to) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (isDigit(c) || (c === '.' && i + 1 < to && isDigit(text[i + 1]))) {
      while (i < to && isDigit(text[i])) i++;
      if (text[i] === '.' && i + 1 < to && isDigit(text[i + 1])) {
        i++;
        while (i < to && isDigit(text[i])) i++;
      }
      if ((text[i] === 'e' || text[i] === 'E') && i + 1 < to) {
        let j = i + 1;
        if (text[j] === '+' || text[j] === '-') j++;
        if (j < to && isDigit(text[j])) {
          i = j;
          while (i < to && isDigit(text[i])) i++;
        }
      }
      if (i < to && isIdentPart(text[i])) throw new ExprSyntaxError(`malformed number "${text.slice(start, i + 1)}"`, start, i + 1);
      const raw = text.slice(start, i);
      tokens.push({ type: 'number', value: raw, number: Number(raw), start, end: i });
      continue;
    }
    if (isIdentStart(c)) {
      while (i < to && isIdentPart(text[i])) i++;
      const word = text.slice(start, i);
      tokens.push({ type: KEYWORDS.has(word) ? 'keyword' : 'ident', value: word, start, end: i });
      continue;
    }
    if (c === '$') {
      i++;
      while (i < to && isIdentPart(text[i])) i++;
      if (i === start + 1) throw new ExprSyntaxError('"$" must be followed by a context name', start, i, 'context names: $partner, $vendor, $registration, $link, $now');
      tokens.push({ type: 'context', value: text.slice(start + 1, i), start, end: i });
      continue;
    }
    if (c === '"' || c === "'") {
      const { value, end } = readString(text, i, to, c);
      tokens.push({ type: 'string', value, start, end });
      i = end;
      continue;
    }
    if (c === '`') {
      const { chunks, end } = readTemplate(text, i, to);
      tokens.push({ type: 'template', value: text.slice(start, end), chunks, start, end });
      i = end;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i) && i + o.length <= to);
    if (op) {
      tokens.push({ type: 'op', value: op, start, end: i + op.length });
      i += op.length;
      continue;
    }
    throw new ExprSyntaxError(`unexpected character ${JSON.stringify(c)}`, start, start + 1);
  }
  tokens.push({ type: 'eof', value: '', start: to, end: to });
  return tokens;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '`': '`', $: '$' };

function readString(text: string, from: number, to: number, quote: string): { value: string; end: number } {
  let i = from + 1;
  let out = '';
  while (i < to) {
    const c = text[i];
    if (c === quote) return { value: out, end: i + 1 };
    if (c === '\\') {
      const e = text[i + 1];
      if (i + 1 >= to || !(e in ESCAPES)) throw new ExprSyntaxError(`unknown escape "\\${e ?? ''}" in string`, i, Math.min(i + 2, to), 'escapes: \\n \\t \\r \\\\ \\" \\\'');
      out += ESCAPES[e];
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  throw new ExprSyntaxError('unterminated string', from, to, `close it with ${quote}`);
}

/** Reads a `...` template; `${expr}` parts are returned as ranges to be parsed by the caller. */
function readTemplate(text: string, from: number, to: number): { chunks: TemplateChunk[]; end: number } {
  const chunks: TemplateChunk[] = [];
  let i = from + 1;
  let buf = '';
  while (i < to) {
    const c = text[i];
    if (c === '`') {
      if (buf) chunks.push({ text: buf });
      return { chunks, end: i + 1 };
    }
    if (c === '\\') {
      const e = text[i + 1];
      if (i + 1 >= to || !(e in ESCAPES)) throw new ExprSyntaxError(`unknown escape "\\${e ?? ''}" in template`, i, Math.min(i + 2, to));
      buf += ESCAPES[e];
      i += 2;
      continue;
    }
    if (c === '$' && text[i + 1] === '{') {
      if (buf) chunks.push({ text: buf });
      buf = '';
      const exprStart = i + 2;
      const exprEnd = findClosingBrace(text, exprStart, to);
      if (exprEnd < 0) throw new ExprSyntaxError('unterminated "${" in template', i, to, 'close the interpolation with }');
      chunks.push({ expr: { start: exprStart, end: exprEnd } });
      i = exprEnd + 1;
      continue;
    }
    buf += c;
    i++;
  }
  throw new ExprSyntaxError('unterminated template', from, to, 'close it with `');
}

function findClosingBrace(text: string, from: number, to: number): number {
  let depth = 0;
  let i = from;
  while (i < to) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i++;
      while (i < to && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '`') {
      // a nested template: skip it whole
      i++;
      while (i < to && text[i] !== '`') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
    i++;
  }
  return -1;
}
