/** The Rules of Engagement engine: policy, index, decision, lifecycle, attribution, stage guard. */
export * from './types.js';
export * from './policy.js';
export * from './accountIndex.js';
export * from './decide.js';
export * from './attribution.js';
export * from './stageGuard.js';
export * from './lifecycle.js';
export * from './redecision.js';
export * from './partnerReasons.js';
export * from './infoRequest.js';
export * from './dispute.js';
export { parsePolicyDuration } from './duration.js';
