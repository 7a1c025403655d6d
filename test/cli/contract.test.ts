import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import { openLedger } from '../../ledger/index.js';
import { cosell, fixture, FIXTURE_ENV, STACK_TRACE, TEMPORAL_DOWN, type Fixture } from '../config/fixture.js';
import { runCliInProcess } from '../helpers/cli.js';
import { temporalAddress } from '../helpers/temporal.js';

/**
 * The CLI contract (issue #17), command by command: exit codes 0 ok / 1 failure / 2 usage or config,
 * also inside subcommands; unknown names are errors with a suggestion, never an empty list; --json and
 * -c/COSELL_CONFIG everywhere they apply; tables without console.table's (index) column, with counts
 * that add up; connection errors that say where and what to do.
 */

let f: Fixture;
let network: string;
const run = (args: string[], env: Record<string, string | undefined> = {}) => runCliInProcess(args, { TEMPORAL_ADDRESS: TEMPORAL_DOWN, ...FIXTURE_ENV, ...env });

beforeAll(async () => {
  f = fixture();
  network = f.write();
  const ledger = await openLedger({ file: f.ledger });
  try {
    const at = (d: number) => new Date(Date.UTC(2026, 0, d)).toISOString();
    for (const [i, status] of (['pending-review', 'approved', 'pending-review', 'rejected', 'approved'] as const).entries()) {
      await ledger.registrations.upsert({ partner: 'hooli', sourceId: `deal-${i}`, status, customerName: `Customer ${i}`, customerDomain: `c${i}.example`, submittedAt: at(i + 1), reason: i === 3 ? 'duplicate' : null });
    }
    await ledger.deadLetters.add('hooli-deals', [
      { sourceId: 'd-1', payload: {}, reason: 'REQUIRED_FIELD_MISSING: CloseDate', code: 'REQUIRED_FIELD_MISSING', fields: ['CloseDate'] },
      { sourceId: 'd-2', payload: {}, reason: 'bad amount', code: 'VALIDATION_ERROR', fields: ['Amount'] },
    ]);
  } finally {
    await ledger.close();
  }
});

