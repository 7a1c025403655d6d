import path from 'node:path';
import { parseNetwork, type LoadedNetwork } from '../../lib/config.js';
import { formatProblem } from '../../lib/problems.js';
import { exportSandboxEnv } from '../../app/sandboxEnv.js';
import type { Sandbox } from '@cosell/sandbox';
import { tempDir } from './tmp.js';

const STOCK = path.resolve(new URL('../../mappings/stock', import.meta.url).pathname);

/** Export a sandbox's connection details to env vars (see app/sandboxEnv.ts); returns each org's `connection:` YAML. */
export function sandboxEnv(sb: Sandbox, prefix = 'COSELL_TEST'): Record<string, string> {
  return exportSandboxEnv(sb.orgs, prefix);
}

/** Parse a network file text written for a test (stock mappings resolve from mappings/stock). */
export function testNetwork(text: string): LoadedNetwork {
  const dir = tempDir('cosell-net-');
  const { loaded, problems } = parseNetwork(text.replaceAll('$STOCK', STOCK), path.join(dir, 'cosell.yaml'));
  if (!loaded) throw new Error(problems.map(formatProblem).join('\n'));
  return loaded;
}

export function tempLedgerFile(): string {
  return path.join(tempDir('cosell-ledger-'), 'ledger.sqlite');
}
