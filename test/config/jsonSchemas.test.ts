import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { networkSchema } from '../../lib/config.js';
import { CONFIG_SCHEMAS, configJsonSchema } from '../../lib/jsonSchemas.js';
import { codePath } from '../../lib/packagePaths.js';
import { policySchema } from '../../rules/policy.js';

/**
 * JSON Schemas for network.yaml and roe.yaml (lib/jsonSchemas.ts): the committed files are what the
 * zod schemas generate, the examples point editors at them and pass them, and the JSON Schema never
 * rejects a file the loader accepts (property: random edits of the examples). Prints its seed; replay
 * with COSELL_PROP_SEED=<seed>.
 */
const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
const EXAMPLES = {
  network: { file: codePath('examples/network.yaml'), zod: networkSchema, ref: '../lib/network.schema.json' },
  roe: { file: codePath('examples/roe.yaml'), zod: policySchema, ref: '../rules/roe.schema.json' },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = { network: ajv.compile(configJsonSchema('network')), roe: ajv.compile(configJsonSchema('roe')) };

describe('JSON Schemas of network.yaml and roe.yaml', () => {
  it.each(['network', 'roe', 'mapping'] as const)('the committed %s schema is what the zod schema generates (regenerate: cosell schema KIND --out FILE)', (kind) => {
    expect(readFileSync(CONFIG_SCHEMAS[kind].file, 'utf8')).toBe(JSON.stringify(configJsonSchema(kind), null, 2) + '\n');
  });

  it.each(['network', 'roe'] as const)('examples/%s.yaml names its schema on line 1 and is valid against it', (kind) => {
    const { file, ref } = EXAMPLES[kind];
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=${ref}`);
    expect(path.resolve(path.dirname(file), ref)).toBe(CONFIG_SCHEMAS[kind].file);
    const ok = validators[kind](parseYaml(text));
    expect(validators[kind].errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it.each(['network', 'roe'] as const)('%s: an unknown key or a wrong type is rejected by the JSON Schema, as by the loader', (kind) => {
    const doc = parseYaml(readFileSync(EXAMPLES[kind].file, 'utf8')) as Record<string, unknown>;
    for (const bad of [{ ...doc, typoKey: 1 }, kind === 'network' ? { ...doc, links: 'acme-deals' } : { ...doc, version: 2 }]) {
      expect(validators[kind](bad)).toBe(false);
      expect(EXAMPLES[kind].zod.safeParse(bad).success).toBe(false);
    }
  });

  it.each(['network', 'roe'] as const)('%s (property): what the JSON Schema rejects, the loader rejects too — an editor never flags a file cosell runs', (kind) => {
    console.log(`json schema property (${kind}): seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/config/jsonSchemas.test.ts)`);
    const doc = parseYaml(readFileSync(EXAMPLES[kind].file, 'utf8')) as unknown;
    const paths: Array<Array<string | number>> = [];
    const walk = (v: unknown, p: Array<string | number>) => {
      paths.push(p);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
    };
    walk(doc, []);
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}), fc.double({ noNaN: true }));
    const edit = fc.record({ at: fc.nat({ max: paths.length - 1 }), op: fc.constantFrom('set', 'delete', 'add'), value, key: fc.constantFrom('x', 'enabled', 'id', 'name', 'extra') });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        const copy = structuredClone(doc) as Record<string, unknown>;
        for (const e of edits) {
          const p = paths[e.at];
          if (p.length === 0) continue;
          let parent: unknown = copy;
          for (const k of p.slice(0, -1)) parent = (parent as Record<string | number, unknown> | undefined)?.[k];
          if (!parent || typeof parent !== 'object') continue;
          const last = p[p.length - 1];
          const target = parent as Record<string | number, unknown>;
          if (e.op === 'set') target[last] = e.value;
          else if (e.op === 'delete') delete target[last];
          else if (target[last] && typeof target[last] === 'object' && !Array.isArray(target[last])) (target[last] as Record<string, unknown>)[e.key] = e.value;
        }
        const editor = validators[kind](copy);
        const loader = EXAMPLES[kind].zod.safeParse(copy).success;
        if (!editor) expect(loader, JSON.stringify(validators[kind].errors?.slice(0, 2))).toBe(false);
      }),
      { seed, numRuns: 300 },
    );
  });
});
