import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblems, parseMapping } from '../../mappings/index.js';

/**
 * Golden tests of the error messages an admin sees: each fixture's complete output is compared with
 * golden/NAME.txt. A change in wording, position or hint shows up as a diff to review (update with
 * `npx vitest run test/mappings/golden.test.ts -u`).
 */
const dir = 'test/mappings/fixtures/';
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('golden error messages', () => {
  it('has fixtures', () => expect(fixtures.length).toBeGreaterThanOrEqual(7));

  it.each(fixtures)('%s', async (f) => {
    const r = parseMapping(readFileSync(dir + f, 'utf8'), dir + f);
    expect(r.mapping).toBeUndefined();
    expect(r.problems.length).toBeGreaterThan(0);
    const out = formatProblems(r.problems) + '\n';
    // every line starts file:line:col: CODE:
    for (const line of out.split('\n').filter((l) => l && !l.startsWith('    hint: '))) expect(line).toMatch(/^test\/mappings\/fixtures\/[\w-]+\.yaml:\d+:\d+: MAP_[A-Z_]+: /);
    await expect(out).toMatchFileSnapshot(`golden/${f.replace(/\.yaml$/, '.txt')}`);
  });
});
