import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { createConnector } from '../connectors/index.js';
import type { Connector, ObjectSchema } from '../connectors/types.js';
import { splitEndpoint } from '../lib/config.js';
import { checkConfig } from '../lib/configCheck.js';
import { CosellError } from '../lib/errors.js';
import { formatProblem, loadMappingFile, type Problem } from '../mappings/index.js';
import { mappingSnapshots } from '../sync/build.js';
import { linkFilterProblems } from '../sync/linkFilter.js';
import { configOption, jsonOption, printJson } from './options.js';

/**
 * `cosell validate`: the offline check the worker runs before it starts (network file, rules policy,
 * credentials, every mapping against its schema snapshots — lib/configCheck.ts), then every link's
 * mapping against the orgs' live schemas (skipped with --offline, which also skips credentials, so CI
 * can check a configuration without secrets). Errors and warnings are printed; writes nothing.
 */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description("check the network file, the rules policy, the credentials and every link's mapping against the orgs' schemas (writes nothing)")
    .option(...configOption())
    .option('--offline', 'check mappings against their schema snapshots only, and do not check credentials (no CRM calls)')
    .option(...jsonOption)
    .action(async (opts: { config: string; offline?: boolean; json?: boolean }) => {
      const { loaded, problems, filterProblems } = checkConfig(opts.config, { credentials: !opts.offline });
      const ofFilters = new Set([...filterProblems.values()].flat());
      const lines: string[] = [];
      let errors = 0;
      // --json: every problem once, with the link it was found on (none: the network or rules file).
      const found: Array<Problem & { link?: string }> = [];
      const checkedLinks: Array<{ id: string; from: string; to: string; mapping: string; enabled: boolean; ok: boolean }> = [];
      const print = (p: Problem, indent = '', link?: string) => {
        if (p.severity === 'error') errors++;
        found.push({ ...p, ...(link ? { link } : {}) });
        lines.push(indent + formatProblem(p).replaceAll('\n', `\n${indent}`));
      };
      const mappingFiles = new Set(loaded?.network.links.map((l) => loaded.resolve(l.mapping)) ?? []);
      for (const p of problems) if (!mappingFiles.has(p.file) && !ofFilters.has(p)) print(p);
      if (loaded) {
        // Live schemas need working credentials: with a credential problem, only the snapshots were checked.
        const live = !opts.offline && !problems.some((p) => p.code === 'CONFIG_SECRET_MISSING');
        const connectors = new Map<string, Promise<Connector>>();
        const connector = (org: string) => {
          if (!connectors.has(org)) connectors.set(org, createConnector(loaded.org(org)));
          return connectors.get(org)!;
        };
        const describe = async (endpoint: string): Promise<ObjectSchema> => {
          const { org, object } = splitEndpoint(endpoint);
          return (await connector(org)).describe(object);
        };
        const counted = new Set<string>();
        try {
          for (const link of loaded.network.links) {
            const file = loaded.resolve(link.mapping);
            if (!existsSync(file)) {
              lines.push(`✗ link ${link.id}: ${link.from} → ${link.to} (${link.mapping}): the mapping file does not exist`);
              checkedLinks.push({ id: link.id, from: link.from, to: link.to, mapping: link.mapping, enabled: link.enabled, ok: false });
              continue;
            }
            let found = problems.filter((p) => p.file === file);
            let filter = filterProblems.get(link.id) ?? [];
            if (live && link.enabled && !found.some((p) => p.severity === 'error')) {
              const probe = loadMappingFile(file, {});
              const [sourceSchema, targetSchema] = await Promise.all([describe(link.from), describe(link.to)]);
              // Custom fields the mapping's snapshot defines are created on the first run: count them as present.
              const snaps = mappingSnapshots(file);
              found = loadMappingFile(file, {
                sourceSchema: withSnapshot(sourceSchema, snaps.source, probe.mapping?.sourceFields ?? []),
                targetSchema: withSnapshot(targetSchema, snaps.target, probe.mapping ? [...probe.mapping.targetFields, probe.mapping.match.target] : []),
              }).problems;
              filter = linkFilterProblems(loaded, link, sourceSchema);
            }
            found = [...found, ...filter];
            const failed = found.some((p) => p.severity === 'error');
            checkedLinks.push({ id: link.id, from: link.from, to: link.to, mapping: link.mapping, enabled: link.enabled, ok: !failed });
            lines.push(`${failed ? '✗' : '✓'} link ${link.id}: ${link.from} → ${link.to} (${link.mapping})${link.enabled ? '' : ' (disabled: not checked)'}`);
            // A mapping two links share counts its snapshot problems once.
            for (const p of found) {
              const key = `${formatProblem(p)}|${live ? link.id : ''}`;
              if (counted.has(key)) lines.push(`  ${formatProblem(p).replaceAll('\n', '\n  ')}`);
              else {
                counted.add(key);
                print(p, '  ', link.id);
              }
            }
          }
        } finally {
          for (const c of connectors.values()) await (await c.catch(() => undefined))?.close();
        }
      }
      if (opts.json) {
        printJson({ config: opts.config, ok: !errors && Boolean(loaded), errors, warnings: found.length - errors, links: checkedLinks, problems: found });
        if (errors || !loaded) process.exitCode = 2;
        return;
      }
      process.stdout.write(lines.join('\n') + '\n');
      if (errors || !loaded) throw new CosellError('COSELL_CONFIG_INVALID', `${errors} problem(s) in ${opts.config} and the files it names`);
      process.stdout.write(`${opts.config}: ok (${loaded.network.links.length} links, ${loaded.network.partners.length} partners)\n`);
    });
}

/** Live schema plus the snapshot's definition of custom fields the engine creates on its first run (sync/build.ts). */
function withSnapshot(schema: ObjectSchema | undefined, snapshot: ObjectSchema | undefined, names: string[]): ObjectSchema | undefined {
  if (!schema || !snapshot) return schema;
  const fields = { ...schema.fields };
  for (const n of names) if (!fields[n] && snapshot.fields[n] && (n.endsWith('__c') || !n.startsWith('hs_'))) fields[n] = snapshot.fields[n];
  return { ...schema, fields };
}
