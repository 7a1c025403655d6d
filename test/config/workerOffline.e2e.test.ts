import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cosell, fixture, positionOf, STACK_TRACE, TEMPORAL_DOWN } from './fixture.js';

// `cosell worker --config` checks the whole configuration offline before it connects to anything:
// with Temporal down, a broken configuration must exit 2 with every problem at file:line:col, not
// exit 1 with a transport error. Black box: the real CLI in a child process, Temporal unreachable.

function expectNoConnection(r: { stderr: string; stdout: string }, ledger: string) {
  expect(r.stderr).not.toMatch(/tonic|transport|COSELL_TEMPORAL_UNREACHABLE/i);
  expect(r.stderr + r.stdout).not.toMatch(STACK_TRACE);
  expect(existsSync(ledger)).toBe(false); // nothing opened or written
}

describe.concurrent('cosell worker: configuration checked before connecting (Temporal down)', () => {
  it.each([
    {
      name: 'a missing mapping file',
      alter: (t: ReturnType<typeof fixture>['texts']) => ({ network: t.network.replace('mapping: deal.yaml', 'mapping: nosuch.yaml') }),
      where: (f: ReturnType<typeof fixture>, t: { network: string }) => `${f.network}:${positionOf(t.network, 'nosuch.yaml')}`,
      message: /CONFIG_MAPPING_MISSING: link "hooli-deals": mapping file .*nosuch\.yaml does not exist\n\s+hint: fix the path/,
    },
    {
      name: 'a missing rules file',
      alter: (t: ReturnType<typeof fixture>['texts']) => ({ network: t.network.replace('rules: roe.yaml', 'rules: nosuch-roe.yaml') }),
      where: (f: ReturnType<typeof fixture>, t: { network: string }) => `${f.network}:${positionOf(t.network, 'nosuch-roe.yaml')}`,
      message: /CONFIG_RULES_MISSING: cannot read the rules policy .*nosuch-roe\.yaml \(ENOENT\)\n\s+hint: fix the path/,
    },
    {
      name: 'an unknown source field',
      alter: (t: ReturnType<typeof fixture>['texts']) => ({ mapping: t.mapping.replace('Name: dealname', 'Name: dealnme') }),
      where: (f: ReturnType<typeof fixture>, t: { mapping?: string }) => `${f.mapping}:${positionOf(t.mapping!, 'dealnme')}`,
      message: /MAP_UNKNOWN_FIELD: deals has no field "dealnme"\n\s+hint: did you mean "dealname"\?/,
    },
    {
      name: 'an unsupported policy version',
      alter: (t: ReturnType<typeof fixture>['texts']) => ({ rules: t.rules.replace('version: 1', 'version: 2') }),
      where: (f: ReturnType<typeof fixture>, t: { rules?: string }) => `${f.rules}:${positionOf(t.rules!, '2', t.rules!.indexOf('version: 2'))}`,
      message: /RULES_VERSION: unsupported policy version 2: this cosell reads policy version 1\n\s+hint: write version: 1/,
    },
    {
      name: 'an unset credential',
      alter: () => ({}),
      env: { CFG_HOOLI_TOKEN: undefined },
      where: (f: ReturnType<typeof fixture>, t: { network: string }) => `${f.network}:${positionOf(t.network, 'env:CFG_HOOLI_TOKEN')}`,
      message: /CONFIG_SECRET_MISSING: partners\.0\.connection\.auth\.accessToken: environment variable CFG_HOOLI_TOKEN is not set\n\s+hint: export CFG_HOOLI_TOKEN=/,
    },
    {
      name: 'a partner tier the policy does not define',
      alter: (t: ReturnType<typeof fixture>['texts']) => ({ network: t.network.replace('tier: gold', 'tier: platinum') }),
      where: (f: ReturnType<typeof fixture>, t: { network: string }) => `${f.network}:${positionOf(t.network, 'platinum')}`,
      message: /CONFIG_TIER_UNKNOWN: partner "hooli" has tier "platinum", which the rules policy roe\.yaml does not define\n\s+hint: use one of: .*gold/,
    },
  ])('$name: exit 2 with file:line:col, what and how to fix, nothing connected', async ({ alter, where, message, env }) => {
    const f = fixture();
    const texts = { ...f.texts, ...alter(f.texts) };
    f.write(texts);
    const r = await cosell(['worker', '--config', f.network], env);
    expect(r.status, r.stderr).toBe(2);
    const line = r.stderr.split('\n').find((l) => l.startsWith(`${where(f, texts)}: `));
    expect(line, r.stderr).toBeDefined();
    expect(r.stderr.slice(r.stderr.indexOf(line!))).toMatch(message);
    expect(r.stderr).toMatch(/^cosell: COSELL_CONFIG_INVALID: 1 problem\(s\) in /m);
    expectNoConnection(r, f.ledger);
  });

  it('every problem at once, across the network, mapping and policy files', async () => {
    const f = fixture();
    const network = f.texts.network
      .replace('mapping: deal.yaml, registration: true }', 'mapping: deal.yaml, registration: true }\n  - { id: hooli-deals-2, from: hooli.deals, to: vendor.Opportunity, mapping: gone.yaml }')
;
    const texts = { network, mapping: f.texts.mapping.replace('Amount: amount', 'Amount: amout'), rules: f.texts.rules.replace('version: 1', 'version: 3') };
    f.write(texts);
    const r = await cosell(['worker', '--config', f.network], { CFG_VENDOR_SECRET: undefined });
    expect(r.status, r.stderr).toBe(2);
    const starts = r.stderr.split('\n').filter((l) => /^\/.+:\d+:\d+: [A-Z_]+: /.test(l));
    expect(starts.map((l) => l.replace(/: .*/s, ''))).toEqual(
      expect.arrayContaining([
        `${f.network}:${positionOf(network, 'env:CFG_VENDOR_SECRET')}`,
        `${f.network}:${positionOf(network, 'gone.yaml')}`,
        `${f.mapping}:${positionOf(texts.mapping, 'amout')}`,
        `${f.rules}:${positionOf(texts.rules, '3', texts.rules.indexOf('version: 3'))}`,
      ]),
    );
    expect(starts).toHaveLength(4);
    expect(r.stderr).toMatch(/^cosell: COSELL_CONFIG_INVALID: 4 problem\(s\) in /m);
    expectNoConnection(r, f.ledger);
  });

  it('a valid configuration with Temporal down: exit 1 with one clear transport error naming the address', async () => {
    const f = fixture();
    f.write();
    const r = await cosell(['worker', '--config', f.network]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^cosell: COSELL_TEMPORAL_UNREACHABLE: cannot connect to Temporal at ${TEMPORAL_DOWN.replaceAll('.', '\\.')} \\(namespace default\\): connection refused\\n\\s+hint: start a server`, 'm'));
    expect(r.stderr).not.toMatch(/tonic::transport/);
    expect(r.stderr + r.stdout).not.toMatch(STACK_TRACE);
  });
});
