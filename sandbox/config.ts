import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CosellError } from '../lib/errors.js';
import { YamlSource, formatProblem } from '../lib/yamlSource.js';
import type { SandboxConfig } from './types.js';

/** The sandbox config file (YAML or JSON): which orgs to host, their seeds, faults, schema and credentials. */

const faultsSchema = z.strictObject({
  errorRate: z.number().min(0).max(1).optional(),
  timeoutRate: z.number().min(0).max(1).optional(),
  timeoutMs: z.number().int().nonnegative().optional(),
  latencyMs: z.number().int().nonnegative().optional(),
  burst429Rate: z.number().min(0).max(1).optional(),
  burst429Length: z.number().int().positive().optional(),
  lockRowRate: z.number().min(0).max(1).optional(),
  expireTokensNow: z.boolean().optional(),
  tokenTtlMs: z.number().int().positive().optional(),
  searchLagMs: z.number().int().nonnegative().optional(),
  commitLagMs: z.number().int().nonnegative().optional(),
  dailyLimit: z.number().int().positive().optional(),
  tenSecondLimit: z.number().int().nonnegative().optional(),
  searchPerSecond: z.number().int().nonnegative().optional(),
});

export const orgConfigSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'org ids are lower-case letters, digits and dashes'),
  kind: z.enum(['salesforce', 'hubspot']),
  name: z.string().optional(),
  role: z.enum(['vendor', 'partner']).optional(),
  seed: z.strictObject({
    seed: z.number().int().optional(),
    accounts: z.number().int().nonnegative().max(2_000_000).optional(),
    opportunities: z.number().int().nonnegative().max(2_000_000).optional(),
    owners: z.number().int().positive().max(10_000).optional(),
  }).optional(),
  faults: faultsSchema.optional(),
  schema: z.record(z.string(), z.unknown()).optional(),
  credentials: z.record(z.string(), z.string()).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  idOffset: z.number().int().min(0).max(1e12).optional(),
});

export const sandboxConfigSchema = z.strictObject({
  seed: z.number().int().optional(),
  orgs: z.array(orgConfigSchema).min(1),
  persistFile: z.string().optional(),
}).superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.orgs.forEach((o, i) => {
    if (seen.has(o.id)) ctx.addIssue({ code: 'custom', path: ['orgs', i, 'id'], message: `duplicate org id "${o.id}"` });
    seen.add(o.id);
  });
});

export function parseSandboxConfig(text: string, file: string): SandboxConfig {
  const src = new YamlSource(text, file);
  const cfg = src.validate(sandboxConfigSchema, 'SANDBOX_CONFIG_INVALID');
  if (!cfg) {
    throw new CosellError('COSELL_CONFIG_INVALID', src.problems.map(formatProblem).join('\n'), {
      hint: 'see sandbox/default-network.yaml for a complete example',
      details: { problems: src.problems },
    });
  }
  return cfg as SandboxConfig;
}

export function loadSandboxConfig(file: string): SandboxConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CosellError('COSELL_CONFIG_INVALID', `${file}:1:1: SANDBOX_CONFIG_UNREADABLE: ${(e as Error).message}`, { hint: 'check the --config path' });
  }
  return parseSandboxConfig(text, file);
}
