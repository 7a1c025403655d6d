/** The sandbox: emulated Salesforce orgs and HubSpot portals in one process (see sandbox/host.ts). */
export { startSandbox, DEFAULT_CONFIG_FILE, type Sandbox, type StartSandboxOptions } from './host.js';
export { sandboxConfigSchema, orgConfigSchema, webhookSettingsSchema } from './config.js';
export { SandboxConfigError } from './errors.js';
export { generateSeed, mapStage, SEED_STAGES, type SeedData, type SeedCompany, type SeedDeal, type SeedHistoryDeal, type SeedOwner } from './seed.js';
export { FaultInjector, installFaults, RollingCounter } from './faults.js';
export { SandboxClock } from './clock.js';
export type * from './types.js';
