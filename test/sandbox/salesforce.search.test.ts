import fc from 'fast-check';
import type jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceOrg } from '../../sandbox/salesforce/index.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** SOSL (`conn.search`) and the parameterized search through the real jsforce, against the org's records. */

let sb: TestSandbox;
let conn: jsforce.Connection;

beforeAll(async () => {
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor' }] });
  conn = sb.jsforce('vendor');
  await conn.sobject('Account').create([
    { Name: "O'Brien & Sons (East)", Website: 'https://obrien.example.com' },
    { Name: 'Acme-Widgets {EU}', Phone: '+44 20 7946 0000' },
    { Name: 'Plain Acme', Description: 'widgets and gadgets' },
  ]);
});
afterAll(() => sb?.stop());

const org = () => sb.org('vendor') as SalesforceOrg;
/** The reserved characters of SOSL, escaped with a backslash as the SOSL reference says. */
const escapeSosl = (s: string) => s.replace(/[?&|!{}[\]()^~*:\\"'+-]/g, '\\$&');
const names = async (sosl: string) => ((await conn.search(sosl)).searchRecords as Array<{ Name?: string }>).map((r) => r.Name);
const errorOf = (sosl: string) => conn.search(sosl).then(() => 'no error', (e: { errorCode: string }) => e.errorCode);

describe('SOSL', () => {
  it('finds by word in the fields of the search group, with RETURNING field lists, WHERE, ORDER BY and LIMIT', async () => {
    expect(await names("FIND {O\\'Brien} RETURNING Account(Name)")).toEqual(["O'Brien & Sons (East)"]);
    expect(await names('FIND {acme} IN NAME FIELDS RETURNING Account(Name ORDER BY Name DESC)')).toEqual(['Plain Acme', 'Acme-Widgets {EU}']);
    expect(await names('FIND {acme} RETURNING Account(Name ORDER BY Name LIMIT 1)')).toEqual(['Acme-Widgets {EU}']);
    expect(await names('FIND {acme} RETURNING Account(Name ORDER BY Name LIMIT 1 OFFSET 1)')).toEqual(['Plain Acme']);
    // ALL FIELDS reaches the description; NAME FIELDS does not.
    expect(await names('FIND {gadgets} RETURNING Account(Name)')).toEqual(['Plain Acme']);
    expect(await names('FIND {gadgets} IN NAME FIELDS RETURNING Account(Name)')).toEqual([]);
    expect(await names('FIND {7946} IN PHONE FIELDS RETURNING Account(Name)')).toEqual(['Acme-Widgets {EU}']);
    expect(await names("FIND {Ac*} RETURNING Account(Name WHERE Name LIKE 'Plain%')")).toEqual(['Plain Acme']);
    expect(await names('FIND {Acm?} RETURNING Account(Name ORDER BY Name)')).toEqual(['Acme-Widgets {EU}', 'Plain Acme']);
    expect(await names('FIND {"plain acme" OR (brien AND sons)} RETURNING Account(Name ORDER BY Name)')).toEqual(["O'Brien & Sons (East)", 'Plain Acme']);
    expect(await names('FIND {acme AND NOT widgets} IN NAME FIELDS RETURNING Account(Name)')).toEqual(['Plain Acme']);
    expect(await names('FIND {acme plain} RETURNING Account(Name)')).toEqual(['Plain Acme']); // side by side: AND
    expect(await names('FIND {acme\\-widgets \\{eu\\}} RETURNING Account(Name)')).toEqual(['Acme-Widgets {EU}']);
    // Without a field list, Id only; without RETURNING, every searchable object.
    const bare = (await conn.search('FIND {Plain Acme}')).searchRecords as Array<Record<string, any>>;
    expect(bare).toEqual([{ attributes: { type: 'Account', url: expect.stringMatching(/\/sobjects\/Account\/001/) }, Id: expect.stringMatching(/^001/) }]);
    // The final LIMIT is over all objects.
    expect(await names('FIND {acme OR brien} RETURNING Account(Name), Opportunity(Name) LIMIT 2')).toHaveLength(2);
  });

  it('answers malformed searches as Salesforce does', async () => {
    expect(await errorOf('FIND {a} RETURNING Account')).toBe('INVALID_SEARCH');
    expect(await errorOf('FIND {acme} RETURNING Nope__c')).toBe('INVALID_TYPE');
    expect(await errorOf('FIND {acme')).toBe('MALFORMED_SEARCH');
    expect(await errorOf('FIND {"acme} RETURNING Account')).toBe('MALFORMED_SEARCH');
    expect(await errorOf('FIND {(acme} RETURNING Account')).toBe('MALFORMED_SEARCH');
    expect(await errorOf('SELECT Id FROM Account')).toBe('MALFORMED_SEARCH');
    expect(await errorOf('FIND {acme} IN BOGUS FIELDS')).toBe('MALFORMED_SEARCH');
    expect(await errorOf('FIND {acme} RETURNING Account(Nope__c)')).toBe('INVALID_FIELD');
  });

  it('parameterizedSearch: GET with parameters and POST with JSON', async () => {
    const get = (await conn.request('/services/data/v62.0/parameterizedSearch?q=acme&sobject=Account&Account.fields=Name&Account.limit=1&in=NAME')) as { searchRecords: Array<{ Name: string }> };
    expect(get.searchRecords).toHaveLength(1);
    const post = (await conn.request({ method: 'POST', url: '/services/data/v62.0/parameterizedSearch', body: JSON.stringify({ q: "o'brien", fields: ['Name', 'Website'], sobjects: [{ name: 'Account' }] }), headers: { 'content-type': 'application/json' } })) as { searchRecords: Array<Record<string, unknown>> };
    expect(post.searchRecords.map((r) => [r.Name, r.Website])).toEqual([["O'Brien & Sons (East)", 'https://obrien.example.com']]);
  });

  it('a name made of words and reserved characters, escaped, finds its record and exactly the records whose words contain its terms (property)', async () => {
    const wordArb = fc.stringMatching(/^[a-zA-Z0-9äß]{1,6}$/).filter((w) => !/^(and|or|not)$/i.test(w)); // operators, not words
    const sepArb = fc.constantFrom(' ', '-', '&', "'", '"', '(', ')', '{', '}', '[', ']', '*', '?', ':', '\\', '+', '!', '^', '~', '|', ', ', ' - ');
    const nameArb = fc.tuple(fc.array(fc.tuple(wordArb, sepArb), { minLength: 1, maxLength: 4 }), wordArb).map(([parts, last]) => parts.map(([w, s]) => w + s).join('') + last);
    const tokens = (s: string) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(nameArb, { minLength: 1, maxLength: 4 }), fc.nat(), async (batch, pick) => {
        const tag = `zq${n++}x`; // a word no other record has, so each run sees only its own records
        const created = await conn.sobject('Account').create(batch.map((name) => ({ Name: `${tag} ${name}` })));
        const ids = created.map((c) => c.id!);
        const query = batch[pick % batch.length]!;
        const found = ((await conn.search(`FIND {${tag} ${escapeSosl(query)}} IN NAME FIELDS RETURNING Account(Id, Name)`)).searchRecords as Array<{ Id: string }>).map((r) => r.Id);
        // The reference: terms are what whitespace separates (side by side: AND); each term's words appear
        // side by side among the name's words. Spaces as word boundaries, then a substring test.
        const terms = query.split(/\s+/).map(tokens).filter((t) => t.length > 0);
        const expected = ids.filter((id) => {
          const hay = ` ${tokens(String(org().data.table('Account').byId.get(id)!.Name)).join(' ')} `;
          return terms.every((t) => hay.includes(` ${t.join(' ')} `));
        });
        expect(found.sort(), `${query} in ${JSON.stringify(batch)}`).toEqual(expected.sort());
        expect(found).toContain(ids[pick % batch.length]);
      }),
      { numRuns: 40, seed: 8080 },
    );
  });
});
