import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatProblem, loadMappingFile, parseMapping } from '../../mappings/index.js';
import { CTX, SCHEMAS, snapshot, STOCK } from './helpers.js';

const deals = snapshot('hubspot-deals.json');
const opp = snapshot('salesforce-opportunity.json');
const schemas = { sourceSchema: deals, targetSchema: opp };

const HEADER = `mapping: test
source: { object: deals }
target: { object: Opportunity }
match: { source: hs_object_id, target: Partner_Deal_Id__c }
`;

function load(body: string, opts = schemas) {
  return parseMapping(HEADER + body, 'test.yaml', opts);
}

const lines = (r: { problems: Parameters<typeof formatProblem>[0][] }): string[] => r.problems.map(formatProblem);

describe('stock mappings', () => {
  const files = readdirSync(STOCK).filter((f) => f.endsWith('.yaml'));

  it('ships both directions for Opportunity ↔ deal, Account ↔ company and each CRM ↔ AWS Partner Central', () => {
    expect(files.sort()).toEqual([
      'aws-opportunity-to-hubspot-deal.yaml',
      'aws-opportunity-to-salesforce-opportunity.yaml',
      'hubspot-company-to-salesforce-account.yaml',
      'hubspot-deal-to-aws-opportunity.yaml',
      'hubspot-deal-to-salesforce-opportunity.yaml',
      'salesforce-account-to-hubspot-company.yaml',
      'salesforce-opportunity-to-aws-opportunity.yaml',
      'salesforce-opportunity-to-hubspot-deal.yaml',
    ]);
  });

  it.each(files)('%s validates against its schema snapshots without a single problem', (f) => {
    const r = loadMappingFile(STOCK + f);
    expect(lines(r)).toEqual([]);
    expect(r.mapping).toBeDefined();
  });

  it('maps a partner HubSpot deal (wire strings) to a vendor Opportunity', () => {
    const { mapping } = loadMappingFile(STOCK + 'hubspot-deal-to-salesforce-opportunity.yaml');
    if (!mapping) throw new Error('no mapping');
    const deal = {
      hs_object_id: '981', dealname: '  Globex — Cloud Rollout ', amount: '125000.456', closedate: '2027-01-15T00:00:00.000Z', pipeline: 'default',
      dealstage: 'decisionmakerboughtin', dealtype: 'newbusiness', hs_next_step: 'Send the quote', description: null, hs_priority: 'high',
      cosell_customer_domain: 'https://shop.globex.co.uk',
    };
    expect(mapping.filter(deal, CTX)).toBe(true);
    expect(mapping.filter({ ...deal, pipeline: 'partners' }, CTX)).toBe(false);
    expect(mapping.matchKey(deal, CTX)).toBe('acme:981');
    const { fields, errors } = mapping.apply(deal, CTX);
    expect(errors).toEqual([]);
    expect(fields).toEqual({
      Name: 'Globex — Cloud Rollout', Amount: 125000.456, CloseDate: '2027-01-15', StageName: 'Id. Decision Makers', ForecastCategoryName: 'Best Case',
      Probability: 80, Type: 'New Customer', LeadSource: 'Partner Referral', NextStep: 'Send the quote', Description: null,
      Registered_Partner__c: 'Acme Consulting', Registered_Partner_Id__c: 'acme', Registration_Status__c: 'Approved', Registration_Expiry__c: '2027-02-20',
      Partner_Role__c: 'Services', Partner_Stage__c: 'Decision Maker Bought-In', Partner_Amount__c: 125000.46, Partner_Priority__c: 'High',
      Partner_Close_Date__c: '2027-01-15', Customer_Domain__c: 'globex.co.uk',
    });
    expect(mapping.policies.StageName).toEqual({ owner: 'target' });
    expect(mapping.policies.NextStep).toEqual({ owner: 'fill-if-blank', when: 'not (dealstage in ["closedwon", "closedlost"])' });
    expect(mapping.policies.Name).toEqual({ owner: 'source' });
    expect(mapping.sourceFields).toContain('hs_object_id');
    expect(mapping.sourceFields).toContain('cosell_customer_domain');
    expect(mapping.targetFields).not.toContain('Partner_Deal_Id__c');
    // `when` leaves fields out: closed deals keep their next step, no registration → no registration fields
    const closed = mapping.apply({ ...deal, dealstage: 'closedwon' }, { now: CTX.now, partner: CTX.partner });
    expect(closed.fields).not.toHaveProperty('NextStep');
    expect(closed.fields).not.toHaveProperty('Registration_Status__c');
    expect(closed.fields.StageName).toBe('Closed Won');
  });

  it('reports a bad record field by target field name and still maps the rest', () => {
    const { mapping } = loadMappingFile(STOCK + 'hubspot-deal-to-salesforce-opportunity.yaml');
    const r = mapping!.apply({ hs_object_id: '1', dealname: 'x', amount: 'twelve', closedate: 'soon', dealstage: 'qualifiedtobuy' }, CTX);
    expect(r.errors).toEqual([
      { field: 'Amount', message: 'source field amount: cannot read text "twelve" as a number' },
      { field: 'CloseDate', message: expect.stringContaining('source field closedate: cannot read text "soon" as a datetime') },
      { field: 'Partner_Amount__c', message: 'source field amount: cannot read text "twelve" as a number' },
      { field: 'Partner_Close_Date__c', message: expect.stringContaining('source field closedate') },
    ]);
    expect(r.fields).not.toHaveProperty('Amount');
    expect(r.fields.StageName).toBe('Qualification');
  });

  it('maps a Salesforce Opportunity back to the partner deal only for that partner', () => {
    const { mapping } = loadMappingFile(STOCK + 'salesforce-opportunity-to-hubspot-deal.yaml');
    const o = { Id: '006A', Name: 'Globex', StageName: 'Closed Won', IsClosed: true, Amount: 5000, CloseDate: '2027-01-15', Registered_Partner_Id__c: 'acme', Registration_Status__c: 'Approved', Partner_Role__c: 'Services', Type: 'New Customer' };
    expect(mapping!.filter(o, CTX)).toBe(true);
    expect(mapping!.filter({ ...o, Registered_Partner_Id__c: 'other' }, CTX)).toBe(false);
    expect(mapping!.matchKey(o, CTX)).toBe('006A');
    const f = mapping!.apply(o, CTX).fields;
    expect(f).toMatchObject({ dealstage: 'closedwon', closedate: '2027-01-15T00:00:00.000Z', cosell_registration_status: 'approved', cosell_partner_role: 'services', dealtype: 'newbusiness', pipeline: 'default' });
    expect(mapping!.apply({ ...o, StageName: 'Qualification', IsClosed: false }, CTX).fields).not.toHaveProperty('dealstage');
  });

  it('maps companies and accounts with domain normalisation and the industry maps', () => {
    const c2a = loadMappingFile(STOCK + 'hubspot-company-to-salesforce-account.yaml').mapping!;
    const f = c2a.apply({ hs_object_id: '77', name: ' Initech ', domain: 'www.initech.de', industry: 'COMPUTER_SOFTWARE', numberofemployees: '250.4', annualrevenue: '1000000' }, CTX).fields;
    expect(f).toMatchObject({ Name: 'Initech', Website: 'https://www.initech.de', Industry: 'Technology', NumberOfEmployees: 250, AnnualRevenue: 1000000, Customer_Domain__c: 'initech.de', Type: 'Prospect', Registered_Partner__c: 'Acme Consulting' });
    expect(c2a.policies.Industry.owner).toBe('fill-if-blank');
    const a2c = loadMappingFile(STOCK + 'salesforce-account-to-hubspot-company.yaml').mapping!;
    expect(a2c.apply({ Id: '001', Name: 'Initech', Website: 'http://eu.initech.de', Industry: 'Other', Type: 'Technology Partner' }, CTX).fields).toMatchObject({ domain: 'initech.de', industry: null, type: 'PARTNER' });
  });
});

