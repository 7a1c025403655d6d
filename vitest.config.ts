import { readFileSync } from 'node:fs';
import path from 'node:path';
import { globSync } from 'tinyglobby';
import { defineConfig } from 'vitest/config';

/**
 * Two kinds of test file, told apart by what they touch:
 * - **system** files drive real processes — the Temporal dev server, the sandbox CRMs, workers, the
 *   CLI, PostgreSQL, Chromium — or change process-wide state (environment variables, mocks). Each runs
 *   in a fresh process (isolate), beside the others: most of their time is spent waiting on I/O.
 * - **unit** files are pure: they share one module cache per worker (isolate: false), which saves
 *   re-importing the engine's dependencies ~60 times (seconds of CPU each on a 2-core CI machine).
 * A file is a system file if it, or a test helper it imports (transitively), mentions any of these;
 * a unit file that starts to need one of them moves by itself.
 */
const SYSTEM = /helpers\/(temporal|sandbox|network|registrations|linkWorker|cli|postgres|failingWorkflow)|inject\(|child_process|startSandbox|startTestSandbox|@temporalio\/|process\.env\.[A-Z_]+ *=|process\.env\[|vi\.mock|vi\.stubEnv|chromium|playwright|nock|Connection|globalThis/;
const ROOT = import.meta.dirname;
const verdicts = new Map<string, boolean>();
function touchesSystem(file: string): boolean {
  const known = verdicts.get(file);
  if (known !== undefined) return known;
  verdicts.set(file, false); // an import cycle adds nothing
  const text = readFileSync(file, 'utf8');
  // Only the test tree's own helpers are followed: product modules are what the unit files test.
  const helpers = [...text.matchAll(/from '(\.[^']+)\.js'/g)].map((m) => path.resolve(path.dirname(file), `${m[1]}.ts`)).filter((f) => f.startsWith(path.join(ROOT, 'test') + path.sep));
  const verdict = SYSTEM.test(text) || helpers.some(touchesSystem);
  verdicts.set(file, verdict);
  return verdict;
}
const files = globSync('test/**/*.test.ts', { cwd: ROOT }).sort();
const unit = files.filter((f) => !touchesSystem(path.join(ROOT, f)));
const system = files.filter((f) => !unit.includes(f));

/**
 * The workspace packages (@cosell/sandbox, …) resolve to this checkout's sources, as tsc and tsx do
 * through tsconfig.json's `paths`: node_modules/@cosell/* is npm's link to the main checkout's folder,
 * which a worktree must not run, and a package's own exports point at its build.
 */
const tsconfigPaths = (JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
const alias = Object.entries(tsconfigPaths).map(([name, [target]]) => ({ find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`), replacement: path.join(ROOT, target) }));

export default defineConfig({
  resolve: { alias },
  test: {
    exclude: ['node_modules/**', '.temporal/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Three files at a time on two cores: the system files mostly wait (on Temporal, a CRM, a worker
    // process), and vitest's default (cores − 1 = one file at a time) left CI at ~26 minutes.
    maxWorkers: 3,
    projects: [
      { extends: true, test: { name: 'unit', include: unit, isolate: false } },
      // One real Temporal dev server per run, shared by every system file (see test/globalSetup.ts).
      { extends: true, test: { name: 'system', include: system, globalSetup: ['test/globalSetup.ts'] } },
    ],
  },
});
