import { readFileSync } from 'node:fs';
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';
import { DeadLetterCodes, ErrorCodes, exitCodeOf, ProblemCodes, retryOf } from '../lib/errors.js';

/**
 * The one catalogue (lib/errors.ts) must hold every code the product sets on purpose: thrown errors,
 * the problems of admin-written files, dead letters cosell parks itself. This reads the product's
 * source for code-shaped string literals and fails on any the catalogue does not know — so a code
 * added in a hurry (a console answer, a new parked reason) cannot slip past it.
 */
const ROOT = new URL('..', import.meta.url).pathname;
const SOURCES = globSync(['**/*.ts'], { cwd: ROOT, ignore: ['node_modules/**', 'test/**', 'bench/**', '.temporal/**', '**/*.d.ts'] });
const CODE_LITERAL = /'((?:COSELL|MAP|RULES|CONFIG|YAML|CONSOLE|SANDBOX)_[A-Z0-9_]+|[A-Z]+(?:_[A-Z]+)+)'/g;

/** Environment variable names the product reads (they share the COSELL_ prefix with codes). */
function environmentNames(texts: string[]): Set<string> {
  const names = new Set<string>();
  for (const t of texts) for (const m of t.matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
  return names;
}

const catalogued = new Set([...Object.keys(ErrorCodes), ...Object.keys(ProblemCodes), ...Object.keys(DeadLetterCodes)]);

describe('the error catalogue', () => {
  const texts = SOURCES.map((f) => readFileSync(`${ROOT}${f}`, 'utf8'));
  const env = environmentNames(texts);

  it('holds every cosell code the product source names', () => {
    expect(SOURCES.length).toBeGreaterThan(100);
    const unknown = new Map<string, string>();
    SOURCES.forEach((file, i) => {
      for (const m of texts[i]!.matchAll(CODE_LITERAL)) {
        const code = m[1]!;
        const ours = /^(COSELL|MAP|RULES|CONFIG|YAML|CONSOLE|SANDBOX)_/.test(code) || /(^|[^A-Za-z])code: *$|park: *$|satisfies DeadLetterCode/.test(texts[i]!.slice(Math.max(0, m.index! - 12), m.index!) + texts[i]!.slice(m.index! + m[0].length, m.index! + m[0].length + 28));
        if (!ours || catalogued.has(code) || env.has(code) || code.startsWith('COSELL_') && env.has(code)) continue;
        if (!unknown.has(code)) unknown.set(code, file);
      }
    });
    // A code spelled inside a message in the problem format (`…:1:1: SOME_CODE: …`) counts too.
    SOURCES.forEach((file, i) => {
      for (const m of texts[i]!.matchAll(/:\d+:\d+: ([A-Z][A-Z0-9]*_[A-Z0-9_]+):/g)) if (!catalogued.has(m[1]!) && !unknown.has(m[1]!)) unknown.set(m[1]!, file);
    });
    expect(Object.fromEntries(unknown), 'add these to lib/errors.ts (ErrorCodes, ProblemCodes or DeadLetterCodes)').toEqual({});
  });

  it('keeps the three kinds apart and describes every code', () => {
    const kinds = [ErrorCodes, ProblemCodes, DeadLetterCodes].map((k) => Object.keys(k));
    expect(new Set(kinds.flat()).size).toBe(kinds.flat().length);
    for (const k of [ErrorCodes, ProblemCodes, DeadLetterCodes]) for (const [code, text] of Object.entries(k)) expect(text.length, code).toBeGreaterThan(10);
  });

  it('retryability and exit codes follow the catalogue', () => {
    expect(retryOf('COSELL_ATTRIBUTION_INVALID')).toBe('fix');
    expect(retryOf('COSELL_CRM_TRANSIENT')).toBe('retry');
    expect(retryOf('COSELL_CRM_QUOTA_EXHAUSTED')).toBe('wait');
    expect(retryOf('SOMETHING_FROM_A_NEWER_VERSION')).toBe('retry');
    expect(exitCodeOf('COSELL_CONFIG_INVALID')).toBe(2);
    expect(exitCodeOf('COSELL_LEDGER')).toBe(1);
  });
});
