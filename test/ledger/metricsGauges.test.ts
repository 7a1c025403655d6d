import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Ledger } from '../../ledger/index.js';
import type { DeadLetterInput } from '../../ledger/types.js';
import { metricsSource } from '../../lib/metrics.js';
import { parsePrometheus } from '../helpers/prometheus.js';
import { backends, useLedgerStore } from './backends.js';

/**
 * The worker's ledger gauges (`cosell_registrations{partner,status}`, `cosell_dead_letters{link,kind,code}`)
 * are counted in SQL at each scrape. Random rows — registrations in any status, dead letters some of
 * which are then resolved, CRM codes with quotes and backslashes — are written to a real ledger on
 * SQLite and PostgreSQL, /metrics' text is parsed back, and every series of the run must equal a
 * model of the rows: pending dead letters only, no series for a group without rows.
 */
const STATUSES = ['submitted', 'pending-review', 'approved', 'rejected', 'expired', 'won'];
const CODES = ['REQUIRED_FIELD_MISSING', 'PARKED_PARENT', 'A "quoted" \\ code', null];
const KINDS: Array<DeadLetterInput['kind']> = ['validation', 'not_found', null];

const regArb = fc.record({ partner: fc.constantFrom('acme', 'globex'), status: fc.constantFrom(...STATUSES) });
const dlArb = fc.record({ link: fc.constantFrom('deals', 'opps', 'accounts'), code: fc.constantFrom(...CODES), kind: fc.constantFrom(...KINDS), resolved: fc.boolean() });

describe.each(backends)('ledger gauges on /metrics, on $name', (backend) => {
  let ledger: Ledger;
  useLedgerStore(backend, (_s, l) => (ledger = l));

  it('cosell_registrations and cosell_dead_letters equal what the ledger holds', async () => {
    const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);
    console.log(`ledger gauges property (${backend.name}): seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/ledger/metricsGauges.test.ts)`);
    const metrics = metricsSource({ ledger });
    let run = 0;
    let seen = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(regArb, { maxLength: 25 }), fc.array(dlArb, { maxLength: 25 }), async (regs, dls) => {
        const tag = `r${++run}-${Math.random().toString(36).slice(2, 6)}`;
        for (const [i, r] of regs.entries()) await ledger.registrations.upsert({ partner: `${r.partner}-${tag}`, sourceId: `d${i}`, status: r.status });
        for (const [i, d] of dls.entries()) {
          const link = `${d.link}-${tag}`;
          await ledger.deadLetters.add(link, [{ sourceId: `s${i}`, payload: { i }, reason: 'rejected', code: d.code, kind: d.kind }]);
          if (d.resolved) await ledger.deadLetters.resolve(link, [`s${i}`]);
        }
        const wantRegs = new Map<string, number>();
        for (const r of regs) wantRegs.set(`${r.partner}-${tag}|${r.status}`, (wantRegs.get(`${r.partner}-${tag}|${r.status}`) ?? 0) + 1);
        const wantDls = new Map<string, number>();
        for (const d of dls.filter((x) => !x.resolved)) {
          const k = `${d.link}-${tag}|${d.kind ?? ''}|${d.code ?? ''}`;
          wantDls.set(k, (wantDls.get(k) ?? 0) + 1);
        }
        const samples = parsePrometheus(await metrics.text());
        const gotRegs = new Map(samples.filter((s) => s.name === 'cosell_registrations' && s.labels.partner.endsWith(`-${tag}`)).map((s) => [`${s.labels.partner}|${s.labels.status}`, s.value]));
        const gotDls = new Map(samples.filter((s) => s.name === 'cosell_dead_letters' && s.labels.link.endsWith(`-${tag}`)).map((s) => [`${s.labels.link}|${s.labels.kind}|${s.labels.code}`, s.value]));
        expect(gotRegs).toEqual(wantRegs);
        expect(gotDls).toEqual(wantDls);
        seen += wantRegs.size + wantDls.size;
        return true;
      }),
      { seed, numRuns: 25, endOnFailure: true },
    );
    expect(seen).toBeGreaterThan(20); // the runs really produced series to compare
  }, 120_000);
});
