import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangePage, FeedCursor } from '../../connectors/types.js';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { Engine } from '../../sync/build.js';
import { syncChangesPage } from '../../sync/page.js';
import { ReadAhead } from '../../sync/readAhead.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { copyStockMapping } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

const at = (modifiedAt: string, id = ''): FeedCursor => ({ modifiedAt, id });
const page = (n: number): ChangePage => ({ records: [], next: at(`2026-01-0${n}T00:00:00.000Z`), caughtUp: false });

describe('ReadAhead', () => {
  it('hands out a page only for exactly the cursor and generation it was read from, once', async () => {
    const ra = new ReadAhead();
    ra.start(at('2026-01-01T00:00:00.000Z', 'a'), 0, async () => page(2));
    expect(await ra.take(at('2026-01-01T00:00:00.000Z', 'b'), 0)).toBeUndefined(); // other cursor: discarded
    ra.start(at('2026-01-01T00:00:00.000Z', 'a'), 0, async () => page(2));
    expect(await ra.take(at('2026-01-01T00:00:00.000Z', 'a'), 1)).toBeUndefined(); // after a resync
    ra.start(at('2026-01-01T00:00:00.000Z', 'a'), 0, async () => page(2));
    expect(await ra.take(at('2026-01-01T00:00:00.000Z', 'a'), 0)).toEqual(page(2));
    expect(await ra.take(at('2026-01-01T00:00:00.000Z', 'a'), 0)).toBeUndefined(); // used up
  });

  it('a read-ahead that fails is forgotten, never an unhandled rejection', async () => {
    const ra = new ReadAhead();
    ra.start(at('2026-01-01T00:00:00.000Z'), 0, async () => {
      throw new Error('boom');
    });
    expect(await ra.take(at('2026-01-01T00:00:00.000Z'), 0)).toBeUndefined();
  });
});

describe('read-ahead in the sync (sandbox)', () => {
  let sb: TestSandbox;
  let ledger: Ledger;
  let engine: Engine;

  beforeAll(async () => {
    sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'acme', kind: 'hubspot', role: 'partner' }] });
    const conn = sandboxEnv(sb, 'READAHEAD');
    // every vendor opportunity, not only the ones this partner registered
    const mapping = copyStockMapping(tempDir(), 'salesforce-opportunity-to-hubspot-deal.yaml', [[/^filter: .*$/m, 'filter: not isBlank(Name)']]);
    const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: opps, from: vendor.Opportunity, to: acme.deals, mapping: ${mapping}, share: all }
`);
    ledger = await openLedger({ file: tempLedgerFile() });
    engine = new Engine({ network, ledger, pageSize: 4 });
  });

  afterAll(async () => {
    await engine?.close();
    await ledger?.close();
    await sb?.stop();
  });

  it('small pages: each page is read from the source once, every record lands once, and the cursor ends where a plain read would', async () => {
    const rt = await engine.link('opps');
    const source = rt.source;
    let reads = 0;
    const changes = source.changes.bind(source);
    source.changes = (...args) => {
      reads++;
      return changes(...args);
    };
    let pages = 0;
    let created = 0;
    for (let caughtUp = false; !caughtUp; pages++) {
      const r = await syncChangesPage(rt);
      created += r.counts.created ?? 0;
      caughtUp = r.caughtUp;
      if (pages > 50) throw new Error('did not catch up');
    }
    const { totalSize } = await sb.jsforce('vendor').query('SELECT Id FROM Opportunity');
    expect(pages).toBeGreaterThan(3);
    expect(reads).toBe(pages); // the read-ahead replaced the next page's read; none after catching up
    expect(created).toBe(totalSize);
    const deals = await sb.hubspot('acme').crm.deals.basicApi.getPage(100, undefined, ['cosell_source_id']);
    const ids = deals.results.map((d) => d.properties.cosell_source_id).filter(Boolean);
    expect(new Set(ids).size).toBe(totalSize);
    const again = await syncChangesPage(rt);
    expect([again.caughtUp, again.counts.created ?? 0, again.counts.updated ?? 0]).toEqual([true, 0, 0]);
  });
});
