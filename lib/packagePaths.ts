import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where cosell's own files are, the one place that knows the two ways it runs:
 * - from a checkout, its TypeScript sources through tsx (`npm start`, the tests): this file is
 *   `<checkout>/lib/packagePaths.ts`;
 * - as an installed package, the build in dist/ (`npm install cosell`, `npx cosell`): this file is
 *   `<package>/dist/lib/packagePaths.js`, and dist/ holds the non-TypeScript assets at the same
 *   relative places (scripts/build.mjs copies them), so `../mappings/stock/…` in an example resolves
 *   the same way in both.
 */
const here = fileURLToPath(import.meta.url);

/** Running the TypeScript sources (a checkout), not the compiled package. */
export const FROM_SOURCE = here.endsWith('.ts');

/** The root of the code tree: the checkout, or the package's dist/. Assets are looked up from here. */
export const CODE_ROOT = path.resolve(path.dirname(here), '..');

/** The directory holding cosell's package.json (the checkout, or the installed package). */
export const PACKAGE_ROOT = FROM_SOURCE ? CODE_ROOT : path.dirname(CODE_ROOT);

/**
 * Where cosell keeps local state (`.cosell/` for the demo, `.temporal/` for a Temporal CLI it
 * installs): the checkout, as always; for an installed package the directory it is run in — never
 * the package itself, which may be read-only and is replaced on every upgrade.
 */
export const STATE_ROOT = FROM_SOURCE ? PACKAGE_ROOT : process.cwd();

/** A file or folder of cosell's own code tree (an example, a stock mapping, a JSON Schema). */
export const codePath = (...parts: string[]): string => path.join(CODE_ROOT, ...parts);

/** A path under STATE_ROOT (`.cosell/…`, `.temporal/…`). */
export const statePath = (...parts: string[]): string => path.join(STATE_ROOT, ...parts);

/**
 * Node's arguments for a child process that imports cosell modules: tsx's loader when running from
 * source, nothing for the compiled package (which does not depend on tsx).
 */
export const CHILD_EXEC_ARGV: readonly string[] = FROM_SOURCE ? ['--import', 'tsx'] : [];
