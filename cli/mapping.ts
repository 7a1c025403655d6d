import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Connector } from '../connectors/types.js';
import { createConnector } from '../connectors/index.js';
import { loadNetwork, type LoadedNetwork } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import { configOption, jsonOption, printJson } from './options.js';
import { formatGrid } from './table.js';
import { formatProblems, hasErrors, loadMappingFile, mappingJsonSchema, readSchemaSnapshot, type CompiledMapping, type LoadResult, type PreviewRow, type Problem } from '../mappings/index.js';
import type { Ledger } from '../ledger/index.js';
import { openNetworkLedger } from '../app/engine.js';
import { previewLive } from '../lib/mappingPreview.js';
import { describeGate } from '../registrations/gatePreview.js';

/**
 * `cosell mapping validate|preview|schema`. Validation prints every problem as file:line:col and exits
 * 2 when there is an error; preview maps real source records and diffs them against the target's
 * current values without writing anything.
 */
export function registerMapping(program: Command): void {
  const mapping = program.command('mapping').description('validate, preview and document field mappings');

  mapping
    .command('validate')
    .description('check mapping files against schema snapshots or the live CRM schemas; exits 2 on any error')
    .argument('<files...>', 'mapping YAML files')
    .option('--schema <snapshot...>', 'ObjectSchema JSON snapshots to check against (matched by object name)')
    .option(...configOption())
    .option('--org <id>', 'validate against the live schemas: the source org')
    .option('--to <id>', 'the target org (default: the vendor when --org is a partner)')
    .option('--quiet', 'print errors only, not warnings')
    .option(...jsonOption)
    .action(async (files: string[], opts: { schema?: string[]; config: string; org?: string; to?: string; quiet?: boolean; json?: boolean }) => {
      const snapshots = (opts.schema ?? []).map((f) => {
        const r = readSchemaSnapshot(f);
        if (!r.schema) throw new CosellError('COSELL_MAPPING_INVALID', r.error, { hint: 'a snapshot is the JSON of a connector describe() (ObjectSchema)' });
        return r.schema;
      });
      const live = opts.org ? await liveOrgs(opts.config, opts.org, opts.to) : undefined;
      let failed = false;
      const results: Array<{ file: string; ok: boolean; problems: Problem[] }> = [];
      try {
        for (const file of files) {
          let result: LoadResult;
          if (live) {
            const probe = loadMappingFile(file, { schemas: snapshots });
            const objects = probe.mapping ? { source: probe.mapping.sourceObject, target: probe.mapping.targetObject } : objectsOf(probe);
            const [sourceSchema, targetSchema] = await Promise.all([
              objects?.source ? live.source.describe(objects.source) : undefined,
              objects?.target ? live.target.describe(objects.target) : undefined,
            ]);
            result = loadMappingFile(file, { sourceSchema, targetSchema, schemas: snapshots });
          } else {
            result = loadMappingFile(file, { schemas: snapshots });
          }
          const ok = Boolean(result.mapping) && !hasErrors(result.problems);
          if (opts.json) results.push({ file, ok, problems: opts.quiet ? result.problems.filter((p) => p.severity === 'error') : result.problems });
          else report(file, result.problems, Boolean(opts.quiet));
          if (!ok) failed = true;
        }
      } finally {
        await live?.close();
      }
      if (opts.json) printJson(results);
      if (failed) process.exitCode = 2;
    });

  mapping
    .command('preview')
    .description('apply a mapping to real source records and print what would change in the target (writes nothing)')
    .argument('<file>', 'mapping YAML file')
    .requiredOption('--org <id>', 'the source org (as in the network file)')
    .option('--to <id>', 'the target org (default: the vendor when --org is a partner)')
    .option(...configOption())
    .option('--sample <n>', 'how many source records to preview', '20')
    .option(...jsonOption)
    .action(async (file: string, opts: { org: string; to?: string; config: string; sample: string; json?: boolean }) => {
      const sample = Number(opts.sample);
      if (!Number.isInteger(sample) || sample <= 0) throw new CosellError('COSELL_CONFIG_INVALID', `--sample must be a positive whole number, not ${opts.sample}`);
      const live = await liveOrgs(opts.config, opts.org, opts.to);
      let ledger: Ledger | undefined;
      try {
        const preview = await previewLive({
          network: live.network,
          file,
          sourceOrg: opts.org,
          targetOrg: live.targetId,
          source: live.source,
          target: live.target,
          sample,
          // Read-only: the gate reads the account index and registrations as the ledger holds them.
          ledger: async () => (ledger ??= await openNetworkLedger(live.network)),
        });
        if (!preview.mapping) {
          report(file, preview.problems, false);
          process.exitCode = 2;
          return;
        }
        if (opts.json) printJson(preview.rows);
        else process.stdout.write(renderPreview(preview.mapping, preview.rows, preview.gate));
      } finally {
        await live.close();
        await ledger?.close();
      }
    });

  mapping
    .command('schema')
    .description('print the JSON Schema of mapping files (for editors), or write it with --out')
    .option('--out <file>', 'write it to this file')
    .action((opts: { out?: string }) => {
      const text = JSON.stringify(mappingJsonSchema(), null, 2) + '\n';
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
    });
}

