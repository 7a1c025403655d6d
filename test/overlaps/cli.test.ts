import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import { openLedger } from '../../ledger/index.js';
import { csvCell } from '../../overlaps/report.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cosell-overlaps-cli-'));
const networkFile = path.join(dir, 'cosell.yaml');
writeFileSync(
  networkFile,
  `vendor: { id: vendor, name: Vendor Inc, kind: salesforce, connection: { instanceUrl: "https://vendor.example.com", auth: { accessToken: env:NOPE } } }
partners:
  - id: acme
    name: Acme
    kind: hubspot
    tier: gold
    connection: { auth: { accessToken: env:NOPE } }
    sharing: { vendor: [customers, opportunities], partner: [customers, prospects], secret: env:NOPE }
  - id: globex
    name: Globex
    kind: hubspot
    tier: gold
    connection: { auth: { accessToken: env:NOPE } }
ledger: { file: ledger.sqlite }
`,
);

async function run(...args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await (await buildProgram()).exitOverride().parseAsync(['node', 'cosell', 'overlaps', ...args, '-c', networkFile]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('cosell overlaps PARTNER', () => {
  it('prints the pair matrix and top accounts from the ledger and writes a one-sided CSV', async () => {
    const ledger = await openLedger({ file: path.join(dir, 'ledger.sqlite') });
    await ledger.overlaps.replace('acme', [
      { vendorAccountId: '001A', partnerRecordId: '9001', hashedKey: 'h1', classification: 'customer/customer', score: 60, details: { vendorRelation: 'customer', partnerRelation: 'customer', matchedOn: 'domain', vendorName: 'Acme Widgets', partnerName: 'ACME WIDGETS INC' } },
      { vendorAccountId: '001B', partnerRecordId: '9002', hashedKey: 'h2', classification: 'opportunity/customer', score: 100, details: { vendorRelation: 'opportunity', partnerRelation: 'customer', matchedOn: 'domain', vendorName: '=Globex, "EU"', partnerName: 'Globex' } },
      { vendorAccountId: '001C', partnerRecordId: '9003', hashedKey: 'h3', classification: 'customer/prospect', score: 42, details: { vendorRelation: 'customer', partnerRelation: 'prospect', matchedOn: 'name', vendorName: 'Hooli', partnerName: 'hooli' } },
    ]);
    await ledger.close();

    const csv = path.join(dir, 'acme.csv');
    const out = await run('acme', '--csv', csv, '--top', '2');
    expect(out).toContain('Overlaps between Vendor Inc and acme — 3');
    expect(out).toContain('vendor shares: customers, opportunities; acme shares: customers, prospects');
    expect(out).toMatch(/customer\s+1\s+0\s+1\s+2/); // vendor customers: 1 partner customer, 1 partner prospect
    expect(out).toMatch(/opportunity\s+1\s+0\s+0\s+1/);
    expect(out).toContain('matched on: domain 2 · domain-label 0 · name 1');
    const topLines = out.slice(out.indexOf('Top 2')).split('\n');
    expect(topLines[3]).toMatch(/^100\s+=Globex, "EU"\s+opportunity\s+customer\s+domain/);
    expect(out).not.toContain('Hooli'); // only the top 2

    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('partner,vendor_account_id,vendor_account_name,vendor_relation,partner_relation,classification,matched_on,score');
    expect(lines[1]).toBe(`acme,001B,"'=Globex, ""EU""",opportunity,customer,opportunity/customer,domain,100`);
    expect(lines).toHaveLength(4);
    // The vendor's export carries none of the partner's record ids or names.
    expect(lines.join('\n')).not.toMatch(/900\d|ACME WIDGETS INC/);

    await run('acme', '--csv', csv, '--side', 'partner');
    const partnerCsv = readFileSync(csv, 'utf8');
    expect(partnerCsv).toContain('acme,9002,Globex,customer,opportunity,opportunity/customer,domain,100');
    expect(partnerCsv).not.toMatch(/001[ABC]|Acme Widgets/);
  });

  it('refuses a partner without a sharing block, with a hint', async () => {
    await expect(run('globex')).rejects.toThrow(/partner "globex" has no sharing block/);
    await expect(run('nobody')).rejects.toThrow(/no partner "nobody"/);
  });

  it('quotes CSV cells and defuses formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
  });
});
