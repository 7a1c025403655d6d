import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';

const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const BIN = path.join(ROOT, 'bin/cosell.js');

/** A port on loopback where nothing listens: Temporal "down". */
export const TEMPORAL_DOWN = '127.0.0.1:1';

/** Credentials the fixture's network references (env: refs), all set. */
export const FIXTURE_ENV = { CFG_VENDOR_ID: 'id', CFG_VENDOR_SECRET: 'secret', CFG_HOOLI_TOKEN: 'token', CFG_OVERLAP_KEY: 'k' };

export interface Fixture {
  dir: string;
  network: string;
  mapping: string;
  rules: string;
  ledger: string;
  /** Texts of a valid configuration: a HubSpot partner registering deals into a Salesforce vendor. */
  texts: { network: string; mapping: string; rules: string };
  /** Write (possibly altered) texts; returns the network file. */
  write(texts?: Partial<Fixture['texts']>): string;
}

export function validTexts(ledger: string) {
  const mapping = readFileSync(path.join(ROOT, 'examples/mappings/partner-deal-to-vendor-opportunity.yaml'), 'utf8').replaceAll('../../mappings/schemas/', `${ROOT}/mappings/schemas/`);
  const rules = readFileSync(path.join(ROOT, 'examples/roe.yaml'), 'utf8');
  const network = `vendor:
  id: vendor
  name: Vendor
  kind: salesforce
  connection:
    instanceUrl: http://127.0.0.1:9/
    auth: { clientId: env:CFG_VENDOR_ID, clientSecret: env:CFG_VENDOR_SECRET }
partners:
  - id: hooli
    name: Hooli
    kind: hubspot
    tier: gold
    territories: { regions: [EMEA] }
    connection:
      basePath: http://127.0.0.1:9
      auth: { accessToken: env:CFG_HOOLI_TOKEN }
    sharing: { vendor: [customers], partner: [customers], secret: env:CFG_OVERLAP_KEY }
links:
  - { id: hooli-deals, from: hooli.deals, to: vendor.Opportunity, mapping: deal.yaml, registration: true }
ledger: { file: ${ledger} }
rules: roe.yaml
`;
  return { network, mapping, rules };
}

export function fixture(): Fixture {
  const dir = tempDir('cosell-config-');
  const ledger = path.join(dir, 'ledger.sqlite');
  const texts = validTexts(ledger);
  const f: Fixture = {
    dir,
    network: path.join(dir, 'cosell.yaml'),
    mapping: path.join(dir, 'deal.yaml'),
    rules: path.join(dir, 'roe.yaml'),
    ledger,
    texts,
    write(t = {}) {
      const all = { ...texts, ...t };
      writeFileSync(f.network, all.network);
      writeFileSync(f.mapping, all.mapping);
      writeFileSync(f.rules, all.rules);
      return f.network;
    },
  };
  return f;
}

/** 1-based line:col of the first occurrence of `needle` in `text` (where a problem must point). */
export function positionOf(text: string, needle: string, from = 0): string {
  const i = text.indexOf(needle, from);
  if (i < 0) throw new Error(`"${needle}" not in text`);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The real CLI in a child process (tsx loader, as a user runs it), Temporal unreachable unless env says otherwise. */
export function cosell(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 90_000, cwd = ROOT): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const full: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: TEMPORAL_DOWN, ...FIXTURE_ENV, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete full[k];
    const child = spawn(process.execPath, [BIN, ...args], { env: full, cwd });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A JavaScript stack trace line ("    at fn (file:1:2)"): a crash, never a report. */
export const STACK_TRACE = /^\s+at .+[:(]/m;
