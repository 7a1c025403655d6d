import fc from 'fast-check';
import type jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceOrg } from '@cosell/sandbox/salesforce';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * Composite (`/composite`: references between subrequests, allOrNone) and Composite Batch
 * (`/composite/batch`: haltOnError) through the real jsforce (`conn.request`, as jsforce has no helper for
 * them), checked against the org's state.
 */

let sb: TestSandbox;
let conn: jsforce.Connection;

beforeAll(async () => {
  // pubsub on: Change Data Capture counts the transactions the calls commit.
  sb = await startTestSandbox({ orgs: [{ id: 'vendor', kind: 'salesforce', role: 'vendor', pubsub: {} }] });
  conn = sb.jsforce('vendor');
});
afterAll(() => sb?.stop());

const org = () => sb.org('vendor') as SalesforceOrg;
const V = '/services/data/v62.0';

interface SubResult { body: any; httpHeaders: Record<string, string>; httpStatusCode: number; referenceId: string }
const composite = (body: unknown) =>
  conn.request<{ compositeResponse: SubResult[] }>({ method: 'POST', url: `${V}/composite`, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
/** The raw answer, for the top-level errors jsforce would throw on. */
const rawPost = async (path: string, body: unknown) => {
  const info = sb.orgs.vendor as Extract<TestSandbox['orgs'][string], { kind: 'salesforce' }>;
  const res = await fetch(`${info.instanceUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${info.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any, usage: res.headers.get('sforce-limit-info') };
};
/** Every row of the org's tables, to compare before and after a rolled-back call. */
const dump = () => JSON.stringify([...org().data.tables.entries()].map(([k, t]) => [k, [...t.byId.values()]]));
const usedOf = (h: string | null) => Number(/api-usage=(\d+)/.exec(h ?? '')![1]);

describe('Composite', () => {
  it('runs subrequests in order, each reading earlier results through @{ref.path}', async () => {
    const { compositeResponse: r } = await composite({
      compositeRequest: [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'acc', body: { Name: 'Composite Co', Industry: 'Energy' } },
        { method: 'GET', url: `${V}/sobjects/Account/@{acc.id}?fields=Name,Industry`, referenceId: 'read' },
        { method: 'GET', url: `${V}/query?q=${encodeURIComponent('SELECT Id, Name FROM Account WHERE Id = ')}'@{acc.id}'`, referenceId: 'q' },
        { method: 'POST', url: `${V}/sobjects/Opportunity`, referenceId: 'opp', body: { Name: '@{read.Name} deal', StageName: 'Prospecting', CloseDate: '2027-03-01', AccountId: '@{q.records[0].Id}' } },
        { method: 'PATCH', url: `${V}/sobjects/Account/@{acc.id}`, referenceId: 'upd', body: { Website: 'https://composite.example.com' } },
      ],
    });
    expect(r.map((x) => [x.referenceId, x.httpStatusCode])).toEqual([['acc', 201], ['read', 200], ['q', 200], ['opp', 201], ['upd', 204]]);
    const accId = r[0]!.body.id as string;
    expect(r[0]!.httpHeaders).toEqual({ Location: `${V}/sobjects/Account/${accId}` });
    expect(r[1]!.body).toMatchObject({ Name: 'Composite Co', Industry: 'Energy' });
    expect(r[4]!.body).toBeNull();
    const opp = org().data.table('Opportunity').byId.get(r[3]!.body.id)!;
    expect([opp.Name, opp.AccountId]).toEqual(['Composite Co deal', accId]);
    expect(org().data.table('Account').byId.get(accId)!.Website).toBe('https://composite.example.com');
  });

  it('allOrNone: one failure rolls every subrequest back; the others answer PROCESSING_HALTED', async () => {
    const before = dump();
    const { compositeResponse: r } = await composite({
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'a1', body: { Name: 'Rolled Back Co' } },
        { method: 'POST', url: `${V}/composite/sobjects`, referenceId: 'coll', body: { records: [{ attributes: { type: 'Account' }, Name: 'Rolled Back Too' }] } },
        { method: 'POST', url: `${V}/sobjects/Opportunity`, referenceId: 'bad', body: { Name: 'No stage', CloseDate: '2027-01-01', AccountId: '@{a1.id}' } },
        { method: 'GET', url: `${V}/sobjects/Account/@{a1.id}`, referenceId: 'after' },
      ],
    });
    expect(r.map((x) => [x.referenceId, x.httpStatusCode])).toEqual([['a1', 400], ['coll', 400], ['bad', 400], ['after', 400]]);
    expect(r[2]!.body[0]).toMatchObject({ errorCode: 'REQUIRED_FIELD_MISSING' });
    for (const i of [0, 1, 3]) expect(r[i]!.body).toEqual([{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }]);
    expect(dump()).toBe(before);
  });

  it('without allOrNone, a subrequest whose parent failed does not run; independent ones do', async () => {
    const { compositeResponse: r } = await composite({
      compositeRequest: [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'bad', body: { Industry: 'no name' } },
        { method: 'POST', url: `${V}/sobjects/Opportunity`, referenceId: 'child', body: { Name: 'Orphan', StageName: 'Prospecting', CloseDate: '2027-01-01', AccountId: '@{bad.id}' } },
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'ok', body: { Name: 'Independent Co' } },
      ],
    });
    expect(r.map((x) => [x.referenceId, x.httpStatusCode])).toEqual([['bad', 400], ['child', 400], ['ok', 201]]);
    expect(r[1]!.body[0].errorCode).toBe('PROCESSING_HALTED');
    expect(r[1]!.body[0].message).toContain('bad.id');
    expect([...org().data.table('Opportunity').byId.values()].some((o) => o.Name === 'Orphan')).toBe(false);
    expect(org().data.table('Account').byId.get(r[2]!.body.id)?.Name).toBe('Independent Co');
  });

  it('refuses a malformed request whole and counts as one API call', async () => {
    const sub = (i: number) => ({ method: 'POST', url: `${V}/sobjects/Account`, referenceId: `r${i}`, body: { Name: `Limit ${i}` } });
    const before = dump();
    expect(await rawPost(`${V}/composite`, { compositeRequest: Array.from({ length: 26 }, (_, i) => sub(i)) })).toMatchObject({ status: 400, body: [{ errorCode: 'LIMIT_EXCEEDED' }] });
    expect(await rawPost(`${V}/composite`, { compositeRequest: [sub(1), sub(1)] })).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_INPUT', message: expect.stringContaining('Duplicate ReferenceId') }] });
    expect(await rawPost(`${V}/composite`, { compositeRequest: [{ ...sub(1), referenceId: 'bad[1]' }] })).toMatchObject({ status: 400 });
    expect(await rawPost(`${V}/composite`, { compositeRequest: [{ ...sub(1), httpHeaders: { Authorization: 'Bearer x' } }] })).toMatchObject({ status: 400 });
    const q = (i: number) => ({ method: 'GET', url: `${V}/query?q=SELECT+Id+FROM+Account+LIMIT+1`, referenceId: `q${i}` });
    expect(await rawPost(`${V}/composite`, { compositeRequest: Array.from({ length: 6 }, (_, i) => q(i)) })).toMatchObject({ status: 400, body: [{ errorCode: 'LIMIT_EXCEEDED' }] });
    expect(dump()).toBe(before);

    const first = await rawPost(`${V}/composite`, { compositeRequest: [q(0)] });
    const ten = await rawPost(`${V}/composite`, { compositeRequest: Array.from({ length: 10 }, (_, i) => ({ method: 'GET', url: `${V}/sobjects/Account/describe`, referenceId: `d${i}` })) });
    expect(ten.body.compositeResponse).toHaveLength(10);
    expect(usedOf(ten.usage) - usedOf(first.usage)).toBe(1);
  });
});

describe('Composite transactions as Change Data Capture sees them', () => {
  it('allOrNone commits one transaction, without it each subrequest commits its own, a rolled-back one none', async () => {
    const txs = () => org().cdc!.bus.counts.transactions;
    const creates = (tag: string) => [0, 1, 2].map((i) => ({ method: 'POST', url: `${V}/sobjects/Account`, referenceId: `c${i}`, body: { Name: `${tag} ${i}` } }));
    let before = txs();
    const one = await composite({ allOrNone: true, compositeRequest: creates('Cdc one') });
    expect(txs() - before).toBe(1);
    const stamps = one.compositeResponse.map((r) => org().data.table('Account').byId.get(r.body.id)!.SystemModstamp);
    expect(new Set(stamps).size).toBe(1); // one transaction, one timestamp
    before = txs();
    await composite({ compositeRequest: creates('Cdc each') });
    expect(txs() - before).toBe(3);
    before = txs();
    await composite({ allOrNone: true, compositeRequest: [...creates('Cdc none'), { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'bad', body: {} }] });
    expect(txs() - before).toBe(0);
  });
});

describe('Composite Batch', () => {
  it('runs independent subrequests; haltOnError answers 412 after the first failure; each subrequest counts', async () => {
    const acc = await conn.sobject('Account').create({ Name: 'Batch Co' });
    const batch = async (body: unknown) => rawPost(`${V}/composite/batch`, body);
    const r = await batch({
      batchRequests: [
        { method: 'PATCH', url: `v62.0/sobjects/Account/${acc.id!}`, richInput: { Name: 'Batch Co 2' } },
        { method: 'GET', url: `v62.0/sobjects/Account/${acc.id!}?fields=Name` },
        { method: 'GET', url: 'v62.0/sobjects/Account/001000000000000AAA' },
        { method: 'GET', url: 'v58.0/limits' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.hasErrors).toBe(true);
    expect(r.body.results.map((x: { statusCode: number }) => x.statusCode)).toEqual([204, 200, 404, 200]);
    expect(r.body.results[0].result).toBeNull();
    expect(r.body.results[1].result.Name).toBe('Batch Co 2');
    expect(r.body.results[2].result[0].errorCode).toBe('NOT_FOUND');

    const halted = await batch({
      haltOnError: true,
      batchRequests: [
        { method: 'GET', url: 'v62.0/sobjects/Nope__c/describe' },
        { method: 'PATCH', url: `v62.0/sobjects/Account/${acc.id!}`, richInput: { Name: 'Never' } },
      ],
    });
    expect(halted.body.results).toEqual([
      { statusCode: 404, result: [expect.objectContaining({ errorCode: 'NOT_FOUND' })] },
      { statusCode: 412, result: [{ errorCode: 'BATCH_PROCESSING_HALTED', message: 'Batch processing halted per request' }] },
    ]);
    expect(org().data.table('Account').byId.get(acc.id!)!.Name).toBe('Batch Co 2');
    expect(usedOf(halted.usage) - usedOf(r.usage)).toBe(5); // the first batch's four subrequests (its own header was set before them), then this call
    expect(await batch({ batchRequests: [{ method: 'GET', url: 'v63.0/limits' }] })).toMatchObject({ status: 400 });
    expect(await batch({ batchRequests: Array.from({ length: 26 }, () => ({ method: 'GET', url: 'v62.0/limits' })) })).toMatchObject({ status: 400, body: [{ errorCode: 'LIMIT_EXCEEDED' }] });
  });
});

describe('Composite properties', () => {
  /**
   * A random forest of Accounts (ParentId) with Opportunities under them (AccountId), sent in a random
   * topological order, each child naming its parent only by `@{ref.id}`: every record ends up pointing at
   * the record its parent's subrequest created. With allOrNone and one invalid record anywhere, nothing
   * at all is written.
   */
  const dagArb = fc
    .array(fc.record({ kind: fc.constantFrom('Account', 'Opportunity'), parent: fc.nat(), priority: fc.nat(), hasParent: fc.boolean() }), { minLength: 1, maxLength: 20 })
    .map((nodes) => nodes.map((n, i) => {
      // Parents come earlier in index order (a DAG); an Opportunity always has an Account parent.
      const accounts = nodes.slice(0, i).map((x, j) => [x, j] as const).filter(([x]) => x.kind === 'Account').map(([, j]) => j);
      const kind = n.kind === 'Opportunity' && accounts.length === 0 ? 'Account' : n.kind;
      const parent = (kind === 'Opportunity' || n.hasParent) && accounts.length > 0 ? accounts[n.parent % accounts.length] : undefined;
      return { i, kind, parent, priority: n.priority };
    }))
    // Account kinds are fixed above, so parents chosen from the raw kinds stay Accounts after the fix-up.
    .filter((nodes) => nodes.every((n) => n.parent === undefined || nodes[n.parent]!.kind === 'Account'));

  /** A topological order: a node comes after its parent, ties broken by the random priority. */
  const order = (nodes: Array<{ i: number; parent?: number; priority: number }>) => {
    const out: number[] = [];
    const done = new Set<number>();
    while (out.length < nodes.length) {
      const ready = nodes.filter((n) => !done.has(n.i) && (n.parent === undefined || done.has(n.parent))).sort((a, b) => a.priority - b.priority || a.i - b.i);
      out.push(ready[0]!.i);
      done.add(ready[0]!.i);
    }
    return out;
  };
  const subOf = (n: { i: number; kind: string; parent?: number }, tag: string) => ({
    method: 'POST',
    url: `${V}/sobjects/${n.kind}`,
    referenceId: `n${n.i}`,
    body: n.kind === 'Account'
      ? { Name: `${tag} ${n.i}`, ...(n.parent !== undefined ? { ParentId: `@{n${n.parent}.id}` } : {}) }
      : { Name: `${tag} ${n.i}`, StageName: 'Prospecting', CloseDate: '2027-06-30', AccountId: `@{n${n.parent!}.id}` },
  });

  it('references resolve to the created ids in any order of a random DAG', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(dagArb, fc.boolean(), async (nodes, allOrNone) => {
        const tag = `Dag${run++}`;
        const seq = order(nodes);
        const { compositeResponse: r } = await composite({ allOrNone, compositeRequest: seq.map((i) => subOf(nodes[i]!, tag)) });
        expect(r.map((x) => x.httpStatusCode)).toEqual(seq.map(() => 201));
        const idOf = new Map(r.map((x) => [x.referenceId, x.body.id as string]));
        for (const n of nodes) {
          const rec = org().data.table(n.kind).byId.get(idOf.get(`n${n.i}`)!)!;
          expect(rec.Name).toBe(`${tag} ${n.i}`);
          const link = n.kind === 'Account' ? rec.ParentId : rec.AccountId;
          expect(link ?? null).toBe(n.parent === undefined ? null : idOf.get(`n${n.parent}`));
        }
      }),
      { numRuns: 25, seed: 1717 },
    );
  });

  it('allOrNone with one invalid record anywhere writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(dagArb, fc.nat(), async (nodes, k) => {
        const seq = order(nodes);
        const badAt = k % seq.length;
        const subs = seq.map((i) => subOf(nodes[i]!, 'AllOrNone'));
        // An Account without a Name / an Opportunity without a StageName: REQUIRED_FIELD_MISSING.
        const bad = subs[badAt]!;
        subs[badAt] = { ...bad, body: Object.fromEntries(Object.entries(bad.body).filter(([f]) => f !== (nodes[seq[badAt]!]!.kind === 'Account' ? 'Name' : 'StageName'))) as typeof bad.body };
        const before = dump();
        const { compositeResponse: r } = await composite({ allOrNone: true, compositeRequest: subs });
        expect(r).toHaveLength(seq.length);
        expect(r[badAt]!.body[0].errorCode).toBe('REQUIRED_FIELD_MISSING');
        r.forEach((x, i) => {
          expect(x.httpStatusCode).toBe(400);
          if (i !== badAt) expect(x.body[0].errorCode).toBe('PROCESSING_HALTED');
        });
        expect(dump()).toBe(before);
      }),
      { numRuns: 25, seed: 2929 },
    );
  });
});
