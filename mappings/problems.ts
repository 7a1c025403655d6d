/**
 * Stable problem codes of mapping files. Each is documented in mappings/README.md; tests and editors
 * rely on them, so never rename one.
 */
export const ProblemCodes = {
  MAP_FILE: 'the mapping file cannot be read',
  MAP_YAML: 'YAML syntax error',
  MAP_SHAPE: 'the file does not have the shape of a mapping (key missing, wrong type, unknown key)',
  MAP_SCHEMA: 'a schema snapshot is missing, unreadable or for another object',
  MAP_SYNTAX: 'an expression does not parse',
  MAP_UNKNOWN_FIELD: 'an expression reads a field the source object does not have',
  MAP_UNKNOWN_TARGET: 'a mapped target field does not exist on the target object',
  MAP_UNKNOWN_FUNCTION: 'a function that is not in the standard library',
  MAP_UNKNOWN_VALUE_MAP: 'a value map that is not declared under values:',
  MAP_ARGS: 'a function called with the wrong number of arguments',
  MAP_TYPE: 'a value of the wrong type',
  MAP_PICKLIST: 'a value the picklist/enumeration target does not allow',
  MAP_REQUIRED: 'a required target field is not mapped',
  MAP_READONLY: 'a target field that cannot be written',
  MAP_MATCH: 'the match key is not usable',
  MAP_VALUE_MAP: 'a value map entry that can never be used, or a source value it does not cover',
} as const;

export type ProblemCode = keyof typeof ProblemCodes;

export { formatProblem, formatProblems, hasErrors, sortProblems } from '../lib/problems.js';
