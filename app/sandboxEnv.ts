import { randomBytes } from 'node:crypto';
import type { OrgConnectionInfo } from '@cosell/sandbox';

/**
 * Export a sandbox's connection details as environment variables — `<PREFIX>_<ORG>_URL`, and the
 * credentials as `_ACCESS_KEY_ID`/`_SECRET_ACCESS_KEY` (AWS Partner Central), `_CLIENT_ID`/`_CLIENT_SECRET` (Salesforce, plus `_PUBSUB_ENDPOINT`/`_PUBSUB_CA` when the
 * org serves Change Data Capture) or `_TOKEN` and the app's webhook-signing `_CLIENT_SECRET` (HubSpot) — exactly what an
 * admin would export for real orgs, so a network file references them the same way (`${…}` and
 * `env:…`). Returns each org's `connection:` block as flow YAML.
 */
export function exportSandboxEnv(orgs: Record<string, OrgConnectionInfo>, prefix = 'COSELL', env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const yaml: Record<string, string> = {};
  for (const [id, info] of Object.entries(orgs)) {
    const v = `${prefix}_${id.toUpperCase().replace(/-/g, '_')}`;
    if (info.kind === 'salesforce') {
      env[`${v}_URL`] = info.instanceUrl;
      env[`${v}_CLIENT_ID`] = info.clientId;
      env[`${v}_CLIENT_SECRET`] = info.clientSecret;
      // With the Pub/Sub API on: its endpoint and the sandbox CA (a certificate, not a secret, but an env: reference all the same).
      const pubsub = info.pubsub ? `, pubsub: { endpoint: "\${${v}_PUBSUB_ENDPOINT}", ca: env:${v}_PUBSUB_CA }` : '';
      if (info.pubsub) {
        env[`${v}_PUBSUB_ENDPOINT`] = info.pubsub.endpoint;
        env[`${v}_PUBSUB_CA`] = info.pubsub.caPem;
      }
      yaml[id] = `{ instanceUrl: "\${${v}_URL}", loginUrl: "\${${v}_URL}", auth: { clientId: env:${v}_CLIENT_ID, clientSecret: env:${v}_CLIENT_SECRET }${pubsub} }`;
    } else if (info.kind === 'aws-partner-central') {
      env[`${v}_URL`] = info.endpoint;
      env[`${v}_ACCESS_KEY_ID`] = info.accessKeyId;
      env[`${v}_SECRET_ACCESS_KEY`] = info.secretAccessKey;
      yaml[id] = `{ endpoint: "\${${v}_URL}", catalog: Sandbox, auth: { accessKeyId: env:${v}_ACCESS_KEY_ID, secretAccessKey: env:${v}_SECRET_ACCESS_KEY } }`;
    } else {
      env[`${v}_URL`] = info.basePath;
      env[`${v}_TOKEN`] = info.accessToken;
      // The app's client secret: what signs its webhooks (push.webhooks.clientSecret).
      if (info.clientSecret) env[`${v}_CLIENT_SECRET`] = info.clientSecret;
      yaml[id] = `{ basePath: "\${${v}_URL}", auth: { accessToken: env:${v}_TOKEN } }`;
    }
  }
  return yaml;
}

/** `export NAME='value'` lines a POSIX shell sources (`.`): demo.env, `cosell sandbox --write-env`. */
export function shellExports(vars: Record<string, string>): string {
  return Object.entries(vars).map(([k, v]) => `export ${k}='${v.replace(/'/g, "'\\''")}'\n`).join('');
}

/**
 * What the demo network (examples/network.yaml) needs besides the sandbox orgs: the notification
 * channels' webhook URLs (the sandbox inbox's) and one account-mapping key per partnership (random,
 * new at each start unless set). `npm start` and `cosell sandbox --write-env` both use it.
 */
export function demoNetworkEnv(inbox: { hookUrl(channel: string): string }, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {
    COSELL_SLACK_WEBHOOK: env.COSELL_SLACK_WEBHOOK ?? inbox.hookUrl('channel-desk'),
    COSELL_TEAMS_WEBHOOK: env.COSELL_TEAMS_WEBHOOK ?? inbox.hookUrl('channel-ops'),
  };
  for (const p of ['ACME', 'GLOBEX', 'INITECH']) out[`COSELL_${p}_OVERLAP_KEY`] = env[`COSELL_${p}_OVERLAP_KEY`] ?? randomBytes(32).toString('base64url');
  return out;
}
