import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Connector, FieldSpec, ObjectSchema } from '../connectors/types.js';
import { createConnector } from '../connectors/index.js';
import { splitEndpoint, type LinkConfig, type LoadedNetwork } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import type { Ledger } from '../ledger/index.js';
import { loadMappingFile, readSchemaSnapshot } from '../mappings/index.js';
import { formatProblem } from '../lib/problems.js';
import { loadPolicy } from '../rules/policy.js';
import { withLinkFilter } from './linkFilter.js';
import { mappingFingerprint } from './mappingChange.js';
import { registrationGateFor } from '../registrations/gate.js';
import { ReadAhead } from './readAhead.js';
import { streamIdOf, type StreamEntry } from '../ledger/streams.js';
import { linkConsumerId, streamsEnabled } from './streamPlan.js';
import type { LinkRuntime, RecordGate } from './runtime.js';

/** The flag a source deletion sets on the target; Partner Central can hold no such field (its deletions are never propagated there). */
export const DELETED_FLAG_FIELD = { salesforce: 'Cosell_Source_Deleted__c', hubspot: 'cosell_source_deleted', 'aws-partner-central': '' } as const;

export interface EngineDeps {
  network: LoadedNetwork;
  ledger: Ledger;
  /** Build the registration gate for a registration link (rules/); absent → the network file's `rules:` policy (registrations/gate.ts). */
  gateFor?: (rt: Omit<LinkRuntime, 'gate'>) => Promise<RecordGate | undefined>;
  pageSize?: number;
}

/**
 * The engine's per-worker state: one connector per org (so the org's rate budget is shared by every
 * link in this worker) and one compiled mapping per link, built lazily and reused by every page.
 */
export class Engine {
  private readonly connectors = new Map<string, Promise<Connector>>();
  private readonly links = new Map<string, Promise<LinkRuntime>>();

  constructor(readonly deps: EngineDeps) {}

  get network(): LoadedNetwork {
    return this.deps.network;
  }

  get ledger(): Ledger {
    return this.deps.ledger;
  }

  connector(orgId: string): Promise<Connector> {
    let c = this.connectors.get(orgId);
    if (!c) {
      c = createConnector(this.network.org(orgId));
      c.catch(() => this.connectors.delete(orgId));
      this.connectors.set(orgId, c);
    }
    return c;
  }

  link(linkId: string): Promise<LinkRuntime> {
    let l = this.links.get(linkId);
    if (!l) {
      l = this.build(this.network.link(linkId));
      l.catch(() => this.links.delete(linkId));
      this.links.set(linkId, l);
    }
    return l;
  }

  /** The change stream a link reads, from configuration alone (no CRM call): undefined when streams are off. */
  streamOf(linkId: string): { id: string; consumer: string } | undefined {
    if (!streamsEnabled(this.network)) return undefined;
    const { org, object } = splitEndpoint(this.network.link(linkId).from);
    return { id: streamIdOf(org, object), consumer: linkConsumerId(linkId) };
  }

  partnerOf(link: LinkConfig): string {
    const from = splitEndpoint(link.from).org;
    return from === this.network.network.vendor.id ? splitEndpoint(link.to).org : from;
  }

  /** The paired link's match key as this link sees it (LinkRuntime.pairedMatch), when its field is in the source schema. */
  private pairedMatchOf(pairedWith: string, sourceSchema: ObjectSchema): LinkRuntime['pairedMatch'] {
    const match = loadMappingFile(this.network.resolve(this.network.link(pairedWith).mapping), {}).mapping?.match;
    return match && sourceSchema.fields[match.target] ? { source: match.source, target: match.target } : undefined;
  }

