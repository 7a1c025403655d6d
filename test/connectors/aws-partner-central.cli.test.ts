import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import type { AwsPartnerCentralSandboxOrg } from '@cosell/sandbox/aws-partner-central';
import { sandboxEnv } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `cosell aws invitations list|accept|reject` — a human deciding AWS referrals — against the emulated
 * Partner Central, in-process through the CLI's own command tree.
 */
let sb: TestSandbox;
let config: string;

async function cosell(...args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await (await buildProgram()).exitOverride().parseAsync(['node', 'cosell', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'aws', kind: 'aws-partner-central' }] });
  const conn = sandboxEnv(sb, 'ACECLI');
  const dir = tempDir('cosell-ace-cli-');
  config = path.join(dir, 'cosell.yaml');
  writeFileSync(config, `vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }\npartners:\n  - { id: aws, name: AWS, kind: aws-partner-central, tier: cloud, connection: ${conn.aws} }\nlinks: []\n`);
});
afterAll(() => sb?.stop());

describe('cosell aws invitations', () => {
  it('lists pending referrals, accepts one (an opportunity appears), rejects one with the reason', async () => {
    const svc = (sb.org('aws') as AwsPartnerCentralSandboxOrg).service;
    const a = svc.addReferral({ companyName: 'Woodgrove Bank', title: 'Woodgrove risk platform', industry: 'Financial Services', amount: '9000' });
    const b = svc.addReferral({ companyName: 'Proseware Media', title: 'Proseware streaming' });
    const listed = await cosell('aws', 'invitations', 'list', 'aws', '--config', config);
    expect(listed).toContain(`${a.Id}  PENDING   Woodgrove risk platform  — Woodgrove Bank (Financial Services, US)  9000/month`);
    expect(listed).toContain(b.Id);
    const accepted = await cosell('aws', 'invitations', 'accept', 'aws', a.Id, '--config', config);
    const oppId = /opportunity (O\d+)/.exec(accepted)?.[1];
    expect(oppId).toBeDefined();
    expect(svc.all().opportunities.find((o) => o.Id === oppId)?.data.Project).toMatchObject({ Title: 'Woodgrove risk platform' });
    expect(await cosell('aws', 'invitations', 'reject', 'aws', b.Id, '--reason', 'Not our market', '--config', config)).toContain(`rejected ${b.Id}: Not our market`);
    expect(svc.all().invitations.find((i) => i.Id === b.Id)).toMatchObject({ Status: 'REJECTED', RejectionReason: 'Not our market' });
    expect(await cosell('aws', 'invitations', 'list', 'aws', '--config', config)).toContain('no PENDING invitations');
    const all = await cosell('aws', 'invitations', 'list', 'aws', '--status', 'ACCEPTED,REJECTED', '--config', config);
    expect(all).toMatch(new RegExp(`${a.Id}  ACCEPTED`));
    expect(all).toMatch(new RegExp(`${b.Id}  REJECTED`));
  });

  it('refuses an org that is not Partner Central, and an over-long reason, before calling anything', async () => {
    await expect(cosell('aws', 'invitations', 'list', 'vendor', '--config', config)).rejects.toThrow(/org "vendor" is salesforce, not aws-partner-central/);
    await expect(cosell('aws', 'invitations', 'reject', 'aws', 'engi-0000000000001', '--reason', 'x'.repeat(81), '--config', config)).rejects.toThrow(/--reason must be 1 to 80 characters/);
  });
});
