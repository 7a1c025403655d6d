import path from 'node:path';
import { isScalar, visit } from 'yaml';
import { z } from 'zod';
import { notificationsSchema } from '../notify/config.js';
import { CosellError } from './errors.js';
import { suggestionHint } from './suggest.js';
import { YamlSource } from './yamlSource.js';
import type { Problem } from './problems.js';
import { configTextOrThrow, invalidFile } from './configFile.js';

/**
 * The network file (cosell.yaml): the vendor org, its partner orgs and the links between them.
 * Credentials are references (env:NAME / file:PATH) resolved only when a connector is built.
 */
const secretRef = z
  .string()
  .regex(/^(env|file):.+/, 'must be a reference like env:NAME or file:/path — never the secret itself');

const salesforceConnection = z.strictObject({
  instanceUrl: z.url(),
  loginUrl: z.url().optional(),
  apiVersion: z.string().regex(/^\d+\.\d$/).optional(),
  auth: z.union([
    z.strictObject({ accessToken: secretRef }),
    z.strictObject({ clientId: secretRef, clientSecret: secretRef, refreshToken: secretRef.optional() }),
    z.strictObject({ clientId: secretRef, username: z.string(), privateKey: secretRef }),
    z.strictObject({ clientId: secretRef, clientSecret: secretRef, username: z.string(), password: secretRef }),
  ]),
  /** Stop calling when this share of the daily API allocation is used (0..1). */
  dailyPauseAt: z.number().gt(0).lte(1).optional(),
  /**
   * Change Data Capture over the Pub/Sub API (push): change events of the objects links read from
   * this org wake those links at once; polling stays the safety net. See connectors/salesforce/README.md.
   */
  pubsub: z
    .strictObject({
      /** host:port of the Pub/Sub API, e.g. api.pubsub.salesforce.com:7443. */
      endpoint: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'write it as host:port, e.g. api.pubsub.salesforce.com:7443'),
      /** A private CA (PEM) the endpoint's certificate chains to — the sandbox's; public roots when omitted. */
      ca: secretRef.optional(),
      /** Objects to subscribe (default: every object a link reads from this org). */
      objects: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/)).optional(),
      /** Events in flight per topic (1..100). */
      batchSize: z.number().int().min(1).max(100).optional(),
      /**
       * Several workers subscribe each topic once: the worker holding a topic's lease in the ledger
       * subscribes, renewing every `renew`; the others take over when it is not renewed for `ttl`.
       */
      lease: z
        .strictObject({
          ttl: z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 15s').default('15s'),
          renew: z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 5s').default('5s'),
        })
        .optional(),
      enabled: z.boolean().default(true),
    })
    .optional(),
});

const hubspotConnection = z.strictObject({
  basePath: z.url().optional(),
  auth: z.union([
    z.strictObject({ accessToken: secretRef }),
    z.strictObject({ clientId: secretRef, clientSecret: secretRef, refreshToken: secretRef }),
  ]),
  /** Requests per rolling 10 s this portal's tier allows (100 Starter, 190 Pro/Enterprise). */
  tenSecondLimit: z.number().int().positive().optional(),
  searchPerSecond: z.number().positive().optional(),
});

/**
 * Push sources of a HubSpot org: its app's webhooks, delivered to an endpoint the worker serves
 * (push/hubspot/receiver.ts). The client secret signs every delivery; it is a reference, never a value.
 */
const hubspotPush = z.strictObject({
  webhooks: z.strictObject({
    /** host:port the worker listens on (port 0: any free port — for tests and the demo). */
    listen: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'host:port, e.g. 127.0.0.1:8790 or 0.0.0.0:8790'),
    /** URL path of the endpoint (default /hubspot/<org id>/webhooks). */
    path: z.string().regex(/^\/[A-Za-z0-9/_.~-]*$/, 'a URL path starting with /, e.g. /hubspot/acme/webhooks').optional(),
    /** The Target URL exactly as set in the HubSpot app (what HubSpot signs), when a proxy stands in front. */
    publicUrl: z.url().optional(),
    clientSecret: secretRef,
    /** Accept only events of this HubSpot app. */
    appId: z.number().int().nonnegative().optional(),
  }),
});

