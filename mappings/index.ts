/**
 * The mapping engine's public surface. The sync engine loads a mapping once per link and calls
 * `filter`, `apply` and `matchKey` for every record; the CLI validates and previews.
 */
export { loadMappingFile, parseMapping, type LoadOptions, type LoadResult } from './file/loader.js';
export { mappingFileSchema, mappingJsonSchema, type MappingFile } from './file/schema.js';
export { formatProblem, formatProblems, hasErrors, type ProblemCode } from './problems.js';
export { readSchemaSnapshot } from './snapshots.js';
export { compileCondition, type ConditionOptions } from './condition.js';
export { previewMapping, type PreviewRow, type PreviewChange, type PreviewGate, type PreviewOptions } from './preview.js';
export { EvalError } from './lang/runtime.js';
export type { ApplyResult, CompiledMapping, FieldError, FieldPolicy, MappingContext, Owner, Problem, Severity } from './types.js';
