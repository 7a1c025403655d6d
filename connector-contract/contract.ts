import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnectorError, START_CURSOR, type Connector, type FeedCursor, type FieldType, type Fields } from 'cosell/connectors';
import { drainFeed } from './drainFeed.js';

/**
 * THE connector contract: every connector (Salesforce, HubSpot, any future CRM) runs this one suite
 * against its sandbox org:
 *
 *   runConnectorContract('salesforce', async () => ({ connector, objects: {...}, ... }));
 *
 * It checks describe, the change feed (paging, resumability, ties on one timestamp), deletions,
 * upsert create / update / partial failure, reads, associations and ensure-fields, through the
 * public Connector interface only. What differs between CRMs (object and field names, what a valid
 * record looks like, how to freeze the clock) comes from the fixture.
 */
export interface ContractFixture {
  connector: Connector;
  /** CRM object names: Opportunity / deals, Account / companies. */
  objects: { deal: string; company: string };
  /** Field names the suite creates with ensureFields (each CRM has its own naming rules). */
  fields: {
    /** Unique / external-id match key for upserts, e.g. Cosell_Contract_Key__c / cosell_contract_key. */
    matchKey: string;
    /** An extra boolean field, e.g. Cosell_Contract_Flag__c. */
    flag: string;
    /** The deal's name field (Name / dealname). */
    dealName: string;
    /** The company's name field (Name / name). */
    companyName: string;
  };
  /** The minimal valid fields of a new deal / company (besides the match key). */
  dealFields(n: number): Fields;
  companyFields(n: number): Fields;
  /** Fields that make a deal fail validation (e.g. a stage outside a restricted picklist). */
  invalidDealFields(): Fields;
  /** The company a deal is associated with (Salesforce: AccountId; HubSpot: the v4 association). */
  associatedCompany(dealId: string): Promise<string | undefined>;
  /** Freeze (true) or release (false) the org's clock so that writes share one modification timestamp. */
  freezeClock(frozen: boolean): Promise<void>;
  /** How many records to write under a frozen clock (the case is 25,000). */
  tieCount: number;
  /** Page size for the ties read-back (the CRM's largest). */
  tiePageSize: number;
  /** Settle time before a feed sees a write (HubSpot search lag); 0 for Salesforce. */
  settle?(): Promise<void>;
  teardown?(): Promise<void>;
}

/**
 * What a CRM does not have, declared by its contract file with the reason (never skipped): the suite
 * then checks the declared behaviour instead — a clear refusal, nothing written — so a connector cannot
 * silently pretend. Partner Central, for one, has a fixed schema, no account object and no delete.
 */
export interface NotApplicable {
  /** No custom fields: ensureFields is a no-op for fields the schema has and refuses others (validation, naming them). */
  customFields?: string;
  /** No company object: describe(company) is not_found and associate() fails per association (validation). */
  companies?: string;
  /** No delete: remove() fails per record (validation), the record stays readable, the deletion feed is empty. */
  deletes?: string;
}

const EVIL_KEYS = ["O'Brien \\ Co", "' OR Name != '", "x\\' OR Name != '", 'back\\\\slash', '"double" %_ wild'];