/** AWS Partner Central (the Selling API): the partner account's keys, its catalog, and what to do with AWS referrals. */
const awsPartnerCentralConnection = z.strictObject({
  catalog: z.enum(['AWS', 'Sandbox']),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region, e.g. us-east-1').optional(),
  /** The service endpoint (the sandbox's URL); default the SDK's for the region. */
  endpoint: z.url().optional(),
  auth: z.strictObject({ accessKeyId: secretRef, secretAccessKey: secretRef, sessionToken: secretRef.optional() }),
  limits: z
    .strictObject({
      readsPerSecond: z.number().positive().optional(),
      writesPerSecond: z.number().positive().optional(),
      dailyReads: z.number().int().positive().optional(),
      dailyWrites: z.number().int().positive().optional(),
      dailyPauseAt: z.number().gt(0).lte(1).optional(),
    })
    .optional(),
  /** AWS referrals (engagement invitations): manual (a human with `cosell aws invitations`), or decided by these rules. */
  invitations: z
    .strictObject({
      mode: z.enum(['manual', 'accept', 'accept-or-reject']),
      industries: z.array(z.string().min(1)).optional(),
      countries: z.array(z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 country code, e.g. US')).optional(),
      minMonthlySpend: z.number().nonnegative().optional(),
      rejectReason: z.string().min(1).max(80).optional(),
    })
    .optional(),
  conflictRetries: z.number().int().min(0).max(10).optional(),
});

const orgBase = {
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
  name: z.string().min(1),
};

const org = z.discriminatedUnion('kind', [
  z.strictObject({ ...orgBase, kind: z.literal('salesforce'), connection: salesforceConnection }),
  z.strictObject({ ...orgBase, kind: z.literal('hubspot'), connection: hubspotConnection, push: hubspotPush.optional() }),
  z.strictObject({ ...orgBase, kind: z.literal('aws-partner-central'), connection: awsPartnerCentralConnection }),
]);

const population = z.enum(['customers', 'opportunities', 'prospects']);

const partnerExtras = {
  tier: z.string().min(1),
  territories: z.strictObject({ countries: z.array(z.string()).optional(), regions: z.array(z.string()).optional(), segments: z.array(z.string()).optional() }).optional(),
  roles: z.array(z.enum(['sourcing', 'services', 'influence', 'reseller'])).optional(),
  /** Account mapping: which populations each side agreed to share, and the partnership's HMAC key. */
  sharing: z
    .strictObject({ vendor: z.array(population), partner: z.array(population), secret: secretRef, every: z.string().optional() })
    .optional(),
};

const partner = z.discriminatedUnion('kind', [
  z.strictObject({ ...orgBase, kind: z.literal('salesforce'), connection: salesforceConnection, ...partnerExtras }),
  z.strictObject({ ...orgBase, kind: z.literal('hubspot'), connection: hubspotConnection, push: hubspotPush.optional(), ...partnerExtras }),
  z.strictObject({ ...orgBase, kind: z.literal('aws-partner-central'), connection: awsPartnerCentralConnection, ...partnerExtras }),
]);

const endpoint = z.string().regex(/^[a-z][a-z0-9-]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'write it as ORG.OBJECT, e.g. acme.deals or vendor.Opportunity');

const link = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
  from: endpoint,
  to: endpoint,
  mapping: z.string().min(1),
  /** Extra filter on top of the mapping's own (DSL expression). */
  filter: z.string().optional(),
  /** How often to look for changes once caught up, e.g. 30s, 5m. */
  schedule: z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 30s, 5m or 1h').default('30s'),
  /** The opposite link of a two-way pair (echo suppression and conflict policies use it). */
  pairedWith: z.string().optional(),
  /** Partner deals on this link become registrations checked by the Rules of Engagement. */
  registration: z.boolean().default(false),
  /**
   * Vendor → partner links: `all` is the admin's explicit share of every vendor record of this object
   * with the partner (the mapping filter then decides alone). Default `scoped`: a vendor record reaches
   * the partner only if the partner is on it (sync/partnerScope.ts).
   */
  share: z.enum(['scoped', 'all']).default('scoped'),
  /**
   * What a delete/archive/merge in the source does to the target. A source record restored later (the
   * CRM's recycle bin: same id) is re-linked with `flag` — the same target, its flag cleared, syncing
   * again, audited `restored`; with `archive` it is synced as a new record.
   */
  deletes: z.enum(['archive', 'flag', 'ignore']).default('flag'),
  /**
   * What the sync does when the record it would update was deleted in the target by someone else:
   * `leave` (default) respects the deletion — nothing is re-created, the pair is marked and audited
   * (`target-deleted`); `recreate` writes the record again from the source, audited as `recreated`.
   * On a two-way pair, a target record that is restored in its CRM (re-linked by the paired link) is
   * written again as before, audited `restored`.
   */
  targetDeletes: z.enum(['leave', 'recreate']).default('leave'),
  /** Link that must have synced a record's parent first (e.g. accounts before opportunities); without targetField the target models it as an association (HubSpot deal → company). */
  parent: z.strictObject({ link: z.string(), sourceField: z.string(), targetField: z.string().optional() }).optional(),
  enabled: z.boolean().default(true),
});

/**
 * How long a change stream gathers pushed ids under steady change before reading them in one call. At
 * 1.5 s push stays within the 2 s freshness goal (p95 1.86 s at 1 change/s; at 2 s it was 2.23 s), at
 * about one read per 1.5 s however fast changes come.
 */
