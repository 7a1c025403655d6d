import { readFileSync } from 'node:fs';
import type { Fields, ObjectSchema } from '../../connectors/types.js';
import type { Scalar } from '../../mappings/lang/ast.js';
import { compileExpression } from '../../mappings/lang/compile.js';
import { interpret } from '../../mappings/lang/interpret.js';
import { parseExpression } from '../../mappings/lang/parser.js';
import { EvalError, type Value } from '../../mappings/lang/runtime.js';
import { compileEnv } from '../../mappings/file/build.js';
import type { MappingContext } from '../../mappings/types.js';

export const STOCK = new URL('../../mappings/stock/', import.meta.url).pathname;
export const SCHEMAS = new URL('../../mappings/schemas/', import.meta.url).pathname;

export function snapshot(name: string): ObjectSchema {
  return JSON.parse(readFileSync(SCHEMAS + name, 'utf8')) as ObjectSchema;
}

export const NOW = new Date('2026-11-22T10:00:00.000Z');
export const CTX: MappingContext = {
  partner: { id: 'acme', name: 'Acme Consulting', tier: 'gold', roles: ['sourcing'] },
  vendor: { id: 'vendor', name: 'Vendor Inc' },
  registration: { status: 'approved', expiresAt: '2027-02-20T00:00:00.000Z', role: 'services' },
  now: NOW,
};

export interface EvalOptions {
  schema?: ObjectSchema;
  valueMaps?: Record<string, Record<string, Scalar>>;
  ctx?: MappingContext;
}

/** Compiles and runs one expression; returns the value, or { error } for a per-record failure. */
export function run(text: string, record: Fields = {}, opts: EvalOptions = {}): Value | { error: string } {
  const maps = new Map(Object.entries(opts.valueMaps ?? {}).map(([k, v]) => [k, new Map(Object.entries(v))]));
  const parsed = parseExpression(text, { valueMaps: new Set(maps.keys()) });
  if (parsed.error) throw new Error(`syntax: ${parsed.error.message}`);
  const fn = compileExpression(parsed.expr, compileEnv(opts.schema, maps));
  try {
    return fn(record, opts.ctx ?? CTX);
  } catch (e) {
    if (e instanceof EvalError) return { error: e.message };
    throw e;
  }
}

export function runInterpreted(text: string, record: Fields = {}, opts: EvalOptions = {}): Value | { error: string } {
  const maps = new Map(Object.entries(opts.valueMaps ?? {}).map(([k, v]) => [k, new Map(Object.entries(v))]));
  const parsed = parseExpression(text, { valueMaps: new Set(maps.keys()) });
  if (parsed.error) throw new Error(`syntax: ${parsed.error.message}`);
  try {
    return interpret(parsed.expr, record, opts.ctx ?? CTX, compileEnv(opts.schema, maps));
  } catch (e) {
    if (e instanceof EvalError) return { error: e.message };
    throw e;
  }
}
