import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { checkConfig } from '../../lib/configCheck.js';
import { cosell, fixture, FIXTURE_ENV, STACK_TRACE, type Fixture } from './fixture.js';

// Adversarial configurations: a valid network / mapping / policy mutated at random (keys deleted,
// values of another type, random strings, lines dropped or garbled). Whatever the damage, the offline
// check never throws: it returns success or positioned problems — and the CLI (`cosell validate`,
// `cosell worker` with Temporal down) never prints a stack trace.

type Texts = Fixture['texts'];
type Which = keyof Texts;
type PathKey = string | number;

const junk = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', '*x', '&a', '${NOPE}', 'env:', 'file:', 'file:/', 'env:UNSET_VAR_XYZ', '{', '[', ': :', '"', "'", '#', '- -', '!!binary x', '\t', '~', '0x1F', '1e999', '-1', 'null'),
);
const value = fc.oneof(junk, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(junk, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), junk, { maxKeys: 2 }));

type Mutation =
  | { kind: 'delete'; pick: number }
  | { kind: 'set'; pick: number; value: unknown }
  | { kind: 'rename'; pick: number; name: string }
  | { kind: 'line-delete'; pick: number }
  | { kind: 'insert'; pick: number; text: string }
  | { kind: 'truncate'; pick: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), pick: fc.nat(), value }),
  fc.record({ kind: fc.constant('rename' as const), pick: fc.nat(), name: fc.string({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('line-delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), pick: fc.nat(), text: junk }),
  fc.record({ kind: fc.constant('truncate' as const), pick: fc.nat() }),
);

function paths(v: unknown, prefix: PathKey[] = []): PathKey[][] {
  if (v === null || typeof v !== 'object') return [];
  const out: PathKey[][] = [];
  for (const [k, x] of Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v)) {
    out.push([...prefix, k], ...paths(x, [...prefix, k]));
  }
  return out;
}

function mutate(text: string, m: Mutation): string {
  if (m.kind === 'line-delete') {
    const lines = text.split('\n');
    lines.splice(m.pick % lines.length, 1);
    return lines.join('\n');
  }
  if (m.kind === 'insert') {
    const at = m.pick % (text.length + 1);
    return text.slice(0, at) + m.text + text.slice(at);
  }
  if (m.kind === 'truncate') return text.slice(0, m.pick % (text.length + 1));
  const doc = parseDocument(text);
  if (doc.errors.length) return text; // an earlier text mutation broke it: keep that
  const js = doc.toJS() as unknown;
  const all = paths(js);
  if (all.length === 0) return text;
  const p = all[m.pick % all.length];
  const parent = p.length === 1 ? js : p.slice(0, -1).reduce<any>((o, k) => o[k], js);
  const key = p[p.length - 1];
  if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (m.kind === 'set') parent[key] = m.value;
  else if (!Array.isArray(parent)) {
    parent[m.name] = parent[key];
    delete parent[key];
  }
  return stringify(js);
}

const damage = fc.record({ which: fc.constantFrom<Which>('network', 'mapping', 'rules'), mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }) });

function damaged(f: Fixture, d: { which: Which; mutations: Mutation[] }): Texts {
  return { ...f.texts, [d.which]: d.mutations.reduce(mutate, f.texts[d.which]) };
}

const POSITIONED = /^\s*\/\S+:\d+:\d+: [A-Z][A-Z_]+: \S/m;

describe('randomly damaged configurations', () => {
  it('the offline check never throws: success, or every error positioned in one of the files', () => {
    const f = fixture();
    const files = [f.network, f.mapping, f.rules];
    fc.assert(
      fc.property(damage, (d) => {
        f.write(damaged(f, d));
        const { loaded, problems } = checkConfig(f.network, { env: FIXTURE_ENV });
        const errors = problems.filter((p) => p.severity === 'error');
        if (!loaded) expect(errors.length).toBeGreaterThan(0);
        for (const p of problems) {
          // a problem points into a file of the configuration (or a file it names that is unreadable)
          expect(typeof p.file).toBe('string');
          expect(files.includes(p.file) || p.code === 'MAP_FILE' || p.code === 'MAP_SCHEMA').toBe(true);
          expect(p.line).toBeGreaterThanOrEqual(1);
          expect(p.col).toBeGreaterThanOrEqual(1);
          expect(p.code).toMatch(/^[A-Z][A-Z_]+$/);
          expect(p.message.trim().length).toBeGreaterThan(0);
        }
      }),
      // found by this test: an alias without its anchor made the network loader throw (seed -1787615254)
      { numRuns: 300, examples: [[{ which: 'network', mutations: [{ kind: 'insert', pick: 1984194475, text: '*' }] }], [{ which: 'rules', mutations: [{ kind: 'insert', pick: 40, text: '*x' }] }]] },
    );
  });

  it('cosell validate --offline and cosell worker (Temporal down) never crash: exit 0/2 and 1/2, a positioned problem or a clean result', async () => {
    const seed = Number(process.env.COSELL_FUZZ_SEED ?? Date.now() % 2 ** 31); // replay: COSELL_FUZZ_SEED=<seed>
    const samples = fc.sample(damage, { numRuns: 4, seed });
    for (const d of samples) {
      const f = fixture();
      f.write(damaged(f, d));
      // in the fixture's folder: a mutation that drops ledger: must not put the default ledger into the repository
      const [validate, worker] = await Promise.all([cosell(['validate', '--offline', '--config', f.network], {}, 90_000, f.dir), cosell(['worker', '--config', f.network], {}, 90_000, f.dir)]);
      const context = `seed ${seed}: ${JSON.stringify(d)}\n${validate.stdout}${validate.stderr}\n${worker.stderr}`;
      for (const r of [validate, worker]) expect(r.stdout + r.stderr, context).not.toMatch(STACK_TRACE);
      expect([0, 2], context).toContain(validate.status);
      if (validate.status === 2) expect(validate.stdout, context).toMatch(POSITIONED);
      if (worker.status === 2) expect(worker.stderr, context).toMatch(POSITIONED);
      else {
        // the configuration passed: the worker went on to connect, and said clearly that it could not
        expect(worker.status, context).toBe(1);
        expect(worker.stderr, context).toMatch(/^cosell: COSELL_TEMPORAL_UNREACHABLE: /m);
      }
      // the worker checks everything validate --offline does (and the credentials too)
      if (validate.status === 2) expect(worker.status, context).toBe(2);
    }
  }, 240_000); // 8 CLI processes on a shared 2-core machine
});
