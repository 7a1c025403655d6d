import type { Policy } from './policy.js';

/**
 * Stage guard: a partner-side stage may push the vendor opportunity only up to the vendor stage the
 * policy allows for it (partners must not overwrite the vendor's pipeline). The guard never moves the
 * vendor stage backwards and never writes a stage the vendor pipeline does not know.
 */

/**
 * Vendor opportunity fields derived from the stage (Salesforce sets both from StageName when a write
 * does not give them). When the guard changes or keeps the stage, the partner stage's values for these
 * are not written either: a deal held at Qualification must not say Closed / 100%.
 */
export const STAGE_DERIVED_FIELDS: readonly string[] = ['Probability', 'ForecastCategoryName'];

export interface StageGuardInput {
  /** The partner's stage that triggered the change. */
  partnerStage: string;
  /** The vendor stage the mapping wants to write. */
  proposedVendorStage: string;
  /** The vendor opportunity's stage now (absent when it is being created). */
  currentVendorStage?: string | null;
}

export interface StageGuardResult {
  /** The vendor stage to write, or null to leave the stage field alone. */
  stage: string | null;
  /** True when the proposed stage was not written as is. */
  guarded: boolean;
  reason: string;
}

export function guardStage(policy: Pick<Policy, 'stageGuard'>, input: StageGuardInput): StageGuardResult {
  const guard = policy.stageGuard;
  if (!guard) return { stage: input.proposedVendorStage, guarded: false, reason: 'no stage guard in the policy' };
  const pos = (s: string | null | undefined) => (s ? guard.vendorStages.findIndex((v) => v.toLowerCase() === s.trim().toLowerCase()) : -1);
  const capStage = guard.caps.get(input.partnerStage.trim().toLowerCase()) ?? guard.default;
  const cap = pos(capStage);
  const proposed = pos(input.proposedVendorStage);
  const current = pos(input.currentVendorStage);
  if (proposed < 0) return { stage: null, guarded: true, reason: `"${input.proposedVendorStage}" is not a vendor stage; stage left unchanged` };
  if (current >= 0 && proposed < current) {
    return { stage: null, guarded: true, reason: `partner stage "${input.partnerStage}" would move the vendor stage back from "${guard.vendorStages[current]}" to "${guard.vendorStages[proposed]}"` };
  }
  if (proposed <= cap) return { stage: guard.vendorStages[proposed]!, guarded: false, reason: `within the cap "${capStage}" for partner stage "${input.partnerStage}"` };
  if (current >= cap) {
    return { stage: null, guarded: true, reason: `partner stage "${input.partnerStage}" may push the vendor stage at most to "${capStage}"; it is already at "${guard.vendorStages[current]}"` };
  }
  return { stage: guard.vendorStages[cap]!, guarded: true, reason: `partner stage "${input.partnerStage}" may push the vendor stage at most to "${capStage}" (wanted "${guard.vendorStages[proposed]}")` };
}
