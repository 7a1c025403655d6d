import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseNetwork } from '../lib/config.js';
import { ledgerLocation } from '../app/engine.js';
import { SEARCH_ATTRIBUTES } from '../lib/searchAttributes.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/wait.js';

/**
 * The Dockerfile and compose.yaml, checked without a build (scripts/image-check.sh builds the image and
 * runs compose with deploy/offline/, with no registry; too slow for a unit test). What can be wrong
 * without a build is checked here:
 * every path the Dockerfile copies exists and is not in .dockerignore, it copies every folder the build
 * compiles, the entrypoint is the package's bin, the compose services are wired (images, healthchecks,
 * start order, the env names cosell reads), the setup script registers every search attribute — and the
 * compose workers' environment, with what `cosell sandbox --write-env` writes, makes the demo network
 * valid with PostgreSQL (DATABASE_URL) as its ledger.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
const dockerfile = read('Dockerfile');
/** compose.yaml as `docker compose` reads it with none of its variables set: `${VAR:-default}` → default. */
const composeDefaults = (text: string) => text.replace(/\$\{([A-Z_]+):-([^}]*)\}/g, (_m, _name: string, dflt: string) => dflt);
const compose = parseYaml(composeDefaults(read('compose.yaml')), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
interface Service { image?: string; build?: unknown; entrypoint?: string[]; command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }> | string[]; healthcheck?: { test?: string[]; disable?: boolean }; network_mode?: string; ports?: string[]; volumes?: string[] }

/** Dockerfile instructions with their continuation lines joined. */
const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).map((l) => l.split(/\s+/).slice(1, -1));
const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const isIgnored = (p: string) => ignored.some((pattern) => p === pattern || p.startsWith(`${pattern}/`) || (pattern.startsWith('*.') && p.endsWith(pattern.slice(1))));

