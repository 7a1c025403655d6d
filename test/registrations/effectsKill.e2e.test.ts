import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dealsLink, sleep, World } from '../convergence/world.js';
import { eventually } from '../helpers/wait.js';
import { syncNowSignal, linkHandle, registrationHandle } from '../../lib/workflowClient.js';

/**
 * A worker SIGKILLed while a registration workflow applies a re-decision's effects (the soak's
 * intermittent stall, black-box): a partner raises an approved deal's amount 250× past its tier's
 * auto-approval limit, the deals link re-decides it through the registration's workflow, and the
 * worker dies while that workflow's effects activity writes the new status back to the partner.
 * The partner then raises the amount again. Both re-decisions must land and every link go back to
 * idle within a minute — not after the dead attempt's 5-minute start-to-close timeout, with the link
 * sitting `running` (its page waiting on the workflow's second update) and nothing said.
 */
let world: World;

beforeAll(async () => {
  world = await World.start({ temporalAddress: inject('temporalAddress'), workflowBundlePath: inject('workflowBundlePath'), permissiveVendorMapping: false, log: (l) => console.log(`effectsKill: ${l}`) });
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

const registrationOf = (id: string) => world.ledger<{ status: string }>('select status from registrations where id = ?', id)[0]?.status;

describe('a worker killed during a registration workflow\'s effects', () => {
  it('the re-decision lands and the links go idle within a minute', async () => {
    const p = world.partners[0]!;
    const hs = world.sb.hubspot(p.org);
    const company = await hs.crm.companies.basicApi.create({ properties: { name: `Effects Kill Corp (${p.marker})`, domain: 'effects-kill.example', country: 'US' }, associations: [] });
    const deal = await hs.crm.deals.basicApi.create({
      properties: { dealname: `${p.marker} effects kill`, amount: '4000', closedate: '2027-09-30T00:00:00.000Z', pipeline: 'default', dealstage: 'qualifiedtobuy' },
      associations: [],
    });
    await hs.crm.associations.v4.basicApi.createDefault('deals', deal.id, 'companies', company.id);
    const id = `${p.id}:${deal.id}`;
    await world.syncRound(120_000);
    // Decided by its workflow after the page: approved (below the tier limit), its effects applied.
    await eventually('the registration approved', async () => /approved$/.test(registrationOf(id) ?? '') && (await world.syncRound(60_000), true), { timeoutMs: 60_000 });

    // Slow the partner's CRM so the effects' write-back is surely in flight when the worker dies.
    await world.sb.faults(p.org, { latencyMs: 6_000 });
    await hs.crm.deals.basicApi.update(deal.id, { properties: { amount: String(4000 * 250) } });
    await linkHandle(world.client, dealsLink(p)).signal(syncNowSignal);
    const registration = registrationHandle(world.client, id);
    const until = Date.now() + 90_000;
    for (;;) {
      const pending = (await registration.describe()).raw.pendingActivities ?? [];
      if (pending.some((a) => a.activityType?.name === 'applyRegistrationEffects' && Number(a.attempt ?? 0) >= 1 && a.lastStartedTime)) break;
      if (Date.now() > until) throw new Error('the re-decision\'s effects activity never started');
      await sleep(200);
    }
    await sleep(1_000);
    const killedAt = Date.now();
    await world.killWorker();
    await world.sb.faults(p.org, {});
    // The partner raises again: a second re-decision, which the workflow takes only after the first
    // one's effects are done — retried from the dead worker's attempt.
    await hs.crm.deals.basicApi.update(deal.id, { properties: { amount: String(4000 * 1000) } });

    await world.syncRound(60_000);
    const recovered = Date.now() - killedAt;
    console.log(`effectsKill: re-decision landed and every link idle ${(recovered / 1000).toFixed(1)} s after the kill`);
    expect(registrationOf(id)).toBe('pending-review');
    const decidedOn = JSON.parse(world.ledger<{ details: string }>('select details from registrations where id = ?', id)[0]!.details).decidedOn;
    expect(decidedOn.amount).toBe(4000 * 1000);
    const partnerDeal = await hs.crm.deals.basicApi.getById(deal.id, ['cosell_registration_status']);
    expect(partnerDeal.properties.cosell_registration_status).toMatch(/review/i);
  }, 300_000);
});
