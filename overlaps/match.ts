import type { HashedSide } from './side.js';

/**
 * The matching step: sees two HashedSides (keyed hashes, shared population bits, opaque local ids) and
 * nothing else. It indexes the partner side's hashes and streams the vendor side's keys through it.
 * A pair of records that matches on several keys is reported once, with its strongest key.
 */
export interface MatchPairs {
  count: number;
  vendor: Uint32Array;
  partner: Uint32Array;
  /** Strongest key kind that matched: 0 domain, 1 domain label, 2 name. */
  kind: Uint8Array;
  /** Position of that key in the vendor side's keys (its hash is what the ledger records). */
  vendorKey: Uint32Array;
}

export interface MatchOptions {
  /**
   * A key shared by more partner records than this is ambiguous for that key kind and is ignored
   * ("Acme" names a dozen companies; one domain rarely does). Defaults: domain 50, label 10, name 5.
   */
  maxFanout?: [number, number, number];
}

const DEFAULT_FANOUT: [number, number, number] = [50, 10, 5];

export function matchSides(vendor: HashedSide, partner: HashedSide, opts: MatchOptions = {}): MatchPairs {
  const maxFanout = opts.maxFanout ?? DEFAULT_FANOUT;
  // hash → partner local id, or -(1 + i) pointing at multi[i] when several partner records share it.
  const index = new Map<string, number>();
  const multi: number[][] = [];
  for (let k = 0; k < partner.keyCount; k++) {
    const h = partner.keyHash[k];
    const owner = partner.keyOwner[k];
    const existing = index.get(h);
    if (existing === undefined) index.set(h, owner);
    else if (existing >= 0) {
      if (existing !== owner) {
        multi.push([existing, owner]);
        index.set(h, -multi.length);
      }
    } else {
      const list = multi[-existing - 1];
      if (list[list.length - 1] !== owner) list.push(owner);
    }
  }

  let cap = 1024;
  let vOut: Uint32Array = new Uint32Array(cap);
  let pOut: Uint32Array = new Uint32Array(cap);
  let kOut: Uint8Array = new Uint8Array(cap);
  let keyOut: Uint32Array = new Uint32Array(cap);
  let count = 0;
  const emit = (v: number, p: number, kind: number, key: number) => {
    if (count === cap) {
      cap *= 2;
      vOut = grow(vOut, cap);
      pOut = grow(pOut, cap);
      keyOut = grow(keyOut, cap);
      const k2 = new Uint8Array(cap);
      k2.set(kOut);
      kOut = k2;
    }
    vOut[count] = v;
    pOut[count] = p;
    kOut[count] = kind;
    keyOut[count] = key;
    count++;
  };

  // Candidates of the current vendor record (keys are grouped by owner): partner id → best kind.
  const candPartner: number[] = [];
  const candKind: number[] = [];
  const candKey: number[] = [];
  const flush = (v: number) => {
    for (let i = 0; i < candPartner.length; i++) emit(v, candPartner[i], candKind[i], candKey[i]);
    candPartner.length = 0;
    candKind.length = 0;
    candKey.length = 0;
  };
  const consider = (p: number, kind: number, key: number) => {
    for (let i = 0; i < candPartner.length; i++) {
      if (candPartner[i] === p) {
        if (kind < candKind[i]) {
          candKind[i] = kind;
          candKey[i] = key;
        }
        return;
      }
    }
    candPartner.push(p);
    candKind.push(kind);
    candKey.push(key);
  };

  let current = -1;
  for (let k = 0; k < vendor.keyCount; k++) {
    const owner = vendor.keyOwner[k];
    if (owner !== current) {
      if (current >= 0) flush(current);
      current = owner;
    }
    const hit = index.get(vendor.keyHash[k]);
    if (hit === undefined) continue;
    const kind = vendor.keyKind[k];
    if (hit >= 0) consider(hit, kind, k);
    else {
      const list = multi[-hit - 1];
      if (list.length > maxFanout[kind]) continue;
      for (const p of list) consider(p, kind, k);
    }
  }
  if (current >= 0) flush(current);
  return { count, vendor: vOut.subarray(0, count), partner: pOut.subarray(0, count), kind: kOut.subarray(0, count), vendorKey: keyOut.subarray(0, count) };
}

function grow(a: Uint32Array, cap: number): Uint32Array {
  const b = new Uint32Array(cap);
  b.set(a);
  return b;
}
