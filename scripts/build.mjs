#!/usr/bin/env node
// `npm run build` (and `npm pack` / `npm publish` through prepack): each package's dist/ — its
// TypeScript compiled by tsc (its tsconfig.build.json: JS + .d.ts, the checkout's layout), the files
// that are not TypeScript copied to the same relative places (lib/packagePaths.ts relies on that), and
// nothing else: output whose source is gone (a moved or deleted module) is removed.
//   node scripts/build.mjs [--force] [PACKAGE_DIR]   (default: every package, dependencies first)
// The packages: @cosell/sandbox (sandbox/), then cosell at the root, which compiles against its built
// declarations (tsconfig.build.json's `paths`) and imports it by name, then @cosell/connector-contract
// (connector-contract/), compiled against cosell's.
//
// tsc takes 30-80 s here even when nothing changed, so a package's build is skipped when a hash of its
// inputs matches the one recorded by its last build (dist/.build-hash); `--force` builds anyway.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
/** In build order; `whole` folders are copied as they are (the demo network, its policy and mappings). */
const PACKAGES = [
  { dir: 'sandbox', whole: [], after: [] },
  { dir: '.', whole: ['examples'], after: ['sandbox'] },
  { dir: 'connector-contract', whole: [], after: ['.'] },
];
/** Files that are not TypeScript but that the code reads at run time, by extension. */
const ASSET = /\.(cjs|mjs|json|yaml)$/;
/** A package's own manifest and build configs are not assets. */
const NOT_ASSET = /^(package\.json|tsconfig[^/]*\.json)$/;

function walk(dir, base, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'dist' && e.name !== 'node_modules') walk(p, base, out);
    } else out.push(path.relative(base, p));
  }
  return out;
}

function build({ dir, whole, after }, force) {
  const PKG = path.join(ROOT, dir);
  const DIST = path.join(PKG, 'dist');
  const HASH_FILE = path.join(DIST, '.build-hash');
  const name = dir === '.' ? 'cosell' : dir;
  const config = JSON.parse(readFileSync(path.join(PKG, 'tsconfig.build.json'), 'utf8'));
  const sources = config.include.flatMap((f) => walk(path.join(PKG, f), PKG));
  const tsSources = sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  const assets = [...sources.filter((f) => ASSET.test(f) && !NOT_ASSET.test(f)), ...whole.flatMap((f) => walk(path.join(PKG, f), PKG))];

  const hash = createHash('sha256');
  for (const f of ['tsconfig.json', 'scripts/build.mjs', ...after.map((d) => path.join(d, 'dist', '.build-hash'))]) hash.update(`${f}\0`).update(readFileSync(path.join(ROOT, f))).update('\0');
  for (const f of ['tsconfig.build.json', ...tsSources, ...assets].sort()) hash.update(`${f}\0`).update(readFileSync(path.join(PKG, f))).update('\0');
  const digest = hash.digest('hex');
  if (!force && existsSync(HASH_FILE) && readFileSync(HASH_FILE, 'utf8').trim() === digest) {
    console.log(`${name}: dist/ is up to date`);
    return;
  }

  rmSync(HASH_FILE, { force: true }); // a build that fails half-way is not up to date
  const started = Date.now();
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: PKG, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  for (const f of assets) {
    mkdirSync(path.dirname(path.join(DIST, f)), { recursive: true });
    copyFileSync(path.join(PKG, f), path.join(DIST, f));
  }
  // tsc's incremental build never deletes: drop output whose source no longer exists.
  const expected = new Set([...assets, ...tsSources.flatMap((f) => [f.replace(/\.ts$/, '.js'), f.replace(/\.ts$/, '.d.ts')])]);
  let pruned = 0;
  for (const f of walk(DIST, DIST)) {
    if (f.startsWith('.') || expected.has(f)) continue;
    rmSync(path.join(DIST, f));
    pruned++;
  }
  writeFileSync(HASH_FILE, digest + '\n');
  console.log(`${name}: built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s: ${tsSources.length} modules, ${assets.length} assets${pruned ? `, ${pruned} stale files removed` : ''}`);
}

const args = process.argv.slice(2);
const only = args.find((a) => !a.startsWith('--'));
const wanted = only === undefined ? PACKAGES : PACKAGES.filter((p) => p.dir === only.replace(/\/$/, ''));
if (wanted.length === 0) {
  console.error(`build: no package ${only}; packages: ${PACKAGES.map((p) => p.dir).join(', ')}`);
  process.exit(2);
}
for (const p of wanted) build(p, args.includes('--force'));
