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
  /** The packages packed and installed beside it (@cosell/sandbox, @cosell/connector-contract), by name. */
  packages: Record<string, { packageDir: string; tarball: string; files: string[] }>;
  /** The runtime dependencies made available to it (everything else, tsx included, is absent). */
  runtime: string[];
}

/**
 * cosell as a user gets it, without the internet: `npm run build` (skipped when dist/ is current),
 * `npm pack` of cosell, of each workspace package (sandbox/ is @cosell/sandbox, which cosell depends
 * on) and of the contract suite (connector-contract/, a package but no workspace), the tarballs unpacked into `<project>/node_modules/<name>`, cosell's bin linked, and each
 * package the checkout's lockfile marks as a runtime one (not `dev`) symlinked from the checkout's
 * node_modules (the checkout's own resolution of them, without a download). Development-only
 * packages (tsx, @temporalio/testing, vitest, typescript…) are not there, so anything the package
 * still needs from them fails to load.
 */
export function installPackage(): InstalledPackage {
  execFileSync(process.execPath, [path.join(CHECKOUT, 'scripts', 'build.mjs')], { cwd: CHECKOUT, stdio: 'pipe' });
  const root = mkdtempSync(path.join(os.tmpdir(), 'cosell-package-'));
  const project = path.join(root, 'project');
  const modules = path.join(project, 'node_modules');
  const pack = (dir: string, name: string) => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = path.join(root, packed[0].filename);
    const packageDir = path.join(modules, name);
    mkdirSync(packageDir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
    return { packageDir, tarball, files: packed[0].files.map((f) => f.path) };
  };
  const manifest = JSON.parse(readFileSync(path.join(CHECKOUT, 'package.json'), 'utf8')) as { workspaces?: string[] };
  const packages = Object.fromEntries([...(manifest.workspaces ?? []), 'connector-contract'].map((dir) => {
    const name = (JSON.parse(readFileSync(path.join(CHECKOUT, dir, 'package.json'), 'utf8')) as { name: string }).name;
    return [name, pack(path.join(CHECKOUT, dir), name)];
  }));
  const { packageDir, tarball, files } = pack(CHECKOUT, 'cosell');
  const lock = JSON.parse(readFileSync(path.join(CHECKOUT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; link?: boolean }> };
  const runtime: string[] = [];
  const checkoutModules = realpathSync(path.join(CHECKOUT, 'node_modules'));
  for (const [key, entry] of Object.entries(lock.packages)) {
    // Top-level entries only: nested ones live inside their parent's folder and come with it.
    const name = key.startsWith('node_modules/') ? key.slice('node_modules/'.length) : undefined;
    // A workspace package is npm's link to its folder in the checkout: it is installed from its tarball above.
    if (!name || name.includes('/node_modules/') || entry.dev || entry.link) continue;
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
  return { project, packageDir, bin, tarball, files, packages, runtime };
}
