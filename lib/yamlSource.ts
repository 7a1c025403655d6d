import { isNode, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import type { ProblemCode } from './errors.js';
import type { Problem } from './problems.js';

/**
 * YAML with source positions, shared by every config-like file (network, mappings, rules): parse
 * once, then turn any path into `file:line:col` so each problem tells the admin exactly where.
 */
export class YamlSource {
  readonly doc: Document;
  readonly lines = new LineCounter();
  readonly problems: Problem[] = [];

  constructor(readonly text: string, readonly file: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, keepSourceTokens: false, prettyErrors: false, uniqueKeys: true });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const pos = this.lines.linePos(e.pos[0]);
      this.problems.push({ file, line: pos.line, col: pos.col, code: 'YAML_SYNTAX', severity: 'error', message: e.message.split('\n')[0] });
    }
    // `*name` with no `&name` before it parses, and only throws when values are built: report it here.
    if (this.problems.length === 0) {
      const doc = this.doc;
      const problems = this.problems;
      const lines = this.lines;
      visit(doc, {
        Alias(_k, node) {
          if (node.resolve(doc) !== undefined) return;
          const pos = node.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
          problems.push({ file, ...pos, code: 'YAML_SYNTAX', severity: 'error', message: `unknown alias *${node.source}: no &${node.source} anchor before it`, hint: 'quote the value if `*` is meant literally' });
        },
      });
    }
  }

  /** The document's values; undefined (with a problem at 1:1) if the yaml library cannot build them (e.g. alias bombs). */
  toJS(): unknown {
    try {
      return this.doc.toJS();
    } catch (e) {
      this.problems.push({ file: this.file, line: 1, col: 1, code: 'YAML_SYNTAX', severity: 'error', message: (e as Error).message.split('\n')[0] });
      return undefined;
    }
  }

  /** Position of the value at `path` (or of its nearest existing ancestor). */
  position(path: ReadonlyArray<PropertyKey>, { key = false } = {}): { line: number; col: number } {
    for (let n = path.length; n >= 0; n--) {
      const sub = path.slice(0, n) as Array<string | number>;
      const node = sub.length === 0 ? this.doc.contents : this.doc.getIn(sub, true);
      if (key && n === path.length && n > 0) {
        const parent = n === 1 ? this.doc.contents : this.doc.getIn(sub.slice(0, -1), true);
        const pair = (parent as any)?.items?.find((it: any) => it?.key?.value === sub[sub.length - 1]);
        if (pair?.key?.range) return this.lines.linePos(pair.key.range[0]);
      }
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  problem(path: ReadonlyArray<PropertyKey>, code: ProblemCode, message: string, hint?: string, opts: { key?: boolean } = {}): Problem {
    const p: Problem = { file: this.file, ...this.position(path, opts), code, severity: 'error', message, hint };
    this.problems.push(p);
    return p;
  }

  /** Validate with zod; every issue becomes a positioned problem. Returns the data only if valid. */
  validate<T extends z.ZodType>(schema: T, code: ProblemCode = 'CONFIG_INVALID'): z.infer<T> | undefined {
    if (this.problems.length) return undefined;
    const js = this.toJS();
    if (this.problems.length) return undefined;
    const result = schema.safeParse(js);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) this.problem([...issue.path, k], code, `unknown key "${k}"`, 'remove it or check its spelling', { key: true });
      } else {
        this.problem(issue.path, code, `${issue.path.length ? issue.path.join('.') + ': ' : ''}${issue.message}`);
      }
    }
    return undefined;
  }
}
