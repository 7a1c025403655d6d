import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../connectors/index.js';
import type { Connector } from '../../connectors/types.js';
import { START_CURSOR } from '../../connectors/types.js';
import { sandboxEnv, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** HubSpot connector: `associations.<type>` in a read's fields gives the first associated record id. */
let sb: TestSandbox;
let hs: Connector;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'acme', kind: 'hubspot', role: 'partner' }] });
  const conn = sandboxEnv(sb, 'HSASSOC');
  const network = testNetwork(`
vendor: { id: acme, name: Acme, kind: hubspot, connection: ${conn.acme} }
partners: []
links: []
`);
  hs = await createConnector(network.org('acme'));
});

afterAll(async () => {
  await hs?.close();
  await sb?.stop();
});

describe('HubSpot associations as pseudo-fields', () => {
  it('readByIds and changes() fill associations.companies (lowest id; null without one); not asked → absent', async () => {
    const client = sb.hubspot('acme');
    const [c1, c2] = await Promise.all([client.crm.companies.basicApi.create({ properties: { name: 'Second Co' } }), client.crm.companies.basicApi.create({ properties: { name: 'First Co' } })]);
    const lower = [c1.id, c2.id].sort((a, b) => a.length - b.length || a.localeCompare(b))[0];
    const type = [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 5 }];
    const withTwo = await client.crm.deals.basicApi.create({ properties: { dealname: 'Two companies' }, associations: [{ to: { id: c1.id }, types: type }, { to: { id: c2.id }, types: type }] });
    const alone = await client.crm.deals.basicApi.create({ properties: { dealname: 'No company' } });

    const read = await hs.readByIds('deals', [withTwo.id, alone.id], ['dealname', 'associations.companies']);
    const byId = new Map(read.map((r) => [r.id, r.fields]));
    expect(byId.get(withTwo.id)).toMatchObject({ dealname: 'Two companies', 'associations.companies': lower });
    expect(byId.get(alone.id)!['associations.companies']).toBeNull();

    const plain = await hs.readByIds('deals', [withTwo.id], ['dealname']);
    expect(plain[0].fields).not.toHaveProperty('associations.companies');

    let cursor = START_CURSOR;
    const seen = new Map<string, unknown>();
    for (let i = 0; i < 20; i++) {
      const page = await hs.changes('deals', cursor, { fields: ['dealname', 'associations.companies'], pageSize: 100 });
      for (const r of page.records) seen.set(r.id, r.fields['associations.companies']);
      cursor = page.next;
      if (page.caughtUp) break;
    }
    expect(seen.get(withTwo.id)).toBe(lower);
    expect(seen.get(alone.id)).toBeNull();
  });
});