describe('Dockerfile', () => {
  it('copies only paths that exist in the repository and that .dockerignore lets through', () => {
    const sources = copies.flat();
    expect(sources.length).toBeGreaterThan(10);
    for (const src of sources) {
      expect(existsSync(path.join(ROOT, src)), `${src} is COPY'd but missing`).toBe(true);
      expect(isIgnored(src), `${src} is COPY'd but .dockerignore drops it`).toBe(false);
    }
  });

  it('copies every folder the build compiles, and what the build reads', () => {
    const built = (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include;
    const copied = new Set(copies.flat());
    // The build script's own file (package.json `build`), not all of scripts/: editing the others must not rebuild the image.
    const buildScript = /^node (\S+)$/.exec((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build)?.[1];
    expect(buildScript).toBe('scripts/build.mjs');
    for (const f of [...built, 'examples', buildScript!, 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']) expect(copied.has(f), `${f} not copied`).toBe(true);
    // Each workspace package (sandbox/ is @cosell/sandbox): its manifest before `npm ci`, its folder for its build.
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
    expect(workspaces).toContain('sandbox');
    for (const w of workspaces) {
      expect(copied.has(w), `${w} not copied`).toBe(true);
      expect(dockerfile.indexOf(`COPY ${w}/package.json`), `${w}/package.json before npm ci`).toBeLessThan(dockerfile.indexOf('RUN npm ci'));
      expect(dockerfile, `${w} built`).toContain(`node scripts/build.mjs ${w}`);
    }
  });

  it('is multi-stage on Node 20 with npm ci, runs as a non-root user, checks /healthz, and enters the package bin', () => {
    expect(instructions.filter((l) => l.startsWith('FROM '))).toHaveLength(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-/m);
    expect(instructions).toContain('RUN npm ci --no-audit --no-fund');
    const runtime = instructions.slice(instructions.findIndex((l) => l.startsWith('FROM ${NODE_IMAGE} AS runtime')));
    expect(runtime.some((l) => /^USER (?!root)\w+/.test(l))).toBe(true);
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/\/healthz/);
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; engines: { node: string } };
    expect(runtime).toContain(`ENTRYPOINT ["node", "${pkg.bin.cosell}"]`);
    expect(runtime).toContain('CMD ["worker"]');
    // The healthcheck's port is the one the worker serves its ops server on by default.
    expect(runtime.find((l) => l.startsWith('ENV '))).toMatch(/COSELL_METRICS_PORT=9464 .*COSELL_METRICS_HOST=0\.0\.0\.0/);
    expect(existsSync(path.join(ROOT, pkg.bin.cosell))).toBe(true);
  });

  it('its deploy scripts are valid POSIX shell and executable', () => {
    for (const f of ['deploy/cosell-env.sh', 'deploy/sandbox.sh', 'deploy/console.sh', 'deploy/temporal-setup.sh', 'deploy/offline/postgres-entrypoint.sh']) {
      expect(spawnSync('sh', ['-n', path.join(ROOT, f)]).status, f).toBe(0);
      expect(statSync(path.join(ROOT, f)).mode & 0o111, `${f} not executable`).not.toBe(0);
    }
  });
});

describe('compose.yaml', () => {
  const s = compose.services;
  const cosell = Object.entries(s).filter(([, v]) => v.image === 'cosell:local');

  it('runs Temporal with its UI, PostgreSQL, two workers, the console and the sandbox, the image built once', () => {
    expect(s.temporal.image).toMatch(/^temporalio\/auto-setup:\d/);
    expect(s['temporal-ui'].image).toMatch(/^temporalio\/ui:\d/);
    expect(s['temporal-setup'].image).toMatch(/^temporalio\/admin-tools:\d/);
    expect(s.postgres.image).toMatch(/^postgres:\d+/);
    expect(cosell.map(([n]) => n).sort()).toEqual(['console', 'sandbox', 'sync-start', 'worker-1', 'worker-2']);
    expect(cosell.filter(([, v]) => v.build !== undefined).map(([n]) => n)).toEqual(['sandbox']);
    expect(s['worker-1'].command).toEqual(['worker']);
    expect(s['sync-start'].command).toEqual(['sync', 'start']);
  });

  it('points every cosell container at the compose Temporal and PostgreSQL with the env names cosell reads', () => {
    const libText = ['lib/client.ts', 'app/engine.ts', 'cli/worker.ts', 'cli/console.ts', 'lib/config.ts'].map(read).join('\n');
    for (const [name, v] of cosell.filter(([n]) => n !== 'sandbox')) {
      const env = v.environment ?? {};
      expect(env.TEMPORAL_ADDRESS, name).toBe('temporal:7233');
      expect(env.DATABASE_URL, name).toBe(`postgres://cosell:${s.postgres.environment!.POSTGRES_PASSWORD}@postgres:5432/cosell`);
      expect(env.COSELL_LEDGER_FILE, name).toBe('');
      expect(v.network_mode, name).toBe('service:sandbox');
      expect(v.entrypoint?.[0], name).toMatch(/^\/app\/deploy\/(cosell-env|console)\.sh$/);
      for (const k of Object.keys(env).filter((k) => k.startsWith('COSELL_') && !['COSELL_LEDGER_FILE', 'COSELL_PUSH_LISTEN', 'COSELL_SANDBOX_ENV', 'COSELL_CONSOLE_PASSWORD', 'COSELL_CONSOLE_PORT'].includes(k))) {
        expect(libText, `${name}: ${k} is read nowhere in lib/, app/ or cli/`).toContain(k);
      }
    }
    // The env names the network file and the scripts read are the ones compose sets.
    expect(read('examples/network.yaml')).toContain('${COSELL_LEDGER_FILE}');
    expect(read('examples/network.yaml')).toContain('${COSELL_PUSH_LISTEN}');
    expect(read('app/engine.ts')).toContain('env.DATABASE_URL');
    for (const f of ['deploy/cosell-env.sh', 'deploy/sandbox.sh']) expect(read(f)).toContain('COSELL_SANDBOX_ENV');
  });

  it('starts things in order: cosell after PostgreSQL is healthy, the search attributes registered and the sandbox written', () => {
    for (const [name, v] of cosell.filter(([n]) => n !== 'sandbox')) {
      expect(v.depends_on, name).toEqual({ sandbox: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' }, 'temporal-setup': { condition: 'service_completed_successfully' } });
    }
    expect((s.temporal.depends_on as Record<string, { condition: string }>).postgres.condition).toBe('service_healthy');
    expect(s.postgres.healthcheck?.test?.join(' ')).toMatch(/pg_isready/);
    expect(s.sandbox.healthcheck?.test?.join(' ')).toContain('/run/cosell/sandbox.env');
    expect(s['sync-start'].healthcheck?.disable).toBe(true);
    // The workers keep the image's /healthz check, on ports that differ: they share one network namespace.
    expect(s['worker-1'].healthcheck).toBeUndefined();
    const ports = ['worker-1', 'worker-2'].map((w) => s[w].environment!.COSELL_METRICS_PORT);
    expect(new Set(ports).size).toBe(2);
    for (const p of [...ports, s.console.environment!.COSELL_CONSOLE_PORT]) expect(s.sandbox.ports).toContain(`${p}:${p}`);
    expect(s.console.environment!.COSELL_CONSOLE_PASSWORD).toMatch(/^\$\{COSELL_CONSOLE_PASSWORD:\?/);
  });

  it('registers every search attribute cosell sets (lib/searchAttributes.ts)', () => {
    const script = read('deploy/temporal-setup.sh');
    const listed = /^attributes="([^"]+)"/m.exec(script)?.[1].split(' ');
    expect(listed?.sort()).toEqual(Object.keys(SEARCH_ATTRIBUTES).sort());
    expect(new Set(Object.values(SEARCH_ATTRIBUTES))).toEqual(new Set(['Keyword']));
    expect(script).toContain('--type Keyword');
    expect(s['temporal-setup'].volumes).toContain('./deploy/temporal-setup.sh:/temporal-setup.sh:ro');
  });

  it('with the sandbox\'s env file, a worker\'s environment makes the demo network valid on PostgreSQL', async () => {
    // `cosell sandbox --write-env` as the sandbox service runs it (deploy/sandbox.sh), then the file
    // sourced by the wrapper the workers run (deploy/cosell-env.sh), printing the environment it execs with.
    const dir = tempDir('cosell-deploy-');
    const file = path.join(dir, 'sandbox.env');
    const sandbox = spawn(path.join(ROOT, 'deploy/sandbox.sh'), [], { env: { ...process.env, COSELL_SANDBOX_ENV: file, COSELL_SANDBOX_DATA: path.join(dir, 'sandbox.json') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    sandbox.stdout.on('data', (b) => (out += b));
    sandbox.stderr.on('data', (b) => (out += b));
    try {
      await eventually('the sandbox env file', async () => (existsSync(file) ? true : sandbox.exitCode !== null ? Promise.reject(new Error(out)) : undefined), { timeoutMs: 60_000, intervalMs: 100 });
      expect(statSync(file).mode & 0o077).toBe(0); // owner-only: it holds the sandbox tokens
      const worker = { ...s['worker-1'].environment!, COSELL_SANDBOX_ENV: file, PATH: process.env.PATH! };
      const printed = spawnSync('sh', ['-c', `. "${file}" && node -e 'process.stdout.write(JSON.stringify(process.env))'`], { env: worker, encoding: 'utf8' });
      expect(printed.status, printed.stderr).toBe(0);
      const env = JSON.parse(printed.stdout) as Record<string, string>;
      const networkFile = path.join(ROOT, env.COSELL_CONFIG.replace('/app/dist/', ''));
      const { loaded, problems } = parseNetwork(readFileSync(networkFile, 'utf8'), networkFile, env);
      expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
      expect(ledgerLocation(loaded!.network.ledger, { file: networkFile, resolveUrl: (u) => u }, env)).toEqual({ url: 'postgres://cosell:cosell-local-password@postgres:5432/cosell' });
      // Without the compose setting the same network would write SQLite instead.
      const sqlite = parseNetwork(readFileSync(networkFile, 'utf8'), networkFile, { ...env, COSELL_LEDGER_FILE: 'ledger.sqlite' }).loaded!;
      expect(ledgerLocation(sqlite.network.ledger, { file: networkFile, resolveUrl: (u) => u }, env)).toHaveProperty('file');
      // The wrapper itself runs cosell with that environment: `validate` checks every credential and each mapping against the sandbox orgs' live schemas.
      const validated = spawnSync(path.join(ROOT, 'deploy/cosell-env.sh'), ['validate', '-c', networkFile], { env: worker, encoding: 'utf8' });
      expect(validated.status, validated.stdout + validated.stderr).toBe(0);
    } finally {
      sandbox.kill('SIGTERM');
    }
  }, 120_000);
});

describe('deploy/offline (compose.yaml without a registry: scripts/image-check.sh)', () => {
  const offline = parseYaml(read('deploy/offline/compose.yaml')) as { services: Record<string, Service & { profiles?: string[]; build?: { context: string; network?: string; args?: Record<string, string> } }> };
  const o = offline.services;
  const prefix = (v: string) => v.replace('${COSELL_OFFLINE_PREFIX:-cosell-offline}', 'cosell-offline');

  it('overrides only services compose.yaml has: the images that need a registry, and the cosell build\'s base', () => {
    for (const name of Object.keys(o)) expect(compose.services[name], name).toBeDefined();
    expect(prefix(o.postgres.image!)).toBe('cosell-offline/postgres:15');
    expect(prefix(o.temporal.image!)).toBe('cosell-offline/temporal:local');
    expect(o['temporal-setup'].image).toBe(o.temporal.image);
    // The Temporal CLI's server serves its own Web UI on the port temporalio/ui had; that service is left out.
    expect(o['temporal-ui'].profiles).toEqual(['upstream-ui']);
    expect(o.temporal.ports).toEqual(compose.services['temporal-ui'].ports);
    expect(o.sandbox.build).toMatchObject({ context: '.', network: 'host' });
    const base = prefix(o.sandbox.build!.args!.NODE_IMAGE);
    expect(base).toBe('cosell-offline/node:20-bookworm');
    // The offline images are built on that same base; the script imports it under that name.
    for (const f of ['deploy/offline/postgres.Dockerfile', 'deploy/offline/temporal.Dockerfile']) expect(read(f)).toMatch(new RegExp(`^ARG BASE_IMAGE=${base}$`, 'm'));
    expect(read('scripts/image-check.sh')).toContain('base="$prefix/node:20-bookworm"');
    // Nothing else of compose.yaml changes: the cosell services keep their wiring.
    expect(Object.keys(o).sort()).toEqual(['postgres', 'sandbox', 'temporal', 'temporal-setup', 'temporal-ui']);
  });

  it('runs the search-attribute setup against the compose Temporal, by a name gRPC resolves without outside DNS', () => {
    expect(o['temporal-setup'].environment).toEqual({ TEMPORAL_ADDRESS: `passthrough:///${compose.services['temporal-setup'].environment!.TEMPORAL_ADDRESS}` });
  });

  it('the check script is valid bash and executable', () => {
    expect(spawnSync('bash', ['-n', path.join(ROOT, 'scripts/image-check.sh')]).status).toBe(0);
    expect(statSync(path.join(ROOT, 'scripts/image-check.sh')).mode & 0o111).not.toBe(0);
  });
});
