import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccountIndex } from '../../rules/accountIndex.js';
import { partnerProfile, policyFromText, type Policy } from '../../rules/policy.js';
import type { PartnerProfile, RegistrationInput, VendorAccount } from '../../rules/types.js';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The demo policy (examples/roe.yaml), optionally with some text appended/replaced for one test. */
export function demoPolicy(edit: (yaml: string) => string = (y) => y): Policy {
  const text = readFileSync(path.join(root, 'examples/roe.yaml'), 'utf8');
  return policyFromText(edit(text), 'examples/roe.yaml');
}

type NetworkPartner = { id: string; tier: string; territories?: PartnerProfile['territories']; roles?: PartnerProfile['roles'] };

/** The demo network file's partners (examples/network.yaml): their tier, territories and roles live there only. */
export function demoNetworkPartners(edit: (yaml: string) => string = (y) => y): Record<string, NetworkPartner> {
  const doc = parseYaml(edit(readFileSync(path.join(root, 'examples/network.yaml'), 'utf8'))) as { partners: NetworkPartner[] };
  return Object.fromEntries(doc.partners.map((p) => [p.id, p]));
}

/** Each demo partner as the rules see it: the network file's profile with the policy's rules about it. */
export const partners = (policy: Policy, network = demoNetworkPartners()) => ({
  acme: partnerProfile(policy, 'acme', network.acme),
  globex: partnerProfile(policy, 'globex', network.globex),
  initech: partnerProfile(policy, 'initech', network.initech),
});

export const vendorAccounts: VendorAccount[] = [
  { id: '001A', name: 'Hooli Inc.', domain: 'https://www.hooli.com', owner: 'gavin', country: 'US', hasOpenOpportunity: true, openOpportunities: [{ id: '006H', name: 'Hooli platform', products: ['platform'] }] },
  { id: '001B', name: 'Pied Piper', domain: 'piedpiper.com', owner: 'monica', country: 'US' },
  { id: '001C', name: 'Stark Industries', domain: 'stark.com', owner: 'pepper', country: 'US', named: true },
  { id: '001D', name: 'Dunder Mifflin Paper Company', domain: 'dundermifflin.com', country: 'US', hasOpenOpportunity: true },
  { id: '001E', name: 'Vandelay Industries GmbH', domain: 'vandelay.de', country: 'DE' },
];

export function demoIndex(accounts: VendorAccount[] = vendorAccounts): AccountIndex {
  const index = new AccountIndex();
  for (const a of accounts) index.upsertAccount(a);
  return index;
}

let seq = 0;
export function registration(over: Partial<RegistrationInput> = {}): RegistrationInput {
  seq++;
  return {
    id: `acme:${1000 + seq}`,
    partnerId: 'acme',
    customerName: 'Initrode Global',
    website: 'initrode.com',
    country: 'US',
    amount: 50_000,
    closeDate: '2027-03-31',
    submittedAt: '2026-11-20T10:00:00.000Z',
    ...over,
  };
}
