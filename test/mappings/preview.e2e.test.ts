import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../connectors/index.js';
import type { Connector, FieldSpec, ObjectSchema } from '../../connectors/types.js';
import { loadMappingFile, previewMapping, type CompiledMapping } from '../../mappings/index.js';
import { sandboxEnv, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { snapshot, STOCK } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Preview against the sandbox CRMs through the real connectors: a partner's HubSpot deals mapped onto
 * the vendor's Salesforce opportunities, diffed against what the vendor has — and nothing written.
 */
const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;
const MAPPING = STOCK + 'hubspot-deal-to-salesforce-opportunity.yaml';

let sb: TestSandbox;
let source: Connector;
let target: Connector;
let mapping: CompiledMapping;
let networkFile: string;
const partner = { id: 'acme', name: 'Acme Consulting', tier: 'gold' };

/** The custom fields the mapping uses, created from the snapshot (what the sync does before it runs). */
async function ensureCustom(c: Connector, object: string, snap: ObjectSchema, names: string[], custom: (n: string) => boolean): Promise<void> {
  const live = await c.describe(object);
  const specs: FieldSpec[] = names
    .filter((n) => custom(n) && !live.fields[n] && snap.fields[n])
    .map((n) => {
      const f = snap.fields[n];
      return { name: n, label: f.label, type: f.type === 'id' || f.type === 'reference' ? 'string' : f.type, unique: f.unique || undefined, externalId: f.externalId || undefined, length: f.length, picklistValues: f.picklistValues } as FieldSpec;
    });
  if (specs.length) await c.ensureFields(object, specs);
}

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'acme', kind: 'hubspot', role: 'partner' }] });
  const conn = sandboxEnv(sb, 'MAPPREVIEW');
  const text = `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: ${MAPPING} }
`;
  const network = testNetwork(text);
  networkFile = path.join(tempDir('cosell-map-'), 'cosell.yaml');
  writeFileSync(networkFile, text);
  source = await createConnector(network.org('acme'));
  target = await createConnector(network.org('vendor'));
  const probe = loadMappingFile(MAPPING).mapping!;
  await ensureCustom(target, 'Opportunity', snapshot('salesforce-opportunity.json'), [...probe.targetFields, probe.match.target], (n) => n.endsWith('__c'));
  await ensureCustom(source, 'deals', snapshot('hubspot-deals.json'), probe.sourceFields, (n) => n.startsWith('cosell_'));
  const [sourceSchema, targetSchema] = await Promise.all([source.describe('deals'), target.describe('Opportunity')]);
  const live = loadMappingFile(MAPPING, { sourceSchema, targetSchema });
  expect(live.problems.filter((p) => p.severity === 'error')).toEqual([]);
  mapping = live.mapping!;
});

afterAll(async () => {
  await source?.close();
  await target?.close();
  await sb?.stop();
});

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [bin, ...args], { encoding: 'utf8', env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const countOpps = async (): Promise<number> => (await sb.jsforce('vendor').query('SELECT COUNT() FROM Opportunity')).totalSize;

describe('mapping preview on the sandbox', () => {
  it('maps real source records, shows creates, and writes nothing', async () => {
    const before = await countOpps();
    const rows = await previewMapping(mapping, source, target, 8, { context: { partner } });
    expect(rows).toHaveLength(8);
    expect(await countOpps()).toBe(before);
    const creates = rows.filter((r) => r.action === 'create');
    expect(creates.length).toBeGreaterThan(0);
    for (const r of creates) {
      expect(r.key).toMatch(/^acme:\d+$/);
      expect(r.targetId).toBeUndefined();
      const byField = Object.fromEntries(r.changes.map((c) => [c.field, c]));
      expect(byField.StageName.next).toEqual(expect.any(String));
      expect(byField.Registered_Partner__c.next).toBe('Acme Consulting');
      expect(byField.LeadSource.next).toBe('Partner Referral');
      expect(r.changes.every((c) => c.current === undefined && !c.heldBy)).toBe(true);
    }
  });

  it('diffs against the target\'s current values and shows which owner policy holds a change back', async () => {
    const [first] = await previewMapping(mapping, source, target, 1, { context: { partner } });
    expect(first.action).toBe('create');
    // land it as the sync would, then let the vendor move the stage and the partner change the amount
    const fields = Object.fromEntries(first.changes.map((c) => [c.field, c.next]));
    const [written] = await target.upsert('Opportunity', mapping.match.target, [{ key: first.key!, fields }]);
    expect(written.status).toBe('created');
    await target.update('Opportunity', [{ id: written.id!, fields: { StageName: 'Negotiation/Review', Description: 'vendor notes' } }]);
    const unchanged = await previewMapping(mapping, source, target, 1, { context: { partner } });
    expect(unchanged[0]).toMatchObject({ targetId: written.id, key: first.key });
    const stage = unchanged[0].changes.find((c) => c.field === 'StageName');
    expect(stage).toMatchObject({ current: 'Negotiation/Review', heldBy: 'target' });
    const desc = unchanged[0].changes.find((c) => c.field === 'Description');
    if (fields.Description !== null) expect(desc).toMatchObject({ current: 'vendor notes', heldBy: 'fill-if-blank' });
    // only held-back differences → nothing would be written
    expect(unchanged[0].changes.every((c) => c.heldBy)).toBe(true);
    expect(unchanged[0].action).toBe('unchanged');
  });

  it('compares by the target field\'s type: "00123" and "123" differ in a text field', async () => {
    const deal = await sb.hubspot('acme').crm.deals.basicApi.create({ properties: { dealname: '123', amount: '900', dealstage: 'appointmentscheduled', pipeline: 'default', closedate: '2027-03-01T00:00:00.000Z' }, associations: [] });
    const row = async () => (await previewMapping(mapping, source, target, 1000, { context: { partner } })).find((r) => r.sourceId === deal.id)!;
    const first = await row();
    const fields = Object.fromEntries(first.changes.map((c) => [c.field, c.next]));
    const [written] = await target.upsert('Opportunity', mapping.match.target, [{ key: first.key!, fields: { ...fields, Name: '00123' } }]);
    expect(written.status).toBe('created');
    const again = await row();
    expect(again.changes.find((c) => c.field === 'Name')).toMatchObject({ current: '00123', next: '123' });
    expect(again.action).toBe('update');
  });

  // The sandbox runs inside this test process, so the CLI must run asynchronously (spawnSync would block
  // the event loop that answers its requests).
  it('cosell mapping validate --org checks against the live schemas; preview prints the diff table', async () => {
    const env = { ...process.env };
    const v = await run(['mapping', 'validate', MAPPING, '--org', 'acme', '--config', networkFile], env);
    expect(v.stderr).toContain('hubspot-deal-to-salesforce-opportunity.yaml: ok');
    expect(v.code).toBe(0);
    const p = await run(['mapping', 'preview', MAPPING, '--org', 'acme', '--config', networkFile, '--sample', '3'], env);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('hubspot-deal-to-salesforce-opportunity: deals → Opportunity, 3 source records (nothing was written)');
    expect(p.stdout).toMatch(/source id\s+key\s+action\s+field\s+current\s+new/);
    expect(p.stdout).toContain('kept: owner target');
  });
});