function report(file: string, problems: Problem[], quiet: boolean): void {
  const shown = quiet ? problems.filter((p) => p.severity === 'error') : problems;
  if (shown.length) process.stderr.write(formatProblems(shown) + '\n');
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  process.stderr.write(`${file}: ${errors === 0 ? 'ok' : `${errors} error${errors === 1 ? '' : 's'}`}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}\n`);
}

/** The objects a mapping names, known even when the mapping has errors (so live schemas can be fetched). */
function objectsOf(result: LoadResult): { source: string; target: string } | undefined {
  return result.objects;
}

interface LiveOrgs {
  network: LoadedNetwork;
  targetId: string;
  source: Connector;
  target: Connector;
  close(): Promise<void>;
}

async function liveOrgs(configFile: string, sourceId: string, targetId: string | undefined): Promise<LiveOrgs> {
  const network: LoadedNetwork = loadNetwork(configFile);
  const vendor = network.network.vendor;
  const to = targetId ?? (sourceId === vendor.id ? undefined : vendor.id);
  if (!to) throw new CosellError('COSELL_CONFIG_INVALID', `--org ${sourceId} is the vendor: say which partner org is the target with --to`);
  const source = await createConnector(network.org(sourceId));
  let target: Connector;
  try {
    target = await createConnector(network.org(to));
  } catch (e) {
    await source.close();
    throw e;
  }
  return {
    network,
    targetId: to,
    source,
    target,
    close: async () => {
      await Promise.allSettled([source.close(), target.close()]);
    },
  };
}

const show = (v: unknown): string => (v === undefined ? '—' : v === null ? 'null' : typeof v === 'string' ? (v.length > 40 ? JSON.stringify(v.slice(0, 39) + '…') : JSON.stringify(v)) : String(v));

export function renderPreview(mapping: CompiledMapping, rows: PreviewRow[], gate?: { link: string; policy: string }): string {
  const lines: string[] = [];
  const count = (a: PreviewRow['action']): number => rows.filter((r) => r.action === a).length;
  lines.push(`${mapping.name}: ${mapping.sourceObject} → ${mapping.targetObject}, ${rows.length} source records (nothing was written)`);
  if (gate) lines.push(`  registration link ${gate.link}: each record as the Rules-of-Engagement gate (${gate.policy}) would decide it now`);
  lines.push(`  create ${count('create')} · update ${count('update')}${gate ? ` · held ${count('held')} · rejected ${count('rejected')}` : ''} · unchanged ${count('unchanged')} · filtered out ${count('filtered')} · errors ${count('error') + rows.filter((r) => r.action !== 'error' && r.errors.length).length}`);
  lines.push('');
  const table: string[][] = [['source id', 'key', 'action', 'field', 'current', 'new', 'note']];
  for (const r of rows) {
    if (r.action === 'filtered' || (r.action === 'unchanged' && r.changes.length === 0)) {
      table.push([r.sourceId, r.key ?? '', r.action, '', '', '', '']);
      continue;
    }
    let first = true;
    const action = describeGate(r.gate) ?? r.action;
    const head = (): string[] => (first ? [r.sourceId, r.key ?? '', r.targetId ? `${action} ${r.targetId}` : action] : ['', '', '']);
    for (const c of r.changes) {
      table.push([...head(), c.field, r.targetId ? show(c.current) : '', show(c.next), c.heldBy ? `kept: owner ${c.heldBy}` : '']);
      first = false;
    }
    for (const e of r.errors) {
      table.push([...head(), e.field, '', '', `ERROR ${e.message}`]);
      first = false;
    }
    if (first) table.push([r.sourceId, r.key ?? '', action, '', '', '', '']);
  }
  return lines.join('\n') + '\n' + formatGrid(table, Infinity);
}

