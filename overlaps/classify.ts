import type { MatchPairs } from './match.js';
import { relationIndex } from './populations.js';
import type { HashedSide } from './side.js';
import { MATCH_KINDS, RELATIONS, type MatchKind, type Relation } from './types.js';

/**
 * Classification and score of each matched pair, still on opaque ids: the pair of relations
 * (vendor's / partner's strongest shared population) and a 0..100 score.
 *
 * score = round(100 × key weight × pair weight)
 *   key weight  — how sure the match is: domain 1.0, same domain label on another TLD 0.85, name 0.6;
 *   pair weight — how actionable the overlap is for joint selling (rows: vendor, columns: partner):
 *                      partner customer  opportunity  prospect
 *     vendor customer        0.6           0.8         0.7     (reference / expansion)
 *     vendor opportunity     1.0           0.9         0.6     (partner can help close)
 *     vendor prospect        1.0           0.8         0.3     (partner can introduce)
 * Tunable by passing weights; these defaults put "partner's customer is our open deal or prospect"
 * first, as account-mapping tools do.
 */
export interface ScoreWeights {
  key: Record<MatchKind, number>;
  /** [vendorRelation][partnerRelation], both indexed customer, opportunity, prospect. */
  pair: number[][];
}

export const DEFAULT_WEIGHTS: ScoreWeights = {
  key: { domain: 1, 'domain-label': 0.85, name: 0.6 },
  pair: [
    [0.6, 0.8, 0.7],
    [1.0, 0.9, 0.6],
    [1.0, 0.8, 0.3],
  ],
};

export interface ClassifiedPairs extends MatchPairs {
  vendorRelation: Uint8Array; // index into RELATIONS
  partnerRelation: Uint8Array;
  score: Uint8Array;
}

export function classifyPairs(pairs: MatchPairs, vendor: HashedSide, partner: HashedSide, weights: ScoreWeights = DEFAULT_WEIGHTS): ClassifiedPairs {
  const n = pairs.count;
  const vendorRelation = new Uint8Array(n);
  const partnerRelation = new Uint8Array(n);
  const score = new Uint8Array(n);
  const keyWeight = MATCH_KINDS.map((k) => weights.key[k]);
  for (let i = 0; i < n; i++) {
    const vr = relationIndex(vendor.populations[pairs.vendor[i]]);
    const pr = relationIndex(partner.populations[pairs.partner[i]]);
    // Both sides only ever hold shared, non-empty population masks, so vr/pr are >= 0 here.
    vendorRelation[i] = vr;
    partnerRelation[i] = pr;
    score[i] = Math.round(100 * keyWeight[pairs.kind[i]] * weights.pair[vr][pr]);
  }
  return { ...pairs, vendorRelation, partnerRelation, score };
}

export function pairLabel(vendor: Relation, partner: Relation): string {
  return `${vendor}/${partner}`;
}

export function relationName(index: number): Relation {
  return RELATIONS[index];
}

export function matchKindName(index: number): MatchKind {
  return MATCH_KINDS[index];
}
