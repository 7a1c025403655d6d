import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';
import * as wc from '../lib/workflowClient.js';
import { streamSpecs } from '../sync/streamPlan.js';
import * as registrationApi from '../workflows/registrationApi.js';
import * as stream from '../workflows/stream.js';
import * as sync from '../workflows/sync.js';
import { testNetwork } from './helpers/network.js';

/**
 * lib/workflowClient.ts is the one place a client names a workflow: ids, types, messages. Its
 * messages are the workflows' own definitions (not copies that could drift), every id scheme is
 * the documented one and tells its argument back, and no product module starts, signals, updates or
 * queries a workflow by a string name.
 */
const ROOT = new URL('..', import.meta.url).pathname;

describe('lib/workflowClient.ts', () => {
  it('re-exports the workflow modules\' own signal, query and update definitions', () => {
    expect(wc.syncNowSignal).toBe(sync.syncNowSignal);
    expect(wc.resyncUpdate).toBe(sync.resyncUpdate);
    expect(wc.linkStatusQuery).toBe(sync.statusQuery);
    expect(wc.streamNotifySignal).toBe(stream.streamNotifySignal);
    expect(wc.supersededSignal).toBe(registrationApi.supersededSignal);
    expect(wc.vendorClosedSignal).toBe(registrationApi.vendorClosedSignal);
    expect(wc.decideUpdate).toBe(registrationApi.decideUpdate);
    expect(wc.resolveDisputeUpdate).toBe(registrationApi.resolveDisputeUpdate);
    // Every message the registration workflow takes is reachable through the client module.
    for (const name of Object.values(registrationApi.REGISTRATION_MESSAGES)) expect(Object.values(wc).some((v) => (v as { name?: string })?.name === name && typeof v === 'object'), name).toBe(true);
  });

  it('(property) every id is its documented prefix and the argument unchanged, so the argument reads back', () => {
    const schemes: Array<[(s: string) => string, string]> = [
      [wc.linkWorkflowId, 'sync:'], [wc.streamWorkflowId, 'stream:'], [wc.registrationWorkflowId, 'registration:'], [wc.disputeWorkflowId, 'dispute:'],
      [wc.rulesIndexWorkflowId, 'rules-index:'], [wc.overlapWorkflowId, 'overlap:'], [wc.scorecardWorkflowId, 'scorecard:'],
    ];
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (arg) => {
        const ids = schemes.map(([f, prefix]) => {
          const id = f(arg);
          expect(id.startsWith(prefix)).toBe(true);
          expect(id.slice(prefix.length)).toBe(arg);
          return id;
        });
        // Different workflow types never share an id for the same argument.
        expect(new Set(ids).size).toBe(ids.length);
      }),
    );
  });

  it('a change stream wakes its consumers with the signals the link and rules-index workflows define', () => {
    const network = testNetwork(`
vendor: { id: vendor, name: Vendor, kind: salesforce, connection: { instanceUrl: 'https://v.example', auth: { accessToken: 'env:X' } } }
partners:
  - { id: acme, name: Acme, kind: hubspot, tier: gold, connection: { auth: { accessToken: 'env:Y' } } }
streams: { enabled: true }
rules: ./roe.yaml
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-sf-opportunity.yaml, registration: true }
`);
    const wakes = streamSpecs(network).flatMap((s) => s.consumers.map((c) => c.wake)).filter((w) => !!w);
    expect(wakes).toContainEqual({ workflowId: wc.linkWorkflowId('acme-deals'), signal: wc.syncNowSignal.name });
    expect(wakes).toContainEqual({ workflowId: wc.rulesIndexWorkflowId('vendor'), signal: wc.refreshRulesIndexSignal.name });
  });

  it('no product module starts, signals, updates or queries a workflow by a string name, or spells an id scheme itself', () => {
    const files = globSync(['**/*.ts'], { cwd: ROOT, ignore: ['node_modules/**', 'test/**', 'dist/**', '.temporal/**', '**/*.d.ts', 'workflows/**', 'lib/workflowClient.ts', 'sandbox/**'] });
    expect(files.length).toBeGreaterThan(100);
    const byName = /workflow\.(start|execute|signalWithStart)\(\s*['"`]|\.(signal|query|executeUpdate|startUpdate)\(\s*['"`]|getHandle\(\s*['"`]|signal:\s*['"`]|workflowId:\s*`(sync|stream|registration|dispute|rules-index|overlap|scorecard):|export const \w+WorkflowId\s*=/;
    const offenders = files.flatMap((f) => readFileSync(`${ROOT}${f}`, 'utf8').split('\n').flatMap((line, i) => (byName.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])));
    expect(offenders).toEqual([]);
  });
});
