import { describe, expect, it } from 'vitest';
import { parseNetwork, pushEndpoints } from '../../lib/config.js';
import { formatProblem } from '../../lib/problems.js';

const network = (acmePush: string, globexPush = '') => `
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
    connection: { auth: { accessToken: env:ACME_TOKEN } }
${acmePush}
  - id: globex
    name: Globex
    kind: hubspot
    tier: silver
    connection: { auth: { accessToken: env:GLOBEX_TOKEN } }
${globexPush}
`;

describe('network config: push.webhooks on HubSpot orgs', () => {
  it('accepts a webhook endpoint per org and fills in the default path', () => {
    const { loaded, problems } = parseNetwork(
      network(
        '    push: { webhooks: { listen: "0.0.0.0:8790", clientSecret: env:ACME_APP_SECRET, appId: 123 } }',
        '    push: { webhooks: { listen: "0.0.0.0:8790", path: /hooks/globex, publicUrl: "https://cosell.example.com/hooks/globex", clientSecret: file:/run/secrets/globex } }',
      ),
      'cosell.yaml',
    );
    expect(problems).toEqual([]);
    expect(pushEndpoints(loaded!.network)).toEqual([
      { org: 'acme', listen: '0.0.0.0:8790', path: '/hubspot/acme/webhooks', publicUrl: undefined, clientSecret: 'env:ACME_APP_SECRET', appId: 123 },
      { org: 'globex', listen: '0.0.0.0:8790', path: '/hooks/globex', publicUrl: 'https://cosell.example.com/hooks/globex', clientSecret: 'file:/run/secrets/globex', appId: undefined },
    ]);
  });

  it('says where and what for a secret written in the file, a bad listen address, an unknown key', () => {
    const { loaded, problems } = parseNetwork(network('    push: { webhooks: { listen: "localhost", clientSecret: "a1b2c3-the-secret", apId: 1 } }'), 'cosell.yaml');
    expect(loaded).toBeUndefined();
    const lines = problems.map(formatProblem);
    expect(lines).toContainEqual(expect.stringMatching(/^cosell\.yaml:15:33: CONFIG_INVALID: .*listen: host:port, e\.g\. 127\.0\.0\.1:8790/));
    expect(lines).toContainEqual(expect.stringMatching(/^cosell\.yaml:15:60: CONFIG_INVALID: .*clientSecret: must be a reference like env:NAME .*never the secret itself/));
    expect(lines).toContainEqual(expect.stringMatching(/^cosell\.yaml:15:81: CONFIG_INVALID: unknown key "apId"/));
    // No secret value in any message.
    expect(lines.join('\n')).not.toContain('a1b2c3-the-secret');
  });

  it('refuses two orgs on one address and path, and ports past 65535, at their positions', () => {
    const clash = parseNetwork(
      network('    push: { webhooks: { listen: "127.0.0.1:8790", path: /hooks, clientSecret: env:A } }', '    push: { webhooks: { listen: "127.0.0.1:8790", path: /hooks, clientSecret: env:B } }'),
      'cosell.yaml',
    );
    expect(clash.problems.map(formatProblem)).toEqual([expect.stringMatching(/^cosell\.yaml:21:57: CONFIG_DUPLICATE: org "globex" receives webhooks on 127\.0\.0\.1:8790\/hooks, as org "acme" does/)]);
    const port = parseNetwork(network('    push: { webhooks: { listen: "127.0.0.1:99999", clientSecret: env:A } }'), 'cosell.yaml');
    expect(port.problems.map(formatProblem)).toEqual([expect.stringMatching(/^cosell\.yaml:15:33: CONFIG_INVALID: port 99999 is out of range/)]);
  });

  it('has no push section on Salesforce orgs (CDC is not configured here)', () => {
    const text = network('').replace('    auth: { clientId: env:SF_CLIENT_ID, clientSecret: env:SF_CLIENT_SECRET }', '    auth: { clientId: env:SF_CLIENT_ID, clientSecret: env:SF_CLIENT_SECRET }\n  push: { webhooks: { listen: "127.0.0.1:1", clientSecret: env:A } }');
    expect(parseNetwork(text, 'cosell.yaml').problems.map(formatProblem)).toEqual([expect.stringMatching(/^cosell\.yaml:9:3: CONFIG_INVALID: unknown key "push"/)]);
  });

  it('Salesforce pubsub.lease: defaults, and a renew not below ttl refused at its position', () => {
    const sf = (lease: string) => network('').replace('auth: { clientId: env:SF_CLIENT_ID, clientSecret: env:SF_CLIENT_SECRET }', `auth: { clientId: env:SF_CLIENT_ID, clientSecret: env:SF_CLIENT_SECRET }\n    pubsub: { endpoint: "api.pubsub.salesforce.com:7443"${lease} }`);
    const ok = parseNetwork(sf(', lease: { ttl: 9s }'), 'cosell.yaml');
    expect(ok.problems).toEqual([]);
    const v = ok.loaded!.network.vendor;
    expect(v.kind === 'salesforce' && v.connection.pubsub?.lease).toEqual({ ttl: '9s', renew: '5s' });
    const bad = parseNetwork(sf(', lease: { ttl: 5s, renew: 5s }'), 'cosell.yaml');
    expect(bad.loaded).toBeUndefined();
    expect(bad.problems.map(formatProblem)).toEqual([expect.stringMatching(/^cosell\.yaml:9:84: CONFIG_INVALID: the CDC lease is renewed every 5s but lasts only 5s[\s\S]*renew at most a third of ttl/)]);
  });
});
