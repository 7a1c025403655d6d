import type { ObjectSchema } from '../connectors/types.js';
import type { LinkConfig, LoadedNetwork } from '../lib/config.js';
import { compileCondition } from '../mappings/index.js';
import type { CompiledMapping, Problem } from '../mappings/types.js';

/**
 * A link's own `filter:` (cosell.yaml), on top of its mapping's: checked against the source schema
 * with positions in the network file, and folded into the compiled mapping so that every path that
 * asks the mapping "does this record sync?" (pages, back-fills, the registration gate) also asks it.
 */
export function linkFilterProblems(network: LoadedNetwork, link: LinkConfig, sourceSchema?: ObjectSchema): Problem[] {
  return link.filter === undefined ? [] : compile(network, link, sourceSchema).problems;
}

export function withLinkFilter(mapping: CompiledMapping, network: LoadedNetwork, link: LinkConfig, sourceSchema: ObjectSchema): { mapping?: CompiledMapping; problems: Problem[] } {
  if (link.filter === undefined) return { mapping, problems: [] };
  const extra = compile(network, link, sourceSchema);
  const test = extra.test;
  if (!test) return { problems: extra.problems };
  return {
    problems: extra.problems,
    mapping: {
      ...mapping,
      sourceFields: [...new Set([...mapping.sourceFields, ...extra.fieldsRead])],
      filter: (record, ctx) => mapping.filter(record, ctx) && test(record, ctx),
    },
  };
}

function compile(network: LoadedNetwork, link: LinkConfig, sourceSchema?: ObjectSchema) {
  const index = network.network.links.indexOf(link);
  return compileCondition(link.filter!, { sourceSchema, file: network.file, ...network.valuePosition(['links', index, 'filter']) });
}