describe('exit codes', () => {
  // Child processes: the real bin/cosell.js as a user runs it (two only: each one compiles the sources).
  it('--version prints the package version and exits 0', { timeout: 240_000 }, async () => {
    const r = await cosell(['--version'], {}, 200_000);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("commander's usage errors inside a subcommand exit 2 (commander alone exits 1)", { timeout: 240_000 }, async () => {
    const r = await cosell(['registrations', 'approve', 'r-1'], {}, 200_000);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("required option '--by <who>' not specified");
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it.each([
    [['sync', 'pause'], "missing required argument 'link'"],
    [['registrations', 'list', '--bogus'], "unknown option '--bogus'"],
    [['deadletters', 'lst'], "unknown command 'lst'"],
    [['registrations', 'reject', 'r-1', '--by', 'you'], "required option '--reason <text>' not specified"],
  ])('in process too: %j → 2 (%s)', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it("README's `registrations approve ID --by you` runs as written: no --reason needed; Temporal down is exit 1 naming the address and the fix", async () => {
    const r = await run(['registrations', 'approve', 'hooli:deal-0', '--by', 'you']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/--reason/);
    expect(r.stderr).toContain(`cannot connect to Temporal at ${TEMPORAL_DOWN}`);
    expect(r.stderr).toMatch(/hint: start a server/);
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });
});

describe('one command loaded per invocation', () => {
  const commands = async (...args: string[]) => (await buildProgram(['node', 'cosell', ...args])).commands.map((c) => c.name()).sort();
  it('loads only the command named (aliases too), none for --version, all for --help or an unknown name', async () => {
    expect(await commands('schema', 'network')).toEqual(['schema']);
    expect(await commands('status', '--json')).toEqual(['deadletters', 'status', 'sync']); // one module, three commands
    expect(await commands('reg', 'list')).toEqual(['registrations']);
    expect(await commands('--version')).toEqual([]);
    const all = await commands('--help');
    expect(all).toEqual(await commands('frobnicate'));
    expect(all).toEqual(expect.arrayContaining(['up', 'worker', 'validate', 'console', 'report', 'aws']));
  });
  it('every command and alias of the full program is found by its own name (the table in cli/main.ts is complete)', async () => {
    for (const c of (await buildProgram()).commands) {
      for (const name of [c.name(), ...c.aliases()]) expect(await commands(name), name).not.toHaveLength((await buildProgram()).commands.length);
      expect(await commands(c.name())).toContain(c.name());
    }
  });
});

describe('unknown names are errors, not empty lists', () => {
  it.each([
    [['registrations', 'list', '--status', 'aproved'], 'did you mean "approved"?'],
    [['registrations', 'list', '--partner', 'hoolii'], 'did you mean "hooli"?'],
    [['deadletters', 'list', 'hooli-dealz'], 'did you mean "hooli-deals"?'],
    [['deadletters', 'replay', 'hooli-dealz'], 'did you mean "hooli-deals"?'],
    [['sync', 'start', 'hooli-dealz'], 'did you mean "hooli-deals"?'],
    [['sync', 'run', 'hooli-dealz'], 'did you mean "hooli-deals"?'],
    [['overlaps', 'hoolii'], 'did you mean "hooli"?'],
  ])('%j → exit 2, %s', async (args, hint) => {
    const r = await run([...args, '-c', network]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(hint);
    expect(r.stdout).toBe('');
  });

  it('a signal to a link that is not running is exit 2 (COSELL_LINK_UNKNOWN), on the real dev server', async () => {
    for (const cmd of ['pause', 'resume', 'now']) {
      const r = await run(['sync', cmd, 'no-such-link'], { TEMPORAL_ADDRESS: temporalAddress() });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('COSELL_LINK_UNKNOWN: no running link "no-such-link"');
    }
  });

  it('bad numbers are usage errors', async () => {
    for (const args of [['registrations', 'list', '--limit', 'ten'], ['deadletters', 'list', 'hooli-deals', '--limit', '-1'], ['overlaps', 'hooli', '--top', '2.5'], ['deadletters', 'replay', 'hooli-deals', 'x1']]) {
      const r = await run([...args, '-c', network]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/must be a whole number/);
    }
  });
});

describe('tables and --limit', () => {
  it('registrations list: no (index) column, --limit, and a footer whose counts add up', async () => {
    const all = await run(['registrations', 'list', '-c', network]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id\s+status\s+partner\s+customer/);
    expect(all.stdout).not.toContain('(index)');
    expect(all.stdout).not.toMatch(/[│┌└]/);
    expect(lines).toHaveLength(2 + 5 + 1);
    expect(lines.at(-1)).toBe('5 registrations (pending-review 2, approved 2, rejected 1)');
    const two = await run(['registrations', 'list', '--limit', '2', '-c', network]);
    expect(two.stdout.trimEnd().split('\n').at(-1)).toBe('2 of 5 registrations (pending-review 1, approved 1); more with --limit');
    const pending = await run(['registrations', 'list', '--status', 'pending-review', '--json', '-c', network]);
    expect((JSON.parse(pending.stdout) as Array<{ status: string }>).map((r) => r.status)).toEqual(['pending-review', 'pending-review']);
  });

  it('deadletters list: a plain table, --limit, --json', async () => {
    const r = await run(['deadletters', 'list', 'hooli-deals', '-c', network]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^id\s+source\s+status\s+code\s+fields\s+reason\s+attempts$/);
    expect(r.stdout).toContain('2 dead letters');
    const one = await run(['deadletters', 'list', 'hooli-deals', '--limit', '1', '-c', network]);
    expect(one.stdout).toContain('first 1 shown; more with --limit');
    const json = JSON.parse((await run(['deadletters', 'list', 'hooli-deals', '--json', '-c', network])).stdout) as Array<{ sourceId: string }>;
    expect(json.map((d) => d.sourceId).sort()).toEqual(['d-1', 'd-2']);
  });
});

describe('--json and -c / COSELL_CONFIG on every command', () => {
  /** Leaf commands, as `a b` paths, with their options' long flags and defaults. */
  const leaves = (cmd: Command, prefix: string[] = []): Array<{ path: string; flags: Map<string, unknown> }> =>
    cmd.commands.flatMap((c) => {
      const p = [...prefix, c.name()];
      return c.commands.length ? leaves(c, p) : [{ path: p.join(' '), flags: new Map(c.options.map((o) => [o.long!, o.defaultValue])) }];
    });
  // Why each of these has no --json: a long-running server, or its output already is the document.
  const NO_JSON: Record<string, string> = {
    up: 'runs the demo until Ctrl-C',
    worker: 'runs until SIGTERM',
    'console serve': 'a web server',
    'console hash-password': 'prints one hash',
    'codec-server': 'a server',
    'mapping schema': 'prints a JSON Schema',
    schema: 'prints a JSON Schema',
  };
  // Commands that never read the network file.
  const NO_CONFIG = new Set(['sync pause', 'sync resume', 'sync now', 'sync resync', 'registrations approve', 'registrations reject', 'registrations extend', 'registrations request-info', 'registrations resolve-dispute', 'registrations request-extension', 'registrations decide-extension', 'codec-server', 'console hash-password', 'mapping schema', 'schema', 'sandbox', 'up']);

  it('every leaf command has --json unless it is a server', async () => {
    const all = leaves(await buildProgram());
    expect(all.length).toBeGreaterThan(20);
    for (const l of all) if (!NO_JSON[l.path]) expect(l.flags.has('--json'), `${l.path} lacks --json`).toBe(true);
  });

  it('every command that reads the network file takes --config, defaulting to $COSELL_CONFIG', async () => {
    const saved = process.env.COSELL_CONFIG;
    process.env.COSELL_CONFIG = '/from/the/env.yaml';
    try {
      for (const l of leaves(await buildProgram())) {
        if (NO_CONFIG.has(l.path)) continue;
        expect(l.flags.has('--config'), `${l.path} lacks --config`).toBe(true);
        expect(l.flags.get('--config'), `${l.path} ignores COSELL_CONFIG`).toBe('/from/the/env.yaml');
      }
    } finally {
      if (saved === undefined) delete process.env.COSELL_CONFIG;
      else process.env.COSELL_CONFIG = saved;
    }
  });

  it('mapping validate --org reads the network file COSELL_CONFIG names (it ignored it before)', async () => {
    const missing = path.join(f.dir, 'nowhere.yaml');
    const r = await run(['mapping', 'validate', f.mapping, '--org', 'hooli'], { COSELL_CONFIG: missing });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing);
  });

  it('validate --json: one document with every problem, exit 0 / 2', async () => {
    const ok = await run(['validate', '--offline', '--json', '-c', network]);
    expect(ok.code, ok.stderr).toBe(0);
    const doc = JSON.parse(ok.stdout) as { ok: boolean; errors: number; links: Array<{ id: string; ok: boolean }> };
    expect(doc).toMatchObject({ ok: true, errors: 0, links: [{ id: 'hooli-deals', ok: true }] });
    const broken = path.join(f.dir, 'broken.yaml');
    writeFileSync(broken, f.texts.network.replace('from: hooli.deals', 'from: hooli.dealz'));
    const bad = await run(['validate', '--offline', '--json', '-c', broken]);
    expect(bad.code).toBe(2);
    const badDoc = JSON.parse(bad.stdout) as { ok: boolean; problems: Array<{ file: string; line: number }> };
    expect(badDoc.ok).toBe(false);
    expect(badDoc.problems.length).toBeGreaterThan(0);
    expect(badDoc.problems[0].line).toBeGreaterThan(0);
  });

  it('overlaps --json on an empty ledger: a document with count 0', async () => {
    const r = await run(['overlaps', 'hooli', '--json', '-c', network]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ partner: 'hooli', vendor: 'vendor', count: 0, rows: [] });
  });

  it('mapping validate --json', async () => {
    const r = await run(['mapping', 'validate', f.mapping, '--json']);
    const doc = JSON.parse(r.stdout) as Array<{ file: string; ok: boolean }>;
    expect(doc).toHaveLength(1);
    expect(doc[0].file).toBe(f.mapping);
    expect(r.code).toBe(doc[0].ok ? 0 : 2);
  });
});

describe('connection errors say where and what to do', () => {
  it('ledger unreachable (PostgreSQL refused): exit 1, names the address without the password, and the fix', async () => {
    const r = await run(['registrations', 'list', '-c', path.join(f.dir, 'none.yaml')], { DATABASE_URL: 'postgres://cosell:s3cret-pw@127.0.0.1:1/cosell' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('COSELL_LEDGER_UNREACHABLE: cannot open the ledger at postgres://cosell:***@127.0.0.1:1/cosell');
    expect(r.stderr).toContain('hint: start PostgreSQL');
    expect(r.stderr).not.toContain('s3cret-pw');
  });
});

