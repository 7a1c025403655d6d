import path from 'node:path';
import { z } from 'zod';
import { mappingJsonSchema } from '../mappings/index.js';
import { policySchema } from '../rules/policy.js';
import { networkSchema } from './config.js';
import { codePath } from './packagePaths.js';

/**
 * JSON Schemas of cosell's configuration files, generated from the zod schemas the loaders validate
 * with (so an editor's checks and cosell's never drift apart), for `# yaml-language-server: $schema=`
 * lines. The committed files are what `cosell schema KIND --out FILE` writes; a test keeps them equal.
 * Editors check shape only: cross-references (a link's partner exists, a mapping's fields) are the
 * loaders' job (`cosell validate`).
 */
export const CONFIG_SCHEMAS = {
  network: { file: codePath('lib', 'network.schema.json'), title: 'cosell network', description: 'A cosell network file: the vendor org, its partners, the links between their objects, the ledger and the rules policy.', schema: networkSchema },
  roe: { file: codePath('rules', 'roe.schema.json'), title: 'cosell Rules of Engagement', description: 'A cosell Rules-of-Engagement policy: who may register which deals, and how registrations are decided.', schema: policySchema },
  mapping: { file: codePath('mappings', 'mapping.schema.json') },
} as const;

export type ConfigSchemaKind = keyof typeof CONFIG_SCHEMAS;

export function configJsonSchema(kind: ConfigSchemaKind): Record<string, unknown> {
  if (kind === 'mapping') return mappingJsonSchema();
  const { schema, title, description } = CONFIG_SCHEMAS[kind];
  let json = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  if (kind === 'network') json = allowSubstitutions(json) as Record<string, unknown>;
  return { ...json, $id: `https://cosell.dev/schemas/${path.basename(CONFIG_SCHEMAS[kind].file)}`, title, description };
}

/**
 * The network loader replaces `${VAR}` with the environment before it validates (lib/config.ts), so
 * the text an editor sees may hold `basePath: ${COSELL_ACME_URL}`: every constrained string (pattern,
 * format) also accepts a value containing a substitution.
 */
const SUBSTITUTION = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}' };
function allowSubstitutions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowSubstitutions);
  if (!node || typeof node !== 'object') return node;
  const o = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, allowSubstitutions(v)])) as Record<string, unknown>;
  if (o.type === 'string' && (o.pattern !== undefined || o.format !== undefined)) {
    const { description, ...rest } = o;
    return { ...(description !== undefined ? { description } : {}), anyOf: [rest, SUBSTITUTION] };
  }
  return o;
}
