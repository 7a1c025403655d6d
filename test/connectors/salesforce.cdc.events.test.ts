import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, isEcho } from '../../connectors/salesforce/cdc/events.js';
import { isReplayRefused, topicOf } from '../../connectors/salesforce/cdc/subscriber.js';

/** What a change event header means (pure): records to re-read, a reconcile, or cosell's own write. */
describe('Change Data Capture events', () => {
  const header = (h: Partial<Parameters<typeof classify>[0]> = {}) => ({ entityName: 'Opportunity', recordIds: ['006000000000001AAA'], changeType: 'UPDATE', changeOrigin: 'com/salesforce/api/rest/62.0', commitUser: '005000000000009AAA', ...h });

  it('echo: the integration user (15- or 18-character id) or client=cosell in changeOrigin, nothing else', () => {
    expect(isEcho(header({ commitUser: '005000000000001AAA' }), { userId: '005000000000001' })).toBe(true);
    expect(isEcho(header({ changeOrigin: 'com/salesforce/api/rest/62.0;client=cosell' }), { client: 'cosell' })).toBe(true);
    expect(isEcho(header({ changeOrigin: 'com/salesforce/api/rest/62.0;client=cosellx' }), { client: 'cosell' })).toBe(false);
    expect(isEcho(header(), { userId: '005000000000001AAA', client: 'cosell' })).toBe(false);
  });

  it('GAP events are re-read by id; overflow and id-less events reconcile; echo wins over both', () => {
    expect(classify(header({ changeType: 'GAP_UPDATE' }), {})).toEqual({ kind: 'changed', ids: ['006000000000001AAA'], gap: true });
    expect(classify(header({ changeType: 'GAP_OVERFLOW', recordIds: [] }), {})).toEqual({ kind: 'reconcile', reason: 'overflow' });
    expect(classify(header({ changeType: 'GAP_DELETE', recordIds: [] }), {})).toEqual({ kind: 'reconcile', reason: 'gap-without-ids' });
    expect(classify(header({ changeType: 'GAP_OVERFLOW', recordIds: [], commitUser: '005000000000001AAA' }), { userId: '005000000000001AAA' })).toEqual({ kind: 'echo' });
  });

  it('every header is exactly one of changed (its ids), reconcile, echo', () => {
    const types = fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW');
    fc.assert(
      fc.property(types, fc.array(fc.constantFrom('006000000000001AAA', '006000000000002AAA', ''), { maxLength: 4 }), fc.boolean(), (changeType, recordIds, own) => {
        const a = classify(header({ changeType, recordIds, commitUser: own ? '005000000000001AAA' : '005000000000002AAA' }), { userId: '005000000000001AAA' });
        const ids = recordIds.filter(Boolean);
        if (own) expect(a.kind).toBe('echo');
        else if (ids.length === 0) expect(a.kind).toBe('reconcile');
        else expect(a).toEqual({ kind: 'changed', ids, gap: changeType.startsWith('GAP_') });
      }),
    );
  });

  it('topics and refused replay ids', () => {
    expect(topicOf('Opportunity')).toBe('/data/OpportunityChangeEvent');
    expect(topicOf('Deal_Reg__c')).toBe('/data/Deal_Reg__ChangeEvent');
    expect(isReplayRefused({ code: 3, errorCodes: ['sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed'] })).toBe(true);
    expect(isReplayRefused({ code: 3, details: 'The Replay ID validation failed.' })).toBe(true);
    expect(isReplayRefused({ code: 14, details: 'unavailable' })).toBe(false);
  });
});
