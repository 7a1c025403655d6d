import { classifyPairs, DEFAULT_WEIGHTS, matchKindName, pairLabel, relationName, type ScoreWeights } from './classify.js';
import type { KeyHasher } from './hashing.js';
import { matchSides, type MatchOptions } from './match.js';
import { populationMask } from './populations.js';
import { prepareSide, type PreparedSide, type PrepareOptions } from './side.js';
import type { Overlap, Sharing, SideAccount } from './types.js';

/**
 * The whole pure pipeline for one partnership: each side is prepared inside its own boundary
 * (filter to shared populations, normalise, hash), the matching step sees only the two hashed sides,
 * and each side resolves its own opaque ids back to CRM ids afterwards.
 */
export interface OverlapInput {
  vendor: readonly SideAccount[];
  partner: readonly SideAccount[];
  sharing: Sharing;
  hasher: KeyHasher;
  match?: MatchOptions;
  weights?: ScoreWeights;
  prepare?: PrepareOptions;
}

export interface OverlapStats {
  vendorRecords: number;
  partnerRecords: number;
  /** Records in a shared population (the only ones that take part). */
  vendorShared: number;
  partnerShared: number;
  vendorKeys: number;
  partnerKeys: number;
  overlaps: number;
  /** Overlaps by "vendorRelation/partnerRelation". */
  byPair: Record<string, number>;
  byMatch: Record<string, number>;
  /** Distinct records on each side that overlap. */
  vendorAccountsOverlapping: number;
  partnerAccountsOverlapping: number;
}

export interface OverlapResult {
  overlaps: Overlap[];
  stats: OverlapStats;
}

export function computeOverlaps(input: OverlapInput): OverlapResult {
  const vendor = prepareSide('vendor', input.vendor, populationMask(input.sharing.vendor), input.hasher, input.prepare);
  const partner = prepareSide('partner', input.partner, populationMask(input.sharing.partner), input.hasher, input.prepare);
  return matchPrepared(input, vendor, partner);
}

/**
 * The same, yielding to the event loop between phases so an activity's heartbeats get out while a
 * million records are hashed (each phase is synchronous and takes seconds at that scale).
 */
export async function computeOverlapsAsync(input: OverlapInput, onPhase?: (phase: 'vendor-hashed' | 'partner-hashed') => void): Promise<OverlapResult> {
  const vendor = prepareSide('vendor', input.vendor, populationMask(input.sharing.vendor), input.hasher, input.prepare);
  onPhase?.('vendor-hashed');
  await new Promise((resolve) => setImmediate(resolve));
  const partner = prepareSide('partner', input.partner, populationMask(input.sharing.partner), input.hasher, input.prepare);
  onPhase?.('partner-hashed');
  await new Promise((resolve) => setImmediate(resolve));
  return matchPrepared(input, vendor, partner);
}

function matchPrepared(input: OverlapInput, vendor: PreparedSide, partner: PreparedSide): OverlapResult {
  const pairs = matchSides(vendor.hashed, partner.hashed, input.match);
  const classified = classifyPairs(pairs, vendor.hashed, partner.hashed, input.weights ?? DEFAULT_WEIGHTS);

  const overlaps: Overlap[] = new Array(classified.count);
  const byPair: Record<string, number> = {};
  const byMatch: Record<string, number> = {};
  const vendorSeen = new Set<number>();
  const partnerSeen = new Set<number>();
  for (let i = 0; i < classified.count; i++) {
    const v = input.vendor[vendor.local.accountIndex[classified.vendor[i]]];
    const p = input.partner[partner.local.accountIndex[classified.partner[i]]];
    const vendorRelation = relationName(classified.vendorRelation[i]);
    const partnerRelation = relationName(classified.partnerRelation[i]);
    const pair = pairLabel(vendorRelation, partnerRelation);
    const matchedOn = matchKindName(classified.kind[i]);
    overlaps[i] = {
      vendorId: v.id,
      partnerId: p.id,
      vendorRelation,
      partnerRelation,
      pair,
      matchedOn,
      hashedKey: vendor.hashed.keyHash[classified.vendorKey[i]],
      score: classified.score[i],
      vendorLabel: v.label ?? v.name ?? undefined,
      partnerLabel: p.label ?? p.name ?? undefined,
    };
    byPair[pair] = (byPair[pair] ?? 0) + 1;
    byMatch[matchedOn] = (byMatch[matchedOn] ?? 0) + 1;
    vendorSeen.add(classified.vendor[i]);
    partnerSeen.add(classified.partner[i]);
  }
  return {
    overlaps,
    stats: {
      vendorRecords: input.vendor.length,
      partnerRecords: input.partner.length,
      vendorShared: vendor.hashed.size,
      partnerShared: partner.hashed.size,
      vendorKeys: vendor.hashed.keyCount,
      partnerKeys: partner.hashed.keyCount,
      overlaps: overlaps.length,
      byPair,
      byMatch,
      vendorAccountsOverlapping: vendorSeen.size,
      partnerAccountsOverlapping: partnerSeen.size,
    },
  };
}

/** Highest score first; ties by match strength, then id, so output is stable. */
export function topOverlaps(overlaps: readonly Overlap[], n: number): Overlap[] {
  return [...overlaps]
    .sort((a, b) => b.score - a.score || a.matchedOn.localeCompare(b.matchedOn) || (a.vendorId < b.vendorId ? -1 : a.vendorId > b.vendorId ? 1 : 0))
    .slice(0, n);
}
