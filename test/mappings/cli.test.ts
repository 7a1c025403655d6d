import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMAS, STOCK } from './helpers.js';

/** The CLI end to end, in as few process starts as possible (each costs seconds on a busy machine). */
const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;
const cosell = (...args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8' });
const STOCK_FILES = ['hubspot-deal-to-salesforce-opportunity', 'salesforce-opportunity-to-hubspot-deal', 'hubspot-company-to-salesforce-account', 'salesforce-account-to-hubspot-company'].map((f) => `${STOCK}${f}.yaml`);
const EXAMPLE = 'examples/mappings/partner-deal-to-vendor-opportunity.yaml';

describe('cosell mapping (CLI)', () => {
  it('validate: the stock mappings and the example are ok (exit 0)', () => {
    const r = cosell('mapping', 'validate', ...STOCK_FILES, EXAMPLE);
    expect(r.stderr).toBe([...STOCK_FILES, EXAMPLE].map((f) => `${f}: ok\n`).join(''));
    expect(r.status).toBe(0);
  });

  it('validate: prints every problem of every file as file:line:col, exits 2; --schema supplies snapshots', () => {
    const yamlError = 'test/mappings/fixtures/yaml-error.yaml';
    const untyped = 'test/mappings/cli-fixtures/untyped.yaml';
    const r = cosell('mapping', 'validate', yamlError, '/nonexistent.yaml', untyped, '--schema', `${SCHEMAS}hubspot-deals.json`, `${SCHEMAS}salesforce-opportunity.json`, '--quiet');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').filter((l) => /^\S+:\d+:\d+: MAP_/.test(l))).toEqual([
      `${yamlError}:8:33: MAP_YAML: Unexpected scalar at node end`,
      '/nonexistent.yaml:1:1: MAP_FILE: cannot read mapping file /nonexistent.yaml (ENOENT)',
      `${untyped}:7:11: MAP_TYPE: Amount is currency (currency) but this value is text or null`,
      `${untyped}:8:14: MAP_TYPE: CloseDate is date (date) but this value is datetime or null`,
    ]);
    expect(r.stderr).toContain(`${untyped}: 2 errors\n`);
  });

  it('schema: the committed mapping.schema.json is what the zod schema generates', () => {
    const r = cosell('mapping', 'schema');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(new URL('../../mappings/mapping.schema.json', import.meta.url), 'utf8'));
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['mapping', 'source', 'target', 'match', 'filter', 'fields', 'values', 'defaults']));
    expect(schema.required).toEqual(expect.arrayContaining(['mapping', 'source', 'target', 'match', 'fields']));
  });

  it('every stock mapping and the example point editors at the JSON Schema', () => {
    for (const f of STOCK_FILES) expect(readFileSync(f, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../mapping.schema.json');
    expect(readFileSync(EXAMPLE, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../../mappings/mapping.schema.json');
  });
});