  private async build(link: LinkConfig): Promise<LinkRuntime> {
    const { org: sourceOrgId, object: sourceObject } = splitEndpoint(link.from);
    const { org: targetOrgId, object: targetObject } = splitEndpoint(link.to);
    const sourceOrg = this.network.org(sourceOrgId);
    const targetOrg = this.network.org(targetOrgId);
    const [source, target] = await Promise.all([this.connector(sourceOrgId), this.connector(targetOrgId)]);
    const deletedFlagField = DELETED_FLAG_FIELD[targetOrg.kind];

    // Check the mapping against its own snapshots first, then make sure every custom field it reads or
    // writes exists in the live orgs (created from the snapshot's definition), then check it live.
    const mappingFile = this.network.resolve(link.mapping);
    const probe = loadMappingFile(mappingFile, {});
    if (!probe.mapping) throw invalid(probe.problems);
    const snapshots = mappingSnapshots(mappingFile);
    await ensureCustomFields(target, targetObject, snapshots.target, [...probe.mapping.targetFields, probe.mapping.match.target], probe.mapping.match.target);
    if (deletedFlagField) await target.ensureFields(targetObject, [{ name: deletedFlagField, label: 'Deleted in source (cosell)', type: 'boolean' }]);
    await ensureCustomFields(source, sourceObject, snapshots.source, probe.mapping.sourceFields);
    const [sourceSchema, targetSchema] = await Promise.all([source.describe(sourceObject), target.describe(targetObject)]);
    const loaded = loadMappingFile(mappingFile, { sourceSchema, targetSchema });
    if (!loaded.mapping) throw invalid(loaded.problems);
    const filtered = withLinkFilter(loaded.mapping, this.network, link, sourceSchema);
    if (!filtered.mapping) throw invalid(filtered.problems);

    const partnerId = this.partnerOf(link);
    const partner = this.network.partner(partnerId);
    const vendor = this.network.network.vendor;
    const partnerCtx = partner ? { id: partner.id, name: partner.name, tier: partner.tier, roles: partner.roles ?? [], territories: partner.territories ?? {} } : undefined;
    let parent: LinkRuntime['parent'];
    if (link.parent) {
      const parentLink = this.network.link(link.parent.link);
      parent = { linkId: parentLink.id, sourceField: link.parent.sourceField, targetField: link.parent.targetField, targetObject: splitEndpoint(parentLink.to).object };
    }
    const pairedMatch = link.pairedWith ? this.pairedMatchOf(link.pairedWith, sourceSchema) : undefined;
    const stream = this.streamOf(link.id);
    const rt: Omit<LinkRuntime, 'gate'> = {
      link,
      network: this.network,
      sourceOrg,
      targetOrg,
      sourceObject,
      targetObject,
      partnerId,
      source,
      target,
      targetSchema,
      mapping: filtered.mapping,
      context: () => ({ partner: partnerCtx, vendor: { id: vendor.id, name: vendor.name }, link: { id: link.id, from: link.from, to: link.to }, now: new Date() }),
      ledger: this.ledger,
      parent,
      deletedFlagField,
      pageSize: this.deps.pageSize ?? 2000,
      ...(pairedMatch ? { pairedMatch } : {}),
      sourceIsATarget: this.network.network.links.some((l) => {
        const to = splitEndpoint(l.to);
        return to.org === sourceOrgId && to.object === sourceObject;
      }),
      readAhead: new ReadAhead(),
      ...(stream ? { stream: { ...stream, readAhead: new ReadAhead<StreamEntry[]>() } } : {}),
      linkRuntime: (id) => this.link(id),
      mappingFingerprint: mappingFingerprint(mappingFile, link),
    };
    const gate = link.registration ? await (this.deps.gateFor ?? this.rulesGate(link))(rt) : undefined;
    return { ...rt, gate };
  }

  private policyGate?: NonNullable<EngineDeps['gateFor']>;

  /** A registration link never syncs ungated: without a policy it is a configuration error. */
  private rulesGate(link: LinkConfig): NonNullable<EngineDeps['gateFor']> {
    const rules = this.network.network.rules;
    if (!rules) throw new CosellError('COSELL_CONFIG_INVALID', `link "${link.id}" is a registration link but the network file has no rules: policy`, { hint: 'add `rules: roe.yaml` (see rules/README.md) or set registration: false' });
    return (this.policyGate ??= registrationGateFor({ policy: loadPolicy(this.network.resolve(rules)) }));
  }

  async close(): Promise<void> {
    for (const c of this.connectors.values()) await (await c.catch(() => undefined))?.close();
    this.connectors.clear();
    this.links.clear();
  }
}

function invalid(problems: Parameters<typeof formatProblem>[0][]): CosellError {
  return new CosellError('COSELL_MAPPING_INVALID', problems.map(formatProblem).join('\n'), { details: { problems } });
}


/** The schema snapshots a mapping file names (source.schema / target.schema), if any. */
export function mappingSnapshots(file: string): { source?: ObjectSchema; target?: ObjectSchema } {
  const data = parseYaml(readFileSync(file, 'utf8')) as { source?: { schema?: string }; target?: { schema?: string } };
  const read = (rel?: string) => (rel ? readSchemaSnapshot(path.resolve(path.dirname(file), rel)).schema : undefined);
  return { source: read(data.source?.schema), target: read(data.target?.schema) };
}

/** Fields cosell may create in the org. Partner Central's schema is AWS's: it has none. */
export const isCustomField = (kind: Connector['kind'], name: string) => (kind === 'salesforce' ? name.endsWith('__c') : kind === 'hubspot' ? !name.startsWith('hs_') : false);

/**
 * Create the custom fields a mapping needs but the org lacks, from the snapshot's definitions; the
 * match field is created unique / external id so it can key upserts. Standard fields are never created.
 */
async function ensureCustomFields(connector: Connector, object: string, snapshot: ObjectSchema | undefined, names: string[], matchField?: string): Promise<void> {
  const live = await connector.describe(object);
  const specs: FieldSpec[] = [];
  for (const name of new Set(names)) {
    if (live.fields[name] || !isCustomField(connector.kind, name)) continue;
    const f = snapshot?.fields[name];
    const isMatch = name === matchField;
    const type = !f || f.type === 'id' || f.type === 'reference' ? 'string' : f.type;
    specs.push({
      name,
      label: f?.label ?? name,
      type: isMatch ? 'string' : type,
      unique: isMatch || f?.unique || undefined,
      externalId: isMatch || f?.externalId || undefined,
      length: type === 'string' || isMatch ? (f?.length ?? 255) : undefined,
      picklistValues: f?.picklistValues,
    });
  }
  if (specs.length) await connector.ensureFields(object, specs);
}
