import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { rateBudgets, type RateBudget } from '../connectors/rateBudget.js';
import type { Ledger } from '../ledger/index.js';
import type { PageReport } from '../sync/types.js';
import { runtimeMetricsAddress } from './runtime.js';

/**
 * cosell's Prometheus series (prom-client), for the worker's ops server (lib/opsServer.ts).
 *
 * Counters and the lag gauge live in one process-wide registry, moved by the sync activities as each
 * page reports (activities/sync.ts): like the rate budgets, they belong to the process, whatever
 * number of workers it runs. What the ledger knows (dead letters, registrations) is counted in SQL
 * at each scrape, so every worker on one PostgreSQL ledger reports the same whole-network figures and
 * nothing drifts from the tables. The Temporal runtime's own series (`temporal_*`) are fetched from
 * its exporter (lib/runtime.ts) and appended: one scrape target per worker.
 */
const processRegistry = new Registry();

const recordsRead = new Counter({ name: 'cosell_records_read_total', help: 'Source records read by the sync, per link', labelNames: ['link'], registers: [processRegistry] });
const recordsWritten = new Counter({ name: 'cosell_records_written_total', help: 'Target records created or updated by the sync, per link', labelNames: ['link'], registers: [processRegistry] });
const recordsFailed = new Counter({ name: 'cosell_records_failed_total', help: 'Records the sync dead-lettered (the CRM rejected them, or they wait for a parent), per link', labelNames: ['link'], registers: [processRegistry] });
const linkLag = new Gauge({ name: 'cosell_link_lag_seconds', help: "Now minus the newest source modification the link's last page saw (0: caught up)", labelNames: ['link'], registers: [processRegistry] });

/** The org of a budget key (`salesforce:vendor` → crm salesforce, org vendor). */
const budgetLabels = (key: string) => {
  const i = key.indexOf(':');
  return i < 0 ? { crm: '', org: key } : { crm: key.slice(0, i), org: key.slice(i + 1) };
};
/** A gauge per (org, crm) of one number in the rate budgets' state (absent until a CRM reported it). */
function quotaGauge(name: string, help: string, pick: (s: ReturnType<RateBudget['state']>) => number | undefined): void {
  new Gauge({
    name,
    help,
    labelNames: ['org', 'crm'],
    registers: [processRegistry],
    collect() {
      this.reset();
      for (const [key, b] of rateBudgets()) {
        const v = pick(b.state());
        if (v !== undefined) this.set(budgetLabels(key), v);
      }
    },
  });
}
quotaGauge('cosell_quota_used', "API calls used of the org's daily allocation, as the CRM last reported it plus this process's calls since (absent until a CRM reported one)", (s) => s.dailyUsed);
quotaGauge('cosell_quota_limit', "The org's daily API allocation as the CRM reports it", (s) => s.dailyLimit);

let defaultMetricsOn = false;

/** Count one page (or the sum of several) a sync activity finished for `linkId`. */
export function observeSyncPage(linkId: string, report: PageReport): void {
  const c = report.counts;
  if (c.read) recordsRead.inc({ link: linkId }, c.read);
  const written = (c.created ?? 0) + (c.updated ?? 0);
  if (written) recordsWritten.inc({ link: linkId }, written);
  if (c.failed) recordsFailed.inc({ link: linkId }, c.failed);
  if (report.lagMs !== undefined) linkLag.set({ link: linkId }, report.lagMs / 1000);
}

/** The ledger's gauges, computed at each scrape (a registry per ledger: each ops server has its own). */
function ledgerRegistry(ledger: Ledger): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'cosell_dead_letters',
    help: 'Pending dead letters, per link and category (the connector error kind and the CRM code; empty when none)',
    labelNames: ['link', 'kind', 'code'],
    registers: [registry],
    async collect() {
      const rows = await ledger.deadLetters.summary();
      this.reset();
      for (const r of rows) this.set({ link: r.linkId, kind: r.kind ?? '', code: r.code ?? '' }, r.count);
    },
  });
  new Gauge({
    name: 'cosell_registrations',
    help: 'Registrations in the ledger, per partner and status',
    labelNames: ['partner', 'status'],
    registers: [registry],
    async collect() {
      const rows = await ledger.registrations.countsByStatus();
      this.reset();
      for (const r of rows) this.set({ partner: r.partner, status: r.status }, r.count);
    },
  });
  return registry;
}

export const METRICS_CONTENT_TYPE = processRegistry.contentType;

export interface MetricsSource {
  /** The Prometheus text of everything: cosell's series, the ledger's, the Temporal runtime's. */
  text(): Promise<string>;
}

/** What a worker's /metrics serves. `ledger` absent: a worker without a network file (no ledger gauges). */
export function metricsSource(opts: { ledger?: Ledger; runtimeMetricsTimeoutMs?: number } = {}): MetricsSource {
  if (!defaultMetricsOn) {
    defaultMetricsOn = true;
    collectDefaultMetrics({ register: processRegistry }); // process_* and nodejs_*: CPU, memory, event loop, GC
  }
  const fromLedger = opts.ledger ? ledgerRegistry(opts.ledger) : undefined;
  const runtimeUp = new Registry();
  const up = new Gauge({ name: 'cosell_temporal_runtime_metrics_up', help: "1 when the Temporal runtime's own series (temporal_*) were read for this scrape", registers: [runtimeUp] });
  return {
    async text() {
      const temporal = await runtimeText(opts.runtimeMetricsTimeoutMs ?? 2_000);
      up.set(temporal === undefined ? 0 : 1);
      const parts = [await processRegistry.metrics(), fromLedger ? await fromLedger.metrics() : '', await runtimeUp.metrics(), temporal ?? ''];
      return parts.filter((p) => p.trim()).map((p) => (p.endsWith('\n') ? p : p + '\n')).join('');
    },
  };
}

/** The runtime exporter's text, or undefined when this process has none or it did not answer in time. */
async function runtimeText(timeoutMs: number): Promise<string | undefined> {
  const address = runtimeMetricsAddress();
  if (!address) return undefined;
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined; // the runtime is between workers (dropped and not made again yet), or busy
  }
}
