/**
 * @cosell/connector-contract: the one suite every cosell connector passes (see README.md). A vitest
 * suite; cosell's own contract tests (test/connectors/*.contract.test.ts) run it through this package.
 */
export { runConnectorContract, type ContractFixture, type NotApplicable } from './contract.js';
export { drainFeed } from './drainFeed.js';
