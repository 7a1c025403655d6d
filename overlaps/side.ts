import { randomBytes } from 'node:crypto';
import type { KeyHasher } from './hashing.js';
import { emitMatchKeys } from './keys.js';
import type { Side, SideAccount } from './types.js';

/**
 * The privacy boundary. `prepareSide` runs inside one org's boundary and splits its accounts into:
 *  - a HashedSide: the only thing the matching step ever sees — keyed hashes of the match keys, the
 *    population bits masked down to what this side shares, and opaque local ids (positions in a
 *    freshly shuffled table, so they carry neither CRM ids nor the CRM's order);
 *  - a LocalSide: the table from opaque local id back to the CRM record, which never leaves the org.
 * Accounts in no shared population are dropped here, before hashing: they never take part.
 */
export interface HashedSide {
  /** Number of opaque local ids (0..size-1). */
  readonly size: number;
  /** Shared population bits per local id. */
  readonly populations: Uint8Array;
  /** Keys, grouped by owner in ascending local-id order: hash, kind (0 domain, 1 label, 2 name), owner. */
  readonly keyHash: readonly string[];
  readonly keyKind: Uint8Array;
  readonly keyOwner: Uint32Array;
  readonly keyCount: number;
}

export interface LocalSide {
  readonly side: Side;
  readonly accounts: readonly SideAccount[];
  /** Local id → index in `accounts`. */
  readonly accountIndex: Uint32Array;
}

export interface PreparedSide {
  hashed: HashedSide;
  local: LocalSide;
}

export interface PrepareOptions {
  /** Shuffle local ids (default true). Tests turn it off for readable fixtures. */
  shuffle?: boolean;
}

export function prepareSide(side: Side, accounts: readonly SideAccount[], sharedMask: number, hasher: KeyHasher, opts: PrepareOptions = {}): PreparedSide {
  const eligible: number[] = [];
  for (let i = 0; i < accounts.length; i++) if (accounts[i].populations & sharedMask) eligible.push(i);
  const accountIndex = Uint32Array.from(eligible);
  if (opts.shuffle !== false) shuffleInPlace(accountIndex);

  const size = accountIndex.length;
  const populations = new Uint8Array(size);
  const capacity = size * 3; // at most one key per kind
  const keyHash: string[] = [];
  const keyKind = new Uint8Array(capacity);
  const keyOwner = new Uint32Array(capacity);
  let keyCount = 0;
  let owner = 0;
  const sink = (kind: number, key: string) => {
    keyHash.push(hasher(key));
    keyKind[keyCount] = kind;
    keyOwner[keyCount] = owner;
    keyCount++;
  };
  for (owner = 0; owner < size; owner++) {
    const a = accounts[accountIndex[owner]];
    populations[owner] = a.populations & sharedMask;
    emitMatchKeys(a.domain, a.name, sink);
  }
  return {
    hashed: { size, populations, keyHash, keyKind: keyKind.subarray(0, keyCount), keyOwner: keyOwner.subarray(0, keyCount), keyCount },
    local: { side, accounts, accountIndex },
  };
}

/** Fisher–Yates with xorshift32 seeded from the OS: unpredictable order, fast at millions of ids. */
function shuffleInPlace(a: Uint32Array): void {
  let x = randomBytes(4).readUInt32LE(0) || 0x9e3779b9;
  for (let i = a.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
