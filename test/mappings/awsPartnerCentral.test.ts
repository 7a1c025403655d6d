import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFlat } from '../../connectors/aws-partner-central/schema.js';
import type { Fields } from '../../connectors/types.js';
import { loadMappingFile } from '../../mappings/file/loader.js';
import { opportunityProblems } from '../../sandbox/aws-partner-central/validate.js';
import { CTX, SCHEMAS, STOCK, snapshot } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The stock AWS Partner Central mappings: they type-check against the ACE schema snapshot (its
 * enumerations from the service model), a mapping that could produce a value outside an ACE
 * enumeration is refused at its position, and — randomized — whatever a vendor Salesforce Opportunity
 * or HubSpot deal holds, the document the mapping produces passes the emulated service's own
 * enumeration checks (no INVALID_ENUM_VALUE ever reaches AWS).
 */
const sfOpp = snapshot('salesforce-opportunity.json');
const deals = snapshot('hubspot-deals.json');
const FILES = ['salesforce-opportunity-to-aws-opportunity.yaml', 'aws-opportunity-to-salesforce-opportunity.yaml', 'hubspot-deal-to-aws-opportunity.yaml', 'aws-opportunity-to-hubspot-deal.yaml'];
const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);

function load(file: string) {
  const r = loadMappingFile(path.join(STOCK, file));
  const errors = r.problems.filter((p) => p.severity === 'error');
  if (!r.mapping) throw new Error(errors.map((p) => `${p.file}:${p.line}:${p.col}: ${p.code}: ${p.message}`).join('\n'));
  return r.mapping;
}

const values = (schema: typeof sfOpp, f: string) => schema.fields[f]!.picklistValues!;
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });

