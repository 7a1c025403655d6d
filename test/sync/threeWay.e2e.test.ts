import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { Engine } from '../../sync/build.js';
import { sandboxEnv, tempLedgerFile, testNetwork } from '../helpers/network.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { drain } from '../helpers/drain.js';

/**
 * What the sync writes when both sides edit (issue #12, "Trust"), black-box on the sandbox with the real
 * clients and the stock mappings: a two-way pair deals-in ⇄ opps-out (Amount / amount are owned by
 * `newest` both ways) under a companies link whose Accounts parent the opportunities.
 */
let sb: TestSandbox;
let ledger: Ledger;
let engine: Engine;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }, { id: 'acme', kind: 'hubspot', role: 'partner' }] });
  const conn = sandboxEnv(sb, 'THREEWAY');
  const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: ${conn.vendor} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${conn.acme} }
links:
  - { id: companies-in, from: acme.companies, to: vendor.Account, mapping: $STOCK/hubspot-company-to-salesforce-account.yaml, targetDeletes: recreate }
  - id: deals-in
    from: acme.deals
    to: vendor.Opportunity
    mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml
    pairedWith: opps-out
    parent: { link: companies-in, sourceField: associations.companies, targetField: AccountId }
  - { id: opps-out, from: vendor.Opportunity, to: acme.deals, mapping: $STOCK/salesforce-opportunity-to-hubspot-deal.yaml, pairedWith: deals-in }
