import { testNetwork } from '../helpers/network.js';

/** A network the console can list partners and links of, without CRMs behind it (nothing connects). */
export function offlineNetwork() {
  process.env.CONSOLE_T_ID ??= 'id';
  process.env.CONSOLE_T_SECRET ??= 'secret';
  const sf = '{ instanceUrl: "http://127.0.0.1:9", loginUrl: "http://127.0.0.1:9", auth: { clientId: env:CONSOLE_T_ID, clientSecret: env:CONSOLE_T_SECRET } }';
  const hs = '{ basePath: "http://127.0.0.1:9", auth: { accessToken: env:CONSOLE_T_SECRET } }';
  return testNetwork(`
vendor: { id: vendor, name: Contoso Cloud, kind: salesforce, connection: ${sf} }
partners:
  - { id: acme, name: Acme Consulting, kind: hubspot, tier: gold, connection: ${hs}, sharing: { vendor: [customers], partner: [customers, prospects], secret: env:CONSOLE_T_SECRET } }
  - { id: globex, name: Globex Integrators, kind: hubspot, tier: silver, connection: ${hs} }
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: $STOCK/hubspot-deal-to-salesforce-opportunity.yaml, schedule: 1h }
`);
}
