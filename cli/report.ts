import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { formatCsv, formatText } from '../analytics/format.js';
import { formatHtml } from '../analytics/html.js';
import { refreshNetworkFacts } from '../analytics/refresh.js';
import { buildReport, networkPolicy } from '../analytics/report.js';
import { loadNetwork } from '../lib/config.js';
import { openEngine, openNetworkLedger } from '../app/engine.js';
import { CosellError } from '../lib/errors.js';

interface ReportOptions {
  config: string;
  partner?: string;
  from?: string;
  to?: string;
  by?: string;
  json?: boolean;
  csv?: boolean;
  html?: string;
  refresh?: boolean;
}

/**
 * `cosell report`: joint-selling KPIs from the ledger's fact store (analytics/) — tables by default,
 * `--json`, `--csv`, or a self-contained `--html FILE` with charts. The worker keeps the facts current
 * (the `scorecard:<vendor>` workflow); `--refresh` first catches them up from the vendor CRM in this process.
 */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('joint-selling KPIs: sourced/influenced pipeline and revenue, win rate and cycle days joint vs direct (with intervals), ROPI, registrations, tier recommendations')
    .option('-c, --config <file>', 'network file', process.env.COSELL_CONFIG ?? 'cosell.yaml')
    .option('--partner <id>', "only this partner's deals and registrations")
    .option('--from <date>', 'first month (2025-01, 2025-01-15, 2025-Q1 or 2025)')
    .option('--to <date>', 'last month (inclusive)')
    .option('--by <dimension>', 'breakdown: partner, tier, role, partners-on-deal, quarter or month')
    .option('--json', 'print the report as JSON')
    .option('--csv', 'print the report as CSV (one table, a section column)')
    .option('--html <file>', 'write a self-contained HTML page with charts (no network access needed to open it)')
    .option('--refresh', 'catch the fact store up from the vendor CRM first (reads only what changed)')
    .action(async (opts: ReportOptions) => {
      if (opts.json && opts.csv) throw new CosellError('COSELL_INPUT_INVALID', '--json and --csv are exclusive', { hint: 'pick one; --html can go with either' });
      const network = loadNetwork(opts.config);
      const policy = networkPolicy(network);
      if (opts.refresh) {
        const engine = await openEngine(network);
        try {
          const r = await refreshNetworkFacts(engine, policy);
          process.stderr.write(`refreshed the fact store from ${network.network.vendor.id} (${r.source}): ${r.changed} changed, ${r.deleted} deleted, ${r.unchanged} unchanged\n`);
        } finally {
          await engine.close();
        }
      }
      const ledger = await openNetworkLedger(network);
      try {
        const report = await buildReport(ledger, network, policy, { partner: opts.partner, from: opts.from, to: opts.to, by: opts.by });
        if (opts.html) {
          writeFileSync(opts.html, formatHtml(report, { title: `${network.network.vendor.name} — joint-selling report`, generatedAt: new Date() }));
          process.stderr.write(`wrote ${path.resolve(opts.html)} (open it in a browser: file://${path.resolve(opts.html)})\n`);
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else if (opts.csv) process.stdout.write(formatCsv(report));
        else if (!opts.html) process.stdout.write(formatText(report));
      } finally {
        await ledger.close();
      }
    });
}