`);
  ledger = await openLedger({ file: tempLedgerFile() });
  engine = new Engine({ network, ledger });
  await settle();
}, 60_000);

afterAll(async () => {
  await engine?.close();
  await ledger?.close();
  await sb?.stop();
});

/** Let the network settle: companies first, then the pair both ways until the echoes die out. */
async function settle(): Promise<void> {
  await drain(engine, 'companies-in', { deletions: true });
  for (let i = 0; i < 2; i++) {
    await drain(engine, 'deals-in', { deletions: true });
    await drain(engine, 'opps-out', { deletions: true });
  }
}

const tick = () => new Promise((r) => setTimeout(r, 15)); // CRM modification times are ms: keep edits apart
const hs = () => sb.hubspot('acme');
const sf = () => sb.jsforce('vendor');

async function opportunity(id: string) {
  const r = await sf().query<{ Name: string; Amount: number | null; AccountId: string | null }>(`SELECT Id, Name, Amount, AccountId FROM Opportunity WHERE Id = '${id}'`);
  return r.records[0];
}
async function deal(id: string) {
  return (await hs().crm.deals.basicApi.getById(id, ['amount', 'dealname'])).properties;
}
/** A settled deals-in pair whose deal has an amount (so the flips below are real edits). */
async function settledPair(n: number) {
  const pairs = (await ledger.pairs.list('deals-in')).filter((p) => !p.deletedAt && !p.targetDeletedAt);
  return pairs[n];
}

describe('two-way conflicts never silently drop the later human edit', () => {
  it('rapid flip: a partner A→B→A between polls leaves the vendor edit of the same field standing (and it reaches the partner)', async () => {
    const pair = await settledPair(0);
    await hs().crm.deals.basicApi.update(pair.sourceId, { properties: { amount: '1000' } });
    await settle();
    expect((await opportunity(pair.targetId)).Amount).toBe(1000);

    await sf().sobject('Opportunity').update({ Id: pair.targetId, Amount: 7777 }); // the vendor's edit
    await tick();
    await hs().crm.deals.basicApi.update(pair.sourceId, { properties: { amount: '2000' } }); // A → B …
    await tick();
    await hs().crm.deals.basicApi.update(pair.sourceId, { properties: { amount: '1000' } }); // … → A: no net change
    await settle();
    await settle();

    expect((await opportunity(pair.targetId)).Amount).toBe(7777);
    expect(Number((await deal(pair.sourceId)).amount)).toBe(7777);
    // Nothing ever wrote the partner's 1000 over the vendor's 7777.
    const events = await ledger.audit.list({ linkId: 'deals-in', recordId: pair.sourceId, limit: 1000 });
    expect(events.filter((e) => e.action === 'updated' && e.after && 'Amount' in e.after && e.after.Amount === 1000 && e.before?.Amount === 7777)).toEqual([]);
  });

  it('both sides changed: the later edit wins and the audit names the loser, its value, the policy and both times', async () => {
    const pair = await settledPair(1);
    await sf().sobject('Opportunity').update({ Id: pair.targetId, Amount: 3333 }); // vendor first …
    await tick();
    await hs().crm.deals.basicApi.update(pair.sourceId, { properties: { amount: '4444' } }); // … partner later
    const mark = (await ledger.audit.list({ order: 'desc', limit: 1 }))[0].id;
    await settle();

    expect((await opportunity(pair.targetId)).Amount).toBe(4444);
    expect(Number((await deal(pair.sourceId)).amount)).toBe(4444);
    const events = await ledger.audit.list({ afterId: mark, linkId: 'deals-in', recordId: pair.sourceId });
    const conflicts = events.flatMap((e) => (e.decisions ?? []) as Array<Record<string, unknown>>).filter((d) => d.rule === 'field-owner' && d.field === 'Amount');
    expect(conflicts).toEqual([
      expect.objectContaining({ field: 'Amount', policy: 'newest', winner: 'source', loserValue: 3333, sourceValue: 4444, sourceModifiedAt: expect.any(String), targetModifiedAt: expect.any(String) }),
    ]);
    expect(conflicts[0].sourceModifiedAt! > conflicts[0].targetModifiedAt!).toBe(true);
  });

  it('an echo never writes: once settled, further polls write nothing on either side', async () => {
    const mark = (await ledger.audit.list({ order: 'desc', limit: 1 }))[0].id;
    await settle();
    const writes = (await ledger.audit.list({ afterId: mark, limit: 10_000 })).filter((e) => e.action === 'created' || e.action === 'updated');
    expect(writes).toEqual([]);
  });
});

describe('equality respects the target field type', () => {
  it('text that looks like a number: a partner renaming "00123" to "123" reaches the opportunity', async () => {
    const pair = await settledPair(2);
    await hs().crm.deals.basicApi.update(pair.sourceId, { properties: { dealname: '00123' } });
    await settle();
    expect((await opportunity(pair.targetId)).Name).toBe('00123');
    await hs().crm.deals.basicApi.update(pair.sourceId, { properties: { dealname: '123' } });
    await settle();
    expect((await opportunity(pair.targetId)).Name).toBe('123');
  });
});

describe('a record deleted in the target', () => {
  it('an opportunity the vendor deleted is not re-created from the partner deal (targetDeletes: leave, the default): audited once, pair marked', async () => {
    const pair = await settledPair(3);
    const mark = (await ledger.audit.list({ order: 'desc', limit: 1 }))[0].id;
    await sf().sobject('Opportunity').destroy(pair.targetId);
    await hs().crm.deals.basicApi.update(pair.sourceId, { properties: { dealname: 'Edited after the vendor deleted it' } });
    await drain(engine, 'deals-in');
    await hs().crm.deals.basicApi.update(pair.sourceId, { properties: { dealname: 'Edited again' } });
    await drain(engine, 'deals-in');

    const again = await sf().query(`SELECT Id FROM Opportunity WHERE Partner_Deal_Id__c = 'acme:${pair.sourceId}'`);
    expect(again.totalSize).toBe(0);
    const events = await ledger.audit.list({ linkId: 'deals-in', recordId: pair.sourceId, action: 'target-deleted' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ targetId: pair.targetId, details: { policy: 'leave' } });
    expect((await ledger.pairs.bySource('deals-in', [pair.sourceId])).get(pair.sourceId)?.targetDeletedAt).toBeTruthy();
    expect(await ledger.audit.list({ afterId: mark, linkId: 'deals-in', recordId: pair.sourceId, action: 'created' })).toEqual([]);
  });

  it('targetDeletes: recreate writes it again, audited as a re-create naming the deleted record', async () => {
    const pair = (await ledger.pairs.list('companies-in')).find((p) => !p.deletedAt)!;
    await sf().sobject('Account').destroy(pair.targetId);
    await hs().crm.companies.basicApi.update(pair.sourceId, { properties: { city: 'Recreated City' } });
    await drain(engine, 'companies-in');

    const now = (await ledger.pairs.bySource('companies-in', [pair.sourceId])).get(pair.sourceId)!;
    expect(now.targetId).not.toBe(pair.targetId);
    const acc = await sf().query<{ BillingCity: string }>(`SELECT BillingCity FROM Account WHERE Id = '${now.targetId}'`);
    expect(acc.records[0].BillingCity).toBe('Recreated City');
    const [event] = await ledger.audit.list({ linkId: 'companies-in', recordId: pair.sourceId, action: 'recreated' });
    expect(event).toMatchObject({ targetId: now.targetId, details: { previousTargetId: pair.targetId, policy: 'recreate' } });
  });
});

describe('merges re-point the children', () => {
  it('a merged-away company\'s opportunity is re-pointed at the survivor\'s account, audited', async () => {
    const keep = await hs().crm.companies.basicApi.create({ properties: { name: 'Survivor Corp', domain: 'survivor.example' } });
    const gone = await hs().crm.companies.basicApi.create({ properties: { name: 'Merged Away Ltd', domain: 'mergedaway.example' } });
    const d = await hs().crm.deals.basicApi.create({
      properties: { dealname: 'Deal of the merged-away company', pipeline: 'default', dealstage: 'appointmentscheduled', amount: '500' },
      associations: [{ to: { id: gone.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 5 }] }],
    });
    await settle();
    const accounts = await ledger.pairs.bySource('companies-in', [keep.id, gone.id]);
    const oppId = (await ledger.pairs.bySource('deals-in', [d.id])).get(d.id)!.targetId;
    expect((await opportunity(oppId)).AccountId).toBe(accounts.get(gone.id)!.targetId);

    await hs().apiRequest({ method: 'POST', path: '/crm/v3/objects/companies/merge', body: { primaryObjectId: keep.id, objectIdToMerge: gone.id } });
    await settle();

    expect((await opportunity(oppId)).AccountId).toBe(accounts.get(keep.id)!.targetId);
    const [event] = await ledger.audit.list({ linkId: 'deals-in', recordId: d.id, action: 'reparented' });
    expect(event).toMatchObject({ targetId: oppId, details: { mergedFrom: gone.id, mergedInto: keep.id, field: 'AccountId', from: accounts.get(gone.id)!.targetId } });
  });
});
