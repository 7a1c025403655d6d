import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { Engine } from '../../sync/build.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { drain } from '../helpers/drain.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * A link's own `filter:` in cosell.yaml (on top of its mapping's) decides what syncs — it used to be
 * accepted and then ignored, so every deal synced. A bad filter is a positioned configuration error.
 */
let sb: TestSandbox;
let ledger: Ledger;
const engines: Engine[] = [];
let conn: Record<string, string>;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', seed: { accounts: 2, opportunities: 0, owners: 1 } }, { id: 'acme', kind: 'hubspot', role: 'partner', seed: { accounts: 0, opportunities: 0, owners: 1 } }] });
  conn = sandboxEnv(sb, 'FILTER');
  ledger = await openLedger({ file: tempLedgerFile() });
});

afterAll(async () => {
  for (const e of engines) await e.close();
  await ledger?.close();
  await sb?.stop();
});

const networkText = (filter: string) => `
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - id: acme-deals
    from: acme.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
    filter: ${filter}
`;

function engineWith(filter: string): Engine {
  const network = testNetwork(networkText(filter));
  const engine = new Engine({ network, ledger });
  engines.push(engine);
  return engine;
}

describe("a link's own filter", () => {
  it('syncs only the records it lets through', async () => {
    const hs = sb.hubspot('acme');
    const amounts = [500, 4_999, 5_000, 12_000, 80_000];
    for (const [i, amount] of amounts.entries()) {
      await hs.crm.deals.basicApi.create({ properties: { dealname: `Filter test ${i}`, amount: String(amount), dealstage: 'appointmentscheduled', pipeline: 'default', closedate: '2027-03-01T00:00:00.000Z' }, associations: [] });
    }
    const totals = await drain(engineWith('"amount >= 5000"'), 'acme-deals');
    const opps = await sb.jsforce('vendor').query<{ Name: string; Amount: number }>("SELECT Name, Amount FROM Opportunity WHERE Name LIKE 'Filter test%'");
    expect(opps.records.map((r) => r.Amount).sort((a, b) => a - b)).toEqual([5_000, 12_000, 80_000]);
    expect(totals.created).toBe(3);
  });

  it('an unknown field in it is a configuration error at its position in cosell.yaml', async () => {
    const engine = engineWith('"amount >= 5000 and no_such_property == 1"');
    const err = await engine.link('acme-deals').then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/cosell\.yaml:10:33: .*no_such_property/);
  });

  it('`cosell validate --offline` reports it too, against the mapping\'s schema snapshot', () => {
    const file = path.join(tempDir('cosell-filter-'), 'cosell.yaml');
    writeFileSync(file, networkText('"amount >= 5000 and no_such_property == 1"').replaceAll('$STOCK', path.resolve('mappings/stock')));
    const r = spawnSync('node', ['bin/cosell.js', 'validate', '--offline', '--config', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/cosell\.yaml:10:33: .*no_such_property/);
  });
});
