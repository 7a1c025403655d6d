import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { installPinned } from './pinnedInstall.js';

/**
 * The Python clients the sandbox is tested with (simple-salesforce, hubspot-api-client), from PyPI into
 * the project-local, git-ignored `.temporal/pyclients` — installed at test time when missing, like the
 * Temporal CLI into `.temporal/py`, so `npm test` alone works on a fresh machine. Pinned in
 * test/sandbox/clients/requirements.txt; the install is redone when that file changes. A failed install
 * is an error saying what to run, never a skipped test.
 */
/** The checkout (tests always run from one). */
const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const REQUIREMENTS = path.join(PROJECT_ROOT, 'test', 'sandbox', 'clients', 'requirements.txt');
export const PY_CLIENTS_DIR = path.join(PROJECT_ROOT, '.temporal', 'pyclients');
const MARKER = '.cosell-requirements';

export interface PythonClients {
  python: string;
  /** PYTHONPATH that finds the installed clients. */
  pythonPath: string;
}

function findPython(): string {
  for (const py of ['python3', 'python']) {
    const r = spawnSync(py, ['-c', 'import sys; assert sys.version_info >= (3, 9)'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  throw new Error('the sandbox client tests need Python >= 3.9 with pip (python3 -m pip): none found on PATH');
}

export function ensurePythonClients(): PythonClients {
  const python = findPython();
  installPinned({
    dir: PY_CLIENTS_DIR,
    pins: REQUIREMENTS,
    marker: MARKER,
    what: "the sandbox's Python test clients",
    hint: `They come from PyPI; with PyPI reachable, run:\n  ${python} -m pip install --target .temporal/pyclients -r test/sandbox/clients/requirements.txt`,
    install: (tmp) => spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '--target', tmp, '-r', REQUIREMENTS], { encoding: 'utf8', timeout: 600_000 }),
  });
  return { python, pythonPath: PY_CLIENTS_DIR };
}

/** Run one client script from test/sandbox/clients/ with the installed clients; its stdout is one JSON object. */
export function runPythonClient(py: PythonClients, script: string, env: Record<string, string>): Promise<any> {
  const file = path.join(PROJECT_ROOT, 'test', 'sandbox', 'clients', script);
  return new Promise((resolve, reject) => {
    execFile(py.python, [file], { env: { ...process.env, PYTHONPATH: py.pythonPath, PYTHONDONTWRITEBYTECODE: '1', ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} failed (${String(err.code ?? err.signal)}):\n${stderr.slice(-6000)}`));
      else resolve(JSON.parse(stdout));
    });
  });
}