describe('checking a mapping', () => {
  it('finds every problem at once, each at its line and column', () => {
    const r = load(`fields:
  Name: dealnme
  Amount: amount + "x"
  CloseDate: closedate
  StageName: dealstage
  Bogus__c: 1
`);
    expect(r.mapping).toBeUndefined();
    expect(lines(r)).toEqual([
      'test.yaml:6:9: MAP_UNKNOWN_FIELD: deals has no field "dealnme"\n    hint: did you mean "dealname"?',
      'test.yaml:7:11: MAP_TYPE: Amount is currency (currency) but this value is text or null\n    hint: convert with number(...)',
      'test.yaml:8:14: MAP_TYPE: CloseDate is date (date) but this value is datetime or null\n    hint: convert with date(...)',
      'test.yaml:9:14: MAP_PICKLIST: StageName does not allow "appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent", "closedwon" and 1 more\n    hint: allowed: "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"',
      'test.yaml:10:3: MAP_UNKNOWN_TARGET: Opportunity has no field "Bogus__c"\n    hint: check the target schema',
    ]);
  });

  it('requires the target\'s required fields (but not the match key or server fields)', () => {
    const r = load('fields:\n  Name: dealname\n');
    expect(r.problems.map((p) => [p.code, p.message])).toEqual([
      ['MAP_REQUIRED', 'Opportunity.StageName (picklist) is required but not mapped'],
      ['MAP_REQUIRED', 'Opportunity.CloseDate (date) is required but not mapped'],
    ]);
    expect(r.problems[0]).toMatchObject({ line: 5, col: 1 });
  });

  const valid = `fields:
  Name: dealname
  StageName: stages[dealstage] ?? "Prospecting"
  CloseDate: date(closedate)
values:
  stages: { closedwon: Closed Won, closedlost: Closed Lost }
`;

  it('proves picklist values through value maps and ?? fallbacks', () => {
    const r = load(valid);
    expect(lines(r)).toEqual([]);
    expect(load(valid.replace('"Prospecting"', '"Prospect"')).problems.map((p) => p.message)).toEqual(['StageName does not allow "Prospect"']);
    expect(load(valid.replace('Closed Lost }', 'Lost }')).problems.map((p) => `${p.code} ${p.message} ${p.hint}`)).toEqual(['MAP_PICKLIST StageName does not allow "Lost" did you mean "Closed Lost"?']);
  });

  it('warns about value-map keys the source never has and source values a map misses', () => {
    const r = load(valid.replace('StageName: stages[dealstage] ?? "Prospecting"', 'StageName: stages[dealstage]').replace('closedlost: Closed Lost', 'closed_lost: Closed Lost'));
    expect(r.problems.map((p) => `${p.severity} ${p.code} ${p.message}`)).toEqual([
      expect.stringMatching(/^warning MAP_VALUE_MAP value map "stages" has no entry for "appointmentscheduled"/),
      'warning MAP_VALUE_MAP value map "stages" has key "closed_lost", which dealstage never has',
    ]);
    expect(r.problems[1].hint).toBe('did you mean "closedlost"?');
    expect(r.mapping).toBeDefined(); // warnings do not block
  });

  it('flags comparisons with values a picklist never has', () => {
    const r = load(`filter: dealstage == "closed_won"\n${valid}`);
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message} ${p.hint}`)).toEqual(['5:22 dealstage never has the value "closed_won" did you mean "closedwon"?']);
  });

  // Opportunity.LeadSource is an unrestricted picklist (restrictedPicklist: false, 5 values); Partner_Priority__c a restricted one.
  it('a value outside an unrestricted picklist is an error unless the field opts in with allowNewValues', () => {
    const leadSource = (spec: string) => load(valid.replace('fields:', `fields:\n  LeadSource: ${spec}`));
    expect(opp.fields.LeadSource).toMatchObject({ restrictedPicklist: false, picklistValues: expect.arrayContaining(['Partner Referral']) });
    const literal = leadSource(`'"Partner Referal"'`);
    expect(literal.mapping).toBeUndefined();
    expect(lines(literal)).toEqual([
      'test.yaml:6:15: MAP_PICKLIST: LeadSource has no value "Partner Referal"\n    hint: did you mean "Partner Referral"? — or, if LeadSource should gain new values, set allowNewValues: true on the field',
    ]);
    const anyText = leadSource('dealname');
    expect(anyText.problems.map((p) => `${p.severity} ${p.code} ${p.message}`)).toEqual(['error MAP_PICKLIST LeadSource is an unrestricted picklist, but this value can produce any text']);
    const constant = leadSource('{ const: Trade Show }');
    expect(constant.problems.map((p) => `${p.line}:${p.col} ${p.severity} ${p.message}`)).toEqual(['6:24 error LeadSource has no value "Trade Show"']);
    // opting in: no problem, the mapping compiles and writes the new value
    for (const optedIn of [leadSource(`{ value: '"Partner Referal"', allowNewValues: true }`), leadSource('{ value: dealname, allowNewValues: true }')]) {
      expect(lines(optedIn)).toEqual([]);
      expect(optedIn.mapping).toBeDefined();
    }
    expect(leadSource('{ value: dealname, allowNewValues: true }').mapping!.apply({ dealname: 'Webinar', closedate: null, dealstage: 'closedwon' }, CTX).fields.LeadSource).toBe('Webinar');
  });

  it('allowNewValues never opens a restricted picklist (the CRM rejects the value): still an error, and the flag is flagged', () => {
    const r = load(valid.replace('fields:', `fields:\n  Partner_Priority__c: { const: Urgent, allowNewValues: true }`));
    expect(r.mapping).toBeUndefined();
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.severity} ${p.message}`)).toEqual([
      '6:33 error Partner_Priority__c does not allow "Urgent"',
      '6:41 warning allowNewValues has no effect: Partner_Priority__c is a restricted picklist: the CRM rejects values outside its list whatever the mapping says',
    ]);
    expect(load(valid.replace('Name: dealname', '{ value: dealname, allowNewValues: true }'.replace(/^/, 'Name: '))).problems.map((p) => p.message)).toEqual(['allowNewValues has no effect: Name is string, not a picklist']);
  });

  it('property: a literal written to any picklist passes exactly when it is in the list, or the picklist is unrestricted and allowNewValues is set', () => {
    const picklists = Object.values(opp.fields).filter((f) => (f.type === 'picklist' || f.type === 'multipicklist') && f.picklistValues?.length && (f.createable || f.updateable));
    fc.assert(
      fc.property(
        fc.constantFrom(...picklists),
        fc.oneof(fc.string({ minLength: 1, maxLength: 20 }).filter((v) => !v.includes(';')), fc.constantFrom(...picklists.flatMap((f) => f.picklistValues!))),
        fc.boolean(),
        (tf, v, allowNew) => {
          const r = load(valid.replace('fields:', () => `fields:\n  ${tf.name}: { const: ${JSON.stringify(v)}${allowNew ? ', allowNewValues: true' : ''} }`).replace(tf.name === 'StageName' ? /\n  StageName: stages\[dealstage\] \?\? "Prospecting"/ : /$^/, ''));
          const picklistErrors = r.problems.filter((p) => p.code === 'MAP_PICKLIST' && p.severity === 'error');
          const allowed = tf.picklistValues!.includes(v) || (tf.restrictedPicklist === false && allowNew);
          expect(picklistErrors.length === 0, `${tf.name} ← ${JSON.stringify(v)} allowNewValues=${allowNew}: ${lines(r).join('; ')}`).toBe(allowed);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checks match keys, read-only targets and create-only targets', () => {
    const bad = parseMapping(HEADER.replace('target: Partner_Deal_Id__c', 'target: Name') + valid.replace('fields:', 'fields:\n  IsWon: true\n  Partner_Deal_Id__c: hs_object_id'), 't.yaml', schemas);
    expect(bad.problems.map((p) => `${p.code} ${p.message}`)).toEqual([
      'MAP_MATCH Opportunity.Name is neither an external id nor unique, so upserts on it could duplicate records',
      'MAP_READONLY Opportunity.IsWon is maintained by the CRM and cannot be written',
      'MAP_MATCH Name is the match key: it is set from match.source, not under fields:',
    ]);
  });

  it('explains YAML quoting traps', () => {
    const stripped = load(valid.replace('Name: dealname', 'Name: "Partner deal"'));
    expect(stripped.problems[0]).toMatchObject({ code: 'MAP_SYNTAX', line: 6, col: 18, hint: expect.stringContaining('YAML removed the quotes') });
    const yamlErr = load(valid.replace('Name: dealname', 'Name: "Deal " + dealname'));
    expect(yamlErr.problems).toHaveLength(1);
    expect(yamlErr.problems[0]).toMatchObject({ code: 'MAP_YAML', line: 6, hint: expect.stringContaining('quoted as a whole') });
    const ok = load(valid.replace('Name: dealname', `Name: '"Deal " + dealname'`));
    expect(lines(ok)).toEqual([]);
    expect(ok.mapping!.apply({ dealname: 'X' }, CTX).fields.Name).toBe('Deal X');
  });

  it('positions problems inside block scalars and quoted scalars', () => {
    const r = load(`fields:
  Name: >-
    trim(dealname) +
      tirm(dealname)
  StageName: 'stages[dealstage] ?? "Prospectin"'
  CloseDate: date(closedate)
values:
  stages: { closedwon: Closed Won }
`);
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.code}`)).toEqual(['8:7 MAP_UNKNOWN_FUNCTION', '9:14 MAP_PICKLIST']);
  });

  it('reports shape problems with did-you-mean for keys', () => {
    const r = parseMapping('mapping: Bad Name\nsource: { object: deals }\ntarget: { objekt: Opportunity }\nmatch: { source: a }\nfields: {}\nfilters: x\n', 'f.yaml', schemas);
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}${p.hint ? ' / ' + p.hint : ''}`)).toEqual([
      '1:10 mapping: use lower-case letters, digits, dots, dashes and underscores',
      '3:9 missing required key "object" in target',
      '3:11 unknown key "objekt" in target / did you mean "object"?',
      '4:8 missing required key "target" in match',
      '6:1 unknown key "filters" / did you mean "filter"?',
    ]);
  });

  it('works without schemas (untyped) and says so', () => {
    const r = parseMapping(HEADER + 'fields:\n  Anything: whatever + 1\n', 'u.yaml', {});
    expect(r.problems.map((p) => `${p.severity} ${p.code}`)).toEqual(['warning MAP_SCHEMA', 'warning MAP_SCHEMA']);
    expect(r.mapping!.apply({ whatever: 2 }, CTX).fields).toEqual({ Anything: 3 });
  });

  it('uses snapshots named in the file, relative to it, and checks they describe the object', () => {
    const text = `mapping: m\nsource: { object: deals, schema: hubspot-deals.json }\ntarget: { object: Account, schema: salesforce-opportunity.json }\nmatch: { source: hs_object_id, target: Partner_Deal_Id__c }\nfields: {}\n`;
    const r = parseMapping(text, SCHEMAS + 'virtual.yaml', {});
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual(['3:19 target object is "Account" but its schema describes "Opportunity"']);
    const missing = parseMapping(text.replace('hubspot-deals.json', 'nope.json'), SCHEMAS + 'virtual.yaml', {});
    expect(missing.problems[0]).toMatchObject({ code: 'MAP_SCHEMA', line: 2, col: 34, message: expect.stringContaining('cannot read schema snapshot') });
  });

  it('reads a file that does not exist as one problem, not an exception', () => {
    expect(loadMappingFile('/nonexistent/m.yaml').problems).toEqual([{ file: '/nonexistent/m.yaml', line: 1, col: 1, code: 'MAP_FILE', severity: 'error', message: 'cannot read mapping file /nonexistent/m.yaml (ENOENT)', hint: expect.stringContaining('relative to the network file') }]);
  });
});

describe('standalone conditions (a link\'s extra filter)', () => {
  it('compiles against the source schema and reports problems at the given position', async () => {
    const { compileCondition } = await import('../../mappings/index.js');
    const ok = compileCondition('amount >= 5000 and dealstage != "closedlost"', { sourceSchema: deals });
    expect(ok.problems).toEqual([]);
    expect(ok.test!({ amount: '6000', dealstage: 'qualifiedtobuy' }, CTX)).toBe(true);
    expect(ok.test!({ amount: '10', dealstage: 'qualifiedtobuy' }, CTX)).toBe(false);
    expect(ok.fieldsRead.sort()).toEqual(['amount', 'dealstage']);
    const bad = compileCondition('amout > 1', { sourceSchema: deals, file: 'cosell.yaml', line: 12, col: 14 });
    expect(bad.test).toBeUndefined();
    expect(bad.problems.map(formatProblem)).toEqual(['cosell.yaml:12:14: MAP_UNKNOWN_FIELD: deals has no field "amout"\n    hint: did you mean "amount"?']);
  });
});
