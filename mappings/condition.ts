/**
 * A standalone condition in the mapping language, for expressions that live outside a mapping file —
 * e.g. a link's extra `filter:` in cosell.yaml. Same parser, checker and compiler as mappings.
 */
import type { Fields, ObjectSchema } from '../connectors/types.js';
import { compileEnv } from './file/build.js';
import { checkExpression } from './lang/check.js';
import { compileExpression } from './lang/compile.js';
import { parseExpression } from './lang/parser.js';
import { truthy } from './lang/runtime.js';
import type { MappingContext, Problem } from './types.js';

export interface ConditionOptions {
  sourceSchema?: ObjectSchema;
  /** Where the text starts, for problem positions (single-line text assumed). */
  file?: string;
  line?: number;
  col?: number;
}

export function compileCondition(text: string, opts: ConditionOptions = {}): { test?: (record: Fields, ctx: MappingContext) => boolean; problems: Problem[]; fieldsRead: string[] } {
  const at = (offset: number) => ({ file: opts.file ?? '<condition>', line: opts.line ?? 1, col: (opts.col ?? 1) + offset });
  const parsed = parseExpression(text);
  if (parsed.error) {
    const e = parsed.error;
    return { problems: [{ ...at(e.start), code: 'MAP_SYNTAX', severity: 'error', message: e.message, ...(e.hint ? { hint: e.hint } : {}) }], fieldsRead: [] };
  }
  const checked = checkExpression(parsed.expr, { source: opts.sourceSchema, valueMaps: new Map() });
  const problems: Problem[] = checked.problems.map((p) => ({ ...at(p.start), code: p.code, severity: p.severity, message: p.message, ...(p.hint ? { hint: p.hint } : {}) }));
  if (problems.some((p) => p.severity === 'error')) return { problems, fieldsRead: [...checked.fieldsRead] };
  const fn = compileExpression(parsed.expr, compileEnv(opts.sourceSchema, new Map()));
  return { test: (record, ctx) => truthy(fn(record, ctx)), problems, fieldsRead: [...checked.fieldsRead] };
}