export function runConnectorContract(name: string, makeFixture: () => Promise<ContractFixture>, notApplicable: NotApplicable = {}): void {
  const na = notApplicable;
  // A declared part is replaced by its own test above, not registered and skipped.
  const whenApplies = (applies: boolean): typeof it => (applies ? it : ((() => undefined) as unknown as typeof it));
  describe(`connector contract: ${name}`, () => {
    let fx: ContractFixture;
    let c: Connector;
    const run = `c${Date.now().toString(36)}`;
    const key = (s: string | number) => `${run}-${s}`;

    beforeAll(async () => {
      fx = await makeFixture();
      c = fx.connector;
    }, 120_000);
    afterAll(async () => {
      await c?.close();
      await fx?.teardown?.();
    });

    async function settle() {
      await fx.settle?.();
    }

    const drain = (object: string, from: FeedCursor, pageSize: number, fields: string[]) => drainFeed(c, object, from, { pageSize, fields });

    if (na.customFields) {
      it(`ensure-fields does not apply (${na.customFields}): existing fields are a no-op, a missing one is refused by name`, async () => {
        const existing = { name: fx.fields.matchKey, label: 'match key', type: 'string' as const, unique: true, externalId: true };
        expect(await c.ensureFields(fx.objects.deal, [existing])).toEqual([]);
        const refused = await c.ensureFields(fx.objects.deal, [existing, { name: fx.fields.flag, label: 'cosell contract flag', type: 'boolean' }]).catch((e) => e);
        expect(isConnectorError(refused, 'validation')).toBe(true);
        expect(refused.fields).toEqual([fx.fields.flag]);
        expect((await c.describe(fx.objects.deal)).fields[fx.fields.flag]).toBeUndefined();
        const schema = await c.describe(fx.objects.deal);
        expect(schema.fields[fx.fields.matchKey]).toMatchObject({ type: 'string', unique: true, externalId: true });
      });
    }

    whenApplies(!na.customFields)('ensure-fields creates missing fields once (idempotent) and describe shows them', async () => {
      const specs = [
        { name: fx.fields.matchKey, label: 'cosell contract key', type: 'string' as const, unique: true, externalId: true, length: 255 },
        { name: fx.fields.flag, label: 'cosell contract flag', type: 'boolean' as const },
      ];
      const first = await c.ensureFields(fx.objects.deal, specs);
      const again = await c.ensureFields(fx.objects.deal, specs);
      expect(again).toEqual([]);
      expect([...first].sort()).toEqual(first.length ? [fx.fields.flag, fx.fields.matchKey].sort() : []);
      const schema = await c.describe(fx.objects.deal);
      expect(schema.fields[fx.fields.matchKey]).toMatchObject({ type: 'string', unique: true });
      expect(schema.fields[fx.fields.matchKey].externalId || schema.fields[fx.fields.matchKey].unique).toBe(true);
      expect(schema.fields[fx.fields.flag].type).toBe('boolean');
      await c.ensureFields(fx.objects.company, specs.slice(0, 1));
      expect((await c.describe(fx.objects.company)).fields[fx.fields.matchKey]).toBeDefined();
    });

    it('lists objects and describes fields with normalised types and flags', async () => {
      const objects = await c.listObjects();
      expect(objects).toEqual(expect.arrayContaining(na.companies ? [fx.objects.deal] : [fx.objects.deal, fx.objects.company]));
      if (na.companies) {
        expect(objects).not.toContain(fx.objects.company);
        expect(isConnectorError(await c.describe(fx.objects.company).catch((e) => e), 'not_found')).toBe(true);
      }
      const schema = await c.describe(fx.objects.deal);
      expect(schema.name).toBe(fx.objects.deal);
      const types: FieldType[] = ['id', 'string', 'text', 'number', 'currency', 'percent', 'date', 'datetime', 'boolean', 'picklist', 'multipicklist', 'reference'];
      for (const f of Object.values(schema.fields)) {
        expect(types).toContain(f.type);
        expect(typeof f.required).toBe('boolean');
        expect(typeof f.unique).toBe('boolean');
        expect(typeof f.externalId).toBe('boolean');
      }
      expect(schema.fields[fx.fields.dealName]).toMatchObject({ type: 'string' });
      const picklists = Object.values(schema.fields).filter((f) => f.type === 'picklist');
      expect(picklists.length).toBeGreaterThan(0);
      expect(picklists.some((f) => (f.picklistValues ?? []).length > 1)).toBe(true);
      const notFound = await c.describe('No_Such_Object_Contract').catch((e) => e);
      expect(isConnectorError(notFound)).toBe(true);
    });

    it('upsert creates, then updates the same records (same ids), in input order', async () => {
      const inputs = [1, 2, 3].map((n) => ({ key: key(`u${n}`), fields: { ...fx.dealFields(n), [fx.fields.dealName]: `Contract ${run} ${n}` } }));
      const created = await c.upsert(fx.objects.deal, fx.fields.matchKey, inputs);
      expect(created.map((r) => r.status)).toEqual(['created', 'created', 'created']);
      expect(created.map((r) => r.key)).toEqual(inputs.map((i) => i.key));
      const updated = await c.upsert(fx.objects.deal, fx.fields.matchKey, inputs.map((i) => ({ key: i.key, fields: { [fx.fields.dealName]: `${i.fields[fx.fields.dealName]} v2` } })));
      expect(updated.map((r) => r.status)).toEqual(['updated', 'updated', 'updated']);
      expect(updated.map((r) => r.id)).toEqual(created.map((r) => r.id));

      await settle();
      const byKey = await c.readByField(fx.objects.deal, fx.fields.matchKey, inputs.map((i) => i.key), [fx.fields.dealName, fx.fields.matchKey]);
      expect(byKey.map((r) => r.fields[fx.fields.dealName]).sort()).toEqual(inputs.map((i) => `${i.fields[fx.fields.dealName]} v2`).sort());
      const byId = await c.readByIds(fx.objects.deal, created.map((r) => r.id!), [fx.fields.dealName]);
      expect(byId.map((r) => r.id).sort()).toEqual(created.map((r) => r.id!).sort());
      for (const r of byId) expect(Date.parse(r.modifiedAt)).not.toBeNaN();
    });

    it('upsert reports a partial failure per record, with a normalised error, and writes the rest', async () => {
      const res = await c.upsert(fx.objects.deal, fx.fields.matchKey, [
        { key: key('p1'), fields: fx.dealFields(11) },
        { key: key('p2'), fields: { ...fx.dealFields(12), ...fx.invalidDealFields() } },
        { key: key('p3'), fields: fx.dealFields(13) },
      ]);
      expect(res.map((r) => r.status)).toEqual(['created', 'failed', 'created']);
      expect(res[1].error?.kind).toBe('validation');
      expect(res[1].error?.message).toBeTruthy();
      expect(res[1].key).toBe(key('p2'));
    });

    it('match keys with quotes, backslashes and injection attempts round-trip and match only themselves', async () => {
      const inputs = EVIL_KEYS.map((k, i) => ({ key: `${run}${k}`, fields: fx.dealFields(20 + i) }));
      const res = await c.upsert(fx.objects.deal, fx.fields.matchKey, inputs);
      expect(res.map((r) => r.status)).toEqual(inputs.map(() => 'created'));
      await settle();
      for (const [i, input] of inputs.entries()) {
        const found = await c.readByField(fx.objects.deal, fx.fields.matchKey, [input.key], [fx.fields.matchKey]);
        expect(found.map((r) => r.id)).toEqual([res[i].id]);
        expect(found[0].fields[fx.fields.matchKey]).toBe(input.key);
      }
      // A value that would widen the filter if pasted into a query finds nothing.
      expect(await c.readByField(fx.objects.deal, fx.fields.matchKey, ["nothing' OR Name != 'x"], [fx.fields.matchKey])).toEqual([]);
    });

    it('the change feed pages oldest-first, each record once, resumable from any page', async () => {
      const before = await drain(fx.objects.deal, START_CURSOR, 500, [fx.fields.dealName]);
      const inputs = Array.from({ length: 7 }, (_, n) => ({ key: key(`f${n}`), fields: fx.dealFields(30 + n) }));
      const written = await c.upsert(fx.objects.deal, fx.fields.matchKey, inputs);
      await settle();
      const { pages } = await drain(fx.objects.deal, before.cursor, 3, [fx.fields.dealName]);
      const ids = pages.flatMap((p) => p.records.map((r) => r.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(written.map((w) => w.id)));
      const all = pages.flatMap((p) => p.records);
      for (let i = 1; i < all.length; i++) {
        const a = all[i - 1];
        const b = all[i];
        expect(a.modifiedAt < b.modifiedAt || (a.modifiedAt === b.modifiedAt && a.id < b.id)).toBe(true);
      }
      expect(pages.slice(0, -1).every((p) => p.records.length === 3 && !p.caughtUp)).toBe(true);
      // Resume from the first page's cursor (as after a crash): the same tail, nothing lost or repeated.
      const resumed = await drain(fx.objects.deal, pages[0].next, 3, [fx.fields.dealName]);
      expect(resumed.pages.flatMap((p) => p.records.map((r) => r.id))).toEqual(ids.slice(pages[0].records.length));
    });

    it(`ties: records sharing one modification timestamp are each delivered exactly once across pages`, async () => {
      const from = (await drain(fx.objects.deal, START_CURSOR, fx.tiePageSize, [fx.fields.matchKey])).cursor;
      const n = fx.tieCount;
      await fx.freezeClock(true);
      try {
        const inputs = Array.from({ length: n }, (_, i) => ({ key: key(`t${i}`), fields: fx.dealFields(i) }));
        for (let i = 0; i < inputs.length; i += c.batchSize) {
          const res = await c.upsert(fx.objects.deal, fx.fields.matchKey, inputs.slice(i, i + c.batchSize));
          expect(res.filter((r) => r.status !== 'created')).toEqual([]);
        }
      } finally {
        await fx.freezeClock(false);
      }
      await settle();
      const { pages } = await drain(fx.objects.deal, from, fx.tiePageSize, [fx.fields.matchKey]);
      const ours = pages.flatMap((p) => p.records).filter((r) => String(r.fields[fx.fields.matchKey] ?? '').startsWith(key('t')));
      expect(ours).toHaveLength(n);
      expect(new Set(ours.map((r) => r.id)).size).toBe(n);
      expect(new Set(ours.map((r) => r.modifiedAt)).size).toBe(1);
      expect(pages.length).toBeGreaterThan(Math.floor(n / fx.tiePageSize) - 1);
    }, 300_000);

    if (na.deletes) {
      it(`deletes do not apply (${na.deletes}): remove fails per record and deletes nothing; the deletion feed is empty`, async () => {
        const res = await c.upsert(fx.objects.deal, fx.fields.matchKey, [1, 2].map((n) => ({ key: key(`d${n}`), fields: fx.dealFields(40 + n) })));
        const ids = res.map((r) => r.id!);
        const removed = await c.remove(fx.objects.deal, ids);
        expect(removed.map((r) => [r.status, r.error?.kind])).toEqual([['failed', 'validation'], ['failed', 'validation']]);
        expect(removed[0].error?.message).toBeTruthy();
        await settle();
        expect((await c.readByIds(fx.objects.deal, ids, [fx.fields.dealName])).map((r) => r.id).sort()).toEqual([...ids].sort());
        const page = await c.deletions(fx.objects.deal, START_CURSOR, { pageSize: 50 });
        expect(page).toMatchObject({ records: [], caughtUp: true });
      });
    }

    whenApplies(!na.deletes)('deletes: remove is idempotent and the deletion feed reports each deleted record', async () => {
      const delFrom = await drainDeletions(START_CURSOR);
      const res = await c.upsert(fx.objects.deal, fx.fields.matchKey, [1, 2].map((n) => ({ key: key(`d${n}`), fields: fx.dealFields(40 + n) })));
      const ids = res.map((r) => r.id!);
      const removed = await c.remove(fx.objects.deal, ids);
      expect(removed.map((r) => r.status)).toEqual(['deleted', 'deleted']);
      const again = await c.remove(fx.objects.deal, ids);
      for (const r of again) expect(r.status === 'deleted' || r.error?.kind === 'not_found').toBe(true);
      await settle();
      expect(await c.readByIds(fx.objects.deal, ids, [fx.fields.dealName])).toEqual([]);
      const deleted: string[] = [];
      let cursor = delFrom;
      for (let i = 0; i < 100; i++) {
        const page = await c.deletions(fx.objects.deal, cursor, { pageSize: 50 });
        for (const d of page.records) {
          expect(Date.parse(d.deletedAt)).not.toBeNaN();
          deleted.push(d.id);
        }
        cursor = page.next;
        if (page.caughtUp) break;
      }
      expect(deleted).toEqual(expect.arrayContaining(ids));
      expect(new Set(deleted).size).toBe(deleted.length);
    });

    async function drainDeletions(from: FeedCursor): Promise<FeedCursor> {
      let cursor = from;
      for (let i = 0; i < 1000; i++) {
        const page = await c.deletions(fx.objects.deal, cursor, { pageSize: 200 });
        cursor = page.next;
        if (page.caughtUp) return cursor;
      }
      throw new Error('the deletion feed never caught up');
    }

    if (na.companies) {
      it(`associations with companies do not apply (${na.companies}): associate fails per association`, async () => {
        const [deal] = await c.upsert(fx.objects.deal, fx.fields.matchKey, [{ key: key('assoc'), fields: fx.dealFields(50) }]);
        const res = await c.associate([{ fromObject: fx.objects.deal, fromId: deal.id!, toObject: fx.objects.company, toId: 'anything' }]);
        expect(res.map((r) => [r.status, r.error?.kind])).toEqual([['failed', 'validation']]);
      });
    }

    whenApplies(!na.companies)('associates a deal with a company', async () => {
      const [company] = await c.upsert(fx.objects.company, fx.fields.matchKey, [{ key: key('acct'), fields: { ...fx.companyFields(1), [fx.fields.companyName]: `Contract Co ${run}` } }]);
      const [deal] = await c.upsert(fx.objects.deal, fx.fields.matchKey, [{ key: key('assoc'), fields: fx.dealFields(50) }]);
      expect([company.status, deal.status]).toEqual(['created', 'created']);
      const res = await c.associate([{ fromObject: fx.objects.deal, fromId: deal.id!, toObject: fx.objects.company, toId: company.id! }]);
      expect(res[0].status).not.toBe('failed');
      expect(await fx.associatedCompany(deal.id!)).toBe(company.id);
    });

    it('reports its rate state', () => {
      const s = c.rateState();
      expect(typeof s).toBe('object');
      if (s.dailyLimit !== undefined) expect(s.dailyUsed).toBeLessThanOrEqual(s.dailyLimit);
    });
  });
}
