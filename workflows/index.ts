// Every workflow the cosell worker runs. Workflow code is deterministic: no I/O, no Node built-ins,
// activity *types* only (enforced by eslint.config.js).
export { helloCosell } from './hello.js';
export { linkSync, syncNowSignal, pauseSignal, resumeSignal, resyncUpdate, statusQuery } from './sync.js';
export { overlapWorkflow, overlapNowSignal, overlapStatusQuery } from './overlap.js';
export { registration, rulesIndex, decideUpdate, extendUpdate, attributeUpdate, redecideUpdate, vendorClosedSignal, supersededSignal, registrationStatusQuery, refreshRulesIndexSignal } from './registration.js';
export { changeStream, streamNotifySignal, streamPollNowSignal, streamStatusQuery } from './stream.js';
export { scorecard, scorecardNowSignal, scorecardStatusQuery } from './scorecard.js';
export { dispute } from './dispute.js';
export { resolveDisputeUpdate, disputeStatusQuery, requestInfoUpdate, provideInfoUpdate } from './registrationApi.js';
