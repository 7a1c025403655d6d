import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../lib/configCheck.js';
import { formatProblem } from '../../mappings/index.js';
import { fixture, FIXTURE_ENV, positionOf } from './fixture.js';

// The offline check in-process, for the cases the CLI tests (workerOffline.e2e) do not spawn a process for.
const errorsOf = (file: string, env: NodeJS.ProcessEnv = FIXTURE_ENV) =>
  checkConfig(file, { env })
    .problems.filter((p) => p.severity === 'error')
    .map((p) => formatProblem(p).split('\n')[0]);

describe('configuration check (offline)', () => {
  it('the valid fixture has no problem at all', () => {
    const f = fixture();
    expect(checkConfig(f.write(), { env: FIXTURE_ENV }).problems).toEqual([]);
  });

  it('finds every credential reference: push webhook secret, file: secrets (missing, empty), the ledger URL', () => {
    const f = fixture();
    const empty = path.join(f.dir, 'empty.secret');
    writeFileSync(empty, '  \n');
    const network = f.texts.network
      .replace('    sharing: {', '    push: { webhooks: { listen: "127.0.0.1:0", clientSecret: env:CFG_HOOK_SECRET } }\n    sharing: {')
      .replace('secret: env:CFG_OVERLAP_KEY', `secret: file:${empty}`)
      .replace('ledger: { file:', `ledger: { url: file:${f.dir}/nope.url, file:`);
    const file = f.write({ network });
    expect(errorsOf(file)).toEqual([
      `${file}:${positionOf(network, 'env:CFG_HOOK_SECRET')}: CONFIG_SECRET_MISSING: partners.0.push.webhooks.clientSecret: environment variable CFG_HOOK_SECRET is not set`,
      `${file}:${positionOf(network, `file:${empty}`)}: CONFIG_SECRET_MISSING: partners.0.sharing.secret: secret file ${empty} is empty`,
      `${file}:${positionOf(network, 'file:' + f.dir + '/nope.url')}: CONFIG_SECRET_MISSING: ledger.url: cannot read secret file ${f.dir}/nope.url (ENOENT)`,
    ]);
    // and the credential check is what `validate --offline` leaves out
    expect(checkConfig(file, { env: FIXTURE_ENV, credentials: false }).problems).toEqual([]);
  });

  it('a link whose mapping reads or writes another object than the link names', () => {
    const f = fixture();
    const network = f.texts.network.replace('to: vendor.Opportunity', 'to: vendor.Account');
    const file = f.write({ network });
    expect(errorsOf(file)).toEqual([
      `${file}:${positionOf(network, 'vendor.Account')}: CONFIG_MAPPING_OBJECT: link "hooli-deals" writes Account, but its mapping deal.yaml writes Opportunity`,
    ]);
  });

  it('a registration link without a rules policy; a region the policy does not define', () => {
    const f = fixture();
    const noRules = f.texts.network.replace('rules: roe.yaml\n', '');
    let file = f.write({ network: noRules });
    expect(errorsOf(file)).toEqual([`${file}:${positionOf(noRules, 'true', noRules.indexOf('registration: true') )}: CONFIG_RULES_MISSING: link "hooli-deals" is a registration link but the network file has no rules: policy`]);
    const region = f.texts.network.replace('regions: [EMEA]', 'regions: [EMEA, APJ]');
    file = f.write({ network: region });
    expect(errorsOf(file)).toEqual([`${file}:${positionOf(region, 'APJ')}: CONFIG_REGION_UNKNOWN: partner "hooli" works region "APJ", which the rules policy roe.yaml does not define`]);
  });

  it('a mapping shared by two links is reported once; a disabled link is not checked', () => {
    const f = fixture();
    const network = f.texts.network.replace(
      'registration: true }',
      'registration: true }\n  - { id: again, from: hooli.deals, to: vendor.Opportunity, mapping: deal.yaml }\n  - { id: off, from: hooli.deals, to: vendor.Opportunity, mapping: gone.yaml, enabled: false }',
    );
    const mapping = f.texts.mapping.replace('Name: dealname', 'Name: dealnme');
    const file = f.write({ network, mapping });
    expect(errorsOf(file)).toEqual([`${f.mapping}:${positionOf(mapping, 'dealnme')}: MAP_UNKNOWN_FIELD: deals has no field "dealnme"`]);
  });

  it('an unreadable network file is one positioned problem, not an exception', () => {
    expect(errorsOf('/nonexistent/cosell.yaml')).toEqual(['/nonexistent/cosell.yaml:1:1: CONFIG_FILE: cannot read network file /nonexistent/cosell.yaml (ENOENT)']);
  });
});