export const DEFAULT_COALESCE = '1500ms';

export const networkSchema = z.strictObject({
  $schema: z.string().optional(),
  vendor: org,
  partners: z.array(partner).default([]),
  links: z.array(link).default([]),
  ledger: z.strictObject({ url: secretRef.optional(), file: z.string().optional() }).optional(),
  rules: z.string().optional(),
  /** Where registration events are sent (Slack / Teams webhooks, e-mail over SMTP) and their texts: notify/config.ts. */
  notifications: notificationsSchema.optional(),
  /**
   * Change streams (sync/stream.ts): one feed read per (org, object), fanned out to every link, the
   * rules index and the overlap passes that read it. Off by default: each link then follows its own feed.
   */
  streams: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** How often a stream polls its org's feed when no push source is configured (default: the fastest schedule of the links it feeds, else 30s). */
      poll: z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 30s, 5m or 1h').optional(),
      /** With push: how often the reconciler polls for what push missed. */
      reconcile: z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 30s, 5m or 1h').default('15m'),
      /**
       * With push, under steady change: the longest a notified record waits so that changes arriving
       * together are read by id in one call. The first change after a quiet spell is read at once; while
       * changes keep coming the wait doubles up to this (0s: read every notification at once).
       */
      coalesce: z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 30s, 5m or 1h').default(DEFAULT_COALESCE),
    })
    .optional(),
});

export type Network = z.infer<typeof networkSchema>;
export type OrgConfig = Network['vendor'] | Network['partners'][number];
export type PartnerConfig = Network['partners'][number];
export type LinkConfig = Network['links'][number];

export interface LoadedNetwork {
  network: Network;
  file: string;
  /** Resolve a path written in the network file (mappings, rules) relative to the file. */
  resolve(p: string): string;
  org(id: string): OrgConfig;
  partner(id: string): PartnerConfig | undefined;
  link(id: string): LinkConfig;
  /** Where the text of the value at `path` starts (inside its quotes), for problems in expressions. */
  valuePosition(path: ReadonlyArray<string | number>): { line: number; col: number };
  /** Where the value at `path` (e.g. ['links', 0, 'mapping']) is written in the network file. */
  position(path: ReadonlyArray<string | number>): { line: number; col: number };
}

/** Parse and check a network file; returns every problem at once. */
export function parseNetwork(text: string, file: string, env: NodeJS.ProcessEnv = process.env): { loaded?: LoadedNetwork; problems: Problem[] } {
  const src = new YamlSource(text, file);
  interpolateEnv(src, env);
  const network = src.validate(networkSchema);
  if (!network) return { problems: src.problems };
  const orgs = new Map<string, OrgConfig>([[network.vendor.id, network.vendor]]);
  network.partners.forEach((p, i) => {
    if (orgs.has(p.id)) src.problem(['partners', i, 'id'], 'CONFIG_DUPLICATE', `org id "${p.id}" is used twice`);
    orgs.set(p.id, p);
  });
  checkPush(src, network);
  const links = new Map<string, LinkConfig>();
  network.links.forEach((l, i) => {
    if (links.has(l.id)) src.problem(['links', i, 'id'], 'CONFIG_DUPLICATE', `link id "${l.id}" is used twice`);
    links.set(l.id, l);
    for (const side of ['from', 'to'] as const) {
      const orgId = l[side].split('.')[0];
      if (!orgs.has(orgId)) src.problem(['links', i, side], 'CONFIG_UNKNOWN_ORG', `no org "${orgId}"`, `known orgs: ${[...orgs.keys()].join(', ')}`);
    }
    const fromOrg = l.from.split('.')[0];
    const toOrg = l.to.split('.')[0];
    // Partners never see each other's data: every link touches the vendor on one side.
    if (fromOrg !== network.vendor.id && toOrg !== network.vendor.id) {
      src.problem(['links', i], 'CONFIG_PARTNER_TO_PARTNER', `link "${l.id}" connects two partners`, 'every link must have the vendor org on one side');
    }
  });
  network.links.forEach((l, i) => {
    if (l.pairedWith && !links.has(l.pairedWith)) src.problem(['links', i, 'pairedWith'], 'CONFIG_UNKNOWN_LINK', `no link "${l.pairedWith}"`);
    if (l.parent && !links.has(l.parent.link)) src.problem(['links', i, 'parent', 'link'], 'CONFIG_UNKNOWN_LINK', `no link "${l.parent.link}"`);
  });
  if (src.problems.length) return { problems: src.problems };
  const dir = path.dirname(path.resolve(file));
  return {
    problems: [],
    loaded: {
      network,
      file,
      resolve: (p) => path.resolve(dir, p),
      org: (id) => {
        const o = orgs.get(id);
        if (!o) throw new CosellError('COSELL_CONFIG_INVALID', `${file}: no org "${id}"`);
        return o;
      },
      partner: (id) => network.partners.find((p) => p.id === id),
      valuePosition: (p) => {
        const pos = src.position(p);
        const node = src.doc.getIn(p, true);
        return isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') ? { ...pos, col: pos.col + 1 } : pos;
      },
      position: (p) => src.position(p),
      link: (id) => {
        const l = links.get(id);
        if (!l) throw new CosellError('COSELL_LINK_UNKNOWN', `no link "${id}" in ${file}`, { hint: suggestionHint(id, [...links.keys()]) });
        return l;
      },
    },
  };
}

