import path from 'node:path';
import { DEFAULT_LEDGER_FILE, openLedger } from '../ledger/index.js';
import { Engine, type EngineDeps } from '../sync/build.js';
import type { LoadedNetwork } from './config.js';
import { resolveSecret } from './secrets.js';

/**
 * Where the ledger is — the one rule every command and the worker follow (ledger/connect.ts too): the
 * network file's `ledger.url` (a secret reference), else its `ledger.file` (relative to the file), else
 * $DATABASE_URL, else `.cosell/ledger.sqlite`. What the network file says explicitly wins over the
 * environment (a DATABASE_URL set for something else must not move a ledger the file names).
 */
export function ledgerLocation(cfg: { url?: string; file?: string } | undefined, where: { file: string; resolveUrl: (ref: string) => string }, env: NodeJS.ProcessEnv = process.env): { url: string } | { file: string } {
  if (cfg?.url) return { url: where.resolveUrl(cfg.url) };
  if (cfg?.file) return { file: path.resolve(path.dirname(where.file), cfg.file) };
  if (env.DATABASE_URL) return { url: env.DATABASE_URL };
  return { file: path.resolve(DEFAULT_LEDGER_FILE) };
}

/** The ledger the network file names (`ledgerLocation`). */
export async function openNetworkLedger(loaded: LoadedNetwork) {
  return openLedger(ledgerLocation(loaded.network.ledger, { file: loaded.file, resolveUrl: (ref) => resolveSecret(ref, `${loaded.file}: ledger.url`) }));
}

/** Open the sync engine (ledger + lazily built connectors and mappings) for a network. */
export async function openEngine(loaded: LoadedNetwork, deps: Partial<Omit<EngineDeps, 'network' | 'ledger'>> = {}): Promise<Engine> {
  const ledger = await openNetworkLedger(loaded);
  const engine = new Engine({ network: loaded, ledger, ...deps });
  const close = engine.close.bind(engine);
  engine.close = async () => {
    await close();
    await ledger.close();
  };
  return engine;
}
