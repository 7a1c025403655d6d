import path from 'node:path';
import { openLedger } from '../ledger/index.js';
import { Engine, type EngineDeps } from '../sync/build.js';
import type { LoadedNetwork } from './config.js';
import { resolveSecret } from './secrets.js';

/** The ledger the network file names: PostgreSQL (ledger.url or $DATABASE_URL) or a SQLite file next to it. */
export async function openNetworkLedger(loaded: LoadedNetwork) {
  const cfg = loaded.network.ledger;
  const url = cfg?.url ? resolveSecret(cfg.url, `${loaded.file}: ledger.url`) : process.env.DATABASE_URL || undefined;
  const file = cfg?.file ? loaded.resolve(cfg.file) : path.resolve('.cosell/ledger.sqlite');
  return openLedger(url ? { url } : { file });
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
