// @ts-check
import tseslint from 'typescript-eslint';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** The product's folders (what the package build compiles) but the entry point cli/ and app/ itself. */
const PRODUCT_FOLDERS = JSON.parse(readFileSync(new URL('tsconfig.build.json', import.meta.url), 'utf8')).include.filter((/** @type {string} */ f) => f !== 'cli' && f !== 'app');
const NO_APP = { group: ['**/app/*', '**/app'], message: 'app/ is start-up wiring: the product does not import it (take what you need as a parameter, or move it to lib/).' };

export default tseslint.config(
  { ignores: ['node_modules/**', '.temporal/**', 'bench/results/**', 'coverage/**', '**/dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    // app/ is start-up wiring (app/README.md): it imports the product's parts, never the other way round —
    // only the entry points (cli/, bin/) and bench/ and test/ import it.
    files: PRODUCT_FOLDERS.map((f) => `${f}/**/*.ts`),
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_APP] }] },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, and activities by type only
    // (as in temporalio/samples-typescript).
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not import Node built-ins; do it in an activity.' })),
          patterns: [
            NO_APP,
            {
              group: ['**/activities/**', '../activities/*', '../activities'],
              allowTypeImports: true,
              message: 'Workflows import activity types only: use `import type` and proxyActivities.',
            },
          ],
        },
      ],
    },
  },
);