describe('stock mappings: AWS Partner Central', () => {
  it.each(FILES)('%s type-checks against its snapshots with no errors', (file) => {
    const r = loadMappingFile(path.join(STOCK, file));
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(r.mapping?.targetFields.length).toBeGreaterThan(5);
  });

  it('a value outside an ACE enumeration is refused at its file:line:col', () => {
    const dir = tempDir('cosell-ace-map-');
    const file = path.join(dir, 'bad.yaml');
    const text = readFileSync(path.join(STOCK, 'salesforce-opportunity-to-aws-opportunity.yaml'), 'utf8')
      .replaceAll('../schemas/', `${SCHEMAS}`)
      .replace('Customer.Account.Industry: AWS_Industry__c ?? "Other"', 'Customer.Account.Industry: AWS_Industry__c ?? "Mining Co"')
      .replace('    Negotiation/Review: Committed', '    Negotiation/Review: Contracting');
    writeFileSync(file, text);
    const r = loadMappingFile(file);
    expect(r.mapping).toBeUndefined();
    const errs = r.problems.filter((p) => p.severity === 'error');
    const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(errs).toEqual(expect.arrayContaining([
      expect.objectContaining({ code: 'MAP_PICKLIST', line: lineOf('"Mining Co"'), message: expect.stringContaining('Customer.Account.Industry') }),
      expect.objectContaining({ code: 'MAP_PICKLIST', message: expect.stringContaining('LifeCycle.Stage') }),
    ]));
    expect(errs.every((p) => p.line > 0 && p.col > 0)).toBe(true);
  });

  it('randomized: any vendor Opportunity maps to a document the service accepts value for value', () => {
    const m = load('salesforce-opportunity-to-aws-opportunity.yaml');
    const record = fc.record({
      Id: fc.constant('006000000000001AAA'),
      Name: fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== ''),
      StageName: fc.constantFrom(...values(sfOpp, 'StageName')),
      Type: nullable(fc.constantFrom(...values(sfOpp, 'Type'))),
      Amount: nullable(fc.double({ min: 0, max: 1e9, noNaN: true })),
      CloseDate: fc.date({ min: new Date('2026-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
      Description: nullable(fc.string({ maxLength: 200 })),
      Customer_Domain__c: fc.constantFrom('acme.example.com', 'globex.io'),
      AWS_Share__c: fc.constant(true),
      AWS_Customer_Name__c: nullable(fc.string({ minLength: 1, maxLength: 100 })),
      AWS_Industry__c: nullable(fc.constantFrom(...values(sfOpp, 'AWS_Industry__c'))),
      AWS_Country__c: nullable(fc.constantFrom(...values(sfOpp, 'AWS_Country__c'))),
      AWS_Delivery_Model__c: nullable(fc.constantFrom(...values(sfOpp, 'AWS_Delivery_Model__c'))),
      AWS_Business_Problem__c: nullable(fc.string({ minLength: 1, maxLength: 300 })),
    });
    console.log(`stock AWS mappings property: seed ${seed} (replay: COSELL_PROP_SEED=${seed})`);
    fc.assert(
      fc.property(record, (rec) => {
        expect(m.filter(rec as Fields, CTX)).toBe(true);
        const out = m.apply(rec as Fields, CTX);
        expect(out.errors).toEqual([]);
        const doc = applyFlat({}, { ...out.fields, PartnerOpportunityIdentifier: m.matchKey(rec as Fields, CTX) });
        const enumProblems = opportunityProblems(doc, 'update').filter((p) => p.Code === 'INVALID_ENUM_VALUE');
        expect(enumProblems).toEqual([]);
        expect(doc).toMatchObject({ LifeCycle: { Stage: expect.any(String) }, Customer: { Account: { Industry: expect.any(String), Address: { CountryCode: expect.any(String) } } } });
      }),
      { numRuns: 300, seed },
    );
  });

  it('randomized: any HubSpot deal maps to a document the service accepts value for value', () => {
    const m = load('hubspot-deal-to-aws-opportunity.yaml');
    const record = fc.record({
      hs_object_id: fc.integer({ min: 1, max: 1e9 }).map(String),
      dealname: fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== ''),
      dealstage: fc.constantFrom(...values(deals, 'dealstage')),
      dealtype: nullable(fc.constantFrom(...values(deals, 'dealtype'))),
      amount: nullable(fc.integer({ min: 0, max: 1e8 }).map(String)),
      closedate: nullable(fc.date({ min: new Date('2026-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString())),
      cosell_customer_domain: fc.constant('acme.example.com'),
      cosell_aws_share: fc.constant('true'),
      cosell_aws_industry: nullable(fc.constantFrom(...values(deals, 'cosell_aws_industry'))),
      cosell_aws_country: nullable(fc.constantFrom(...values(deals, 'cosell_aws_country'))),
      cosell_aws_delivery_model: nullable(fc.constantFrom(...values(deals, 'cosell_aws_delivery_model'))),
    });
    fc.assert(
      fc.property(record, (rec) => {
        expect(m.filter(rec as Fields, CTX)).toBe(true);
        const out = m.apply(rec as Fields, CTX);
        expect(out.errors).toEqual([]);
        const doc = applyFlat({}, out.fields);
        expect(opportunityProblems(doc, 'update').filter((p) => p.Code === 'INVALID_ENUM_VALUE')).toEqual([]);
      }),
      { numRuns: 300, seed },
    );
  });

  it('ACE → vendor: review status, comments and reason land on the vendor Opportunity; a referral is marked AWS Referral', () => {
    const m = load('aws-opportunity-to-salesforce-opportunity.yaml');
    const out = m.apply({
      Id: 'O1000123',
      PartnerOpportunityIdentifier: null,
      'Project.Title': 'Northwind data lake',
      'Customer.Account.CompanyName': 'Northwind Traders',
      'Customer.Account.WebsiteUrl': 'https://www.northwind.com',
      'Customer.Account.Industry': 'Retail',
      'LifeCycle.Stage': 'Qualified',
      'LifeCycle.ReviewStatus': 'Action Required',
      'LifeCycle.ReviewComments': 'Describe the business problem.',
      'LifeCycle.ReviewStatusReason': null,
      'LifeCycle.TargetCloseDate': '2027-03-31',
      'Project.ExpectedCustomerSpend.Amount': 2500,
    }, CTX);
    expect(out.errors).toEqual([]);
    expect(out.fields).toMatchObject({
      AWS_Review_Status__c: 'Action Required', AWS_Review_Comments__c: 'Describe the business problem.', AWS_Stage__c: 'Qualified', AWS_Origin__c: 'AWS Referral',
      Name: 'Northwind data lake', StageName: 'Qualification', CloseDate: '2027-03-31', Amount: 30000, AWS_Industry__c: 'Retail', Customer_Domain__c: 'northwind.com',
    });
  });
});
