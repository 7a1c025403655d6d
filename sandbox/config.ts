import { z } from 'zod';
/**
 * The sandbox config's schema (YAML or JSON, or an object): which orgs to host, their seeds, faults,
 * schema and credentials. Reading a config *file* with every problem at file:line:col is cosell's
 * (app/sandboxConfig.ts, one positioned-problem format for every admin-written file); the package
 * validates objects against this schema and names each problem by its path.
 */

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
  webhookDropRate: z.number().min(0).max(1).optional(),
  webhookDuplicateRate: z.number().min(0).max(1).optional(),
  webhookDelayMs: z.number().int().nonnegative().optional(),
  webhookReorder: z.boolean().optional(),
  aceReadsPerSecond: z.number().int().positive().optional(),
  aceWritesPerSecond: z.number().int().positive().optional(),
  aceDailyReads: z.number().int().positive().optional(),
  aceDailyWrites: z.number().int().positive().optional(),
});

/** A HubSpot app's webhook settings (sandbox/hubspot/webhooks.ts). */
export const webhookSettingsSchema = z.strictObject({
  targetUrl: z.url(),
  appId: z.number().int().nonnegative().optional(),
  clientSecret: z.string().min(1).optional(),
  subscriptions: z.array(
    z.strictObject({
      object: z.enum(['contact', 'company', 'deal']),
      event: z.enum(['creation', 'propertyChange', 'deletion', 'merge', 'restore', 'associationChange']),
      propertyName: z.string().min(1).optional(),
      active: z.boolean().optional(),
    }).refine((s) => s.event !== 'propertyChange' || !!s.propertyName, { message: 'a propertyChange subscription names its propertyName (or * for every property)', path: ['propertyName'] }),
  ),
  maxConcurrentRequests: z.number().int().positive().optional(),
  batchSize: z.number().int().min(1).max(100).optional(),
  batchWindowMs: z.number().int().nonnegative().optional(),
  timeoutMs: z.number().int().positive().optional(),
  retry: z.strictObject({ maxAttempts: z.number().int().positive().optional(), initialDelayMs: z.number().int().nonnegative().optional(), maxDelayMs: z.number().int().nonnegative().optional() }).optional(),
  cdcDropRate: z.number().min(0).max(1).optional(),
  cdcDelayMs: z.number().int().nonnegative().optional(),
  cdcDuplicateRate: z.number().min(0).max(1).optional(),
  cdcGapRate: z.number().min(0).max(1).optional(),
  cdcOverflowAfter: z.number().int().positive().optional(),
  cdcRetentionMs: z.number().int().positive().optional(),
});

export const orgConfigSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'org ids are lower-case letters, digits and dashes'),
  kind: z.enum(['salesforce', 'hubspot', 'aws-partner-central']),
  name: z.string().optional(),
  role: z.enum(['vendor', 'partner']).optional(),
  seed: z.strictObject({
    seed: z.number().int().optional(),
    accounts: z.number().int().nonnegative().max(2_000_000).optional(),
    opportunities: z.number().int().nonnegative().max(2_000_000).optional(),
    owners: z.number().int().positive().max(10_000).optional(),
    history: z.strictObject({
      deals: z.number().int().nonnegative().max(2_000_000).optional(),
      quarters: z.number().int().positive().max(40).optional(),
      partners: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).min(1),
    }).optional(),
  }).optional(),
  faults: faultsSchema.optional(),
  schema: z.record(z.string(), z.unknown()).optional(),
  credentials: z.record(z.string(), z.string()).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  idOffset: z.number().int().min(0).max(1e12).optional(),
  webhooks: webhookSettingsSchema.optional(),
  pubsub: z.strictObject({ port: z.number().int().min(0).max(65535).optional(), keepaliveMs: z.number().int().positive().optional() }).optional(),
  partnerCentral: z.strictObject({
    catalogs: z.array(z.enum(['AWS', 'Sandbox'])).min(1).optional(),
    reviewDelayMs: z.number().int().nonnegative().optional(),
    referrals: z.strictObject({ everyMs: z.number().int().positive(), max: z.number().int().nonnegative().optional(), catalog: z.enum(['AWS', 'Sandbox']).optional() }).optional(),
    invitationTtlDays: z.number().int().positive().optional(),
    solutions: z.array(z.string().min(1)).optional(),
  }).optional(),
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
