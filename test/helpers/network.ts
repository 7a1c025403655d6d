import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseNetwork, type LoadedNetwork } from '../../lib/config.js';
import { formatProblem } from '../../lib/yamlSource.js';
import type { Sandbox } from '../../sandbox/index.js';

const STOCK = path.resolve(new URL('../../mappings/stock', import.meta.url).pathname);

/**
 * Put a sandbox's connection details into environment variables (as an admin would export them) and
 * return the network-file `connection:` block for each org, referencing them. Secrets stay env: refs.
 */
export function sandboxEnv(sb: Sandbox, prefix = 'COSELL_TEST'): Record<string, string> {
  const yaml: Record<string, string> = {};
  for (const [id, info] of Object.entries(sb.orgs)) {
    const v = `${prefix}_${id.toUpperCase().replace(/-/g, '_')}`;
    if (info.kind === 'salesforce') {
      process.env[`${v}_URL`] = info.instanceUrl;
      process.env[`${v}_CLIENT_ID`] = info.clientId;
      process.env[`${v}_CLIENT_SECRET`] = info.clientSecret;
      yaml[id] = `{ instanceUrl: "\${${v}_URL}", loginUrl: "\${${v}_URL}", auth: { clientId: env:${v}_CLIENT_ID, clientSecret: env:${v}_CLIENT_SECRET } }`;
    } else {
      process.env[`${v}_URL`] = info.basePath;
      process.env[`${v}_TOKEN`] = info.accessToken;
      yaml[id] = `{ basePath: "\${${v}_URL}", auth: { accessToken: env:${v}_TOKEN } }`;
    }
  }
  return yaml;
}

/** Parse a network file text written for a test (stock mappings resolve from mappings/stock). */
export function testNetwork(text: string): LoadedNetwork {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cosell-net-'));
  const { loaded, problems } = parseNetwork(text.replaceAll('$STOCK', STOCK), path.join(dir, 'cosell.yaml'));
  if (!loaded) throw new Error(problems.map(formatProblem).join('\n'));
  return loaded;
}

export function tempLedgerFile(): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'cosell-ledger-')), 'ledger.sqlite');
}
