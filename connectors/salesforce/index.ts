import type { Connector } from '../types.js';
import type { SalesforceConnectorConfig } from './config.js';
import { SalesforceConnector } from './connector.js';

export type { SalesforceAuth, SalesforceConnectorConfig } from './config.js';
export { SalesforceConnector } from './connector.js';

/** Build a Salesforce connector. Credentials are resolved (from their SecretRefs) on first use. */
export async function createSalesforceConnector(config: SalesforceConnectorConfig): Promise<Connector> {
  return new SalesforceConnector(config);
}
