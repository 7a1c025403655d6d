import type { Command } from 'commander';
import { createConnector } from '../connectors/index.js';
import type { Connector, ObjectSchema } from '../connectors/types.js';
import { loadNetwork, splitEndpoint } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import { formatProblem as formatMappingProblem, loadMappingFile } from '../mappings/index.js';
import { loadPolicy } from '../rules/policy.js';
import { mappingSnapshots } from '../sync/build.js';
import { linkFilterProblems } from '../sync/linkFilter.js';
import { configOption } from './sync.js';

/**
 * `cosell validate`: the network file, the RoE policy, and every link's mapping checked against the
 * orgs' live schemas (or only the mappings' own snapshots with --offline). Writes nothing.
 */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description("check the network file, the rules policy and every link's mapping against the orgs' schemas (writes nothing)")
    .option(...configOption)
    .option('--offline', 'check mappings against their schema snapshots only (no CRM calls)')
    .action(async (opts: { config: string; offline?: boolean }) => {
      const loaded = loadNetwork(opts.config); // throws with every network problem, file:line:col
      const lines: string[] = [];
      let errors = 0;
      if (loaded.network.rules) {
        try {
          loadPolicy(loaded.resolve(loaded.network.rules));
        } catch (e) {
          errors++;
          lines.push((e as Error).message);
        }
      }
      const connectors = new Map<string, Promise<Connector>>();
      const connector = (org: string) => {
        if (!connectors.has(org)) connectors.set(org, createConnector(loaded.org(org)));
        return connectors.get(org)!;
      };
      const live = async (endpoint: string): Promise<ObjectSchema | undefined> => {
        if (opts.offline) return undefined;
        const { org, object } = splitEndpoint(endpoint);
        return (await connector(org)).describe(object);
      };
      try {
        for (const link of loaded.network.links) {
          const file = loaded.resolve(link.mapping);
          const probe = loadMappingFile(file, {});
          let result = probe;
          if (probe.mapping && !opts.offline) {
            const [sourceSchema, targetSchema] = await Promise.all([live(link.from), live(link.to)]);
            // Custom fields the mapping's snapshot defines are created on the first run: count them as present.
            const snaps = mappingSnapshots(file);
            result = loadMappingFile(file, {
              sourceSchema: withSnapshot(sourceSchema, snaps.source, probe.mapping.sourceFields),
              targetSchema: withSnapshot(targetSchema, snaps.target, [...probe.mapping.targetFields, probe.mapping.match.target]),
            });
          }
          const sourceSchema = opts.offline ? mappingSnapshots(file).source : await live(link.from);
          const errs = [...result.problems, ...linkFilterProblems(loaded, link, sourceSchema)].filter((p) => p.severity === 'error');
          errors += errs.length;
          lines.push(`${errs.length ? '✗' : '✓'} link ${link.id}: ${link.from} → ${link.to} (${link.mapping})`);
          for (const p of errs) lines.push(`  ${formatMappingProblem(p)}`);
        }
      } finally {
        for (const c of connectors.values()) await (await c.catch(() => undefined))?.close();
      }
      process.stdout.write(lines.join('\n') + '\n');
      if (errors) throw new CosellError('COSELL_CONFIG_INVALID', `${errors} problem(s) in ${opts.config} and the files it names`);
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
