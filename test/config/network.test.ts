import { describe, expect, it } from 'vitest';
import { parseNetwork } from '../../lib/config.js';
import { parsePolicy } from '../../rules/policy.js';
import { formatProblem } from '../../lib/problems.js';

const good = `
vendor:
  id: vendor
  name: Contoso
  kind: salesforce
  connection:
    instanceUrl: https://contoso.my.salesforce.com
    auth: { clientId: env:SF_CLIENT_ID, clientSecret: env:SF_CLIENT_SECRET }
partners:
  - id: acme
    name: Acme Consulting
    kind: hubspot
    tier: gold
    territories: { countries: [US, CA] }
    connection: { auth: { accessToken: env:ACME_TOKEN } }
links:
  - id: acme-deals
    from: acme.deals
    to: vendor.Opportunity
    mapping: mappings/deal-to-opportunity.yaml
    registration: true
`;

describe('network config', () => {
  it('accepts a valid network and fills defaults', () => {
    const { loaded, problems } = parseNetwork(good, 'cosell.yaml');
    expect(problems).toEqual([]);
    expect(loaded!.link('acme-deals')).toMatchObject({ schedule: '30s', deletes: 'flag', registration: true, enabled: true });
    expect(loaded!.partner('acme')?.tier).toBe('gold');
    expect(loaded!.resolve('x.yaml')).toMatch(/\/x\.yaml$/);
  });

  it('reports every problem at once with file:line:col', () => {
    const bad = good
      .replace('accessToken: env:ACME_TOKEN', 'accessToken: pat-na1-1234')
      .replace('from: acme.deals', 'from: nobody.deals')
      .replace('registration: true', 'registration: true\n    schedul: 5m');
    const { loaded, problems } = parseNetwork(bad, 'cosell.yaml');
    expect(loaded).toBeUndefined();
    const lines = problems.map(formatProblem);
    expect(lines).toContainEqual(expect.stringMatching(/^cosell\.yaml:15:40: CONFIG_INVALID: .*never the secret itself/));
    expect(lines).toContainEqual(expect.stringMatching(/^cosell\.yaml:22:5: CONFIG_INVALID: unknown key "schedul"/));
    // Cross-reference checks run only once the shape is valid; fix the shape and they appear.
    const { problems: p2 } = parseNetwork(good.replace('from: acme.deals', 'from: nobody.deals'), 'cosell.yaml');
    expect(p2.map(formatProblem)).toEqual([expect.stringMatching(/^cosell\.yaml:18:11: CONFIG_UNKNOWN_ORG: no org "nobody"/)]);
  });

  it('an alias without its anchor is a positioned problem, not an exception (network and policy files)', () => {
    const { loaded, problems } = parseNetwork(good.replace('kind: hubspot', 'kind: *hubspot'), 'cosell.yaml');
    expect(loaded).toBeUndefined();
    expect(problems.map(formatProblem)).toEqual(['cosell.yaml:12:11: YAML_SYNTAX: unknown alias *hubspot: no &hubspot anchor before it\n    hint: quote the value if `*` is meant literally']);
    expect(parsePolicy('version: 1\ncurrency: *usd\n', 'roe.yaml').problems.map(formatProblem)).toEqual(['roe.yaml:2:11: YAML_SYNTAX: unknown alias *usd: no &usd anchor before it\n    hint: quote the value if `*` is meant literally']);
  });

  it('refuses a link between two partners (partners never see each other\'s data)', () => {
    const twoPartners = good.replace('links:', `  - id: globex
    name: Globex
    kind: hubspot
    tier: silver
    connection: { auth: { accessToken: env:GLOBEX_TOKEN } }
links:
  - id: leak
    from: acme.deals
    to: globex.deals
    mapping: m.yaml`);
    const { problems } = parseNetwork(twoPartners, 'n.yaml');
    expect(problems.map((p) => p.code)).toContain('CONFIG_PARTNER_TO_PARTNER');
  });

  it('reports YAML syntax errors with a position', () => {
    const { problems } = parseNetwork('vendor: [unclosed\n', 'bad.yaml');
    expect(problems[0]).toMatchObject({ file: 'bad.yaml', code: 'YAML_SYNTAX' });
    expect(problems[0].line).toBeGreaterThan(0);
  });
});

describe('network config: ${VAR} interpolation', () => {
  it('fills non-secret values from the environment and reports missing variables where they are used', () => {
    const text = good.replace('https://contoso.my.salesforce.com', '${VENDOR_URL}');
    expect(parseNetwork(text, 'n.yaml', { VENDOR_URL: 'http://127.0.0.1:9999' }).loaded!.network.vendor.connection).toMatchObject({ instanceUrl: 'http://127.0.0.1:9999' });
    const { problems } = parseNetwork(text, 'n.yaml', {});
    expect(problems.map(formatProblem)).toEqual(['n.yaml:7:18: CONFIG_ENV_MISSING: environment variable VENDOR_URL is not set\n    hint: export VENDOR_URL=...']);
  });
});
