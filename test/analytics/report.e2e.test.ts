import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../analytics/kpis.js';
import { kpiOptions, monthOf } from '../../analytics/report.js';
import { loadNetwork } from '../../lib/config.js';
import { parsePolicy } from '../../rules/policy.js';
import { sandboxEnv } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `cosell report` end to end: the real CLI (a child process) refreshes the fact store from the sandbox
 * vendor org through jsforce, then prints tables, JSON and CSV, and writes the HTML page, which
 * Chromium (Debian's, through playwright-core) renders with every chart and without any network
 * request. The screenshot path is printed in the test output.
 */

const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;
let sb: TestSandbox;
let dir: string;
let env: NodeJS.ProcessEnv;

const POLICY = `version: 1
currency: USD
exchangeRates: { EUR: 1.1 }
tiers:
  gold: { autoApproveUpTo: 100000 }
  silver: { autoApproveUpTo: 25000 }
attribution:
  roles:
    sourcing: { defaultSplit: 60, sourced: true }
    services: { defaultSplit: 20 }
    influence: { defaultSplit: 40 }
    reseller: { defaultSplit: 20 }
analytics:
  margin: 0.5
  costs: { acme: { mdf: 1200 } }
  tiers:
    gold: { wonDeals: 2, winRate: 0.5 }
    silver: {}
`;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 10, opportunities: 40, owners: 2 } }] });
  const conn = sandboxEnv(sb, 'ANLE');
  dir = tempDir('cosell-report-');
  writeFileSync(path.join(dir, 'roe.yaml'), POLICY);
  writeFileSync(
    path.join(dir, 'cosell.yaml'),
    `vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${conn.vendor} }\npartners:\n  - { id: acme, name: Acme, kind: hubspot, tier: silver, connection: { basePath: "http://127.0.0.1:9", auth: { accessToken: env:ANLE_UNUSED } } }\n  - { id: globex, name: Globex, kind: hubspot, tier: silver, connection: { basePath: "http://127.0.0.1:9", auth: { accessToken: env:ANLE_UNUSED } } }\nlinks: []\nledger: { file: ledger.sqlite }\nrules: roe.yaml\n`,
  );
  process.env.ANLE_UNUSED = 'x';
  env = { ...process.env, COSELL_LOG_LEVEL: 'error' };
  // Partner attribution on some won and lost vendor opportunities, as the registration gate writes it.
  const sf = sb.jsforce('vendor');
  await sf.tooling.sobject('CustomField').create({ FullName: 'Opportunity.Partner_Attribution__c', Metadata: { label: 'Partner Attribution', type: 'Text', length: 255 } } as never);
  const opps = (await sf.query<{ Id: string; IsClosed: boolean }>('SELECT Id, IsClosed FROM Opportunity ORDER BY Id')).records;
  const closed = opps.filter((o) => o.IsClosed);
  expect(closed.length).toBeGreaterThan(6);
  const attribution = ['acme:sourcing:60;globex:influence:40', 'acme:sourcing:100', 'globex:influence:100'];
  await sf.sobject('Opportunity').update(closed.slice(0, 6).map((o, i) => ({ Id: o.Id, Partner_Attribution__c: attribution[i % 3] })) as never);
}, 60_000);
afterAll(async () => {
  await sb?.stop();
});

/** Run the CLI asynchronously: the sandbox it talks to runs in this process (spawnSync would block it). */
function cosell(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [bin, ...args], { cwd: dir, env, timeout: 240_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('cosell report', () => {
  it('refreshes from the vendor CRM and prints tables, JSON and CSV that agree', async () => {
    const json = await cosell('report', '--refresh', '--json');
    expect(json.stderr).toMatch(/refreshed the fact store from vendor \(feed\): 40 changed/);
    expect(json.status).toBe(0);
    const r = JSON.parse(json.stdout) as Report;
    expect(r.comparison.joint.closed).toBe(6);
    expect(r.totals.sourcedRevenue + r.totals.influencedRevenue).toBeCloseTo(r.totals.jointRevenue, 6);
    expect(r.partners.map((p) => p.partner)).toEqual(['acme', 'globex']);
    expect(r.partners[0]!.tier).toBe('silver'); // the network file's tier (its one source)
    expect(r.partners[0]!.cost).toBeGreaterThan(0);
    const text = await cosell('report', '--by', 'partner');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/Joint-selling report/);
    expect(text.stdout).toMatch(/By partners on the deal/);
    expect(text.stdout).toMatch(/^By partner$/m);
    const csv = await cosell('report', '--csv', '--by', 'quarter');
    expect(csv.status).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^section,key,label,created,closed,won,lost,win_rate,/);
    expect(lines.filter((l) => l.startsWith('by-quarter,')).length).toBeGreaterThan(0);
    expect(lines.find((l) => l.startsWith('total,'))!.split(',')[4]).toBe(String(r.totals.closed));
  }, 400_000);

  it('refuses a bad breakdown, date or partner with the fix, exit code 2', async () => {
    const by = await cosell('report', '--by', 'partnr');
    expect(by.status).toBe(2);
    expect(by.stderr).toMatch(/COSELL_INPUT_INVALID: --by "partnr" is not a breakdown[\s\S]*partner/);
    const network = loadNetwork(path.join(dir, 'cosell.yaml'));
    expect(() => kpiOptions(network, undefined, { from: 'last tuesday' })).toThrow(/--from "last tuesday" is not a date/);
    expect(() => kpiOptions(network, undefined, { from: '2025-13' })).toThrow(/not a date/);
    expect(() => kpiOptions(network, undefined, { from: '2025-06', to: '2025-Q1' })).toThrow(/--from 2025-06 is after --to 2025-Q1/);
    expect(() => kpiOptions(network, undefined, { partner: 'acmee' })).toThrow(/no partner "acmee"/);
    expect(kpiOptions(network, undefined, { from: '2025-Q2', to: '2026' })).toMatchObject({ from: '2025-04', to: '2026-12' });
    expect(monthOf('2025-02-28', 'to')).toBe('2025-02');
  }, 300_000);

  it('writes a self-contained HTML page that Chromium renders with its charts and no network request', async () => {
    const file = path.join(dir, 'report.html');
    const r = await cosell('report', '--html', file, '--by', 'partner');
    expect(r.status).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link |https?:\/\/(?!www\.w3\.org)/);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      await page.goto(`file://${file}`);
      expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
      expect(await page.locator('svg').count()).toBe(5); // win rate, cycle days, revenue, pipeline, ROPI
      expect(await page.locator('svg[aria-label="Win rate (won / closed)"] rect').count()).toBeGreaterThanOrEqual(2);
      expect(await page.locator('svg[aria-label="ROPI by partner"]').textContent()).toMatch(/acme/);
      expect(await page.getByText('Joint vs direct').count()).toBe(1);
      const box = await page.locator('svg').first().boundingBox();
      expect(box!.width).toBeGreaterThan(300);
      const outDir = path.join(os.tmpdir(), 'cosell-test-output');
      mkdirSync(outDir, { recursive: true });
      const shot = path.join(outDir, 'analytics-report.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`report screenshot: ${shot}`);
    } finally {
      await browser.close();
    }
  }, 300_000);

  it('the policy names an unknown tier in analytics.tiers at its line and column', () => {
    const { problems } = parsePolicy(POLICY.replace('    silver: {}', '    platinum: {}'), 'roe.yaml');
    expect(problems.map((p) => `${p.line}:${p.col} ${p.code}`)).toEqual(['18:5 RULES_UNKNOWN_TIER']);
  });
});
