import path from 'node:path';
import type { Connector } from '../connectors/types.js';
import type { Ledger } from '../ledger/index.js';
import { hasErrors, loadMappingFile, previewMapping, type CompiledMapping, type PreviewRow, type Problem } from '../mappings/index.js';
import { loadPolicy } from '../rules/policy.js';
import { previewGate } from '../registrations/gatePreview.js';
import { withLinkFilter } from '../sync/linkFilter.js';
import { splitEndpoint, type LinkConfig, type LoadedNetwork } from './config.js';

/**
 * Validate a mapping against the live schemas of two orgs and preview it on a sample of live source
 * records as a diff against the target — writing nothing. The one code path of `cosell mapping
 * preview` and the console's mappings page. On a registration link (the link given, or the network's
 * registration link between these org objects) every record also gets the Rules-of-Engagement gate's
 * decision (registrations/gatePreview.ts), so a deal the gate would hold or reject is never shown as "create".
 */
export interface LivePreviewRequest {
  network: LoadedNetwork;
  file: string;
  sourceOrg: string;
  targetOrg: string;
  source: Connector;
  target: Connector;
  sample: number;
  /** The link the mapping runs on (its filter applies); default: a registration link between the two org objects, if any. */
  link?: LinkConfig;
  /** The ledger the gate reads (opened only when a registration link needs it). */
  ledger?: () => Promise<Ledger>;
}

export interface LivePreview {
  /** Every problem of the mapping against the live schemas (file:line:col). */
  problems: Problem[];
  mapping?: CompiledMapping;
  objects?: { source: string; target: string };
  rows: PreviewRow[];
  /** Set when the registration gate decided the rows: the link and the policy file. */
  gate?: { link: string; policy: string };
}

/** The registration link between two org objects a preview's rows would go through, if any. */
export function registrationLinkFor(network: LoadedNetwork, from: string, to: string): LinkConfig | undefined {
  return network.network.links.find((l) => l.registration && l.from === from && l.to === to);
}

export async function previewLive(req: LivePreviewRequest): Promise<LivePreview> {
  const probe = loadMappingFile(req.file);
  const objects = probe.mapping ? { source: probe.mapping.sourceObject, target: probe.mapping.targetObject } : probe.objects;
  if (!objects) return { problems: probe.problems, rows: [] };
  const [sourceSchema, targetSchema] = await Promise.all([req.source.describe(objects.source), req.target.describe(objects.target)]);
  const loaded = loadMappingFile(req.file, { sourceSchema, targetSchema });
  if (!loaded.mapping || hasErrors(loaded.problems)) return { problems: loaded.problems, objects, rows: [] };
  const link = req.link ?? registrationLinkFor(req.network, `${req.sourceOrg}.${objects.source}`, `${req.targetOrg}.${objects.target}`);
  let mapping = loaded.mapping;
  const problems = [...loaded.problems];
  if (req.link) {
    const filtered = withLinkFilter(mapping, req.network, req.link, sourceSchema);
    problems.push(...filtered.problems);
    if (!filtered.mapping) return { problems, objects, rows: [] };
    mapping = filtered.mapping;
  }
  const vendor = req.network.network.vendor;
  const partnerId = req.sourceOrg === vendor.id ? req.targetOrg : req.sourceOrg;
  const partner = req.network.partner(partnerId);
  const context = {
    partner: partner ? { id: partner.id, name: partner.name, tier: partner.tier, roles: partner.roles ?? [], territories: partner.territories ?? {} } : undefined,
    vendor: { id: vendor.id, name: vendor.name },
    ...(link ? { link: { id: link.id, from: link.from, to: link.to } } : {}),
  };
  const rules = req.network.network.rules;
  const gated = link?.registration && rules && req.ledger && splitEndpoint(link.from).org === req.sourceOrg;
  const policyFile = rules ? req.network.resolve(rules) : undefined;
  const gate = gated ? previewGate({ network: req.network, ledger: await req.ledger!(), policy: loadPolicy(policyFile!), link: link!, source: req.source, target: req.target }) : undefined;
  const rows = await previewMapping(mapping, req.source, req.target, req.sample, { context, gate });
  return { problems, mapping, objects, rows, ...(gate ? { gate: { link: link!.id, policy: path.relative(process.cwd(), policyFile!) || policyFile! } } : {}) };
}
