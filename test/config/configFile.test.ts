import fc from 'fast-check';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../../lib/config.js';
import { checkConfig } from '../../lib/configCheck.js';
import { isCosellError } from '../../lib/errors.js';
import { formatProblem } from '../../lib/problems.js';
import { loadUsers } from '../../console/users.js';
import { loadMappingFile } from '../../mappings/index.js';
import { loadPolicy } from '../../rules/policy.js';
import { loadSandboxConfig } from '../../app/sandboxConfig.js';
import { tempDir } from '../helpers/tmp.js';

/** Every admin-written file that cannot be read is reported the same way: where, what, why, how to fix. */
const THROWING = [
  { name: 'network', load: loadNetwork, error: 'COSELL_CONFIG_INVALID', code: 'CONFIG_FILE', what: 'network file' },
  { name: 'policy', load: loadPolicy, error: 'COSELL_RULES_INVALID', code: 'CONFIG_RULES_MISSING', what: 'policy file' },
  { name: 'console users', load: loadUsers, error: 'COSELL_CONFIG_INVALID', code: 'CONSOLE_USERS_INVALID', what: 'console users file' },
  { name: 'sandbox', load: loadSandboxConfig, error: 'COSELL_CONFIG_INVALID', code: 'SANDBOX_CONFIG_INVALID', what: 'sandbox network file' },
] as const;

const shape = (file: string, code: string, what: string, reason: string) => new RegExp(`^${escape(file)}:1:1: ${code}: cannot read ${what} ${escape(file)} \\(${reason}\\)\\n    hint: \\S`);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('reading config files: one way to say a file cannot be read', () => {
  const dir = tempDir('cosell-config-file-');
  const folder = path.join(dir, 'a folder.yaml');
  mkdirSync(folder);

  for (const l of THROWING) {
    it(`${l.name}: a missing file and a directory are positioned problems in the thrown error`, () => {
      for (const [file, reason] of [[path.join(dir, 'missing.yaml'), 'ENOENT'], [folder, 'EISDIR']] as const) {
        let thrown: unknown;
        try {
          l.load(file);
        } catch (e) {
          thrown = e;
        }
        expect(isCosellError(thrown, l.error), String(thrown)).toBe(true);
        expect((thrown as Error).message).toMatch(shape(file, l.code, l.what, reason));
      }
    });
  }

  it('mappings and the whole-configuration check return the same problem instead of throwing', () => {
    const file = path.join(dir, 'missing.yaml');
    expect(loadMappingFile(file).problems.map(formatProblem)).toEqual([expect.stringMatching(shape(file, 'MAP_FILE', 'mapping file', 'ENOENT'))]);
    expect(checkConfig(file).problems.map(formatProblem)).toEqual([expect.stringMatching(shape(file, 'CONFIG_FILE', 'network file', 'ENOENT'))]);
  });

  it('property: whatever the file is called, the message names it exactly and nothing is created', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/[/\0]/.test(s) && s !== '.' && s !== '..'), fc.constantFrom(...THROWING), (name, l) => {
        const file = path.join(dir, 'nowhere', name);
        expect(() => l.load(file)).toThrow(shape(file, l.code, l.what, 'ENOENT'));
        expect(existsSync(path.join(dir, 'nowhere'))).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
