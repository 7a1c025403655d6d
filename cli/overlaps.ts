import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadNetwork } from '../lib/config.js';
import { openEngine, openNetworkLedger } from '../app/engine.js';
import { CosellError } from '../lib/errors.js';
import { runOverlapPass } from '../overlaps/pass.js';
import { partnershipOf } from '../overlaps/partnership.js';
import { matchKindLine, pairMatrix, rowsFromEngine, rowsFromLedger, toCsv, topTable, type ReportRow } from '../overlaps/report.js';
import type { Side } from '../overlaps/types.js';
import { configOption, jsonOption, printJson, wholeNumber } from './options.js';

interface OverlapsOptions {
  config: string;
  csv?: string;
  top: string;
  side: string;
  refresh?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function registerOverlaps(program: Command): void {
  program
    .command('overlaps <partner>')
    .description("print the account overlaps with a partner (counts by population pair, top accounts) from the ledger's last pass; optionally write CSV")
    .option(...configOption())
    .option('--csv <file>', 'also write every overlap to this CSV file')
    .option('--top <n>', 'how many top accounts to list', '10')
    .option('--side <side>', "whose point of view: vendor (names the vendor's accounts) or partner", 'vendor')
    .option('--refresh', 'run a pass now in this process (reads both CRMs, writes the fields back, records it) instead of reading the last one')
    .option('--dry-run', 'with --refresh: compute only — no write-back, nothing recorded')
    .option(...jsonOption)
    .action(async (partner: string, opts: OverlapsOptions) => {
      const side = parseSide(opts.side);
      const top = wholeNumber(opts.top, '--top');
      const loaded = loadNetwork(opts.config);
      const p = partnershipOf(loaded, partner);
      let rows: ReportRow[];
      let source: string;
      if (opts.refresh) {
        const engine = await openEngine(loaded);
        try {
          const { overlaps, summary } = await runOverlapPass(engine, partner, { writeBack: !opts.dryRun, store: !opts.dryRun, force: true });
          rows = rowsFromEngine(overlaps);
          source = `computed now in ${summary.durationMs} ms${opts.dryRun ? ' (dry run: nothing written)' : ''}`;
        } finally {
          await engine.close();
        }
      } else {
        const ledger = await openNetworkLedger(loaded);
        try {
          const stored = await ledger.overlaps.list(partner);
          rows = rowsFromLedger(stored);
          const latest = stored.reduce((m, o) => (o.updatedAt > m ? o.updatedAt : m), '');
          source = stored.length ? `last pass recorded in the ledger (${ledger.location}), newest change ${latest}` : `no overlaps recorded in ${ledger.location} yet`;
        } finally {
          await ledger.close();
        }
      }
      if (opts.csv) writeFileSync(opts.csv, toCsv(rows, side, partner));
      if (opts.json) return printJson({ partner, vendor: loaded.network.vendor.id, source, count: rows.length, sharing: p.sharing, rows: rows.map((r) => ({ ...r })) });
      const out: string[] = [];
      out.push(`Overlaps between ${loaded.network.vendor.name} and ${partner} — ${rows.length} (${source})`);
      out.push(`  ${loaded.network.vendor.id} shares: ${p.sharing.vendor.join(', ')}; ${partner} shares: ${p.sharing.partner.join(', ')}`);
      if (!rows.length && !opts.refresh) out.push(`  hint: start the overlap:${partner} workflow (cosell up) or run \`cosell overlaps ${partner} --refresh\``);
      out.push('', pairMatrix(rows), '', `matched on: ${matchKindLine(rows)}`);
      if (top > 0 && rows.length) out.push('', `Top ${Math.min(top, rows.length)} (${side} view):`, topTable(rows, side, top));
      if (opts.csv) out.push('', `wrote ${rows.length} rows to ${opts.csv}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}

function parseSide(s: string): Side {
  if (s === 'vendor' || s === 'partner') return s;
  throw new CosellError('COSELL_INPUT_INVALID', `--side must be vendor or partner (got ${s})`);
}
