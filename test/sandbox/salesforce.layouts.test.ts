import type jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** describe/layouts through the real jsforce (`sobject(T).layouts()`), followed from describe's own urls. */

let sb: TestSandbox;
let conn: jsforce.Connection;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', schema: { fields: { 'Opportunity.Tier__c': { type: 'Picklist', values: ['Gold', 'Silver'] } } } }] });
  conn = sb.jsforce('vendor');
});
afterAll(() => sb?.stop());

describe('describe/layouts', () => {
  it('one layout with every field of the object, related lists from its child relationships, the Master record type mapping', async () => {
    const d = await conn.sobject('Opportunity').describe();
    const res = (await conn.sobject('Opportunity').layouts()) as any;
    expect(Object.keys(res).sort()).toEqual(['layouts', 'recordTypeMappings', 'recordTypeSelectorRequired']);
    const [layout] = res.layouts;
    expect(Object.keys(layout).sort()).toEqual(['buttonLayoutSection', 'detailLayoutSections', 'editLayoutSections', 'feedView', 'highlightsPanelLayoutSection', 'id', 'multirowEditLayoutSections', 'offlineLinks', 'quickActionList', 'relatedContent', 'relatedLists', 'saveOptions', 'urls']);
    const onLayout = (sections: any[]) => sections.flatMap((s) => s.layoutRows.flatMap((r: any) => r.layoutItems.flatMap((i: any) => i.layoutComponents.map((c: any) => c.value))));
    const names = d.fields.map((f) => f.name).filter((n) => n !== 'Id' && n !== 'IsDeleted');
    expect(onLayout(layout.detailLayoutSections).sort()).toEqual([...names].sort());
    expect(onLayout(layout.editLayoutSections)).toContain('Tier__c');
    expect(onLayout(layout.editLayoutSections)).not.toContain('CreatedDate');
    const stage = layout.editLayoutSections[0].layoutRows.flatMap((r: any) => r.layoutItems).find((i: any) => i.label === 'Stage');
    expect(stage).toMatchObject({ required: true, editableForNew: true, layoutComponents: [{ type: 'Field', value: 'StageName', details: { name: 'StageName', type: 'picklist' } }] });
    const [mapping] = res.recordTypeMappings;
    expect(mapping).toMatchObject({ master: true, name: 'Master', recordTypeId: d.recordTypeInfos[0]!.recordTypeId, layoutId: layout.id });
    expect(mapping.picklistsForRecordType.find((p: any) => p.picklistName === 'Tier__c').picklistValues.map((v: any) => v.value)).toEqual(['Gold', 'Silver']);

    const acc = (await conn.sobject('Account').layouts()) as any;
    expect(acc.layouts[0].relatedLists.map((r: any) => [r.name, r.sobject, r.field])).toEqual(expect.arrayContaining([['Opportunities', 'Opportunity', 'AccountId'], ['ChildAccounts', 'Account', 'ParentId']]));
  });

  it('the layout URL that recordTypeInfos names answers that layout; another record type is NOT_FOUND', async () => {
    const d = await conn.sobject('Account').describe();
    const one = await conn.request<any>(d.recordTypeInfos[0]!.urls.layout!);
    expect(one.id).toBe(((await conn.sobject('Account').layouts()) as any).layouts[0].id);
    await expect(conn.request('/services/data/v62.0/sobjects/Account/describe/layouts/012000000000001AAA')).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
    await expect(conn.request('/services/data/v62.0/sobjects/Nope__c/describe/layouts')).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
  });
});