/** Where each org's webhooks are received (listen address + path), with its default path filled in. */
export function pushEndpoints(network: Network): Array<{ org: string; listen: string; path: string; publicUrl?: string; clientSecret: string; appId?: number }> {
  const out: Array<{ org: string; listen: string; path: string; publicUrl?: string; clientSecret: string; appId?: number }> = [];
  for (const o of [network.vendor, ...network.partners]) {
    if (o.kind !== 'hubspot' || !o.push?.webhooks) continue;
    const w = o.push.webhooks;
    out.push({ org: o.id, listen: w.listen, path: w.path ?? `/hubspot/${o.id}/webhooks`, publicUrl: w.publicUrl, clientSecret: w.clientSecret, appId: w.appId });
  }
  return out;
}

/** Two orgs cannot receive on one listen address and path; ports are 0–65535. */
function checkPush(src: YamlSource, network: Network): void {
  const seen = new Map<string, string>();
  const orgs = [{ o: network.vendor, at: ['vendor'] as Array<string | number> }, ...network.partners.map((o, i) => ({ o, at: ['partners', i] as Array<string | number> }))];
  for (const { o, at } of orgs) {
    if (o.kind !== 'hubspot' || !o.push?.webhooks) continue;
    const w = o.push.webhooks;
    const port = Number(w.listen.slice(w.listen.lastIndexOf(':') + 1));
    if (port > 65535) src.problem([...at, 'push', 'webhooks', 'listen'], 'CONFIG_INVALID', `port ${port} is out of range`, 'use a port from 0 to 65535');
    const path = w.path ?? `/hubspot/${o.id}/webhooks`;
    const key = `${w.listen} ${path}`;
    const other = seen.get(key);
    if (other) {
      src.problem([...at, 'push', 'webhooks', w.path ? 'path' : 'listen'], 'CONFIG_DUPLICATE', `org "${o.id}" receives webhooks on ${w.listen}${path}, as org "${other}" does`, 'give each org its own path');
    }
    seen.set(key, o.id);
  }
  for (const { o, at } of orgs) {
    const lease = o.kind === 'salesforce' ? o.connection.pubsub?.lease : undefined;
    if (lease && parseDuration(lease.renew) >= parseDuration(lease.ttl)) {
      src.problem([...at, 'connection', 'pubsub', 'lease', 'renew'], 'CONFIG_INVALID', `the CDC lease is renewed every ${lease.renew} but lasts only ${lease.ttl}: the holder would lose it between renewals`, 'renew at most a third of ttl, e.g. ttl: 15s, renew: 5s');
    }
  }
}

/**
 * `${NAME}` in a value is replaced by the environment variable NAME (for URLs and other non-secret
 * settings that differ per environment; secrets use env:/file: references instead).
 */
function interpolateEnv(src: YamlSource, env: NodeJS.ProcessEnv): void {
  visit(src.doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      node.value = node.value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
        const v = env[name];
        if (v === undefined) {
          const pos = node.range ? src.lines.linePos(node.range[0]) : { line: 1, col: 1 };
          src.problems.push({ file: src.file, ...pos, code: 'CONFIG_ENV_MISSING', severity: 'error', message: `environment variable ${name} is not set`, hint: `export ${name}=...` });
          return '';
        }
        return v;
      });
    },
  });
}

export const NETWORK_FILE_HINT = 'pass --config FILE (or set COSELL_CONFIG), or create cosell.yaml';

export function loadNetwork(file: string): LoadedNetwork {
  const text = configTextOrThrow(file, 'network file', { error: 'COSELL_CONFIG_INVALID', problem: 'CONFIG_FILE' }, NETWORK_FILE_HINT);
  const { loaded, problems } = parseNetwork(text, file);
  if (!loaded) throw invalidFile('COSELL_CONFIG_INVALID', problems);
  return loaded;
}

export function splitEndpoint(endpoint: string): { org: string; object: string } {
  const i = endpoint.indexOf('.');
  return { org: endpoint.slice(0, i), object: endpoint.slice(i + 1) };
}

export function parseDuration(d: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new CosellError('COSELL_CONFIG_INVALID', `bad duration "${d}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}
