import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxEnv } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { tempDir } from '../helpers/tmp.js';

const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;
const stock = path.resolve(new URL('../../mappings/stock', import.meta.url).pathname);
let sb: TestSandbox;

/** Run the CLI without blocking this process (the sandbox it talks to lives here). */
function cosell(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [bin, ...args], { env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
let dir: string;

function network(mapping: string) {
  const conn = sandboxEnv(sb, 'VAL');
  const file = path.join(dir, `net-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: ${mapping} }
`,
  );
  return file;
}

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce' }, { id: 'acme', kind: 'hubspot' }] });
  dir = tempDir('cosell-validate-');
});
afterAll(() => sb?.stop());

describe('cosell validate', () => {
  it('checks every mapping against the live orgs and passes a good network', async () => {
    const r = await cosell(['validate', '--config', network(`${stock}/hubspot-deal-to-salesforce-opportunity.yaml`)]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('✓ link acme-deals: acme.deals → vendor.Opportunity');
    expect(r.status).toBe(0);
  });

  it('reports a mapping problem with file:line:col and exits 2, writing nothing', async () => {
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(`${stock}/hubspot-deal-to-salesforce-opportunity.yaml`, 'utf8').replace('Name: trim(dealname)', 'Name: trim(dealnme)').replaceAll('../schemas/', `${stock}/../schemas/`));
    const before = await sb.jsforce('vendor').describe('Opportunity');
    const r = await cosell(['validate', '--config', network(broken)]);
    expect(r.status, r.stderr + r.stdout).toBe(2);
    expect(r.stdout).toMatch(/✗ link acme-deals/);
    expect(r.stdout).toMatch(/broken\.yaml:\d+:\d+: MAP_UNKNOWN_FIELD: deals has no field "dealnme"/);
    expect(r.stdout).toMatch(/did you mean|dealname/);
    const after = await sb.jsforce('vendor').describe('Opportunity');
    expect(after.fields.length).toBe(before.fields.length); // validate never creates fields
  });

  // Opportunity.LeadSource is an unrestricted picklist in the (sandbox) org: Salesforce would accept any
  // value and add it, which is almost always a typo. validate passed it with exit 0.
  it('a value outside an unrestricted picklist is an error (exit 2, file:line:col) unless the field says allowNewValues: true', async () => {
    const stockText = readFileSync(`${stock}/hubspot-deal-to-salesforce-opportunity.yaml`, 'utf8').replaceAll('../schemas/', `${stock}/../schemas/`);
    expect(stockText).toContain('    const: Partner Referral\n');
    const typo = path.join(dir, 'typo.yaml');
    const text = stockText.replace('    const: Partner Referral\n', '    const: Partner Referal\n');
    writeFileSync(typo, text);
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes('const: Partner Referal')) + 1;
    const col = lines[line - 1].indexOf('Partner Referal') + 1;
    for (const args of [[], ['--offline']]) {
      const r = await cosell(['validate', ...args, '--config', network(typo)]);
      expect(r.status, r.stdout + r.stderr).toBe(2);
      expect(r.stdout).toContain(`${typo}:${line}:${col}: MAP_PICKLIST: LeadSource has no value "Partner Referal"`);
      expect(r.stdout).toMatch(/hint: did you mean "Partner Referral"\? — or, if LeadSource should gain new values, set allowNewValues: true on the field/);
    }
    const optedIn = path.join(dir, 'opted-in.yaml');
    writeFileSync(optedIn, text.replace('    const: Partner Referal\n', '    const: Partner Referal\n    allowNewValues: true\n'));
    const ok = await cosell(['validate', '--config', network(optedIn)]);
    expect(ok.stdout + ok.stderr).not.toMatch(/MAP_PICKLIST/);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    // a restricted picklist stays closed whatever the mapping says
    const restricted = path.join(dir, 'restricted.yaml');
    writeFileSync(restricted, text.replace('    const: Partner Referal\n', '    const: Partner Referral\n').replace('  Partner_Priority__c: priorities[hs_priority]\n', '  Partner_Priority__c: { const: Urgent, allowNewValues: true }\n'));
    const closed = await cosell(['validate', '--config', network(restricted)]);
    expect(closed.status, closed.stdout + closed.stderr).toBe(2);
    expect(closed.stdout).toMatch(/restricted\.yaml:\d+:\d+: MAP_PICKLIST: Partner_Priority__c does not allow "Urgent"/);
  }, 120_000); // four CLI processes: well over the default minute on a loaded two-core machine
});
