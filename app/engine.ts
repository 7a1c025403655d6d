import path from 'node:path';
import { DEFAULT_LEDGER_FILE, openLedger, type Ledger } from '../ledger/index.js';
import { CosellError } from '../lib/errors.js';
import { Engine, type EngineDeps } from '../sync/build.js';
import type { LoadedNetwork } from '../lib/config.js';
import { resolveSecret } from '../lib/secrets.js';

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
  return openLedgerAt(ledgerLocation(loaded.network.ledger, { file: loaded.file, resolveUrl: (ref) => resolveSecret(ref, `${loaded.file}: ledger.url`) }));
}

/**
 * Open a ledger, turning "cannot reach it" (PostgreSQL refused / unknown host / bad password, a SQLite
 * file in a directory that does not exist) into COSELL_LEDGER_UNREACHABLE naming where it looked —
 * the password left out — and what to do, instead of the driver's bare `connect ECONNREFUSED`.
 */
export async function openLedgerAt(where: { url: string } | { file: string }): Promise<Ledger> {
  try {
    return await openLedger(where);
  } catch (e) {
    // The driver's error may be wrapped (the ledger's COSELL_LEDGER, pg's AggregateError): look through.
    const chain: unknown[] = [];
    for (let x: unknown = e; x && chain.length < 8; x = (x as { cause?: unknown }).cause) chain.push(x, ...((x as { errors?: unknown[] }).errors ?? []));
    const codes = chain.map((x) => String((x as { code?: unknown })?.code ?? ''));
    const reachable = !codes.some((c) => /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|28P01|28000|3D000|SQLITE_CANTOPEN)$/.test(c));
    if (reachable) throw e;
    const at = 'url' in where ? redactUrl(where.url) : where.file;
    const reason = codes.find((c) => /^[A-Z]/.test(c) && c !== 'COSELL_LEDGER') ?? 'failed';
    throw new CosellError('COSELL_LEDGER_UNREACHABLE', `cannot open the ledger at ${at}: ${reason}`, {
      cause: e,
      hint: 'url' in where
        ? 'start PostgreSQL (or fix the host, database, user or password) and check ledger.url in the network file or $DATABASE_URL'
        : "the ledger file's directory must exist and be writable: fix ledger.file in the network file",
    });
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable ledger URL)';
  }
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
