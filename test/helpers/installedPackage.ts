import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this test tree belongs to. */
export const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface InstalledPackage {
  /** A fresh project directory with cosell installed in its node_modules. */
  project: string;
  /** node_modules/cosell inside it. */
  packageDir: string;
  /** node_modules/.bin/cosell, as npm links it. */
  bin: string;
  tarball: string;
  /** The tarball's file list, as `npm pack --json` reports it. */
  files: string[];
  /** The runtime dependencies made available to it (everything else, tsx included, is absent). */
  runtime: string[];
}

/**
 * cosell as a user gets it, without the internet: `npm run build` (skipped when dist/ is current),
 * `npm pack`, the tarball unpacked into `<project>/node_modules/cosell` with its bin linked, and each
 * package the checkout's lockfile marks as a runtime one (not `dev`) symlinked from the checkout's
 * node_modules (the checkout's own resolution of them, without a download). Development-only
 * packages (tsx, @temporalio/testing, vitest, typescript…) are not there, so anything the package
 * still needs from them fails to load.
 */
export function installPackage(): InstalledPackage {
  execFileSync(process.execPath, [path.join(CHECKOUT, 'scripts', 'build.mjs')], { cwd: CHECKOUT, stdio: 'pipe' });
  const root = mkdtempSync(path.join(os.tmpdir(), 'cosell-package-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], { cwd: CHECKOUT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = path.join(root, packed[0].filename);
  const project = path.join(root, 'project');
  const modules = path.join(project, 'node_modules');
  const packageDir = path.join(modules, 'cosell');
  mkdirSync(packageDir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
  const lock = JSON.parse(readFileSync(path.join(CHECKOUT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const runtime: string[] = [];
  const checkoutModules = realpathSync(path.join(CHECKOUT, 'node_modules'));
  for (const [key, entry] of Object.entries(lock.packages)) {
    // Top-level entries only: nested ones live inside their parent's folder and come with it.
    const name = key.startsWith('node_modules/') ? key.slice('node_modules/'.length) : undefined;
    if (!name || name.includes('/node_modules/') || entry.dev) continue;
    const target = path.join(checkoutModules, name);
    if (!existsSync(target)) continue; // an optional dependency for another platform
    mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    symlinkSync(target, path.join(modules, name), 'dir');
    runtime.push(name);
  }
  const pkg = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  mkdirSync(path.join(modules, '.bin'));
  const bin = path.join(modules, '.bin', 'cosell');
  symlinkSync(path.join('..', 'cosell', pkg.bin.cosell), bin);
  return { project, packageDir, bin, tarball, files: packed[0].files.map((f) => f.path), runtime };
}
