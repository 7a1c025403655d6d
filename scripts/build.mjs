#!/usr/bin/env node
// `npm run build` (and `npm pack` / `npm publish` through prepack): the package's dist/ — the product's
// TypeScript compiled by tsc (tsconfig.build.json: JS + .d.ts, the checkout's layout), the files that
// are not TypeScript copied to the same relative places (lib/packagePaths.ts relies on that), and
// nothing else: output whose source is gone (a moved or deleted module) is removed.
//
// tsc takes 30-80 s here even when nothing changed, so the build is skipped when a hash of its inputs
// matches the one recorded by the last build (dist/.build-hash); `--force` builds anyway.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');
const HASH_FILE = path.join(DIST, '.build-hash');
const config = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8'));
/** The product's folders: what tsconfig.build.json compiles, and where its assets live. */
const FOLDERS = config.include;
/** Files that are not TypeScript but that the code reads at run time, by extension. */
const ASSET = /\.(cjs|mjs|json|yaml)$/;
/** Copied whole: the demo network, its policy and mappings (`cosell up`, `cosell validate -c …`). */
const WHOLE = ['examples'];

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(path.relative(ROOT, p));
  }
  return out;
}

const sources = FOLDERS.flatMap((f) => walk(path.join(ROOT, f)));
const tsSources = sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const assets = [...sources.filter((f) => ASSET.test(f)), ...WHOLE.flatMap((f) => walk(path.join(ROOT, f)))];

const hash = createHash('sha256');
for (const f of ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', ...tsSources, ...assets].sort()) {
  hash.update(`${f}\0`).update(readFileSync(path.join(ROOT, f))).update('\0');
}
const digest = hash.digest('hex');
if (!process.argv.includes('--force') && existsSync(HASH_FILE) && readFileSync(HASH_FILE, 'utf8').trim() === digest) {
  console.log('dist/ is up to date');
  process.exit(0);
}

rmSync(HASH_FILE, { force: true }); // a build that fails half-way is not up to date
const started = Date.now();
const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
for (const f of assets) {
  mkdirSync(path.dirname(path.join(DIST, f)), { recursive: true });
  copyFileSync(path.join(ROOT, f), path.join(DIST, f));
}
// tsc's incremental build never deletes: drop output whose source no longer exists.
const expected = new Set([...assets, ...tsSources.flatMap((f) => [f.replace(/\.ts$/, '.js'), f.replace(/\.ts$/, '.d.ts')])]);
let pruned = 0;
for (const f of walk(DIST)) {
  const rel = path.relative(DIST, path.join(ROOT, f));
  if (rel.startsWith('.') || expected.has(rel)) continue;
  rmSync(path.join(ROOT, f));
  pruned++;
}
writeFileSync(HASH_FILE, digest + '\n');
console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s: ${tsSources.length} modules, ${assets.length} assets${pruned ? `, ${pruned} stale files removed` : ''}`);
