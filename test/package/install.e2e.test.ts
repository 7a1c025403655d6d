import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { bundleWorkflowCode } from '@temporalio/worker';
import { findTemporalCli } from '../../app/temporalCli.js';
import { workflowBundleOptions } from '../../app/worker.js';
import { CHECKOUT, installPackage, type InstalledPackage } from '../helpers/installedPackage.js';
import { HISTORY_FIXTURES, replayRecordedHistories } from '../helpers/replay.js';
import { temporalAddress, testClient, uniqueQueue } from '../helpers/temporal.js';
import { eventually } from '../helpers/wait.js';

/**
 * The published package as a user installs it (test/helpers/installedPackage.ts: build, `npm pack`,
 * the tarball unpacked into a fresh project with only the runtime dependencies beside it — no tsx, no
 * TypeScript sources): what is in it, and that its `cosell` runs — `--version`, `validate` on the
 * example it ships, a worker against the dev server bundling the compiled workflows and running one,
 * and the demo (`cosell up`) with its state in the project, not in the package.
 */
let pkg: InstalledPackage;
const manifest = JSON.parse(readFileSync(path.join(CHECKOUT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }> };
/** The example network's env substitutions (the sandbox's addresses in the demo); --offline needs no credentials. */
const EXAMPLE_ENV = {
  ...Object.fromEntries(['COSELL_VENDOR_URL', 'COSELL_ACME_URL', 'COSELL_GLOBEX_URL', 'COSELL_INITECH_URL', 'COSELL_AWS_URL'].map((k, i) => [k, `http://127.0.0.1:${9000 + i}`])),
  COSELL_VENDOR_PUBSUB_ENDPOINT: '127.0.0.1:9010',
  COSELL_PUSH_LISTEN: '127.0.0.1:0',
};
const cosell = (args: string[], env: Record<string, string> = {}) => {
  const e: Record<string, string | undefined> = { ...process.env, COSELL_LOG_FORMAT: 'json', ...env };
  delete e.COSELL_CONFIG;
  delete e.NODE_OPTIONS; // vitest's loader options must not leak into the user's process
  return spawnSync(pkg.bin, args, { cwd: pkg.project, env: e, encoding: 'utf8', timeout: 60_000 });
};

beforeAll(() => {
  pkg = installPackage();
}, 600_000); // a fresh build is tsc over the whole product: 30 s idle, minutes under a full test run
afterAll(() => pkg && rmSync(path.dirname(pkg.project), { recursive: true, force: true }));

describe('the cosell package', () => {
  it('holds the build and its assets, no TypeScript sources, and does not depend on tsx at run time', () => {
    const ts = pkg.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(ts).toEqual([]);
    expect(pkg.files.filter((f) => !f.startsWith('dist/') && !f.startsWith('bin/')).sort()).toEqual(['README.md', 'package.json']);
    // Every product module is there compiled, with its declarations; every file the code reads by path too.
    const tsconfig = JSON.parse(readFileSync(path.join(CHECKOUT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    const modules = tsconfig.include.flatMap((dir) => (readdirSync(path.join(CHECKOUT, dir), { recursive: true }) as string[]).map((f) => path.join(dir, f)));
    const missing = modules.flatMap((f) =>
      f.endsWith('.ts') ? [`dist/${f.replace(/\.ts$/, '.js')}`, `dist/${f.replace(/\.ts$/, '.d.ts')}`] : /\.(cjs|mjs|json|yaml)$/.test(f) ? [`dist/${f}`] : [],
    );
    const shipped = new Set(pkg.files);
    expect(missing.filter((f) => !shipped.has(f))).toEqual([]);
    for (const asset of ['dist/examples/network.yaml', 'dist/examples/roe.yaml', 'dist/lib/encodedFailureConverter.cjs', 'dist/connectors/salesforce/cdc/clientThread.mjs']) expect(shipped).toContain(asset);
    // The sandbox is its own package now, not a folder of cosell's.
    expect(pkg.files.filter((f) => f.startsWith('dist/sandbox/'))).toEqual([]);
    // No test or bench code, no build bookkeeping.
    expect(pkg.files.filter((f) => /^dist\/(test|bench)\/|\.tsbuildinfo$|\.build-hash$/.test(f))).toEqual([]);
    for (const dev of ['tsx', '@temporalio/testing', 'typescript', 'vitest']) {
      expect(manifest.dependencies).not.toHaveProperty(dev);
      expect(manifest.devDependencies).toHaveProperty(dev);
      expect(pkg.runtime).not.toContain(dev);
    }
    expect(manifest.peerDependenciesMeta?.['@temporalio/testing']?.optional).toBe(true);
    // …and tsx cannot be reached from inside the installed package.
    const resolved = spawnSync(process.execPath, ['--input-type=module', '-e', "import.meta.resolve('tsx')"], { cwd: pkg.packageDir, encoding: 'utf8' });
    expect(resolved.status).not.toBe(0);
    expect(resolved.stderr).toContain("Cannot find package 'tsx'");
  });

  it('@cosell/sandbox is its own package: its build, no sources, the dependencies only it uses', () => {
    const sbx = pkg.packages['@cosell/sandbox'];
    expect(sbx, 'the sandbox workspace was packed').toBeDefined();
    expect(sbx.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(sbx.files.filter((f) => !f.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
    const modules = (readdirSync(path.join(CHECKOUT, 'sandbox'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.startsWith('dist/'));
    expect(modules.length).toBeGreaterThan(20);
    expect(modules.flatMap((f) => [`dist/${f.replace(/\.ts$/, '.js')}`, `dist/${f.replace(/\.ts$/, '.d.ts')}`]).filter((f) => !sbx.files.includes(f))).toEqual([]);
    expect(sbx.files).toContain('dist/default-network.yaml');
    const sandboxManifest = JSON.parse(readFileSync(path.join(CHECKOUT, 'sandbox', 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
    expect(manifest.dependencies['@cosell/sandbox']).toBe(sandboxManifest.version);
    // What only the emulators use left cosell's dependencies; fastify stays (the console and the push receiver are fastify apps).
    for (const only of ['@grpc/grpc-js', '@grpc/proto-loader', '@smithy/signature-v4', 'avsc', 'selfsigned']) {
      expect(sandboxManifest.dependencies).toHaveProperty(only);
      expect(manifest.dependencies).not.toHaveProperty(only);
    }
    expect(sandboxManifest.dependencies).toHaveProperty('fastify');
  });

  it('a sandbox started from the installed @cosell/sandbox answers jsforce like a Salesforce org', () => {
    // Run in the project, as a user's script: only what is installed there resolves (jsforce comes with cosell).
    const script = `
      import { startSandbox } from '@cosell/sandbox';
      import jsforce from 'jsforce';
      const sandbox = await startSandbox({ config: { orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: ${3 + Math.floor(Math.random() * 20)}, opportunities: 5 } }] } });
      try {
        const info = sandbox.orgs.vendor;
        const conn = new jsforce.Connection({ instanceUrl: info.instanceUrl, accessToken: info.accessToken, version: '62.0' });
        const before = await conn.query('SELECT Id, Name FROM Account');
        const created = await conn.sobject('Account').create({ Name: 'Installed package check' });
        const after = await conn.query("SELECT Id, Name FROM Account WHERE Name = 'Installed package check'");
        console.log(JSON.stringify({ before: before.totalSize, created: created.success, found: after.records.map((r) => r.Id), id: created.id }));
      } finally {
        await sandbox.stop();
      }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg.project, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.status, r.stderr).toBe(0);
    const seeded = Number(/accounts: (\d+)/.exec(script)![1]);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { before: number; created: boolean; found: string[]; id: string };
    expect(out).toEqual({ before: seeded, created: true, found: [out.id], id: expect.stringMatching(/^001/) });
    // …and it resolved to the installed package's build, not the checkout.
    const where = spawnSync(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('@cosell/sandbox'))"], { cwd: pkg.project, encoding: 'utf8' });
    expect(where.stdout.trim()).toBe(`file://${path.join(pkg.packages['@cosell/sandbox'].packageDir, 'dist', 'index.js')}`);
  });

  it('the README example of @cosell/connector-contract runs the contract suite from the installed packages against cosell\'s Salesforce connector', () => {
    const contract = pkg.packages['@cosell/connector-contract'];
    expect(contract.files.filter((f) => !f.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
    expect(contract.files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/contract.js', 'dist/drainFeed.js']));
    // The README's one TypeScript block, exactly as a third party copies it.
    const readme = readFileSync(path.join(contract.packageDir, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).toHaveLength(1);
    writeFileSync(path.join(pkg.project, 'salesforce.contract.test.ts'), blocks[0]);
    // The third party's own dev dependency: vitest (a peer of the suite), from the checkout.
    symlinkSync(realpathSync(path.join(CHECKOUT, 'node_modules', 'vitest')), path.join(pkg.project, 'node_modules', 'vitest'), 'dir');
    const env: Record<string, string | undefined> = { ...process.env };
    for (const k of Object.keys(env)) if (/^(VITEST|VITE_|NODE_OPTIONS$|TEST$)/.test(k)) delete env[k]; // not this run's
    const report = path.join(pkg.project, 'contract-report.json');
    const r = spawnSync(process.execPath, [path.join(pkg.project, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', pkg.project, '--reporter=json', `--outputFile=${report}`], { cwd: pkg.project, env, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, (r.stdout + r.stderr).slice(-3000)).toBe(0);
    const results = JSON.parse(readFileSync(report, 'utf8')) as { numTotalTests: number; numPassedTests: number; numFailedTests: number; numPendingTests: number; testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string }> }> };
    expect(results.testResults.map((t) => path.basename(t.name))).toEqual(['salesforce.contract.test.ts']);
    expect(results).toMatchObject({ numFailedTests: 0, numPendingTests: 0 });
    // Every test the suite registers for a CRM that has everything ran and passed, the parts a CRM may lack included.
    expect(results.numPassedTests).toBe(results.numTotalTests);
    expect(results.numPassedTests).toBeGreaterThanOrEqual(10);
    const names = results.testResults[0].assertionResults.map((a) => a.fullName);
    expect(names.every((n) => n.startsWith('connector contract: salesforce on @cosell/sandbox '))).toBe(true);
    for (const part of ['ensure-fields creates missing fields', 'ties: records sharing one modification timestamp', 'delet', 'associat']) expect(names.some((n) => n.includes(part)), part).toBe(true);
    expect(names.some((n) => n.includes('does not apply'))).toBe(false);
  }, 360_000);

  it('`cosell --version` prints the package version', () => {
    const r = cosell(['--version']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(manifest.version);
  });

  it('finds its own files in dist/ and keeps its state in the directory it runs in', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "const p = await import('cosell/package.json', { with: { type: 'json' } }); const paths = await import(new URL('dist/lib/packagePaths.js', import.meta.resolve('cosell/package.json')).href); console.log(JSON.stringify({ version: p.default.version, ...paths }))"], { cwd: pkg.project, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const paths = JSON.parse(r.stdout) as { FROM_SOURCE: boolean; CODE_ROOT: string; PACKAGE_ROOT: string; STATE_ROOT: string; CHILD_EXEC_ARGV: string[] };
    expect(paths).toMatchObject({ FROM_SOURCE: false, CODE_ROOT: path.join(pkg.packageDir, 'dist'), PACKAGE_ROOT: pkg.packageDir, STATE_ROOT: pkg.project, CHILD_EXEC_ARGV: [] });
  });

  it('resolves every subpath it exports (`cosell/worker`, …) to a module it ships, with its declarations', () => {
    // The targets follow the layout (app/worker.ts moved out of lib/): a stale one fails here, not at a user's import.
    const exported = Object.entries((JSON.parse(readFileSync(path.join(CHECKOUT, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> }).exports).filter(([, t]) => typeof t !== 'string') as Array<[string, { types: string; default: string }]>;
    expect(exported.map(([k]) => k)).toContain('./worker');
    for (const [, t] of exported) expect(pkg.files).toContain(t.types.replace(/^\.\//, ''));
    const specs = exported.map(([k]) => `cosell/${k.slice(2)}`);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const out = {}; for (const s of ${JSON.stringify(specs)}) out[s] = Object.keys(await import(s)).length; console.log(JSON.stringify(out))`], { cwd: pkg.project, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const counts = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    for (const s of specs) expect(counts[s], `${s} exports nothing`).toBeGreaterThan(0);
    expect(Object.keys(counts)).toEqual(specs);
  });

  it('`cosell validate` checks the example network it ships, and names the file, line and column of a problem', () => {
    const example = path.join(pkg.packageDir, 'dist', 'examples', 'network.yaml');
    const ok = cosell(['validate', '-c', example, '--offline', '--json'], { ...EXAMPLE_ENV, COSELL_LEDGER_FILE: path.join(pkg.project, 'ledger.sqlite') });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as { ok: boolean; errors: number; links: Array<{ id: string; ok: boolean }> };
    const links = (YAML.parse(readFileSync(path.join(CHECKOUT, 'examples', 'network.yaml'), 'utf8')) as { links: Array<{ id: string }> }).links.map((l) => l.id);
    expect(report).toMatchObject({ ok: true, errors: 0 });
    expect(report.links.map((l) => [l.id, l.ok])).toEqual(links.map((id) => [id, true]));

    // A copy with one link's mapping pointing nowhere: exit 2, the problem at the link's line.
    const broken = path.join(pkg.project, 'broken');
    cpSync(path.join(pkg.packageDir, 'dist'), broken, { recursive: true, filter: (src) => !src.endsWith('.js') && !src.endsWith('.d.ts') });
    const file = path.join(broken, 'examples', 'network.yaml');
    const text = readFileSync(file, 'utf8');
    const victim = links[Math.floor(Math.random() * links.length)];
    const lineNo = text.split('\n').findIndex((l) => l.includes(`id: ${victim},`)) + 1;
    writeFileSync(file, text.replace(new RegExp(`(id: ${victim},.*?mapping: )[^,]+`), '$1no/such-mapping.yaml'));
    const bad = cosell(['validate', '-c', file, '--offline'], { ...EXAMPLE_ENV, COSELL_LEDGER_FILE: path.join(pkg.project, 'ledger.sqlite') });
    expect(bad.status, `link ${victim}: ${bad.stdout}${bad.stderr}`).toBe(2);
    expect(bad.stdout + bad.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${lineNo}:\\d+: .*no/such-mapping\\.yaml`));
  });

  it('`cosell worker` bundles the compiled workflows and runs one against the dev server', async () => {
    const taskQueue = uniqueQueue('package');
    const env: Record<string, string | undefined> = { ...process.env, COSELL_LOG_FORMAT: 'json', TEMPORAL_ADDRESS: temporalAddress() };
    delete env.COSELL_CONFIG;
    delete env.NODE_OPTIONS;
    const child = spawn(pkg.bin, ['worker', '--task-queue', taskQueue, '--metrics-port', '0'], { cwd: pkg.project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const client = await testClient();
    try {
      const url = await eventually('the ops server log line', async () => /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"serving \/metrics/.exec(out)?.[1], { timeoutMs: 60_000, intervalMs: 100 });
      await eventually(`/readyz 200 (${out.slice(-500)})`, async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), { timeoutMs: 150_000, intervalMs: 250 });
      const name = `package-${Math.random().toString(36).slice(2, 8)}`;
      const greeting = await client.workflow.execute('helloCosell', { taskQueue, workflowId: `hello-${name}`, args: [name] });
      expect(greeting).toMatch(new RegExp(`^Hello ${name}, from a cosell worker on `));
      child.kill('SIGTERM');
      expect(await exited, out.slice(-2000)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await client.connection.close();
    }
  }, 240_000);

  // The compiled workflows are the same workflows: every history recorded from the demo on the sources
  // replays on the bundle of the package's dist/workflows (what an installed worker runs).
  it('the recorded histories replay on the bundle of the compiled workflows', async () => {
    const { code } = await bundleWorkflowCode({ ...workflowBundleOptions(path.join(pkg.packageDir, 'dist', 'workflows', 'index.js')), failureConverterPath: path.join(pkg.packageDir, 'dist', 'lib', 'encodedFailureConverter.cjs') });
    expect(code).toContain('dist/workflows/');
    const { failed, replayed } = await replayRecordedHistories({ code });
    expect(failed).toEqual([]);
    expect(replayed).toBe(HISTORY_FIXTURES.length);
  }, 180_000);

  it('`cosell up` runs the demo from the package and keeps .cosell/ in the directory it runs in', async () => {
    const env: Record<string, string | undefined> = { ...process.env, COSELL_LOG_LEVEL: 'warn', TEMPORAL_CLI: await findTemporalCli({ install: false }) };
    for (const k of ['COSELL_CONFIG', 'NODE_OPTIONS', 'TEMPORAL_ADDRESS']) delete env[k];
    const child = spawn(pkg.bin, ['up', '--ui-port', '0'], { cwd: pkg.project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await eventually('the demo banner', async () => (child.exitCode !== null ? Promise.reject(new Error(`cosell up exited ${child.exitCode}:\n${out}`)) : out.includes('Press Ctrl-C')), { timeoutMs: 200_000, intervalMs: 200 });
      expect(out).toMatch(/Links syncing\s+acme-deals, vendor-opps-to-acme/);
      const demoEnv = readFileSync(path.join(pkg.project, '.cosell', 'demo.env'), 'utf8');
      expect(demoEnv).toContain(`export COSELL_CONFIG='${path.join(pkg.packageDir, 'dist', 'examples', 'network.yaml')}'\n`); // quoted: shellExports
      expect(existsSync(path.join(pkg.project, '.cosell', 'demo-ledger.sqlite'))).toBe(true);
      expect(existsSync(path.join(pkg.packageDir, '.cosell'))).toBe(false);
      expect(existsSync(path.join(pkg.packageDir, 'dist', '.cosell'))).toBe(false);
      child.kill('SIGINT');
      expect(await exited, out.slice(-2000)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 300_000);
});
